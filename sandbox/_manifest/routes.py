"""HTTP route rules: validation, handler folder names and Architect's route order (reference §1.4, §1.5)."""

from __future__ import annotations

import re
from collections.abc import Sequence

METHODS = ("get", "post", "put", "patch", "delete", "options", "head", "any")
PATH_CHARS = re.compile(r"/[a-zA-Z0-9/\-:._*]*")
PARAM = re.compile(r":[\w.-]+")


def route_problem(method: str, path: str) -> str | None:
    """What is wrong with `method path`, or None when Architect would accept it."""
    if method not in METHODS:
        return f"unknown HTTP method {method!r} (use one of: {' '.join(METHODS)})"
    if not path.startswith("/"):
        return f"route path {path!r} must start with /"
    if not PATH_CHARS.fullmatch(path):
        return f"route path {path!r} has characters other than letters, digits and / - : . _ *"
    if path == "/":
        return None
    if path.endswith("/"):
        return f"route path {path!r} must not end with /"
    if "//" in path:
        return f"route path {path!r} must not contain //"
    return _parts_problem(path)


def _parts_problem(path: str) -> str | None:
    parts = path.split("/")[1:]
    params = [part for part in parts if part.startswith(":")]
    twice = sorted({p for p in params if params.count(p) > 1})
    if twice:  # API Gateway refuses a route that names a path parameter twice
        return f"route path {path!r} names the parameter {twice[0]} twice"
    for index, part in enumerate(parts):
        if part[-1] in "-._":
            return f"route path {path!r}: a part must not end with -, . or _ ({part!r})"
        if ":" in part and not PARAM.fullmatch(part):
            return f"route path {path!r}: bad parameter {part!r} (a whole part :name, with letters, digits, _ . -)"
        if "*" in part and (part != "*" or index != len(parts) - 1):
            return f"route path {path!r}: * is only allowed as the whole last part (/*)"
    return None


def route_folder(method: str, path: str) -> str:
    """The handler folder under src/http: "get /notes/:id" -> "get-notes-000id"."""
    if path == "/":
        encoded = "-index"
    else:
        encoded = re.sub(r"[-._]", "_", path).replace("/", "-").replace(":", "000").replace("*", "catchall", 1)
    return f"{method.lower()}{encoded}"


def _order_key(path: str) -> tuple[int, int, int, int, str]:
    parts = [p for p in path.split("/") if p]
    depth = len(parts)
    trailing = 0
    if parts and parts[-1].startswith(":"):
        trailing = 1
    elif parts and parts[-1] == "*":
        trailing = 2
    # `/` ranks above a one-part trailing capture; otherwise deeper paths first.
    rank = 1 if depth == 1 and trailing else -2 * depth
    found = re.search(r"/:", path)
    # A parameter further right means more static parts before it: more specific, so earlier.
    param = -found.start() if found else 0
    return rank, trailing, 1 if found else 0, param, path


def sort_routes(routes: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """Architect's order: by method (any last), deeper first, static over params, trailing captures last."""
    method_rank = {m: i for i, m in enumerate(METHODS)}
    return sorted(routes, key=lambda r: (method_rank.get(r[0], len(METHODS)), r[0], _order_key(r[1])))

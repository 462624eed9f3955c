"""Service discovery the way Architect's sandbox does it: an SSM emulation at POST /_arc/ssm.

`architect-functions` (and any boto3 SSM client pointed at `http://localhost:<_arc port>/_arc/ssm`,
or at the port itself, as `AWS_ENDPOINT_URL_SSM` does) asks `GetParametersByPath(Path="/<Stack>")`,
where `Stack = toLogicalID(f"{app}-{ARC_ENV}")`, and gets `/<Stack>/tables/<logical>` and
`/<Stack>/ARC_SANDBOX/ports`. The stack `ArcAppTesting` is also answered, as Architect does for the
"bare module" case. Beyond Architect's sandbox, `/<Stack>/events/<name>` (the topic ARN) and
`/<Stack>/queues/<name>` (the queue URL) are served as a deployed Architect app has them, so plain
boto3 code that discovers its topics and queues through SSM runs unchanged against the wire APIs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web

from sandbox.arc._names import stack_name

CONTENT_TYPE = "application/x-amz-json-1.1"
FALLBACK_STACK = "ArcAppTesting"
MAX_NAMES = 10  # GetParameters


class Discovery:
    """The parameters served; every source is a callable so a manifest reload or a late port shows at once."""

    def __init__(
        self,
        *,
        app_name: Callable[[], str],
        arc_env: str,
        tables: Callable[[], Mapping[str, str]],
        ports: Callable[[], Mapping[str, int]],
        events: Callable[[], Mapping[str, str]] = dict,
        queues: Callable[[], Mapping[str, str]] = dict,
    ) -> None:
        self._app_name = app_name
        self._arc_env = arc_env
        self._tables = tables
        self._ports = ports
        self._events = events
        self._queues = queues

    def stacks(self) -> set[str]:
        return {stack_name(self._app_name(), self._arc_env), FALLBACK_STACK}

    def services(self) -> dict[str, dict[str, str]]:
        """{type: {key: value}}, as `arc.services()` returns it."""
        found = {
            "tables": dict(self._tables()),
            "events": dict(self._events()),
            "queues": dict(self._queues()),
            "ARC_SANDBOX": {"ports": json.dumps(dict(self._ports()), separators=(",", ":"))},
        }
        return {kind: entries for kind, entries in found.items() if entries or kind == "tables"}

    def parameters(self, stack: str) -> list[dict[str, Any]]:
        return [
            {
                "Name": f"/{stack}/{kind}/{key}",
                "Type": "String",
                "Value": value,
                "Version": 1,
                "ARN": "Architect Sandbox",
            }
            for kind, entries in self.services().items()
            for key, value in entries.items()
        ]

    def by_path(self, path: str) -> list[dict[str, Any]]:
        parts = [p for p in path.split("/") if p]
        if not parts or len(parts) > 2 or parts[0] not in self.stacks():
            return []
        params = self.parameters(parts[0])
        if len(parts) == 2:
            prefix = f"/{parts[0]}/{parts[1]}/"
            params = [p for p in params if p["Name"].startswith(prefix)]
        return params

    def get(self, name: str) -> dict[str, Any] | None:
        parts = name.split("/")
        if len(parts) < 2 or parts[1] not in self.stacks():
            return None
        return next((p for p in self.parameters(parts[1]) if p["Name"] == name), None)


def _json(status: int, payload: dict[str, Any]) -> web.Response:
    return web.Response(status=status, body=json.dumps(payload).encode(), content_type=CONTENT_TYPE)


def _error(code: str, message: str | None) -> web.Response:
    return _json(400, {"__type": code, "message": message})


def ssm_routes(discovery: Discovery) -> list[web.RouteDef]:
    """POST /_arc/ssm (and anything below it) with AmazonSSM.GetParametersByPath / GetParameter."""

    async def handle(request: web.Request) -> web.Response:
        if request.method != "POST":  # Architect answers anything but POST with a bare 404
            return web.Response(status=404)
        target = request.headers.get("X-Amz-Target", "")
        try:
            body = json.loads(await request.read() or b"{}")
        except ValueError:
            return _error("SerializationException", "Malformed request body")
        if not isinstance(body, dict):
            return _error("SerializationException", "Malformed request body")
        if target == "AmazonSSM.GetParametersByPath":
            return _json(200, {"Parameters": discovery.by_path(str(body.get("Path", "")))})
        if target == "AmazonSSM.GetParameter":
            return _get_parameter(discovery, str(body.get("Name", "")))
        if target == "AmazonSSM.GetParameters":
            return _get_parameters(discovery, body.get("Names"))
        return _error("InvalidAction", f"Unsupported operation: {target}")

    # "/" too: boto3 given the port alone (AWS_ENDPOINT_URL_SSM=http://localhost:2222) posts there.
    return [web.route("*", "/_arc/ssm", handle), web.route("*", "/_arc/ssm/{tail:.*}", handle), web.post("/", handle)]


def _get_parameter(discovery: Discovery, name: str) -> web.Response:
    if name.endswith("/"):
        return _error("ValidationException", f'Parameter name: can\'t be prefixed with "/" or end with "/": {name}')
    found = discovery.get(name)
    if found is None:
        return _error("ParameterNotFound", None)
    return _json(200, {"Parameter": found})


def _get_parameters(discovery: Discovery, names: Any) -> web.Response:
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        return _error("ValidationException", "1 validation error detected: Value null at 'names' failed to satisfy "
                      "constraint: Member must not be null")  # fmt: skip
    if len(names) > MAX_NAMES:
        return _error("ValidationException", f"1 validation error detected: Value '{names}' at 'names' failed to "
                      f"satisfy constraint: Member must have length less than or equal to {MAX_NAMES}")  # fmt: skip
    found = {name: discovery.get(name) for name in dict.fromkeys(names)}
    return _json(200, {
        "Parameters": [p for p in found.values() if p is not None],
        "InvalidParameters": [name for name, p in found.items() if p is None],
    })  # fmt: skip

"""Functions whose folder has no handler file: said at start and on every manifest reload."""

from __future__ import annotations

import logging

from sandbox.lambdas.environment import HANDLER_FILES, handler_module, other_runtime_handler
from sandbox.model import FunctionSpec, Manifest


def missing_handlers(manifest: Manifest) -> list[FunctionSpec]:
    """Every function whose folder has no handler file: each call to it would fail. A queue without one
    is not listed: it is read by clients over the SQS API, not delivered to a function."""
    queues = {q.function for q in manifest.queues}
    functions = [fn for fn in manifest.functions() if fn not in queues]
    seen: set[FunctionSpec] = set()
    missing = []
    for fn in functions:
        if fn not in seen and handler_module(fn.src_dir) is None:
            missing.append(fn)
        seen.add(fn)
    return missing


def warn_missing_handlers(manifest: Manifest, logger: logging.Logger) -> None:
    for fn in missing_handlers(manifest):
        where = fn.src_dir.relative_to(manifest.root) if fn.src_dir.is_relative_to(manifest.root) else fn.src_dir
        other = other_runtime_handler(fn.src_dir)
        if other is not None:  # a mixed-language Architect app: say why, rather than "no handler"
            logger.warning(
                "⚠ %s has a %s handler in %s: arc-sandbox runs Python handlers only (%s), so calls to it will fail",
                fn.name, other, where, ", ".join(HANDLER_FILES),
            )  # fmt: skip
            continue
        logger.warning(
            "⚠ %s has no handler file in %s (looked for %s): calls to it will fail; `arc-sandbox init` writes one",
            fn.name, where, ", ".join(HANDLER_FILES),
        )  # fmt: skip

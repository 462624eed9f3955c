"""The environment a Lambda sees under the sandbox (reference §2.3), applied to this process.

Handlers run in-process, so they share os.environ: the sandbox sets the variables on start and
restores the previous values on stop.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping

from sandbox import __version__
from sandbox.model import Manifest

# Architect-functions and @architect/functions require ARC_SANDBOX.version >= 5.0.0.
SANDBOX_COMPAT_VERSION = "9.0.0"
RESERVED = frozenset(
    {"ARC_APP_NAME", "ARC_ENV", "ARC_ROLE", "ARC_SANDBOX", "ARC_STATIC_BUCKET", "ARC_LOCAL", "ARC_WSS_URL"}
)


def lambda_environment(
    manifest: Manifest, *, arc_env: str, ports: Mapping[str, int], host_env: Mapping[str, str]
) -> dict[str, str]:
    env: dict[str, str] = {
        "ARC_ENV": arc_env,
        "ARC_APP_NAME": manifest.app,
        "ARC_ROLE": "SandboxRole",
        "ARC_SESSION_TABLE_NAME": host_env.get("ARC_SESSION_TABLE_NAME") or host_env.get("SESSION_TABLE_NAME") or "jwe",
        "AWS_REGION": host_env.get("AWS_REGION") or manifest.aws.region,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "PYTHONUNBUFFERED": "true",
    }
    if not (host_env.get("AWS_ACCESS_KEY_ID") or host_env.get("AWS_PROFILE")):
        env["AWS_ACCESS_KEY_ID"] = "arcDummyAccessKey"
        env["AWS_SECRET_ACCESS_KEY"] = "arcDummySecretKey"
    if manifest.ws:  # the #12 hook: where @ws clients connect, as Architect's sandbox says
        env["ARC_WSS_URL"] = f"ws://localhost:{ports['http']}"
    if manifest.static is not None:
        env["ARC_STATIC_BUCKET"] = str(manifest.root / manifest.static.folder)
    for key, value in manifest.user_env(arc_env).items():
        if key not in RESERVED:
            env[key] = value
    env["ARC_SANDBOX"] = json.dumps(
        {
            "apiType": manifest.aws.apigateway,
            "cwd": str(manifest.root),
            "ports": {
                "http": ports["http"],
                "events": ports["events"],
                "tables": ports["tables"],
                "_arc": ports["internal"],
            },
            "staticPath": env.get("ARC_STATIC_BUCKET"),
            "version": SANDBOX_COMPAT_VERSION,
            "arcSandboxPython": __version__,
        }
    )
    return env


class EnvironmentPatch:
    """Sets variables in os.environ and puts back what was there before, however often it was applied."""

    def __init__(self) -> None:
        self._saved: dict[str, str | None] = {}

    def apply(self, values: Mapping[str, str]) -> None:
        for key, value in values.items():
            self._saved.setdefault(key, os.environ.get(key))
            os.environ[key] = value

    def restore(self) -> None:
        for key, old in self._saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old
        self._saved.clear()

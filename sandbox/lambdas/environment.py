"""The environment variables an execution environment sees (reference §2.3), one function at a time.

Lambda's Python runtime variables, Architect's (ARC_*), the app's own (`@env`, `.env`, prefs.arc),
and endpoints that point boto3 at the sandbox. Nothing here is written to the sandbox's own
`os.environ`: each worker process gets its dictionary at creation.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sandbox._version import __version__
from sandbox.model import FunctionSpec, Manifest

# Architect-functions and @architect/functions require ARC_SANDBOX.version >= 5.0.0.
SANDBOX_COMPAT_VERSION = "9.0.0"
RESERVED = frozenset(
    {"ARC_APP_NAME", "ARC_ENV", "ARC_ROLE", "ARC_SANDBOX", "ARC_STATIC_BUCKET", "ARC_LOCAL", "ARC_WSS_URL"}
)
# What a local process needs from the host beyond Lambda's own variables: a PATH to run tools, a home
# and locale, the user's AWS profile and real credentials, and coverage's hook for measuring workers.
HOST_PASSTHROUGH = (
    "PATH",
    "HOME",
    "USER",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TMPDIR",
    "SYSTEMROOT",
    "VIRTUAL_ENV",
    "AWS_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "ARC_LOCAL",
    "ARC_STATIC_SPA",
    "COVERAGE_PROCESS_START",
)
# boto3 reads AWS_ENDPOINT_URL_<SERVICE ID>; each points at the port that serves that wire API.
ENDPOINTS = {
    "AWS_ENDPOINT_URL_DYNAMODB": "tables",
    "AWS_ENDPOINT_URL_DYNAMODB_STREAMS": "tables",
    "AWS_ENDPOINT_URL_SNS": "events",
    "AWS_ENDPOINT_URL_SQS": "events",
    "AWS_ENDPOINT_URL_LAMBDA": "events",
    "AWS_ENDPOINT_URL_SSM": "internal",
    "AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI": "internal",  # @ws: /@connections/<id> (#12)
}


@dataclass(frozen=True)
class AppEnvironment:
    """What every function of one running app shares; `for_function` adds the per-function part."""

    manifest: Manifest
    arc_env: str
    ports: Mapping[str, int]
    host_env: Mapping[str, str]
    endpoint_host: str = "127.0.0.1"

    def arc_sandbox(self) -> str:
        """ARC_SANDBOX: how architect-functions and sandbox.arc find the sandbox's ports."""
        ports = self.ports
        static = self.manifest.root / self.manifest.static.folder if self.manifest.static is not None else None
        return json.dumps(
            {
                "apiType": self.manifest.aws.apigateway,
                "cwd": str(self.manifest.root),
                "ports": {
                    "http": ports["http"],
                    "events": ports["events"],
                    "tables": ports["tables"],
                    "_arc": ports["internal"],
                },
                "staticPath": str(static) if static else None,
                "version": SANDBOX_COMPAT_VERSION,
                "arcSandboxPython": __version__,
            }
        )

    def client(self) -> dict[str, str]:
        """What a script or a test process needs to reach this sandbox with sandbox.arc, architect-functions
        or boto3: ARC_* and the endpoints, without any function's Lambda variables."""
        region = self.host_env.get("AWS_REGION") or self.manifest.aws.region
        env = {
            "ARC_ENV": self.arc_env,
            "ARC_APP_NAME": self.manifest.app,
            "ARC_SANDBOX": self.arc_sandbox(),
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
        }
        env.update(self._credentials())
        env.update(self._endpoints())
        return env

    def for_function(self, fn: FunctionSpec) -> dict[str, str]:
        manifest, host = self.manifest, self.host_env
        name = fn.function_name
        region = host.get("AWS_REGION") or manifest.aws.region
        env = {key: host[key] for key in HOST_PASSTHROUGH if key in host}
        env.update(
            {
                "AWS_REGION": region,
                "AWS_DEFAULT_REGION": region,
                "AWS_LAMBDA_FUNCTION_NAME": name,
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory),
                "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
                "AWS_LAMBDA_LOG_STREAM_NAME": time.strftime("%Y/%m/%d/[$LATEST]") + uuid.uuid4().hex,
                "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
                "AWS_EXECUTION_ENV": f"AWS_Lambda_{fn.runtime}",
                "LAMBDA_TASK_ROOT": str(fn.src_dir),
                "LAMBDA_RUNTIME_DIR": str(Path(__file__).resolve().parent),
                "TZ": ":UTC",
                "PYTHONUNBUFFERED": "true",
                "PYTHONPATH": str(fn.src_dir / "vendor"),
                "ARC_ENV": self.arc_env,
                "ARC_APP_NAME": manifest.app,
                "ARC_ROLE": "SandboxRole",
                "ARC_SESSION_TABLE_NAME": host.get("ARC_SESSION_TABLE_NAME") or host.get("SESSION_TABLE_NAME") or "jwe",
            }
        )
        env.update(self._credentials())
        env.update(self._endpoints())
        if manifest.static is not None:
            env["ARC_STATIC_BUCKET"] = str(manifest.root / manifest.static.folder)
        if manifest.ws:  # where @ws clients connect, as Architect's sandbox says (#12)
            env["ARC_WSS_URL"] = f"ws://localhost:{self.ports['http']}"
        if fn.env:
            for key, value in manifest.user_env(self.arc_env).items():
                if key not in RESERVED:
                    env[key] = value
        else:
            env["ARC_DISABLE_ENV_VARS"] = "true"
        env["ARC_SANDBOX"] = self.arc_sandbox()
        return env

    def _credentials(self) -> dict[str, str]:
        """Dummy credentials, unless the user has real ones (boto3 signs every request, even to us)."""
        if self.host_env.get("AWS_ACCESS_KEY_ID") or self.host_env.get("AWS_PROFILE"):
            return {}
        return {"AWS_ACCESS_KEY_ID": "arcDummyAccessKey", "AWS_SECRET_ACCESS_KEY": "arcDummySecretKey"}

    def _endpoints(self) -> dict[str, str]:
        found: dict[str, str] = {}
        for variable, service in ENDPOINTS.items():
            user_value = self.host_env.get(variable)
            port = self.ports.get(service)
            if user_value:
                found[variable] = user_value
            elif port:
                found[variable] = f"http://{self.endpoint_host}:{port}"
        return found


HANDLER_FILES = ("lambda.py", "handler.py", "index.py")


# Handler files of Lambda's other runtimes, as Architect lays them out: what a folder without a Python one may hold.
OTHER_RUNTIME_FILES = {
    "index.js": "Node.js", "index.mjs": "Node.js", "index.cjs": "Node.js", "index.ts": "TypeScript",
    "handler.js": "Node.js", "index.rb": "Ruby", "lambda.rb": "Ruby", "main.go": "Go", "bootstrap": "a custom runtime",
}  # fmt: skip


def other_runtime_handler(src_dir: Path) -> str | None:
    """'Node.js (index.js)' when the folder holds another runtime's handler instead of a Python one."""
    for name, language in OTHER_RUNTIME_FILES.items():
        if (src_dir / name).is_file():
            return f"{language} ({name})"
    return None


def handler_module(src_dir: Path) -> str | None:
    """The module Lambda would import: the first of lambda.py, handler.py, index.py that exists."""
    for name in HANDLER_FILES:
        if (src_dir / name).is_file():
            return name[: -len(".py")]
    return None

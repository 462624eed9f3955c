"""`arc-sandbox init`: a starter project, or the missing handler folders of an existing app.arc."""

from __future__ import annotations

import re
from pathlib import Path

from sandbox.lambdas.environment import HANDLER_FILES
from sandbox.manifest import load_manifest
from sandbox.model import FunctionSpec

STARTER = """@app
{name}

@http
get /

@events
hello
"""
HANDLERS = {
    "http": '''"""{name}: answers with a greeting."""


def handler(event, context):
    return {{"statusCode": 200, "headers": {{"content-type": "text/html; charset=utf8"}}, "body": "<h1>Hello from {name}</h1>"}}
''',
    "events": '''"""{name}: gets each published payload."""

import json


def handler(event, context):
    for record in event["Records"]:
        print("{name} got", json.loads(record["Sns"]["Message"]))
''',
    "queues": '''"""{name}: gets each queued message."""

import json


def handler(event, context):
    for record in event["Records"]:
        print("{name} got", json.loads(record["body"]))
''',
    "scheduled": '''"""{name}: runs on its schedule."""


def handler(event, context):
    print("{name} ran at", event["time"])
''',
    "tables-streams": '''"""{name}: gets each change to its table, in write order."""


def handler(event, context):
    for record in event["Records"]:
        print("{name} got", record["eventName"], record["dynamodb"]["Keys"])
''',
    "ws": '''"""@ws {name}: a 2xx statusCode accepts a connection (connect) or a message."""


def handler(event, context):
    print("{name}", event["requestContext"]["connectionId"], event.get("body"))
    return {{"statusCode": 200}}
''',
}


def _app_name(dest: Path) -> str:
    name = re.sub(r"[^a-zA-Z0-9_-]+", "-", dest.name).strip("-_").lower() or "my-app"
    return name if name[0].isalpha() else f"app-{name}"


def init_project(dest: Path, *, app_name: str | None = None) -> list[Path]:
    """Write what is missing and return it; never overwrites a file."""
    dest.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    manifest_file = dest / "app.arc"
    if not any((dest / n).exists() for n in ("app.arc", ".arc", "arc.json", "arc.yaml", "arc.yml")):
        manifest_file.write_text(STARTER.format(name=app_name or _app_name(dest)))
        written.append(manifest_file)
    manifest = load_manifest(dest)
    functions: list[FunctionSpec] = [r.function for r in manifest.http]
    functions += [e.function for e in manifest.events] + [q.function for q in manifest.queues]
    functions += [s.function for s in manifest.scheduled] + [s.function for s in manifest.tables_streams]
    functions += [w.function for w in manifest.ws]
    for fn in functions:
        if any((fn.src_dir / name).exists() for name in HANDLER_FILES):
            continue
        fn.src_dir.mkdir(parents=True, exist_ok=True)
        handler = fn.src_dir / "lambda.py"
        handler.write_text(HANDLERS[fn.pragma].format(name=fn.name))
        written.append(handler)
    return written

"""The sandbox's own endpoints on the events port, for the CLI: invoke by hand, list messages."""

from __future__ import annotations

import json
from dataclasses import asdict, is_dataclass
from typing import Any

from aiohttp import web

from sandbox.bus import EventBus
from sandbox.errors import NotFoundError

INVOKE_PATH = "/_sandbox/invoke"
MESSAGES_PATH = "/_sandbox/messages"
PRAGMAS = ("events", "queues", "scheduled")


def control_routes(bus: EventBus) -> list[web.RouteDef]:
    async def invoke(request: web.Request) -> web.Response:
        try:
            body = await request.json()
            pragma, name = body["pragma"], body["name"]
        except (ValueError, KeyError, TypeError):
            return web.json_response({"error": 'expected JSON {"pragma", "name", "payload"}'}, status=400)
        if pragma not in PRAGMAS:
            return web.json_response({"error": f"pragma must be one of {', '.join(PRAGMAS)}"}, status=400)
        try:
            result = await bus.invoke_now(pragma, name, body.get("payload"))
        except NotFoundError as error:
            return web.json_response({"error": error.message}, status=404)
        return web.json_response(_plain(result))

    async def messages(request: web.Request) -> web.Response:
        listing = {"pending": bus.pending(), "in_flight": bus.in_flight(), "dead_letters": bus.dead_letters()}
        return web.json_response(_plain(listing), dumps=lambda o: json.dumps(o, default=str))

    return [web.post(INVOKE_PATH, invoke), web.get(MESSAGES_PATH, messages)]


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value

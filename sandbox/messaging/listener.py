"""The events port as architect-functions and @architect/functions use it: POST /events, /queues."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from sandbox.errors import NotFoundError, ValidationError

MESSAGE_ID_HEADER = "x-arc-message-id"

if TYPE_CHECKING:
    from sandbox.bus import EventBus

PARSE_ERROR = "Sandbox @event bus exception parsing request body"


def bus_routes(bus: EventBus) -> list[web.RouteDef]:
    async def parse(request: web.Request) -> dict[str, Any] | None:
        try:
            body = json.loads(await request.read())
        except ValueError:
            return None
        return body if isinstance(body, dict) and isinstance(body.get("name"), str) else None

    async def events(request: web.Request) -> web.Response:
        body = await parse(request)
        if body is None:
            return web.Response(status=400, text=PARSE_ERROR)
        try:
            message_id = await bus.publish(body["name"], body.get("payload"))
        except NotFoundError:
            return web.Response(status=404, text="Not found")
        except ValidationError as error:
            return web.Response(status=400, text=error.message)
        # "ok" is what Architect's sandbox answers and architect-functions returns; the id rides in a header.
        return web.Response(text="ok", headers={MESSAGE_ID_HEADER: str(message_id)})

    async def queues(request: web.Request) -> web.Response:
        body = await parse(request)
        if body is None:
            return web.Response(status=400, text=PARSE_ERROR)
        try:
            delay = float(body.get("delaySeconds") or 0)
            group = body.get("groupID")
            message_id = await bus.send_message(body["name"], body.get("payload"), delay_seconds=delay, group_id=group)
        except NotFoundError:
            return web.Response(status=404, text="Not found")
        except (ValidationError, ValueError, TypeError) as error:
            return web.Response(status=400, text=str(error))
        return web.Response(text="ok", headers={MESSAGE_ID_HEADER: str(message_id)})

    return [web.post("/events", events), web.post("/", events), web.post("/queues", queues)]

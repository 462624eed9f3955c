"""`from sandbox import arc`: the handler runtime API, shaped like @architect/functions.

    arc.events.publish(name, payload)          / await arc.events.publish_async(...)
    arc.queues.publish(name, payload, delay_seconds=0, group_id=None)
    arc.events.subscribe(fn) / arc.queues.subscribe(fn)
    arc.tables().tasks.get(...)                / (await arc.tables_async()).tasks.get(...)
    arc.http.parse_body(event), arc.http.response(...), arc.http.redirect(url)
    arc.ws.send(connection_id, payload), arc.ws.close(...), arc.ws.info(...)

Inside the sandbox's process it calls the bus and the store directly; in another process with
ARC_SANDBOX set it uses the sandbox's ports; otherwise AWS (boto3, imported only then). Importing it
loads neither aiohttp nor boto3.
"""

from __future__ import annotations

from sandbox.arc import events, http, queues, ws
from sandbox.arc._tables import AsyncTablesClient, TablesClient, tables, tables_async

__all__ = ["AsyncTablesClient", "TablesClient", "events", "http", "queues", "tables", "tables_async", "ws"]

"""The tables port as `arc-sandbox start` serves it (its own HTTP server, every port's protections), for a
store the test made: the DynamoDB tests go through what users reach, not a stand-in."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from sandbox.dynamodb.protocol import DynamoEndpoint
from sandbox.guard import HostPolicy
from sandbox.server import Limits, Listeners
from sandbox.store import TableStore


@contextlib.asynccontextmanager
async def tables_port(store: TableStore) -> AsyncIterator[int]:
    """Serve `store` on a free loopback port until the block ends; yields the port."""
    listeners = Listeners(limits=Limits(), policy=HostPolicy(), logger=logging.getLogger("arc_sandbox.server"))
    try:
        yield await listeners.listen_tables(DynamoEndpoint(store), host="127.0.0.1", port=0)
    finally:
        await listeners.close()

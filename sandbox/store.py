"""TableStore: DynamoDB's data model on the sandbox's SQLite database, the one entry point to @tables.

The operations live in `sandbox/dynamodb/`; this class owns their shared state (catalog, expression
cache, idempotency tokens, the TTL sweep) and maps DynamoDB operation names onto them.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from sandbox.clock import Clock
from sandbox.db import Database
from sandbox.dynamodb import (
    batch,
    legacy,
    operations,
    query,
    seed,
    storage,
    stream_api,
    stream_log,
    tables,
    tags,
    transactions,
    ttl,
)
from sandbox.dynamodb.context import Context
from sandbox.dynamodb.schema import table_from_spec
from sandbox.errors import UnknownOperationError, ValidationError
from sandbox.model import TableSpec

if TYPE_CHECKING:
    from sandbox.dynamodb.partiql import PartiQL

Request = Mapping[str, Any]
Response = dict[str, Any]
STAGES = ("staging", "production")
WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})
MANIFEST_STREAM_VIEW = "NEW_AND_OLD_IMAGES"  # what Architect deploys for a @tables-streams table


class TableStore:
    """Every DynamoDB table of one sandbox.

    Args:
        db: the sandbox's database (opened by its owner); every write goes through `db.transaction()` (or `db.write_one()`).
        clock: the source of `now` for TTL and idempotency tokens.
        app_name: the manifest's app name, for physical table names (`<app>-staging-<table>`).
        tables: the manifest's `@tables`, created at `start()` in both the staging and production names.

    Example:
        store = TableStore(db, clock=SystemClock(), app_name="my-app", tables=manifest.tables)
        await store.start()
        await store.call("PutItem", {"TableName": store.physical_name("notes"), "Item": {"id": {"S": "1"}}})
    """

    def __init__(
        self,
        db: Database,
        *,
        clock: Clock,
        app_name: str,
        tables: Sequence[TableSpec] = (),
        region: str = "us-west-2",
        account_id: str = "123456789012",
        sweep_interval: float = ttl.INTERVAL,
        logger: logging.Logger | None = None,
    ) -> None:
        self.ctx = Context(db=db, clock=clock, region=region, account_id=account_id)
        self.app_name = app_name
        self._specs = tuple(tables)
        self._logger = logger or logging.getLogger("arc_sandbox.tables")
        self._tokens = transactions.TokenCache(clock)
        self._sweeper = ttl.Sweeper(self.ctx, interval=sweep_interval, logger=self._logger)
        self.streams = stream_api.StreamsApi(self.ctx)
        self._started = False
        self._on_write: list[Callable[[], None]] = []
        self._partiql: PartiQL | None = None  # made on the first statement (see `partiql`)
        self._ops: dict[str, Callable[[Request], Awaitable[Response]]] = {
            "PutItem": self.put_item,
            "GetItem": self.get_item,
            "DeleteItem": self.delete_item,
            "UpdateItem": self.update_item,
            "Query": self.query,
            "Scan": self.scan,
            "BatchGetItem": self.batch_get_item,
            "BatchWriteItem": self.batch_write_item,
            "TransactWriteItems": self.transact_write_items,
            "TransactGetItems": self.transact_get_items,
            "ExecuteStatement": lambda request: self.partiql().execute_statement(request),
            "BatchExecuteStatement": lambda request: self.partiql().batch_execute_statement(request),
            "ExecuteTransaction": lambda request: self.partiql().execute_transaction(request),
            "CreateTable": self.create_table,
            "DeleteTable": self.delete_table,
            "UpdateTable": self.update_table,
            "DescribeTable": self.describe_table,
            "ListTables": self.list_tables,
            "UpdateTimeToLive": self.update_time_to_live,
            "DescribeTimeToLive": self.describe_time_to_live,
            "DescribeContinuousBackups": self.describe_continuous_backups,
            "TagResource": self.tag_resource,
            "UntagResource": self.untag_resource,
            "ListTagsOfResource": self.list_tags_of_resource,
        }

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Create the schema, load the catalog, create or reconcile the manifest's tables, start the sweep."""
        if self._started:
            return
        async with self.ctx.db.transaction() as conn:
            await storage.create_schema(conn)
            await stream_log.create_schema(conn)
            await tags.create_schema(conn)
            await self.ctx.catalog.load(conn)
        await self._ensure_manifest()
        self._sweeper.start()
        self._started = True

    async def stop(self) -> None:
        """Cancel the TTL sweep; safe to call twice. The database belongs to the caller."""
        self._started = False
        await self._sweeper.stop()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def sync_manifest(self, app_name: str, tables: Sequence[TableSpec]) -> None:
        """Hot reload: create new tables, reconcile indexes and TTL of existing ones, keep all data.

        A table dropped from the manifest keeps its data and stays reachable by its physical name,
        but leaves discovery (`logical_tables`), so a handler can no longer find it by logical name.
        """
        self.app_name = app_name
        self._specs = tuple(tables)
        await self._ensure_manifest()

    async def _ensure_manifest(self) -> None:
        for spec in self._specs:
            for stage in STAGES:
                wanted = table_from_spec(spec, f"{self.app_name}-{stage}-{spec.name}")
                await tables.ensure(self.ctx, wanted, stream_view=MANIFEST_STREAM_VIEW if spec.stream else None)

    def on_write(self, listener: Callable[[], None]) -> None:
        """Call `listener` after every write operation (the @tables-streams readers look for records then)."""
        self._on_write.append(listener)

    # --- names -------------------------------------------------------------------------------

    def physical_name(self, logical: str) -> str:
        return f"{self.app_name}-staging-{logical}"

    def logical_tables(self) -> dict[str, str]:
        return {spec.name: self.physical_name(spec.name) for spec in self._specs}

    async def seed(self, path: Path) -> tuple[int, int]:
        """Load `sandbox-seed.json` rows; returns (tables, rows)."""
        return await seed.seed(self.ctx, path, self.physical_name, logger=self._logger)

    async def sweep_expired(self) -> int:
        """Delete expired items now; returns how many (the background sweep does this every interval)."""
        return await ttl.sweep_expired(self.ctx)

    async def next_sweep(self) -> None:
        """Wait for the background sweep's next pass to finish."""
        await self._sweeper.next_sweep()

    # --- operations --------------------------------------------------------------------------

    async def call(self, operation: str, request: Request) -> Response:
        """Run one DynamoDB operation on a wire-format request; raises `errors.AwsError` subclasses."""
        handler = self._ops.get(operation)
        if handler is None:
            raise UnknownOperationError(f"Unknown operation: {operation}")
        if type(request) is not dict and not isinstance(request, Mapping):  # the ABC check is slow on the hot path
            raise ValidationError("The request body must be a JSON object")
        response = await handler(legacy.translate(operation, request))
        if operation in WRITES:
            for listener in self._on_write:
                listener()
        return response

    async def call_streams(self, operation: str, request: Request, *, region: str | None = None) -> Response:
        """Run one DynamoDB Streams operation (ListStreams, DescribeStream, GetShardIterator, GetRecords)."""
        if not isinstance(request, Mapping):
            raise ValidationError("The request body must be a JSON object")
        return await self.streams.call(operation, request, region=region)

    def partiql(self) -> PartiQL:
        """PartiQL's operations, loaded on the first statement: most apps never send one, and importing
        its parser would add 20-30 ms to every start."""
        if self._partiql is None:
            from sandbox.dynamodb.partiql import PartiQL

            # It runs as the operations it translates to, through `call`: their writes reach the listeners.
            self._partiql = PartiQL(self.ctx.catalog, self.call)
        return self._partiql

    async def put_item(self, request: Request) -> Response:
        return await operations.put_item(self.ctx, request)

    async def get_item(self, request: Request) -> Response:
        return await operations.get_item(self.ctx, request)

    async def delete_item(self, request: Request) -> Response:
        return await operations.delete_item(self.ctx, request)

    async def update_item(self, request: Request) -> Response:
        return await operations.update_item(self.ctx, request)

    async def query(self, request: Request) -> Response:
        return await query.query(self.ctx, request)

    async def scan(self, request: Request) -> Response:
        return await query.scan(self.ctx, request)

    async def batch_get_item(self, request: Request) -> Response:
        return await batch.batch_get_item(self.ctx, request)

    async def batch_write_item(self, request: Request) -> Response:
        return await batch.batch_write_item(self.ctx, request)

    async def transact_write_items(self, request: Request) -> Response:
        return await transactions.transact_write_items(self.ctx, self._tokens, request)

    async def transact_get_items(self, request: Request) -> Response:
        return await transactions.transact_get_items(self.ctx, request)

    async def create_table(self, request: Request) -> Response:
        return await tables.create_table(self.ctx, request)

    async def delete_table(self, request: Request) -> Response:
        return await tables.delete_table(self.ctx, request)

    async def update_table(self, request: Request) -> Response:
        return await tables.update_table(self.ctx, request)

    async def describe_table(self, request: Request) -> Response:
        return await tables.describe_table(self.ctx, request)

    async def list_tables(self, request: Request) -> Response:
        return await tables.list_tables(self.ctx, request)

    async def update_time_to_live(self, request: Request) -> Response:
        return await tables.update_time_to_live(self.ctx, request)

    async def describe_time_to_live(self, request: Request) -> Response:
        return await tables.describe_time_to_live(self.ctx, request)

    async def describe_continuous_backups(self, request: Request) -> Response:
        return await tables.describe_continuous_backups(self.ctx, request)

    async def tag_resource(self, request: Request) -> Response:
        return await tags.tag_resource(self.ctx, request)

    async def untag_resource(self, request: Request) -> Response:
        return await tags.untag_resource(self.ctx, request)

    async def list_tags_of_resource(self, request: Request) -> Response:
        return await tags.list_tags_of_resource(self.ctx, request)

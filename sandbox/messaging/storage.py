"""Queued messages, undelivered events (and Lambda async invokes) and dead letters in the sandbox's SQLite file, so a crash or
restart loses none of them.

Writes go through one `GroupCommit`: `save_*` methods return once committed (what a publisher's
acknowledgement waits for), `forget_*` ones are committed with the next group without waiting.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any

import aiosqlite

from sandbox.db import Database
from sandbox.lambdas.invocations import new_request_id
from sandbox.messaging.commits import GroupCommit, Statement
from sandbox.messaging.queues import QueuedMessage
from sandbox.messaging.results import EventJob, EventKind

# Columns added since the first release, with what an older database's rows get (see `create`).
_KIND_COLUMN = "kind TEXT NOT NULL DEFAULT 'events'"
_REQUEST_ID_COLUMN = "request_id TEXT"
SCHEMA = (
    """CREATE TABLE IF NOT EXISTS bus_messages (
        id TEXT PRIMARY KEY, queue TEXT NOT NULL, body TEXT NOT NULL, seq INTEGER NOT NULL,
        sent_at REAL NOT NULL, visible_at REAL NOT NULL, group_id TEXT, dedup_id TEXT,
        attributes TEXT NOT NULL, receive_count INTEGER NOT NULL, first_receive REAL, inflight INTEGER NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS bus_messages_queue ON bus_messages (queue, seq)",
    # `request_id`: the last attempt's (DeadLetter.request_id).
    f"""CREATE TABLE IF NOT EXISTS bus_dead_letters (
        id TEXT PRIMARY KEY, pragma TEXT NOT NULL, name TEXT NOT NULL, payload TEXT NOT NULL,
        attempts INTEGER NOT NULL, error TEXT, traceback TEXT, failed_at REAL NOT NULL, {_REQUEST_ID_COLUMN})""",
    # Every published event and Lambda async invoke until it is delivered or dead-lettered: its next
    # attempt and when it is due. `kind` says what `name` is: an @events topic ("events") or a function ("lambda").
    # `request_id` is every attempt's, so a retry after a restart has the id the first attempt had.
    f"""CREATE TABLE IF NOT EXISTS bus_events (
        message_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, name TEXT NOT NULL, payload TEXT NOT NULL,
        subject TEXT, attributes TEXT, attempt INTEGER NOT NULL, due REAL NOT NULL, {_KIND_COLUMN},
        {_REQUEST_ID_COLUMN})""",
)
_SAVE_MESSAGE = "INSERT OR REPLACE INTO bus_messages VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"
_DELETE_MESSAGE = "DELETE FROM bus_messages WHERE id = ?"
_EVENT_COLUMNS = "message_id, seq, name, payload, subject, attributes, attempt, due"
_SAVE_EVENT = f"INSERT OR REPLACE INTO bus_events ({_EVENT_COLUMNS}, kind, request_id) VALUES (?,?,?,?,?,?,?,?,?,?)"
_DELETE_EVENT = "DELETE FROM bus_events WHERE message_id = ?"
_DEAD_LETTER_COLUMNS = ("id", "pragma", "name", "payload", "attempts", "error", "traceback", "failed_at", "request_id")
_SAVE_DEAD_LETTER = (
    f"INSERT OR REPLACE INTO bus_dead_letters ({', '.join(_DEAD_LETTER_COLUMNS)}) VALUES (?,?,?,?,?,?,?,?,?)"
)


def _event_row(job: EventJob) -> tuple[Any, ...]:
    attributes = None if job.attributes is None else json.dumps(dict(job.attributes))
    payload = job.body if job.body is not None else json.dumps(job.payload)
    return (
        job.message_id, job.seq, job.name, payload, job.subject, attributes, job.attempt, job.due, job.kind,
        job.request_id,
    )  # fmt: skip


def _kind(stored: str) -> EventKind:
    if stored == "lambda":
        return "lambda"
    return "events"


async def _add_missing(conn: aiosqlite.Connection, table: str, columns: dict[str, str]) -> set[str]:
    """Add the columns (name: definition) an older version's `table` lacks; returns those it added."""
    async with conn.execute(f"SELECT name FROM pragma_table_info('{table}')") as cursor:
        present = {row[0] for row in await cursor.fetchall()}
    added = set(columns) - present
    for name in added:
        await conn.execute(f"ALTER TABLE {table} ADD COLUMN {columns[name]}")
    return added


async def _name_older_jobs(conn: aiosqlite.Connection) -> None:
    """An older version's jobs get their request id, so that their next attempts share it: an async
    invoke's is its message id (the 202 answered with it), an event delivery's a new one."""
    await conn.execute("UPDATE bus_events SET request_id = message_id WHERE request_id IS NULL AND kind = 'lambda'")
    async with conn.execute("SELECT message_id FROM bus_events WHERE request_id IS NULL") as cursor:
        unnamed = [(new_request_id(), row[0]) for row in await cursor.fetchall()]
    await conn.executemany("UPDATE bus_events SET request_id = ? WHERE message_id = ?", unnamed)


class BusStorage:
    def __init__(self, db: Database, *, logger: logging.Logger | None = None) -> None:
        self.db = db
        self.commits = GroupCommit(db, logger=logger or logging.getLogger("arc_sandbox.bus"))

    async def create(self) -> None:
        async with self.db.transaction() as conn:
            for statement in SCHEMA:
                await conn.execute(statement)
            # Before Lambda async invokes were stored beside events, every row was an @events topic's.
            # Before request ids were stored, every attempt made its own (and dead letters kept none).
            added = await _add_missing(conn, "bus_events", {"kind": _KIND_COLUMN, "request_id": _REQUEST_ID_COLUMN})
            await _add_missing(conn, "bus_dead_letters", {"request_id": _REQUEST_ID_COLUMN})
            # Before events were stored at publish, only retries were, in a table of the same shape.
            async with conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'bus_event_retries'") as cursor:
                retries = await cursor.fetchone() is not None
            if retries:
                await conn.execute(
                    f"INSERT OR IGNORE INTO bus_events ({_EVENT_COLUMNS}) SELECT {_EVENT_COLUMNS} FROM bus_event_retries"
                )
                await conn.execute("DROP TABLE bus_event_retries")
            if retries or "request_id" in added:  # once: every job stored since has its own
                await _name_older_jobs(conn)

    async def flush(self) -> None:
        await self.commits.flush()

    # --- queue messages ------------------------------------------------------------------------

    async def recover(self, now: float) -> list[QueuedMessage]:
        """Every stored message; those in flight when the last run ended are visible again now."""
        async with self.db.transaction() as conn:
            await conn.execute("UPDATE bus_messages SET inflight = 0, visible_at = MIN(visible_at, ?)", (now,))
        rows = await self.db.fetchall(
            "SELECT id, queue, body, seq, sent_at, visible_at, group_id, dedup_id, attributes, receive_count, "
            "first_receive FROM bus_messages ORDER BY seq"
        )
        return [
            QueuedMessage(
                id=r[0], queue=r[1], body=r[2], seq=r[3], sent_at=r[4], visible_at=r[5], group_id=r[6],
                dedup_id=r[7], attributes=json.loads(r[8]), receive_count=r[9], first_receive=r[10],
            )
            for r in rows
        ]  # fmt: skip

    async def save(self, messages: Iterable[QueuedMessage]) -> None:
        await self.commits.write((_SAVE_MESSAGE, [m.row() for m in messages]))

    def save_soon(self, messages: Iterable[QueuedMessage]) -> None:
        self.commits.write_soon((_SAVE_MESSAGE, [m.row() for m in messages]))

    def forget_messages(self, message_ids: Iterable[str]) -> None:
        self.commits.write_soon((_DELETE_MESSAGE, [(i,) for i in message_ids]))

    # --- events --------------------------------------------------------------------------------

    async def save_event(self, job: EventJob) -> None:
        """A published event, or one whose delivery failed, waiting for its next attempt."""
        await self.commits.write((_SAVE_EVENT, [_event_row(job)]))

    def forget_event(self, message_id: str) -> None:
        self.commits.write_soon((_DELETE_EVENT, [(message_id,)]))

    async def events(self) -> list[EventJob]:
        rows = await self.db.fetchall(
            "SELECT due, seq, name, payload, message_id, subject, attributes, attempt, kind, request_id "
            "FROM bus_events ORDER BY due, seq"
        )
        return [
            EventJob(
                due=r[0], seq=r[1], name=r[2], payload=json.loads(r[3]), message_id=r[4], subject=r[5],
                attributes=None if r[6] is None else json.loads(r[6]), attempt=r[7], body=r[3], kind=_kind(r[8]),
                request_id=r[9],
            )
            for r in rows
        ]  # fmt: skip

    # --- dead letters --------------------------------------------------------------------------

    async def dead_letter(
        self, letter: dict[str, Any], *, remove_messages: Iterable[str] = (), remove_event: str = ""
    ) -> None:
        """Store a dead letter, and drop the queue messages or event it replaces, in one transaction."""
        statements: list[Statement] = [(_DELETE_MESSAGE, [(i,) for i in remove_messages])]
        if remove_event:
            statements.append((_DELETE_EVENT, [(remove_event,)]))
        statements.append((_SAVE_DEAD_LETTER, [tuple(letter[key] for key in _DEAD_LETTER_COLUMNS)]))
        await self.commits.write(*statements)

    async def dead_letters(self) -> list[dict[str, Any]]:
        rows = await self.db.fetchall(
            f"SELECT {', '.join(_DEAD_LETTER_COLUMNS)} FROM bus_dead_letters ORDER BY failed_at"
        )
        return [dict(zip(_DEAD_LETTER_COLUMNS, row, strict=True)) for row in rows]

    async def forget_dead_letter(self, letter_id: str) -> None:
        await self.commits.write(("DELETE FROM bus_dead_letters WHERE id = ?", [(letter_id,)]))

"""The bus through its public API, with the real invoker, an in-memory database and a fake clock."""

from __future__ import annotations

import datetime
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from sandbox.bus import DeliveryFailedError, EventBus
from sandbox.clock import FakeClock
from sandbox.db import Database
from sandbox.errors import NotFoundError, ValidationError
from sandbox.lambdas.invoker import Invoker
from sandbox.model import EventSpec, FunctionSpec, Manifest, QueueSpec, ScheduleSpec

# Each handler appends what it got to a JSON-lines file, so tests read what ran, in order.
RECORDER = """
import json, os
LOG = {log!r}
def note(kind, value):
    with open(LOG, "a") as f:
        f.write(json.dumps([kind, value]) + "\\n")
"""

EVENT_OK = (
    RECORDER
    + """
def handler(event, context):
    for r in event["Records"]:
        note("event", json.loads(r["Sns"]["Message"]))
"""
)
EVENT_FAILS = (
    RECORDER
    + """
def handler(event, context):
    note("attempt", json.loads(event["Records"][0]["Sns"]["Message"]))
    raise RuntimeError("subscriber broke")
"""
)
QUEUE_OK = (
    RECORDER
    + """
def handler(event, context):
    note("batch", [json.loads(r["body"]) for r in event["Records"]])
"""
)
QUEUE_PARTIAL = (
    RECORDER
    + """
def handler(event, context):
    bad = [r["messageId"] for r in event["Records"] if json.loads(r["body"]).get("bad")]
    note("batch", [json.loads(r["body"]) for r in event["Records"]])
    return {"batchItemFailures": [{"itemIdentifier": i} for i in bad]}
"""
)
QUEUE_FAILS = (
    RECORDER
    + """
def handler(event, context):
    note("batch", [json.loads(r["body"]) for r in event["Records"]])
    raise ValueError("consumer broke")
"""
)
SCHEDULED = (
    RECORDER
    + """
def handler(event, context):
    note("tick", event["detail-type"])
"""
)


class App:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.log = root / "log.jsonl"

    def function(self, pragma: str, name: str, code: str, timeout: float = 5.0) -> FunctionSpec:
        folder = self.root / pragma / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "lambda.py").write_text(code.replace("{log!r}", repr(str(self.log))))
        return FunctionSpec(pragma, name, folder, timeout=timeout)  # type: ignore[arg-type]

    def notes(self, kind: str | None = None) -> list[Any]:
        if not self.log.exists():
            return []
        rows = [json.loads(line) for line in self.log.read_text().splitlines()]
        return [v for k, v in rows if kind is None or k == kind]


@pytest.fixture
def app(tmp_path: Path) -> App:
    return App(tmp_path)


@pytest.fixture
async def invoker() -> AsyncIterator[Invoker]:
    async with Invoker() as inv:
        yield inv


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


BusFactory = Callable[..., Any]


@pytest.fixture
async def make_bus(invoker: Invoker, clock: FakeClock, tmp_path: Path) -> AsyncIterator[BusFactory]:
    made: list[tuple[EventBus, Database]] = []

    async def make(manifest: Manifest, *, db_path: Path | None = None, **kwargs: Any) -> EventBus:
        db = Database(db_path)
        await db.open()
        bus = EventBus(manifest, invoker, db=db, clock=clock, **kwargs)
        await bus.start()
        made.append((bus, db))
        return bus

    yield make
    for bus, db in reversed(made):
        await bus.stop()
        await db.close()


def manifest(root: Path, **parts: Any) -> Manifest:
    return Manifest(app="bus-test", root=root, source=None, **parts)


async def test_bus_event_reaches_its_subscriber_with_an_sns_record(app: App, make_bus: BusFactory) -> None:
    fn = app.function("events", "hello", EVENT_OK)
    bus = await make_bus(manifest(app.root, events=(EventSpec("hello", fn),)))
    message_id = await bus.publish("hello", {"n": 1})
    results = await bus.drain(raise_on_failure=True)
    assert [(r.ok, r.attempt, r.message_ids) for r in results] == [(True, 1, (message_id,))]
    assert app.notes("event") == [{"n": 1}]
    assert [p.payload for p in bus.published] == [{"n": 1}]


async def test_bus_unknown_names_and_bad_payloads_are_errors(app: App, make_bus: BusFactory) -> None:
    fn = app.function("events", "hello", EVENT_OK)
    q = app.function("queues", "work", QUEUE_OK)
    bus = await make_bus(manifest(app.root, events=(EventSpec("hello", fn),), queues=(QueueSpec("work", q),)))
    with pytest.raises(NotFoundError, match="nope"):
        await bus.publish("nope", {})
    with pytest.raises(NotFoundError, match="nope"):
        await bus.send_message("nope", {})
    with pytest.raises(ValidationError, match="not JSON"):
        await bus.send_message("work", {"x": object()})
    with pytest.raises(ValidationError, match="FIFO"):
        await bus.send_message("work", {}, delay_seconds=5)
    assert bus.pending() == [] and bus.published == []


async def test_bus_event_retries_twice_with_backoff_then_dead_letters(
    app: App, make_bus: BusFactory, clock: FakeClock
) -> None:
    fn = app.function("events", "flaky", EVENT_FAILS)
    bus = await make_bus(manifest(app.root, events=(EventSpec("flaky", fn),)), retry_delays=(10.0, 20.0))
    await bus.publish("flaky", {"id": 1})
    assert [(r.ok, r.attempt) for r in await bus.drain()] == [(False, 1)]
    clock.advance(9)
    assert await bus.drain() == []  # the backoff waits for the clock
    clock.advance(1)
    assert [(r.ok, r.attempt) for r in await bus.drain()] == [(False, 2)]
    clock.advance(20)
    results = await bus.drain()
    assert [(r.ok, r.attempt) for r in results] == [(False, 3)]
    assert "subscriber broke" in (results[0].traceback or "")
    (letter,) = bus.dead_letters()
    assert (letter.pragma, letter.name, letter.payload, letter.attempts) == ("events", "flaky", {"id": 1}, 3)
    assert len(app.notes("attempt")) == 3


async def test_bus_dead_letter_can_be_replayed(app: App, make_bus: BusFactory, clock: FakeClock) -> None:
    fn = app.function("events", "flaky", EVENT_FAILS)
    bus = await make_bus(manifest(app.root, events=(EventSpec("flaky", fn),)), retry_delays=())
    await bus.publish("flaky", {"id": 7})
    await bus.drain()
    (letter,) = bus.dead_letters()
    await bus.replay_dead_letter(letter.id)
    with pytest.raises(DeliveryFailedError, match="subscriber broke"):
        await bus.drain(raise_on_failure=True)
    assert app.notes("attempt") == [{"id": 7}, {"id": 7}]


async def test_bus_queue_delivers_sqs_records_in_batches(app: App, make_bus: BusFactory, clock: FakeClock) -> None:
    q = app.function("queues", "work", QUEUE_OK)
    spec = QueueSpec("work", q, fifo=False, batch_size=3, batch_window=1)
    bus = await make_bus(manifest(app.root, queues=(spec,)))
    for n in range(7):
        await bus.send_message("work", {"n": n})
    clock.advance(1)
    results = await bus.drain(raise_on_failure=True)
    assert sorted(len(r.message_ids) for r in results) == [1, 3, 3]
    assert sorted(n["n"] for batch in app.notes("batch") for n in batch) == list(range(7))
    assert bus.pending() == [] and bus.in_flight() == []


async def test_bus_queue_batch_window_waits_for_more_messages(app: App, make_bus: BusFactory, clock: FakeClock) -> None:
    q = app.function("queues", "work", QUEUE_OK)
    spec = QueueSpec("work", q, fifo=False, batch_size=10, batch_window=5)
    bus = await make_bus(manifest(app.root, queues=(spec,)))
    await bus.send_message("work", {"n": 1})
    assert await bus.drain() == []
    assert bus.next_due() == clock.now() + 5
    await bus.send_message("work", {"n": 2})
    clock.advance(5)
    (result,) = await bus.drain()
    assert len(result.message_ids) == 2


async def test_bus_queue_delay_seconds(app: App, make_bus: BusFactory, clock: FakeClock) -> None:
    q = app.function("queues", "work", QUEUE_OK)
    bus = await make_bus(manifest(app.root, queues=(QueueSpec("work", q, fifo=False),)))
    await bus.send_message("work", {"later": True}, delay_seconds=30)
    assert await bus.drain() == []
    assert bus.next_due() == clock.now() + 30
    clock.advance(30)
    assert [r.ok for r in await bus.drain()] == [True]
    assert app.notes("batch") == [[{"later": True}]]


async def test_bus_queue_failed_batch_returns_after_visibility_timeout_then_redrives(
    app: App, make_bus: BusFactory, clock: FakeClock
) -> None:
    q = app.function("queues", "work", QUEUE_FAILS, timeout=2)
    bus = await make_bus(manifest(app.root, queues=(QueueSpec("work", q, fifo=False),)), max_receive_count=2)
    await bus.send_message("work", {"n": 1})
    assert [r.ok for r in await bus.drain()] == [False]
    assert bus.next_due() == clock.now() + 12  # default visibility: 6 x the function timeout
    clock.advance(11)
    assert await bus.drain() == []
    clock.advance(1)
    (second,) = await bus.drain()
    assert (second.ok, second.attempt) == (False, 2)
    assert bus.pending() == [] and bus.in_flight() == []
    (letter,) = bus.dead_letters()
    assert (letter.pragma, letter.payload, letter.attempts) == ("queues", {"n": 1}, 2)


async def test_bus_queue_partial_batch_failure_retries_only_the_failed(
    app: App, make_bus: BusFactory, clock: FakeClock
) -> None:
    q = app.function("queues", "work", QUEUE_PARTIAL)
    bus = await make_bus(manifest(app.root, queues=(QueueSpec("work", q, fifo=False, batch_window=1),)))
    for body in ({"n": 1}, {"n": 2, "bad": True}, {"n": 3}):
        await bus.send_message("work", body)
    clock.advance(1)
    (first,) = await bus.drain()
    assert not first.ok and len(first.failed_ids) == 1
    clock.advance(30 + 1)  # visibility timeout, then the batch window
    await bus.drain()
    assert app.notes("batch") == [[{"n": 1}, {"n": 2, "bad": True}, {"n": 3}], [{"n": 2, "bad": True}]]


async def test_bus_fifo_keeps_order_per_group_and_deduplicates(app: App, make_bus: BusFactory) -> None:
    q = app.function("queues", "orders", QUEUE_OK)
    bus = await make_bus(manifest(app.root, queues=(QueueSpec("orders", q, fifo=True, batch_size=1),)))
    first = await bus.send_message("orders", {"n": 1}, group_id="a")
    await bus.send_message("orders", {"n": 2}, group_id="a")
    await bus.send_message("orders", {"n": 3}, group_id="b")
    again = await bus.send_message("orders", {"n": 1}, group_id="a")  # same body: content-based dedup
    assert again == first
    await bus.drain(raise_on_failure=True)
    batches = [b[0]["n"] for b in app.notes("batch")]
    assert sorted(batches) == [1, 2, 3]
    assert batches.index(1) < batches.index(2)


async def test_bus_fifo_group_waits_while_a_message_is_retried(
    app: App, make_bus: BusFactory, clock: FakeClock
) -> None:
    q = app.function("queues", "orders", QUEUE_PARTIAL)
    bus = await make_bus(manifest(app.root, queues=(QueueSpec("orders", q, fifo=True, batch_size=1),)))
    await bus.send_message("orders", {"n": 1, "bad": True}, group_id="a")
    await bus.send_message("orders", {"n": 2}, group_id="a")
    await bus.drain()
    assert app.notes("batch") == [[{"n": 1, "bad": True}]]  # n=2 must not overtake the failed n=1
    clock.advance(30)
    await bus.drain()
    assert [b[0]["n"] for b in app.notes("batch")][:2] == [1, 1]


async def test_bus_messages_survive_a_crash_and_are_redelivered(
    app: App, invoker: Invoker, clock: FakeClock, tmp_path: Path
) -> None:
    q = app.function("queues", "work", QUEUE_OK)
    m = manifest(app.root, queues=(QueueSpec("work", q, fifo=False),))
    db_path = tmp_path / "bus.db"
    db = Database(db_path)
    await db.open()
    crashed = EventBus(m, invoker, db=db, clock=clock)
    await crashed.start()
    await crashed.send_message("work", {"n": 1}, delay_seconds=60)
    await crashed.stop()  # the process dies before the message is due
    await db.close()
    db = Database(db_path)
    await db.open()
    restarted = EventBus(m, invoker, db=db, clock=clock)
    await restarted.start()
    try:
        assert [p["name"] for p in restarted.pending()] == ["work"]
        clock.advance(60)
        assert [r.ok for r in await restarted.drain()] == [True]
        assert app.notes("batch") == [[{"n": 1}]]
    finally:
        await restarted.stop()
        await db.close()


async def test_bus_event_retries_survive_a_restart_and_are_forgotten_once_delivered(
    app: App, invoker: Invoker, clock: FakeClock, tmp_path: Path
) -> None:
    fn = app.function("events", "flaky", EVENT_FAILS)
    m = manifest(app.root, events=(EventSpec("flaky", fn),))
    db_path = tmp_path / "bus.db"

    async def run(check: Callable[[EventBus], Any]) -> None:
        db = Database(db_path)
        await db.open()
        bus = EventBus(m, invoker, db=db, clock=clock, retry_delays=(10.0, 20.0))
        await bus.start()
        try:
            await check(bus)
        finally:
            await bus.stop()
            await db.close()

    async def fail_once(bus: EventBus) -> None:
        await bus.publish("flaky", {"id": 1}, subject="s", attributes={"k": "v"})
        assert [(r.ok, r.attempt) for r in await bus.drain()] == [(False, 1)]

    async def retry_after_the_fix(bus: EventBus) -> None:
        assert [(p["name"], p["attempt"]) for p in bus.pending()] == [("flaky", 2)]
        clock.advance(10)
        assert [(r.ok, r.attempt) for r in await bus.drain()] == [(True, 2)]

    async def nothing_left(bus: EventBus) -> None:
        assert bus.pending() == [] and bus.dead_letters() == []

    await run(fail_once)  # the process stops during the backoff
    fixed = RECORDER + (
        "def handler(event, context):\n"
        "    sns = event['Records'][0]['Sns']\n"
        "    note('event', [json.loads(sns['Message']), sns['Subject'], sns['MessageAttributes']])\n"
    )
    (fn.src_dir / "lambda.py").write_text(fixed.replace("{log!r}", repr(str(app.log))))
    invoker.invalidate()  # the developer fixed the subscriber before starting again
    await run(retry_after_the_fix)
    ((message, subject, attributes),) = app.notes("event")
    assert (message, subject) == ({"id": 1}, "s")
    assert attributes["k"]["Value"] == "v"
    await run(nothing_left)


async def test_bus_event_unfinished_at_stop_runs_again_on_the_next_start(
    app: App, invoker: Invoker, clock: FakeClock, tmp_path: Path
) -> None:
    slow = "import asyncio\nasync def handler(event, context):\n    await asyncio.sleep(600)\n"
    fn = app.function("events", "slow", slow, timeout=900)
    m = manifest(app.root, events=(EventSpec("slow", fn),))
    db = Database(tmp_path / "bus.db")
    await db.open()
    try:
        bus = EventBus(m, invoker, db=db, clock=clock)
        await bus.start()
        await bus.publish("slow", {"id": 3})
        await bus.stop(grace=0)  # Ctrl-C while the subscriber is still at work
        (fn.src_dir / "lambda.py").write_text(EVENT_OK.replace("{log!r}", repr(str(app.log))))
        invoker.invalidate()
        restarted = EventBus(m, invoker, db=db, clock=clock)
        await restarted.start()
        assert [(p["name"], p["attempt"]) for p in restarted.pending()] == [("slow", 1)]
        assert [(r.ok, r.attempt) for r in await restarted.drain()] == [(True, 1)]
        assert app.notes("event") == [{"id": 3}]
        await restarted.stop()
    finally:
        await db.close()


async def test_bus_event_retry_that_dead_letters_leaves_only_the_dead_letter(
    app: App, invoker: Invoker, clock: FakeClock, tmp_path: Path
) -> None:
    fn = app.function("events", "flaky", EVENT_FAILS)
    m = manifest(app.root, events=(EventSpec("flaky", fn),))
    db = Database(tmp_path / "bus.db")
    await db.open()
    try:
        bus = EventBus(m, invoker, db=db, clock=clock, retry_delays=(10.0,))
        await bus.start()
        await bus.publish("flaky", {"id": 2})
        await bus.drain()
        clock.advance(10)
        await bus.drain()
        await bus.stop()
        restarted = EventBus(m, invoker, db=db, clock=clock, retry_delays=(10.0,))
        await restarted.start()
        assert restarted.pending() == []
        assert [(d.payload, d.attempts) for d in restarted.dead_letters()] == [({"id": 2}, 2)]
        await restarted.stop()
    finally:
        await db.close()


async def test_bus_in_flight_messages_become_visible_on_restart(
    app: App, invoker: Invoker, clock: FakeClock, tmp_path: Path
) -> None:
    from sandbox.messaging.storage import BusStorage

    q = app.function("queues", "work", QUEUE_OK)
    m = manifest(app.root, queues=(QueueSpec("work", q, fifo=False),))
    db = Database(tmp_path / "bus.db")
    await db.open()
    bus = EventBus(m, invoker, db=db, clock=clock)
    await bus.start()
    await bus.send_message("work", {"n": 1}, delay_seconds=1)
    await bus.stop()
    # what a crash mid-delivery leaves: the message marked in flight, invisible for a long time
    await BusStorage(db).save([])
    async with db.transaction() as conn:
        await conn.execute("UPDATE bus_messages SET inflight = 1, visible_at = ?", (clock.now() + 3600,))
    restarted = EventBus(m, invoker, db=db, clock=clock)
    await restarted.start()
    try:
        assert [r.ok for r in await restarted.drain()] == [True]
    finally:
        await restarted.stop()
        await db.close()


async def test_bus_scheduled_rate_fires_as_the_clock_passes(app: App, make_bus: BusFactory, clock: FakeClock) -> None:
    fn = app.function("scheduled", "tick", SCHEDULED)
    bus = await make_bus(manifest(app.root, scheduled=(ScheduleSpec("tick", fn, rate="5 minutes"),)))
    assert await bus.drain() == []
    assert bus.next_due() is None and bus.next_due(include_schedules=True) == clock.now() + 300
    clock.advance(300)
    assert [r.pragma for r in await bus.drain()] == ["scheduled"]
    clock.advance(600)
    await bus.drain()
    assert app.notes("tick") == ["Scheduled Event", "Scheduled Event"]


async def test_bus_scheduled_cron_uses_eventbridge_fields(app: App, make_bus: BusFactory, clock: FakeClock) -> None:
    from sandbox.messaging.schedules import Schedule

    fn = app.function("scheduled", "nightly", SCHEDULED)
    spec = ScheduleSpec("nightly", fn, cron="0 3 ? * MON-FRI *")
    # 2023-11-14 was a Tuesday: the next weekday 03:00 UTC after 2023-11-14 22:13 is Wednesday 03:00
    assert Schedule(spec).next_after(1_700_000_000) == 1_700_017_200
    bus = await make_bus(manifest(app.root, scheduled=(spec,)))
    due = bus.next_due(include_schedules=True)
    assert due is not None
    clock.advance(due - clock.now())
    assert [r.ok for r in await bus.drain()] == [True]


@pytest.mark.parametrize(
    ("cron", "after", "fires"),
    [
        pytest.param("15 10 ? * 6L *", "2026-11-29 18:00", "2026-12-25 10:15", id="last-friday"),
        pytest.param("0 10 LW * ? *", "2026-11-30 11:00", "2026-12-31 10:00", id="last-weekday"),
        pytest.param("0 10 LW * ? *", "2027-01-01 00:00", "2027-01-29 10:00", id="last-weekday-before-a-weekend"),
        pytest.param("0 10 15W * ? *", "2026-11-01 00:00", "2026-11-16 10:00", id="nearest-weekday"),
        pytest.param("0 0 ? * L *", "2026-11-29 18:00", "2026-12-05 00:00", id="l-alone-is-saturday"),
        pytest.param("0 9 ? * 2#1 *", "2026-11-29 18:00", "2026-12-07 09:00", id="first-monday"),
        pytest.param("0 0 1 1 ? 2027/2", "2026-11-29 18:00", "2027-01-01 00:00", id="every-other-year"),
        pytest.param("0 0 1 1 ? 2025", "2026-11-29 18:00", None, id="a-year-gone-by"),
    ],
)
def test_schedule_reads_eventbridge_cron_as_eventbridge_does(cron: str, after: str, fires: str | None) -> None:
    from sandbox.messaging.schedules import Schedule

    utc = datetime.UTC
    start = datetime.datetime.fromisoformat(after).replace(tzinfo=utc).timestamp()
    found = Schedule(ScheduleSpec("s", None, cron=cron)).next_after(start)  # type: ignore[arg-type]
    expected = None if fires is None else datetime.datetime.fromisoformat(fires).replace(tzinfo=utc).timestamp()
    assert found == expected


async def test_bus_invoke_now_fires_by_hand(app: App, make_bus: BusFactory) -> None:
    fn = app.function("scheduled", "tick", SCHEDULED)
    bus = await make_bus(manifest(app.root, scheduled=(ScheduleSpec("tick", fn, rate="1 day"),)), run_schedules=False)
    result = await bus.invoke_now("scheduled", "tick")
    assert result.ok and app.notes("tick") == ["Scheduled Event"]
    with pytest.raises(NotFoundError):
        await bus.invoke_now("events", "tick")


async def test_bus_invoke_now_reports_a_message_the_queue_handler_failed(app: App, make_bus: BusFactory) -> None:
    """A handler answering with a partial batch failure for the message it was given failed that call,
    by hand as in a delivery (architect-functions' and sandbox.arc's `subscribe` answer this way)."""
    q = app.function("queues", "work", QUEUE_PARTIAL)
    e = app.function("events", "ping", EVENT_OK)
    bus = await make_bus(
        manifest(app.root, queues=(QueueSpec("work", q, fifo=False),), events=(EventSpec("ping", e),)),
        run_schedules=False,
    )
    failed = await bus.invoke_now("queues", "work", {"bad": True})
    assert not failed.ok and failed.failed_ids == failed.message_ids and len(failed.message_ids) == 1
    assert "partial batch failure" in (failed.error or "")
    fine = await bus.invoke_now("queues", "work", {"n": 1})
    assert fine.ok and fine.failed_ids == () and len(fine.message_ids) == 1
    event = await bus.invoke_now("events", "ping", {"n": 2})
    assert event.ok and len(event.message_ids) == 1
    assert app.notes("batch") == [[{"bad": True}], [{"n": 1}]] and app.notes("event") == [{"n": 2}]


async def test_work_accepted_before_the_bus_starts_is_stored_and_delivered_once(
    app: App, invoker: Invoker, clock: FakeClock, tmp_path: Path
) -> None:
    """The sandbox's ports open before its bus starts (deliveries need them listening): a publish, a
    send or an async invoke in that moment, on a brand-new database, is stored and delivered once."""
    fn = app.function("events", "hello", EVENT_OK)
    q = app.function("queues", "work", QUEUE_OK)
    m = manifest(app.root, events=(EventSpec("hello", fn),), queues=(QueueSpec("work", q, fifo=False),))
    db = Database(tmp_path / "new.db")
    await db.open()
    bus = EventBus(m, invoker, db=db, clock=clock)
    try:
        await bus.prepare()
        await bus.publish("hello", {"n": 1})
        await bus.send_message("work", {"n": 2})
        await bus.start()
        results = await bus.drain(raise_on_failure=True)
        assert len(results) == 2
        assert app.notes("event") == [{"n": 1}]
        assert app.notes("batch") == [[{"n": 2}]]
    finally:
        await bus.stop()
        await db.close()

"""The SQS emulation on its own (no bus, no storage): indexes, states, FIFO groups, deduplication."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.errors import NotFoundError, ValidationError
from sandbox.messaging.queues import DEDUP_WINDOW, Queue, QueuedMessage, Queues
from sandbox.model import FunctionSpec, QueueSpec

NOW = 1_000.0


def spec(name: str = "work", **options: object) -> QueueSpec:
    """A standard queue unless `fifo=True` says otherwise."""
    options.setdefault("fifo", False)
    return QueueSpec(name, FunctionSpec("queues", name, Path("/app") / name, timeout=5), **options)  # type: ignore[arg-type]


def send(queues: Queues, name: str, body: str, **options: object) -> QueuedMessage:
    message = queues.prepare(name, body, now=NOW, **options)  # type: ignore[arg-type]
    assert isinstance(message, QueuedMessage)
    queues.add(message, NOW)
    return message


def bodies(batch: list[QueuedMessage]) -> list[str]:
    return [m.body for m in batch]


def test_a_large_delayed_backlog_does_not_hold_up_visible_messages() -> None:
    queues = Queues((spec(batch_size=2),))
    for n in range(10_000):
        send(queues, "work", f"later {n}", delay_seconds=900)
    send(queues, "work", "now 1")
    send(queues, "work", "now 2")
    queue = queues.get("work")
    assert bodies(queue.receive(NOW)) == ["now 1", "now 2"]
    assert queue.next_due(NOW) == NOW + 900
    assert len(queue.receive(NOW + 900)) == 2  # once due, the delayed ones come in send order


def test_states_as_the_dashboard_lists_them() -> None:
    queues = Queues((spec(batch_size=1),))
    failing = send(queues, "work", "a")
    send(queues, "work", "b", delay_seconds=60)
    queue = queues.get("work")
    batch = queue.receive(NOW)
    assert bodies(batch) == ["a"]
    send(queues, "work", "c")
    assert {v.body: v.state for v in queues.snapshot(NOW)} == {"a": "in_flight", "b": "delayed", "c": "pending"}
    settled = queue.settle(batch, {failing.id}, max_receive_count=3, now=NOW)
    assert (settled.deleted, settled.dead, bodies(settled.returning)) == ([], [], ["a"])
    views = {v.body: v for v in queues.snapshot(NOW)}
    assert (views["a"].state, views["a"].receive_count) == ("retrying", 1)
    assert queues.counts(NOW)["work"] == {"pending": 1, "delayed": 1, "in_flight": 0, "retrying": 1}


def test_a_message_failing_max_receive_count_times_is_dead() -> None:
    queues = Queues((spec(visibility_timeout=10),))
    message = send(queues, "work", "poison")
    queue = queues.get("work")
    for attempt in range(1, 3):
        batch = queue.receive(NOW + 10 * attempt)
        settled = queue.settle(batch, {message.id}, max_receive_count=2, now=NOW + 10 * attempt)
    assert bodies(settled.dead) == ["poison"] and queues.snapshot(NOW + 100) == []


def test_fifo_groups_stay_in_order_and_a_busy_group_waits() -> None:
    queues = Queues((spec("orders", fifo=True, batch_size=10),))
    for body, group in (("a1", "a"), ("b1", "b"), ("a2", "a")):
        send(queues, "orders", body, group_id=group)
    queue = queues.get("orders")
    first = queue.receive(NOW)
    assert sorted(bodies(first)) == ["a1", "a2", "b1"] and bodies(first).index("a1") < bodies(first).index("a2")
    send(queues, "orders", "a3", group_id="a")
    send(queues, "orders", "c1", group_id="c")
    assert bodies(queue.receive(NOW)) == ["c1"]  # group a has messages in flight: a3 waits its turn
    a1 = next(m for m in first if m.body == "a1")
    queue.settle(first, {a1.id}, max_receive_count=5, now=NOW)
    assert queue.receive(NOW) == []  # a1 waits out its visibility timeout, and a3 behind it
    later = NOW + queue.visibility_timeout
    assert bodies(queue.receive(later)) == ["a1", "a3"]


def test_fifo_deduplication_lasts_five_minutes_and_then_is_forgotten() -> None:
    queues = Queues((spec("orders", fifo=True),))
    first = send(queues, "orders", "same")
    assert queues.prepare("orders", "same", now=NOW + DEDUP_WINDOW - 1) == first.id
    again = queues.prepare("orders", "same", now=NOW + DEDUP_WINDOW)
    assert isinstance(again, QueuedMessage) and again.id != first.id


def test_a_message_that_could_not_be_stored_frees_its_deduplication_id() -> None:
    queues = Queues((spec("orders", fifo=True),))
    lost = queues.prepare("orders", "x", now=NOW)
    assert isinstance(lost, QueuedMessage)
    assert queues.prepare("orders", "x", now=NOW) == lost.id  # held while it is being stored
    queues.abandon(lost)
    assert isinstance(queues.prepare("orders", "x", now=NOW), QueuedMessage)


def test_send_checks_and_removed_queues() -> None:
    queues = Queues((spec(), spec("orders", fifo=True)))
    with pytest.raises(ValidationError, match="DelaySeconds"):
        queues.prepare("work", "x", now=NOW, delay_seconds=901)
    with pytest.raises(ValidationError, match="FIFO"):
        queues.prepare("orders", "x", now=NOW, delay_seconds=1)
    kept = send(queues, "work", "kept")
    queues.update((spec("orders", fifo=True),))
    with pytest.raises(NotFoundError, match="work"):
        queues.prepare("work", "x", now=NOW)
    assert queues.next_due(NOW) is None and [v.message_id for v in queues.snapshot(NOW)] == [kept.id]
    assert queues.find("work") is not None and queues.find("work").receive(NOW) == []  # type: ignore[union-attr]


def test_a_partial_batch_waits_for_its_window_and_keeps_its_place() -> None:
    queue = Queue(spec(batch_size=3, batch_window=5))
    message = QueuedMessage("m1", "work", "x", 1, NOW, NOW)
    queue.add(message, NOW)
    assert queue.receive(NOW) == []
    assert queue.next_due(NOW) == NOW + 5
    assert bodies(queue.receive(NOW + 5)) == ["x"]

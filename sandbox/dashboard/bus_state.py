"""What the dashboard and CLI read from, and do to, the EventBus: one adapter, so one place to re-point.

The bus's public methods give message ids, receive counts and due times; bodies, attributes, the
schedule table and dead-letter removal are not public yet, so this module (and only this module)
reads the bus's own state for them. Every function is synchronous except those that write.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sandbox.bus import DeadLetter, EventBus
from sandbox.errors import NotFoundError, ValidationError
from sandbox.messaging import messages
from sandbox.messaging.queues import QueuedMessage
from sandbox.messaging.results import EventJob
from sandbox.model import Json

LastRun = Callable[[str], dict[str, Json] | None]
"""A function's name -> its last invocation's summary, or None."""


def message_state(message: QueuedMessage, now: float) -> str:
    if message.inflight:
        return "in_flight"
    if message.visible_at <= now:
        return "pending"
    return "retrying" if message.receive_count else "delayed"


def _message(message: QueuedMessage, now: float) -> dict[str, Json]:
    return {
        "id": message.id,
        "state": message_state(message, now),
        "body": messages.loads(message.body),
        "attributes": dict(message.attributes),
        "receive_count": message.receive_count,
        "sent_at": message.sent_at,
        "visible_at": message.visible_at,
        "group_id": message.group_id,
    }


def _letter(letter: DeadLetter) -> dict[str, Json]:
    return {
        "id": letter.id,
        "pragma": letter.pragma,
        "name": letter.name,
        "payload": letter.payload,
        "attempts": letter.attempts,
        "error": letter.error,
        "traceback": letter.traceback,
        "failed_at": letter.failed_at,
        "request_id": letter.request_id,
    }


def _counts(states: list[str], dead: int) -> dict[str, int]:
    counts = {key: 0 for key in ("pending", "in_flight", "delayed", "retrying")}
    for state in states:
        counts[state] += 1
    return {**counts, "dead_letters": dead}


def _waiting(jobs: list[EventJob], letters: list[dict[str, Json]]) -> dict[str, Json]:
    """A topic's or a function's events waiting for an attempt, and its dead letters."""
    return {
        "counts": {"retrying": len(jobs), "dead_letters": len(letters)},
        "retries": [
            {"message_id": job.message_id, "attempt": job.attempt, "next_attempt_at": job.due,
             "payload": job.payload, "attributes": dict(job.attributes or {})}
            for job in jobs
        ],
        "next_attempt_at": min((job.due for job in jobs), default=None),
        "dead_letters": letters,
    }  # fmt: skip


def overview(bus: EventBus) -> dict[str, Json]:
    """Every topic and queue with its counts, messages, retries and dead letters, and every function with
    Lambda async invokes waiting for a retry or dead-lettered (`invokes`); times are epoch seconds."""
    now = bus.clock.now()
    dead = bus.dead_letters()
    # pending() lists them too, but without their payloads; parked: their topic or function left the manifest
    retries = bus.waiting_jobs()
    topics = []
    for spec in bus.topics():
        name = spec.name
        waiting = [job for job in retries if job.kind == "events" and job.name == name]
        letters = [_letter(d) for d in dead if d.pragma == "events" and d.name == name]
        topics.append({"name": name, "function": spec.function.name, **_waiting(waiting, letters)})
    invoked = {job.name for job in retries if job.kind == "lambda"} | {d.name for d in dead if d.pragma == "lambda"}
    invokes = []
    for name in sorted(invoked):
        waiting = [job for job in retries if job.kind == "lambda" and job.name == name]
        letters = [_letter(d) for d in dead if d.pragma == "lambda" and d.name == name]
        invokes.append({"name": name, "function": name, **_waiting(waiting, letters)})
    queues = []
    for state in bus.queues:
        name = state.name
        queued = list(state.messages.values())
        states = [message_state(m, now) for m in queued]
        letters = [_letter(d) for d in dead if d.pragma == "queues" and d.name == name]
        retry_times = [m.visible_at for m, s in zip(queued, states, strict=True) if s == "retrying"]
        queues.append({
            "name": name,
            "function": state.spec.function.name,
            "fifo": state.spec.fifo,
            "active": state.active,
            "visibility_timeout": state.visibility_timeout,
            "counts": _counts(states, len(letters)),
            "next_attempt_at": min(retry_times, default=None),
            "messages": [_message(m, now) for m in queued],
            "dead_letters": letters,
        })  # fmt: skip
    return {
        "now": now, "max_receive_count": bus.max_receive_count, "topics": topics, "queues": queues, "invokes": invokes,
    }  # fmt: skip


def restored(bus: EventBus) -> dict[str, int]:
    """What a fresh start found stored: queue messages, event retries, Lambda async invokes and dead letters."""
    queued = sum(len(queue.messages) for queue in bus.queues)
    pending = [p.get("pragma") for p in bus.pending()]
    return {
        "messages": queued, "retries": pending.count("events"), "invokes": pending.count("lambda"),
        "dead_letters": len(bus.dead_letters()),
    }  # fmt: skip


def schedules(bus: EventBus, last_run: LastRun) -> list[dict[str, Json]]:
    out = []
    for spec, due in bus.schedules():
        name = spec.name
        expression = f"rate({spec.rate})" if spec.rate else f"cron({spec.cron})"
        out.append({
            "name": name,
            "function": spec.function.name,
            "expression": expression,
            "timezone": spec.timezone,
            "next_fire_at": due,
            "last": last_run(spec.function.name),
        })  # fmt: skip
    return out


async def replay(bus: EventBus, letter_id: str) -> str:
    return await bus.replay_dead_letter(letter_id)


async def purge(bus: EventBus, letter_ids: list[str]) -> int:
    """Forget dead letters for good; an unknown id fails the whole purge before anything is removed."""
    known = {d.id for d in bus.dead_letters()}
    unknown = [i for i in letter_ids if i not in known]
    if unknown:
        raise NotFoundError(f"no dead letter {unknown[0]!r}")
    return await bus.purge_dead_letters(letter_ids)


LETTER_KINDS = {"events": "@events", "queues": "@queues", "lambda": "Invoke (Event)"}


def dead_letter_ids(bus: EventBus, *, name: str | None = None, pragma: str | None = None) -> list[str]:
    """Every dead letter, or those of one queue, topic or function. A name that a topic or queue shares
    with a function (whose async invokes were dead-lettered) must say which it means: replaying or
    purging both would act on letters nobody asked for."""
    if pragma is not None and pragma not in LETTER_KINDS:
        raise ValidationError(f"pragma must be one of {', '.join(LETTER_KINDS)}, not {pragma!r}")
    letters = [d for d in bus.dead_letters() if (name is None or d.name == name) and pragma in (None, d.pragma)]
    kinds = sorted({d.pragma for d in letters})
    if name is not None and pragma is None and len(kinds) > 1:
        both = " and ".join(f"{LETTER_KINDS.get(k, k)} {name}" for k in kinds)
        which = " or ".join(kinds)
        raise ValidationError(f"dead letters named {name!r} belong to {both}: say which with pragma {which} (--pragma)")
    return [d.id for d in letters]


async def publish(bus: EventBus, body: dict[str, Any]) -> str:
    """A test event or message from the dashboard's form: {"pragma", "name", "payload", "attributes"?, "delay"?}."""
    pragma, name, payload = body.get("pragma"), body.get("name"), body.get("payload")
    attributes = body.get("attributes") or {}
    if not isinstance(name, str) or not isinstance(attributes, dict):
        raise ValidationError('expected {"pragma": "events" | "queues", "name": "...", "payload": ...}')
    attributes = {str(k): str(v) for k, v in attributes.items()}
    if pragma == "events":
        return await bus.publish(name, payload, attributes=attributes)
    if pragma == "queues":
        delay = body.get("delay") or 0
        if not isinstance(delay, int | float):
            raise ValidationError("delay must be a number of seconds")
        return await bus.send_message(name, payload, delay_seconds=float(delay), attributes=attributes)
    raise ValidationError('pragma must be "events" or "queues"')

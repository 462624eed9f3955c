"""What the console says about a failed queue or event delivery: when it is tried again, or that it is dead."""

from __future__ import annotations

import time
from collections.abc import Collection, Sequence

from sandbox.messaging.queues import QueuedMessage


def local_clock(epoch: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(epoch))


def retry_note(batch: Sequence[QueuedMessage], failed: Collection[str], max_receives: int, now: float) -> str:
    """ "failed, next attempt in 30s at 14:03:07 (receive 1 of 3)", or "..., dead-lettered after 3 receives"."""
    failing = [m for m in batch if m.id in failed]
    retrying = [m for m in failing if m.receive_count < max_receives]
    dead = len(failing) - len(retrying)
    parts = []
    if retrying:
        at = min(m.visible_at for m in retrying)
        receive = max(m.receive_count for m in retrying)
        count = f"{len(retrying)} message(s) " if len(failing) > 1 else ""
        parts.append(
            f"{count}next attempt in {max(0.0, at - now):.0f}s at {local_clock(at)} (receive {receive} of {max_receives})"
        )
    if dead:
        count = f"{dead} message(s) " if len(failing) > 1 else ""
        parts.append(f"{count}dead-lettered after {max_receives} receives")
    return "failed, " + "; ".join(parts) if parts else "failed"


def event_retry_note(due: float, now: float, attempt: int, attempts: int) -> str:
    """ "next attempt in 2s at 14:03:07 (attempt 2 of 3)": an event's retry, said as a queue's is."""
    return f"next attempt in {max(0.0, due - now):.0f}s at {local_clock(due)} (attempt {attempt} of {attempts})"

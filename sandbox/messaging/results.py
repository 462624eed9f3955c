"""What the bus records: delivery outcomes, published messages, dead letters, pending events and async invokes."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from sandbox.errors import SandboxError
from sandbox.lambdas.invocations import new_request_id
from sandbox.model import Json

# "lambda": a Lambda Invoke with InvocationType=Event, retried and dead-lettered as an @events delivery is.
Pragma = Literal["events", "queues", "scheduled", "tables-streams", "lambda"]
EventKind = Literal["events", "lambda"]  # what an EventJob's name is: an @events topic, or a function's


# Not frozen: a frozen dataclass sets each field through object.__setattr__, 4-5 us for these ten
# fields against under 1 us, on every delivery. Read-only all the same: nothing changes one once made.
@dataclass(slots=True)
class DeliveryResult:
    pragma: Pragma
    name: str
    message_ids: tuple[str, ...]
    attempt: int
    ok: bool
    request_id: str
    duration_ms: float
    error: str | None = None
    traceback: str | None = None
    failed_ids: tuple[str, ...] = ()  # partial batch failure: the messages that will be retried

    def log_detail(self, logger: logging.Logger) -> str | None:
        """What a failure's console line adds: the error, or its traceback when the function's own output
        (the invoke logger's INFO lines, which the console shows unless it is quiet) did not show it."""
        if self.traceback and not logger.isEnabledFor(logging.INFO):
            return self.traceback
        return self.error


@dataclass(frozen=True)
class Published:
    pragma: Pragma
    name: str
    payload: Json
    message_id: str
    at: float


@dataclass(frozen=True)
class DeadLetter:
    id: str
    pragma: Pragma
    name: str
    payload: Json
    attempts: int
    error: str | None
    traceback: str | None
    failed_at: float
    # The last attempt's: an async invocation's one id (Lambda's on-failure record carries it as
    # `requestContext.requestId`), a queue message's last receive's. None for one stored before it was kept.
    request_id: str | None = None


class DeliveryFailedError(SandboxError):
    def __init__(self, failures: list[DeliveryResult]) -> None:
        self.failures = failures
        text = "\n\n".join(
            f"{target(f.pragma, f.name)} (attempt {f.attempt}): {f.traceback or f.error}" for f in failures
        )
        super().__init__(f"{len(failures)} delivery(ies) failed:\n{text}")


def target(pragma: Pragma, name: str) -> str:
    """How the console names what a delivery is for: `@queues work`, `Invoke work (Event)`."""
    return f"Invoke {name} (Event)" if pragma == "lambda" else f"@{pragma} {name}"


@dataclass(order=True)
class EventJob:
    due: float
    seq: int
    name: str = field(compare=False)
    payload: Json = field(compare=False)
    message_id: str = field(compare=False)
    subject: str | None = field(compare=False, default=None)
    attributes: Mapping[str, str] | None = field(compare=False, default=None)
    attempt: int = field(compare=False, default=1)
    body: str | None = field(compare=False, default=None, repr=False)  # the payload as JSON text, once encoded
    kind: EventKind = field(compare=False, default="events")
    # Every attempt's, as on Lambda, where an asynchronous invocation keeps its request id through its
    # retries: made with the job (an async invoke's is its message id, the one its 202 answered with).
    request_id: str = field(compare=False, default_factory=new_request_id)

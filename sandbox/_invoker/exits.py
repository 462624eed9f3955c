"""Handler errors that must not leave the handler's thread or loop as they are."""

from __future__ import annotations


def as_call_failure(error: BaseException) -> BaseException:
    """What the awaiting side should raise for `error`, raised by a handler.

    SystemExit or KeyboardInterrupt raised in a task stops the event loop running it, and a Future
    can't carry StopIteration: Lambda reports all three as the invocation failing, so a RuntimeError
    (caused by the original, with its traceback) stands in for them.
    """
    if isinstance(error, Exception) and not isinstance(error, StopIteration):
        return error
    wrapped = RuntimeError(f"the handler raised {type(error).__name__}: {error}")
    wrapped.__cause__ = error
    return wrapped.with_traceback(error.__traceback__)

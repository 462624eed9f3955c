"""Every error the sandbox raises on purpose; each carries its HTTP status and AWS error code.

Exactly one layer turns them into responses: the server for HTTP and the DynamoDB/SSM endpoints.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar


class SandboxError(Exception):
    status: ClassVar[int] = 500
    aws_code: ClassVar[str] = "InternalFailure"

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.aws_code


class StartupError(SandboxError):
    """The sandbox could not start (bad manifest, busy port); the CLI prints it and exits non-zero."""


class ManifestError(StartupError):
    """A manifest, config.arc, prefs.arc or .env problem, located at file:line."""

    def __init__(self, path: Path | str, line: int | None, problem: str) -> None:
        self.path = Path(path)
        self.line = line
        self.problem = problem
        where = f"{self.path}:{line}" if line else str(self.path)
        super().__init__(f"{where}: {problem}")


class PortInUseError(StartupError):
    def __init__(self, service: str, host: str, port: int) -> None:
        self.service, self.host, self.port = service, host, port
        super().__init__(f"{service} port {port} on {host} is already in use")


# --- invocation -------------------------------------------------------------------------------


class InvocationError(SandboxError):
    """A handler could not be run or did not finish properly.

    `error_type` and `error_message` are what Lambda would report (its `errorType`/`errorMessage`).
    """

    error_type: ClassVar[str] = "Sandbox.InvocationError"
    max_memory_mb: int | None = None  # the environment's peak memory, when the call got that far

    @property
    def error_message(self) -> str:
        return self.message


class HandlerNotFoundError(InvocationError):
    status = 502
    error_type = "Runtime.HandlerNotFound"

    def __init__(self, function_name: str, looked_for: list[Path], *, other_runtime: str | None = None) -> None:
        self.looked_for = looked_for
        self.other_runtime = other_runtime  # e.g. "Node.js (index.js)": what the folder holds instead
        names = ", ".join(str(p) for p in looked_for)
        message = f"Lambda handler not found for {function_name}: looked for {names}"
        if other_runtime:
            message += f"; the folder has a {other_runtime} handler, and arc-sandbox runs Python handlers only"
        super().__init__(message)


class HandlerTimeoutError(InvocationError):
    """Killed at its @aws timeout, as Lambda does: the handler cannot catch it."""

    error_type = "Sandbox.Timedout"

    def __init__(self, function_name: str, timeout: float) -> None:
        self.function_name = function_name
        self.timeout = timeout
        super().__init__(f"Task timed out after {timeout:.2f} seconds")


class HandlerFailedError(InvocationError):
    """The handler raised (or failed to import); `traceback` is the formatted user traceback."""

    def __init__(self, function_name: str, error_type: str, error_message: str, traceback: str) -> None:
        self.function_name = function_name
        self._error_type = error_type
        self._error_message = error_message
        self.traceback = traceback
        super().__init__(f"{function_name} raised {error_type}: {error_message}")

    @property
    def error_type(self) -> str:  # type: ignore[override]
        return self._error_type

    @property
    def error_message(self) -> str:
        return self._error_message


class HandlerCrashedError(InvocationError):
    """The runtime process exited during the call (sys.exit, os._exit, a signal): Lambda's Runtime.ExitError."""

    error_type = "Runtime.ExitError"

    def __init__(self, function_name: str, request_id: str, how: str) -> None:
        self.function_name = function_name
        self.how = how  # "exit status 3", "signal: segmentation fault"
        super().__init__(f"RequestId: {request_id} Error: Runtime exited with error: {how}")


class HandlerOutOfMemoryError(InvocationError):
    """The environment went over its @aws memory and was stopped, as Lambda stops it."""

    error_type = "Runtime.OutOfMemory"

    def __init__(self, function_name: str, request_id: str, memory_mb: int, used_mb: int) -> None:
        self.function_name = function_name
        self.memory_mb = memory_mb
        self.used_mb = used_mb
        self.max_memory_mb = used_mb
        super().__init__(f"RequestId: {request_id} Error: Runtime exited with error: signal: killed")


class InvalidResponseError(InvocationError):
    """An HTTP handler returned something API Gateway would reject (502)."""

    status = 502


# --- emulated AWS services ---------------------------------------------------------------------


class AwsError(SandboxError):
    """An error from an emulated AWS API; the wire layer serialises `aws_code` and `message`."""

    status = 400


class ValidationError(AwsError):
    aws_code = "ValidationException"


class SerializationError(AwsError):
    aws_code = "SerializationException"


class ResourceNotFoundError(AwsError):
    aws_code = "ResourceNotFoundException"


class LimitExceededError(AwsError):
    aws_code = "LimitExceededException"


class TableNotFoundError(AwsError):
    """DynamoDB's backup operations say this where the others say ResourceNotFoundException."""

    aws_code = "TableNotFoundException"


class ResourceInUseError(AwsError):
    aws_code = "ResourceInUseException"


class ExpiredIteratorError(AwsError):
    aws_code = "ExpiredIteratorException"


class TrimmedDataAccessError(AwsError):
    aws_code = "TrimmedDataAccessException"


class ConditionalCheckFailedError(AwsError):
    aws_code = "ConditionalCheckFailedException"

    def __init__(self, message: str = "The conditional request failed", item: dict[str, object] | None = None):
        super().__init__(message)
        self.item = item  # for ReturnValuesOnConditionCheckFailure=ALL_OLD


class DuplicateItemError(AwsError):
    """A PartiQL INSERT of an item whose key is already there."""

    aws_code = "DuplicateItemException"


class TransactionCanceledError(AwsError):
    aws_code = "TransactionCanceledException"

    def __init__(self, reasons: list[dict[str, object]]) -> None:
        self.reasons = reasons
        codes = ", ".join(str(r.get("Code", "None")) for r in reasons)
        super().__init__(f"Transaction cancelled, please refer cancellation reasons for specific reasons [{codes}]")


class IdempotentParameterMismatchError(AwsError):
    aws_code = "IdempotentParameterMismatchException"


class UnknownOperationError(AwsError):
    aws_code = "UnknownOperationException"


class NotFoundError(SandboxError):
    """An unknown event, queue or schedule name."""

    status = 404
    aws_code = "NotFound"


class GoneError(AwsError):
    """A @ws connection id that is not connected (any more): API Gateway's GoneException."""

    status = 410
    aws_code = "GoneException"

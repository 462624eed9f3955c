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
    """A handler could not be run or did not finish properly."""


class HandlerNotFoundError(InvocationError):
    status = 502

    def __init__(self, function_name: str, looked_for: list[Path]) -> None:
        self.looked_for = looked_for
        names = ", ".join(str(p) for p in looked_for)
        super().__init__(f"Lambda handler not found for {function_name}: looked for {names}")


class HandlerTimeoutError(InvocationError):
    def __init__(self, function_name: str, timeout: float) -> None:
        self.timeout = timeout
        super().__init__(f"{function_name} timed out after {timeout:g} s")


class HandlerFailedError(InvocationError):
    """The handler raised (or failed to import); `traceback` is the formatted user traceback."""

    def __init__(self, function_name: str, error: BaseException, traceback: str) -> None:
        self.error = error
        self.traceback = traceback
        super().__init__(f"{function_name} raised {type(error).__name__}: {error}")


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


class ResourceInUseError(AwsError):
    aws_code = "ResourceInUseException"


class ConditionalCheckFailedError(AwsError):
    aws_code = "ConditionalCheckFailedException"

    def __init__(self, message: str = "The conditional request failed", item: dict[str, object] | None = None):
        super().__init__(message)
        self.item = item  # for ReturnValuesOnConditionCheckFailure=ALL_OLD


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


class ParameterNotFoundError(AwsError):
    aws_code = "ParameterNotFound"


class GoneError(AwsError):
    """A @ws connection id that is not connected (any more): API Gateway's GoneException."""

    status = 410
    aws_code = "GoneException"

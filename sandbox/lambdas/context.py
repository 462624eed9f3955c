"""Lambda's Python context object, with the attributes and method of the real one."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass(frozen=True)
class CognitoIdentity:
    cognito_identity_id: str | None = None
    cognito_identity_pool_id: str | None = None


NO_IDENTITY = CognitoIdentity()  # immutable: every context without one shares it


@dataclass
class LambdaContext:
    function_name: str
    function_version: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    log_group_name: str
    log_stream_name: str
    deadline_ms: int  # epoch milliseconds, as Lambda's Lambda-Runtime-Deadline-Ms
    identity: CognitoIdentity = field(default_factory=lambda: NO_IDENTITY)
    client_context: object | None = None

    @classmethod
    def for_invocation(
        cls, *, function_name: str, memory_mb: int, arn: str, request_id: str, deadline_ms: int, log_stream_name: str
    ) -> LambdaContext:
        return cls(
            function_name=function_name,
            function_version="$LATEST",
            invoked_function_arn=arn,
            memory_limit_in_mb=memory_mb,
            aws_request_id=request_id,
            log_group_name=f"/aws/lambda/{function_name}",
            log_stream_name=log_stream_name,
            deadline_ms=deadline_ms,
        )

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self.deadline_ms - int(time.time() * 1000))

"""Lambda's Python context object, with the attributes and method of the real one."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from sandbox.model import FunctionSpec


@dataclass(frozen=True)
class CognitoIdentity:
    cognito_identity_id: str | None = None
    cognito_identity_pool_id: str | None = None


@dataclass
class LambdaContext:
    function_name: str
    function_version: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    log_group_name: str
    log_stream_name: str
    deadline_monotonic: float
    identity: CognitoIdentity = field(default_factory=CognitoIdentity)
    client_context: object | None = None

    @classmethod
    def for_function(cls, fn: FunctionSpec, request_id: str, *, region: str, account_id: str) -> LambdaContext:
        name = fn.function_name
        return cls(
            function_name=name,
            function_version="$LATEST",
            invoked_function_arn=f"arn:aws:lambda:{region}:{account_id}:function:{name}",
            memory_limit_in_mb=fn.memory,
            aws_request_id=request_id,
            log_group_name=f"/aws/lambda/{name}",
            log_stream_name=time.strftime("%Y/%m/%d/[$LATEST]") + request_id.replace("-", ""),
            deadline_monotonic=time.monotonic() + fn.timeout,
        )

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline_monotonic - time.monotonic()) * 1000))

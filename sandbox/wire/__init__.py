"""AWS wire protocols for the services the sandbox emulates, so plain boto3 clients work against it.

One module per service, each a thin translation to the component it fronts:
- `sns`: query protocol (form-encoded `Action=Publish`, XML answers) onto the bus's topics
- `sqs`: JSON protocol (`X-Amz-Target: AmazonSQS.*`) onto the bus's queues
- `lambdas`: REST JSON `POST /2015-03-31/functions/{name}/invocations` onto `model.Invoke`
SSM, the discovery Architect's clients do, lives in `sandbox.ssm`; API Gateway's Management API beside
the WebSocket connections it serves, in `sandbox.ws`.
"""

from __future__ import annotations

from sandbox.wire._dispatch import events_port_middleware

__all__ = ["events_port_middleware"]

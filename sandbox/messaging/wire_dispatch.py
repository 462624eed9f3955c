"""Which service a request on the events port is for: SQS by its target header, SNS by its form body.

The events port keeps answering architect-functions' `POST /events` and `/queues` (JSON bodies, no
target header); boto3's SQS and SNS clients post to `/` as well, and are told apart here before
routing, as AWS's own endpoints tell them apart by host.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from sandbox.messaging.sns_wire import SnsApi
from sandbox.messaging.sqs_wire import TARGET_PREFIX, SqsApi

FORM = "application/x-www-form-urlencoded"


def events_port_middleware(sns: SnsApi, sqs: SqsApi) -> Middleware:
    @web.middleware
    async def dispatch(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method == "POST":
            if request.headers.get("X-Amz-Target", "").startswith(TARGET_PREFIX):
                return await sqs.handle(request)
            # urllib's default content type is also a form: architect-functions' JSON posts carry it too.
            if request.content_type == FORM and "Action" in await request.post():
                return await sns.handle(request)
        return await handler(request)

    return dispatch

"""DynamoDB's JSON 1.0 wire protocol: `DynamoEndpoint` answers one request that the tables port's HTTP
server (`http_protocol.py`) has read.

Errors become `{"__type": "com.amazonaws.dynamodb.v20120810#<Code>", "message": ...}` with their
status; the body is checksummed in `x-amz-crc32`, which botocore verifies. Any credentials pass.
"""

from __future__ import annotations

import base64
import itertools
import json
import logging
import os
import re
from typing import TYPE_CHECKING, Any, NamedTuple

import orjson

from sandbox.dynamodb.request import WIRE
from sandbox.errors import (
    AwsError,
    ConditionalCheckFailedError,
    SerializationError,
    TransactionCanceledError,
    UnknownOperationError,
)

if TYPE_CHECKING:
    from sandbox.store import TableStore

TARGET_PREFIX = "DynamoDB_20120810."
STREAMS_PREFIX = "DynamoDBStreams_20120810."
CREDENTIAL_SCOPE = re.compile(r"Credential=[^/,]+/\d{8}/([a-z0-9-]+)/")
ERROR_PREFIX = "com.amazonaws.dynamodb.v20120810#"
CONTENT_TYPE = "application/x-amz-json-1.0"
LOGGER = logging.getLogger("arc_sandbox.tables")
MAX_REQUEST_BYTES = 16 * 1024 * 1024  # DynamoDB's limit on a request body
HEALTH = "healthy: dynamodb.local"
EMPTY_ANSWERS = frozenset({"TagResource", "UntagResource"})  # DynamoDB answers these with no body at all


def _encode(payload: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(payload)
    except (orjson.JSONEncodeError, TypeError):  # text orjson refuses (a lone surrogate from an in-process caller)
        return json.dumps(payload, separators=(",", ":")).encode()


class RequestIds:
    """x-amzn-RequestId values shaped like DynamoDB's (52 characters, A-Z and 2-7), unique per server:
    a random prefix drawn once and a counter. A uuid4 per answer asked the kernel for random bytes
    on every call, which cost a measurable share of a GetItem here."""

    def __init__(self) -> None:
        self._prefix = base64.b32encode(os.urandom(20)).decode()  # 32 characters
        self._count = itertools.count()

    def next(self) -> str:
        return f"{self._prefix}{next(self._count):020d}"


def signing_region(authorization: str) -> str | None:
    """The region a SigV4-signed request was signed for: a stream record's awsRegion is the reader's region."""
    match = CREDENTIAL_SCOPE.search(authorization)
    return match[1] if match else None


def error_body(error: AwsError) -> dict[str, Any]:
    body: dict[str, Any] = {"__type": ERROR_PREFIX + error.aws_code, "message": error.message}
    if isinstance(error, ConditionalCheckFailedError) and error.item is not None:
        body["Item"] = error.item
    if isinstance(error, TransactionCanceledError):
        body["CancellationReasons"] = error.reasons
    return body


def _decode(raw: bytes) -> dict[str, Any]:
    """The request's JSON. orjson also refuses what DynamoDB cannot store: text that is not UTF-8, and
    unpaired surrogate escapes ("\\ud800"); and it parses deep nesting without recursing."""
    try:
        payload = orjson.loads(raw) if raw else {}
    except orjson.JSONDecodeError as exc:
        raise SerializationError(f"Malformed JSON: {exc.msg} at {exc.pos}") from None
    except RecursionError:
        raise SerializationError("The request is nested too deeply") from None
    if not isinstance(payload, dict):
        raise SerializationError("Start of structure or map found where not expected")
    return payload


class Answer(NamedTuple):
    status: int
    body: bytes  # the JSON as sent; its CRC32 goes in x-amz-crc32
    request_id: str


class DynamoEndpoint:
    """One request of the JSON 1.0 protocol, whatever HTTP server carried it: the X-Amz-Target picks the
    operation (or a DynamoDB Streams one), the body is decoded, the store runs it, the answer is encoded."""

    def __init__(self, store: TableStore) -> None:
        self._store = store
        self._ids = RequestIds()

    def refusal(self, error: AwsError) -> Answer:
        return Answer(error.status, _encode(error_body(error)), self._ids.next())

    async def answer(self, target: str, body: bytes, *, authorization: str, host: str) -> Answer:
        try:
            if target.startswith(TARGET_PREFIX):
                operation = target[len(TARGET_PREFIX) :]
                payload = _decode(body)
                if operation == "DescribeEndpoints":  # the address is the one the client reached
                    result = {"Endpoints": [{"Address": host, "CachePeriodInMinutes": 1440}]}
                else:
                    payload[WIRE] = True
                    result = await self._store.call(operation, payload)
                if operation in EMPTY_ANSWERS:
                    return Answer(200, b"", self._ids.next())
            elif target.startswith(STREAMS_PREFIX):  # boto3's dynamodbstreams client, pointed at this port
                payload = _decode(body)
                region = signing_region(authorization)
                result = await self._store.call_streams(target[len(STREAMS_PREFIX) :], payload, region=region)
            else:
                raise UnknownOperationError(f"Unknown target: {target}" if target else "Missing X-Amz-Target")
        except AwsError as error:
            return self.refusal(error)
        except Exception:  # a bug of ours: say so as DynamoDB would, keep the traceback in the log
            LOGGER.exception("DynamoDB %s failed", target)
            internal = {"__type": ERROR_PREFIX + "InternalServerError", "message": "Internal server error"}
            return Answer(500, _encode(internal), self._ids.next())
        return Answer(200, _encode(result), self._ids.next())

"""The DynamoDB Streams wire API: ListStreams, DescribeStream, GetShardIterator, GetRecords.

Every stream has one shard (a sandbox table is one partition), opened with the stream and closed
when the stream is disabled or its table deleted. A shard iterator is an opaque token holding the
stream, the shard and the sequence number read up to; it expires after 15 minutes of the injected
clock, as DynamoDB's do.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from sandbox.dynamodb import stream_log
from sandbox.dynamodb.context import Context
from sandbox.dynamodb.stream_log import StreamRow
from sandbox.dynamodb.stream_records import record, sequence_number
from sandbox.errors import (
    ExpiredIteratorError,
    ResourceNotFoundError,
    TrimmedDataAccessError,
    UnknownOperationError,
    ValidationError,
)

ITERATOR_SECONDS = 15 * 60.0
MAX_RECORDS = 1000
MAX_LIST = 100
ITERATOR_TYPES = ("TRIM_HORIZON", "LATEST", "AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER")
STREAM_ARN = re.compile(r"^arn:aws[\w-]*:dynamodb:[\w-]*:\d{12}:table/([a-zA-Z0-9_.-]{3,255})/stream/(\S+)$")
SHARD_ID = re.compile(r"^shardId-\d{20}-[0-9a-f]{8}$")
ITERATOR_PREFIX = "arc-sandbox:"


def shard_id(stream: StreamRow) -> str:
    digest = hashlib.md5(f"{stream.table_name}/{stream.label}".encode(), usedforsecurity=False).hexdigest()
    return f"shardId-{int(stream.created * 1000):020d}-{digest[:8]}"


def _limit(request: Mapping[str, Any], param: str, top: int) -> int:
    limit = request.get("Limit", top)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= top:
        bound = "greater than or equal to 1" if isinstance(limit, int) and limit < 1 else f"less than or equal to {top}"
        raise ValidationError(
            f"1 validation error detected: Value '{limit}' at '{param}' failed to satisfy constraint: "
            f"Member must have value {bound}"
        )
    return limit


def _parse_arn(arn: object, param: str = "streamArn") -> tuple[str, str]:
    match = STREAM_ARN.match(arn) if isinstance(arn, str) else None
    if match is None:
        raise ValidationError(f"Invalid {param[0].upper()}{param[1:]}: {arn}")
    return match[1], match[2]


class StreamsApi:
    """The four operations over one TableStore's streams; `region` is the caller's, for awsRegion."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    async def call(self, operation: str, request: Mapping[str, Any], *, region: str | None = None) -> dict[str, Any]:
        if operation == "ListStreams":
            return await self.list_streams(request)
        if operation == "DescribeStream":
            return await self.describe_stream(request)
        if operation == "GetShardIterator":
            return await self.get_shard_iterator(request)
        if operation == "GetRecords":
            return await self.get_records(request, region=region or self._ctx.region)
        raise UnknownOperationError(f"Unknown operation: {operation}")

    def arn(self, stream: StreamRow) -> str:
        return self._ctx.stream_arn(stream.table_name, stream.label)

    async def _stream(self, arn: object) -> StreamRow:
        table, label = _parse_arn(arn)
        async with self._ctx.db.reading() as conn:
            stream = await stream_log.find_stream(conn, table, label, now=self._ctx.clock.now())
        if stream is None:
            raise ResourceNotFoundError(f"Requested resource not found: Stream: {arn} not found")
        return stream

    async def list_streams(self, request: Mapping[str, Any]) -> dict[str, Any]:
        limit = _limit(request, "limit", MAX_LIST)
        start = request.get("ExclusiveStartStreamArn")
        if start is not None:
            _parse_arn(start, "exclusiveStartStreamArn")
        table = request.get("TableName")
        async with self._ctx.db.reading() as conn:
            found = await stream_log.streams(
                conn, now=self._ctx.clock.now(), table_name=table if isinstance(table, str) else None
            )
        # ARN order, so a page boundary survives tables created or deleted between pages.
        listed = sorted((self.arn(s), s) for s in found)
        rest = [(arn, s) for arn, s in listed if start is None or arn > start]
        page = rest[:limit]
        out: dict[str, Any] = {
            "Streams": [{"StreamArn": arn, "TableName": s.table_name, "StreamLabel": s.label} for arn, s in page]
        }
        if len(rest) > limit:
            out["LastEvaluatedStreamArn"] = page[-1][0]
        return out

    async def describe_stream(self, request: Mapping[str, Any]) -> dict[str, Any]:
        stream = await self._stream(request.get("StreamArn"))
        _limit(request, "limit", MAX_LIST)
        shard = shard_id(stream)
        shards = [shard]
        after = request.get("ExclusiveStartShardId")
        if isinstance(after, str):
            shards = [s for s in shards if s > after]
        shard_filter = request.get("ShardFilter")
        if shard_filter is not None:
            if not isinstance(shard_filter, dict) or shard_filter.get("Type") != "CHILD_SHARDS":
                kind = shard_filter.get("Type") if isinstance(shard_filter, dict) else None
                raise ValidationError(
                    f"1 validation error detected: Value '{kind}' at 'shardFilter.type' failed to satisfy "
                    "constraint: Member must satisfy enum value set: [CHILD_SHARDS]"
                )
            parent = shard_filter.get("ShardId")
            if not isinstance(parent, str) or not SHARD_ID.match(parent):
                raise ValidationError(f"Invalid ShardFilter.ShardId: {parent}")
            shards = []  # one shard per stream: it never splits, so it has no children
        async with self._ctx.db.reading() as conn:
            last = await stream_log.last_seq(conn, stream.id)
        numbers: dict[str, str] = {"StartingSequenceNumber": sequence_number(stream.start_seq)}
        if stream.closed is not None:
            numbers["EndingSequenceNumber"] = sequence_number(last if last is not None else stream.start_seq)
        description: dict[str, Any] = {
            "StreamArn": self.arn(stream),
            "StreamLabel": stream.label,
            "StreamStatus": "ENABLED" if stream.closed is None else "DISABLED",
            "StreamViewType": stream.view_type,
            "CreationRequestDateTime": stream.created,
            "TableName": stream.table_name,
            "KeySchema": stream.key_schema,
            "Shards": [{"ShardId": s, "SequenceNumberRange": numbers} for s in shards],
        }
        return {"StreamDescription": description}

    async def get_shard_iterator(self, request: Mapping[str, Any]) -> dict[str, Any]:
        stream = await self._stream(request.get("StreamArn"))
        kind = request.get("ShardIteratorType")
        if kind not in ITERATOR_TYPES:
            raise ValidationError(
                f"1 validation error detected: Value '{kind}' at 'shardIteratorType' failed to satisfy constraint: "
                f"Member must satisfy enum value set: [{', '.join(ITERATOR_TYPES)}]"
            )
        number = request.get("SequenceNumber")
        if kind in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"):
            if not isinstance(number, str) or not number.isdecimal() or len(number) > 40:
                raise ValidationError(f"Invalid SequenceNumber for {kind}: {number}")
        elif number is not None:
            raise ValidationError(f"SequenceNumber must not be given with ShardIteratorType {kind}")
        if request.get("ShardId") != shard_id(stream):
            raise ResourceNotFoundError(f"Requested resource not found: Shard {request.get('ShardId')} not found")
        now = self._ctx.clock.now()
        async with self._ctx.db.reading() as conn:
            if kind == "LATEST":
                last = await stream_log.last_seq(conn, stream.id)
                position = last if last is not None else stream.start_seq - 1
            elif kind == "TRIM_HORIZON":
                position = stream.start_seq - 1
            else:
                assert isinstance(number, str)
                wanted = int(number)
                if wanted < stream.start_seq:
                    raise ValidationError(f"Invalid SequenceNumber {number}: it is not in the shard {shard_id(stream)}")
                first = await stream_log.first_retained(conn, stream.id, now=now)
                trimmed = now - stream.created > stream_log.RETENTION and (first is None or wanted < first)
                if trimmed:  # records older than 24 h are gone; an old stream no longer reaches back that far
                    raise TrimmedDataAccessError(f"Sequence number {number} is beyond the trim horizon of the shard")
                position = wanted - 1 if kind == "AT_SEQUENCE_NUMBER" else wanted
        return {"ShardIterator": self._iterator(stream, position, now)}

    def _iterator(self, stream: StreamRow, position: int, now: float) -> str:
        token = json.dumps({"t": stream.table_name, "l": stream.label, "p": position, "at": now})
        return ITERATOR_PREFIX + base64.urlsafe_b64encode(token.encode()).decode()

    def _read_iterator(self, value: object) -> tuple[str, str, int, float]:
        bad = ValidationError(f"Invalid ShardIterator: {value}")
        if not isinstance(value, str) or not value.startswith(ITERATOR_PREFIX) or len(value) > 2048:
            raise bad
        try:
            token = json.loads(base64.urlsafe_b64decode(value[len(ITERATOR_PREFIX) :]))
            return str(token["t"]), str(token["l"]), int(token["p"]), float(token["at"])
        except (ValueError, KeyError, TypeError, binascii.Error) as exc:
            raise bad from exc

    async def get_records(self, request: Mapping[str, Any], *, region: str) -> dict[str, Any]:
        table, label, position, issued = self._read_iterator(request.get("ShardIterator"))
        limit = _limit(request, "limit", MAX_RECORDS)
        now = self._ctx.clock.now()
        if now - issued > ITERATOR_SECONDS:
            raise ExpiredIteratorError("Iterator expired. The iterator was created more than 15 minutes ago")
        async with self._ctx.db.reading() as conn:
            stream = await stream_log.find_stream(conn, table, label, now=now)
            if stream is None:
                raise ResourceNotFoundError(f"Requested resource not found: Stream for table {table} not found")
            changes = await stream_log.read(conn, stream.id, position, limit=limit, now=now)
        records = [record(c, stream_id=stream.id, view_type=stream.view_type, region=region) for c in changes]
        out: dict[str, Any] = {"Records": records}
        at_end = len(changes) < limit
        if stream.closed is None or not at_end:  # a closed shard read to its end has no next iterator
            out["NextShardIterator"] = self._iterator(stream, changes[-1].seq if changes else position, now)
        return out

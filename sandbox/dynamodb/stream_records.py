"""A stored change as a DynamoDB Streams record, in the two shapes clients see.

GetRecords (the `dynamodbstreams` client) and a Lambda event source mapping deliver the same record,
except that Lambda adds `eventSourceARN` and spells the TTL service identity in lower camel case.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sandbox.dynamodb.stream_log import Change

SEQUENCE_DIGITS = 21  # DynamoDB's sequence numbers are decimal strings; fixed width keeps text order = number order
TTL_PRINCIPAL = "dynamodb.amazonaws.com"


def sequence_number(seq: int) -> str:
    return f"{seq:0{SEQUENCE_DIGITS}d}"


def record(change: Change, *, stream_id: int, view_type: str, region: str) -> dict[str, Any]:
    """The record as GetRecords returns it."""
    body: dict[str, Any] = {
        "ApproximateCreationDateTime": int(change.created),
        "Keys": change.keys,
    }
    if change.new is not None:
        body["NewImage"] = change.new
    if change.old is not None:
        body["OldImage"] = change.old
    body.update({"SequenceNumber": sequence_number(change.seq), "SizeBytes": change.size, "StreamViewType": view_type})
    out: dict[str, Any] = {
        "eventID": hashlib.md5(f"{stream_id}:{change.seq}".encode(), usedforsecurity=False).hexdigest(),
        "eventName": change.event,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": body,
    }
    if change.service:
        out["userIdentity"] = {"PrincipalId": TTL_PRINCIPAL, "Type": "Service"}
    return out


def lambda_record(change: Change, *, stream_id: int, view_type: str, region: str, stream_arn: str) -> dict[str, Any]:
    """The record as Lambda's event source mapping hands it to a function."""
    out = record(change, stream_id=stream_id, view_type=view_type, region=region)
    if change.service:
        out["userIdentity"] = {"type": "Service", "principalId": TTL_PRINCIPAL}
    out["eventSourceARN"] = stream_arn
    return out

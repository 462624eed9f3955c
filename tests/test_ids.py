"""Request ids and message ids come from `random` (no system call each) but keep their UUID shapes:
version 4 for Lambda's request ids, version 7 (time-ordered) for SNS and SQS message ids."""

from __future__ import annotations

import uuid

from sandbox.lambdas.invocations import new_request_id
from sandbox.messaging.records import message_id


def _assert_distinct_uuids(ids: list[str], version: int) -> None:
    assert len(set(ids)) == len(ids)
    for text in ids:
        parsed = uuid.UUID(text)
        assert (parsed.version, parsed.variant, str(parsed)) == (version, uuid.RFC_4122, text)


def test_request_ids_are_distinct_version_4_uuids() -> None:
    _assert_distinct_uuids([new_request_id() for _ in range(5000)], 4)


def test_message_ids_are_distinct_time_ordered_version_7_uuids() -> None:
    ids = [message_id() for _ in range(5000)]
    _assert_distinct_uuids(ids, 7)
    stamps = [uuid.UUID(text).int >> 80 for text in ids]  # milliseconds since the epoch, first
    assert stamps == sorted(stamps)

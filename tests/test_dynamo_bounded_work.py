"""No request can stall the loop that serves every port: the work an expression costs is bounded
before it starts (DynamoDB's 4 KB, 300 operators, nesting) and linear after. Measured by counting
operations, never by timing, so the tests cannot flake on a busy machine.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from sandbox.clock import FakeClock
from sandbox.db import Database
from sandbox.dynamodb.expressions import parser, tokens
from sandbox.dynamodb.expressions.update import check_overlaps
from sandbox.errors import ValidationError
from sandbox.model import KeyAttr, TableSpec
from sandbox.store import TableStore

SPEC = TableSpec(name="t", partition_key=KeyAttr("p", "S"))
TABLE = "app-staging-t"


@pytest.fixture
async def store() -> AsyncIterator[TableStore]:
    async with Database(None) as db, TableStore(db, clock=FakeClock(), app_name="app", tables=[SPEC]) as opened:
        yield opened


def _update(actions: int) -> dict[str, Any]:
    text = "SET " + ", ".join(f"a{i} = :v" for i in range(actions))
    return {
        "TableName": TABLE,
        "Key": {"p": {"S": "k"}},
        "UpdateExpression": text,
        "ExpressionAttributeValues": {":v": {"N": "1"}},
    }


async def test_bounded_oversized_expression_is_refused_before_it_is_read(
    store: TableStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The 1 MB UpdateExpression that used to hold the loop for minutes: refused on its length alone."""
    tokenized: list[str] = []
    real = tokens.tokenize

    def recording(text: str, label: str) -> list[tokens.Token]:
        tokenized.append(label)
        return real(text, label)

    monkeypatch.setattr(parser, "tokenize", recording)
    request = _update(80_000)
    assert len(request["UpdateExpression"]) > 1_000_000
    with pytest.raises(ValidationError, match="Expression size has exceeded the maximum allowed size"):
        await store.call("UpdateItem", request)
    assert tokenized == []  # not one token read
    await store.call("UpdateItem", _update(3))
    assert tokenized == ["UpdateExpression"]


class _Counted(str):
    """An attribute name that counts how often it is hashed or compared."""

    operations = 0

    def __hash__(self) -> int:
        _Counted.operations += 1
        return str.__hash__(self)

    def __eq__(self, other: object) -> bool:
        _Counted.operations += 1
        return str.__eq__(self, other)


def _overlap_cost(paths: int) -> int:
    _Counted.operations = 0
    check_overlaps([(_Counted(f"a{i}"), _Counted("b"), _Counted("c")) for i in range(paths)])
    return _Counted.operations


def test_bounded_overlap_check_is_linear() -> None:
    """Comparing every pair of paths (the old check) cost n²/2 comparisons: 4,000 SET actions, a second."""
    small, large = _overlap_cost(1_000), _overlap_cost(2_000)
    assert large <= 2 * small + 100
    assert small < 50 * 1_000  # a few dozen hash or compare operations a path, not one per other path


def _parse_cost(monkeypatch: pytest.MonkeyPatch, text: str) -> int:
    taken = 0
    real = parser._Parser.take

    def counting(self: Any) -> Any:
        nonlocal taken
        taken += 1
        return real(self)

    monkeypatch.setattr(parser._Parser, "take", counting)
    parser.parse_condition(text)
    monkeypatch.setattr(parser._Parser, "take", real)
    return taken


def test_bounded_parse_is_linear_in_the_expression(monkeypatch: pytest.MonkeyPatch) -> None:
    def chain(n: int) -> str:
        return " OR ".join(f"a{i} < :v" for i in range(n))

    small, large = _parse_cost(monkeypatch, chain(70)), _parse_cost(monkeypatch, chain(140))
    assert large <= 2 * small + 2


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        pytest.param("a<b " + "or (a<b " * 200 + ")" * 200, "too many operators", id="301-operators"),
        pytest.param("(" * 2000 + "a<b" + ")" * 2000, "nested too deeply", id="parentheses"),
        pytest.param("NOT " * 400 + "a<b", "too many operators", id="nots"),
        pytest.param("a < " + "size(" * 600 + "b" + ")" * 600, "reserved keyword: size", id="nested-size"),
    ],
)
def test_bounded_deep_expressions_stop_early(text: str, fragment: str) -> None:
    """Each shape that recursed without a bound (a RecursionError, a 500) stops with a 400 under 4 KB."""
    assert len(text) <= 4096
    with pytest.raises(ValidationError, match=fragment):
        parser.parse_condition(text)


async def test_bounded_worst_accepted_expression_leaves_the_loop_free(store: TableStore) -> None:
    """The largest expression DynamoDB accepts (4 KB, ~450 SET actions) runs while other work on the same
    loop keeps getting turns: a ticker task awaits between the store's steps."""
    actions = 1
    while len(_update(actions + 1)["UpdateExpression"]) <= 4096:
        actions += 1
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    try:
        for n in range(5):
            request = _update(actions)
            request["Key"] = {"p": {"S": f"k{n}"}}
            await store.call("UpdateItem", request)
    finally:
        task.cancel()
    got = await store.call("GetItem", {"TableName": TABLE, "Key": {"p": {"S": "k4"}}})
    assert len(got["Item"]) == actions + 1
    assert ticks >= 5  # the loop went back to other tasks during each request (database awaits)

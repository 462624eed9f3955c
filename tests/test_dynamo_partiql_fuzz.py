"""PartiQL statements made of random tokens: every one is answered or refused with an AWS error (never
anything else, so never a 5xx on the wire), and a refused one leaves the table as it was."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sandbox.clock import FakeClock
from sandbox.db import Database
from sandbox.dynamodb.partiql.parser import MAX_DEPTH
from sandbox.errors import AwsError
from sandbox.store import TableStore

TABLE = "fuzzed"
TOKENS = [
    *(
        [
            "SELECT",
            "*",
            "FROM",
            "WHERE",
            "INSERT",
            "INTO",
            "VALUE",
            "UPDATE",
            "SET",
            "REMOVE",
            "DELETE",
            "RETURNING",
            "ALL",
            "OLD",
            "NEW",
            "MODIFIED",
        ]
    ),
    *(["AND", "OR", "NOT", "BETWEEN", "IN", "IS", "MISSING", "NULL", "TRUE", "ORDER", "BY", "DESC", "EXISTS"]),
    *(["=", "<>", "<", ">=", "(", ")", "[", "]", "{", "}", "<<", ">>", ",", ":", ".", "+", "-", "?"]),
    *(
        [
            "pk",
            "sk",
            "color",
            "m",
            "l[0]",
            "m.x",
            "size",
            "begins_with",
            "contains",
            "attribute_type",
            "set_add",
            "list_append",
        ]
    ),
    '"fuzzed"',
    '"fuzzed"."byColor"',
    "'a'",
    "'pk'",
    "'sk'",
    "''",
    '""',
    "1",
    "-2.5",
    "1e400",
    "'unterminated",
]
SHAPES = [
    'SELECT * FROM "fuzzed" WHERE {}',
    "INSERT INTO \"fuzzed\" VALUE {{'pk': 'a', 'sk': 1, 'x': {}}}",
    "UPDATE \"fuzzed\" SET x = {} WHERE pk = 'a' AND sk = 1",
    "DELETE FROM \"fuzzed\" WHERE pk = 'a' AND sk = 1 AND {}",
    "{}",
]
PARAMETERS = [{"S": "a"}, {"N": "1"}, {"SS": ["a"]}, {"M": {}}, {"L": []}, {"NULL": True}, {"B": "AA=="}]


@pytest.fixture
async def store() -> AsyncIterator[TableStore]:
    async with Database(None) as db, TableStore(db, clock=FakeClock(), app_name="fuzz", sweep_interval=1e9) as s:
        await s.call(
            "CreateTable",
            {
                "TableName": TABLE,
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                "AttributeDefinitions": [
                    {"AttributeName": "pk", "AttributeType": "S"},
                    {"AttributeName": "sk", "AttributeType": "N"},
                    {"AttributeName": "color", "AttributeType": "S"},
                ],
                "GlobalSecondaryIndexes": [
                    {
                        "IndexName": "byColor",
                        "KeySchema": [{"AttributeName": "color", "KeyType": "HASH"}],
                        "Projection": {"ProjectionType": "ALL"},
                    }
                ],
                "BillingMode": "PAY_PER_REQUEST",
            },
        )
        for sk in (1, 2):
            item = {"pk": {"S": "a"}, "sk": {"N": str(sk)}, "x": {"N": "1"}, "color": {"S": "red"}}
            await s.call("PutItem", {"TableName": TABLE, "Item": item})
        yield s


async def _contents(store: TableStore) -> list[Any]:
    items = (await store.call("Scan", {"TableName": TABLE}))["Items"]
    return sorted(items, key=repr)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    shape=st.sampled_from(SHAPES),
    words=st.lists(st.sampled_from(TOKENS), min_size=1, max_size=14),
    parameters=st.lists(st.sampled_from(PARAMETERS), max_size=3),
    transaction=st.booleans(),
)
async def test_any_statement_is_answered_or_refused_with_nothing_changed(
    store: TableStore, shape: str, words: list[str], parameters: list[dict[str, Any]], transaction: bool
) -> None:
    statement: dict[str, Any] = {"Statement": shape.format(" ".join(words))}
    if parameters:
        statement["Parameters"] = parameters
    before = await _contents(store)
    try:
        if transaction:
            await store.call("ExecuteTransaction", {"TransactStatements": [statement]})
        else:
            await store.call("ExecuteStatement", statement)
    except AwsError as error:
        assert error.status == 400, error
        assert await _contents(store) == before, statement


async def test_nesting_is_bounded_at_any_length(store: TableStore) -> None:
    """A statement of 8,192 characters nested as deep as it can go is refused, not a RecursionError."""
    for opening, closing, shape in (
        ("(", ")", 'SELECT * FROM "fuzzed" WHERE {}'),
        ("[", "]", "INSERT INTO \"fuzzed\" VALUE {{'pk': 'a', 'sk': 9, 'x': {}}}"),
        ("NOT ", "", 'SELECT * FROM "fuzzed" WHERE {}'),
    ):
        depth = (8192 - 60) // (len(opening) + len(closing))
        statement = shape.format(opening * depth + "x = 1" + closing * depth)
        with pytest.raises(AwsError, match=f"nested more than {MAX_DEPTH} levels deep"):
            await store.call("ExecuteStatement", {"Statement": statement})

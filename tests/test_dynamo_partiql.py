"""DynamoDB PartiQL (ExecuteStatement, BatchExecuteStatement, ExecuteTransaction) through the tables port
with boto3's own client, and against moto where moto's PartiQL follows AWS.

moto's PartiQL (py-partiql-parser) answers 500 for `?` parameters in INSERT and for UPDATE/DELETE on a
table with a sort key, finds nothing for a WHERE on a non-key attribute, accepts a duplicate INSERT and
ignores Limit; the differential scenario keeps to the statements where it agrees with AWS's reference,
and the other tests assert the documented behaviour.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions
import pytest

from sandbox.clock import FakeClock
from sandbox.config import SandboxConfig
from sandbox.sandbox import Sandbox
from tests.test_dynamo_differential import KEYS, sandbox_and_moto

STREAMS_APP = Path(__file__).parent / "fixtures" / "streams-app"


@pytest.fixture(scope="module")
def endpoints() -> Iterator[tuple[Any, Any]]:
    with sandbox_and_moto() as pair:
        yield pair


@pytest.fixture
def db(endpoints: tuple[Any, Any]) -> Any:
    return endpoints[0]


@pytest.fixture
def table(db: Any, request: pytest.FixtureRequest) -> str:
    """A fresh table `pk` (S) + `sk` (N) with a global index `byColor` on `color`, named after the test."""
    name = "pq-" + hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:16]
    db.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
            {"AttributeName": "color", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "byColor",
                "KeySchema": [{"AttributeName": "color", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


def _run(db: Any, statement: str, *params: Any, **extra: Any) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"Statement": statement, **extra}
    if params:
        kwargs["Parameters"] = list(params)
    answer: dict[str, Any] = db.execute_statement(**kwargs)
    answer.pop("ResponseMetadata", None)
    return answer


def _error(db: Any, call: str = "execute_statement", **kwargs: Any) -> tuple[int, str, str]:
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        getattr(db, call)(**kwargs)
    response = caught.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"], response["Error"]["Message"]


def _fill(db: Any, table: str) -> None:
    for pk, sk, color in [("a", 1, "red"), ("a", 2, "blue"), ("a", 3, "red"), ("a", 4, "green"), ("b", 1, "red")]:
        _run(db, f"INSERT INTO \"{table}\" VALUE {{'pk': ?, 'sk': ?, 'color': ?, 'n': {sk}}}", S(pk), N(sk), S(color))


def _all(db: Any, table: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = db.scan(TableName=table, ConsistentRead=True)["Items"]
    return sorted(items, key=lambda item: (item["pk"]["S"], item["sk"]["N"]))


def S(text: str) -> dict[str, str]:
    return {"S": text}


def N(number: int) -> dict[str, str]:
    return {"N": str(number)}


def _sks(items: list[dict[str, Any]]) -> list[int]:
    return [int(item["sk"]["N"]) for item in items]


# --- SELECT -----------------------------------------------------------------------------------


def test_select_by_partition_key_is_a_query_of_that_partition(db: Any, table: str) -> None:
    _fill(db, table)
    assert _sks(_run(db, f'SELECT * FROM "{table}" WHERE pk = ?', S("a"))["Items"]) == [1, 2, 3, 4]
    assert _sks(_run(db, f"SELECT * FROM \"{table}\" WHERE pk = 'b'")["Items"]) == [1]


def test_select_with_a_sort_key_condition_and_order_by_desc(db: Any, table: str) -> None:
    _fill(db, table)
    query = f"SELECT * FROM \"{table}\" WHERE pk = 'a' AND sk >= 2 ORDER BY sk DESC"
    assert _sks(_run(db, query)["Items"]) == [4, 3, 2]
    between = f"SELECT * FROM \"{table}\" WHERE 'a' = pk AND sk BETWEEN 2 AND 3 ORDER BY sk ASC"
    assert _sks(_run(db, between)["Items"]) == [2, 3]
    filtered = f"SELECT * FROM \"{table}\" WHERE pk = 'a' AND sk < 4 AND color = 'red' ORDER BY sk DESC"
    assert _sks(_run(db, filtered)["Items"]) == [3, 1]
    status, code, message = _error(db, Statement=f"SELECT * FROM \"{table}\" WHERE color = 'red' ORDER BY sk")
    assert (status, code) == (400, "ValidationException") and "ORDER BY" in message


def test_select_without_a_key_equality_scans_with_a_filter(db: Any, table: str) -> None:
    _fill(db, table)
    items = _run(db, f"SELECT * FROM \"{table}\" WHERE color = 'red' AND n > 1")["Items"]
    assert sorted((i["pk"]["S"], int(i["sk"]["N"])) for i in items) == [("a", 3)]
    # A second condition on the sort key cannot be a Query's filter: the whole WHERE filters a scan.
    items = _run(db, f"SELECT * FROM \"{table}\" WHERE pk = 'a' AND sk > 1 AND sk < 4")["Items"]
    assert sorted(_sks(items)) == [2, 3]


def test_select_on_an_index_with_a_projection(db: Any, table: str) -> None:
    _fill(db, table)
    items = _run(db, f'SELECT pk, sk FROM "{table}"."byColor" WHERE color = \'red\'')["Items"]
    assert sorted((i["pk"]["S"], int(i["sk"]["N"])) for i in items) == [("a", 1), ("a", 3), ("b", 1)]
    assert all(set(item) == {"pk", "sk"} for item in items)


def test_projection_of_nested_paths(db: Any, table: str) -> None:
    _run(db, f"INSERT INTO \"{table}\" VALUE {{'pk': 'p', 'sk': 1, 'doc': {{'tags': ['x', 'y'], 'n': 1}}, 'o': 2}}")
    items = _run(db, f'SELECT doc.tags[1], "o" FROM "{table}" WHERE pk = \'p\'')["Items"]
    assert items == [{"doc": {"M": {"tags": {"L": [S("y")]}}}, "o": N(2)}]


def test_limit_and_next_token_page_through_every_item(db: Any, table: str) -> None:
    _fill(db, table)
    seen: list[tuple[str, int]] = []
    pages = 0
    token = None
    while True:
        extra: dict[str, Any] = {"NextToken": token} if token else {}
        page = _run(db, f'SELECT pk, sk FROM "{table}"', Limit=2, **extra)
        seen += [(i["pk"]["S"], int(i["sk"]["N"])) for i in page["Items"]]
        pages += 1
        token = page.get("NextToken")
        if token is None:
            break
    assert sorted(seen) == [("a", 1), ("a", 2), ("a", 3), ("a", 4), ("b", 1)] and len(seen) == 5
    assert pages == 3
    first = _run(db, f"SELECT * FROM \"{table}\" WHERE pk = 'a'", Limit=1)
    assert _sks(first["Items"]) == [1] and "NextToken" in first
    after = _run(db, f"SELECT * FROM \"{table}\" WHERE pk = 'a'", Limit=10, NextToken=first["NextToken"])
    assert _sks(after["Items"]) == [2, 3, 4] and "NextToken" not in after
    # A token continues only the statement that issued it.
    status, code, _ = _error(db, Statement=f"SELECT * FROM \"{table}\" WHERE pk = 'b'", NextToken=first["NextToken"])
    assert (status, code) == (400, "ValidationException")
    forged = base64.urlsafe_b64encode(b'{"key": {}, "of": "nope"}').decode()
    assert _error(db, Statement=f'SELECT * FROM "{table}"', NextToken=forged)[1] == "ValidationException"


def test_conditions_of_every_kind(db: Any, table: str) -> None:
    _run(db, f"INSERT INTO \"{table}\" VALUE {{'pk': 'c', 'sk': 1, 's': 'apple', 'l': [1, 2, 3], 'z': null}}")
    _run(db, f"INSERT INTO \"{table}\" VALUE {{'pk': 'c', 'sk': 2, 's': 'banana', 'tags': <<'x', 'y'>>}}")
    _run(db, f"INSERT INTO \"{table}\" VALUE {{'pk': 'c', 'sk': 3, 'n': 5}}")
    cases = {
        "s IN ['apple', 'cherry']": [1],
        "s IN ('banana')": [2],
        "s IS MISSING": [3],
        "s IS NOT MISSING": [1, 2],
        "z IS NULL": [1, 2, 3],  # in PartiQL a missing attribute is NULL too
        "s IS NOT NULL": [1, 2],
        "begins_with(s, 'ban')": [2],
        "contains(tags, 'y')": [2],
        "attribute_type(l, 'L')": [1],
        "size(l) = 3": [1],
        "size(s) > 5 OR n = 5": [2, 3],
        "NOT (s = 'apple') AND s <> 'banana'": [3],
        "(s = 'apple' OR s = 'banana') AND NOT s = 'apple'": [2],
        "n BETWEEN 4 AND 6": [3],
        "l[0] = 1": [1],
    }
    for where, expected in cases.items():
        items = _run(db, f"SELECT sk FROM \"{table}\" WHERE pk = 'c' AND {where}")["Items"]
        assert sorted(_sks(items)) == expected, where


def test_keywords_are_case_insensitive(db: Any, table: str) -> None:
    _fill(db, table)
    items = _run(db, f"select * from \"{table}\" where pk = 'a' and sk between 1 and 2 order by sk desc")["Items"]
    assert _sks(items) == [2, 1]


# --- INSERT, UPDATE, DELETE ------------------------------------------------------------------


def test_insert_then_a_duplicate_insert(db: Any, table: str) -> None:
    assert _run(db, f"INSERT INTO \"{table}\" VALUE {{'pk': 'i', 'sk': 1, 'v': 'first'}}") == {"Items": []}
    status, code, message = _error(db, Statement=f"INSERT INTO \"{table}\" VALUE {{'pk': 'i', 'sk': 1, 'v': 'second'}}")
    assert (status, code, message) == (400, "DuplicateItemException", "Duplicate primary key exists in table")
    assert _all(db, table) == [{"pk": S("i"), "sk": N(1), "v": S("first")}]
    whole = {"M": {"pk": S("i"), "sk": N(2), "v": S("as one parameter")}}
    assert _run(db, f'INSERT INTO "{table}" VALUE ?', whole) == {"Items": []}
    assert _all(db, table)[1] == whole["M"]
    status, code, _ = _error(db, Statement=f'INSERT INTO "{table}" VALUE ?', Parameters=[S("not a map")])
    assert (status, code) == (400, "ValidationException")
    status, code, message = _error(db, Statement=f"INSERT INTO \"{table}\" VALUE {{'sk': 2}}")
    assert (status, code) == (400, "ValidationException") and "Missing the key pk" in message


def test_update_with_set_remove_arithmetic_and_returning(db: Any, table: str) -> None:
    _run(db, f"INSERT INTO \"{table}\" VALUE {{'pk': 'u', 'sk': 1, 'n': 1, 'gone': 'x', 'doc': {{'l': [1, 2]}}}}")
    key = "WHERE pk = 'u' AND sk = 1"
    new = _run(
        db,
        f"UPDATE \"{table}\" SET n = n + 2, label = ?, doc.l[0] = 'first' REMOVE gone SET tags = <<'a'>> {key} "
        "RETURNING ALL NEW *",
        S("hi"),
    )["Items"]
    assert new == [
        {
            "pk": S("u"),
            "sk": N(1),
            "n": N(3),
            "label": S("hi"),
            "doc": {"M": {"l": {"L": [S("first"), N(2)]}}},
            "tags": {"SS": ["a"]},
        }
    ]
    old = _run(db, f'UPDATE "{table}" SET n = n - 1 {key} RETURNING MODIFIED OLD *')["Items"]
    assert old == [{"n": N(3)}]
    modified = _run(
        db,
        f"UPDATE \"{table}\" SET tags = set_add(tags, <<'b'>>), doc.l = list_append(doc.l, [3]) {key} "
        "RETURNING MODIFIED NEW *",
    )["Items"]
    assert sorted(modified[0]["tags"]["SS"]) == ["a", "b"]
    assert modified[0]["doc"] == {"M": {"l": {"L": [S("first"), N(2), N(3)]}}}
    _run(db, f"UPDATE \"{table}\" SET tags = set_delete(tags, <<'a'>>) {key}")
    assert _all(db, table)[0]["tags"] == {"SS": ["b"]}
    all_old = _run(db, f'UPDATE "{table}" SET n = 10 {key} AND n = 2 RETURNING ALL OLD *')["Items"]
    assert all_old[0]["n"] == N(2) and _all(db, table)[0]["n"] == N(10)


def test_update_of_a_missing_item_or_a_failed_condition_fails_the_check(db: Any, table: str) -> None:
    _run(db, f"INSERT INTO \"{table}\" VALUE {{'pk': 'u', 'sk': 1, 'n': 1}}")
    for statement in (
        f"UPDATE \"{table}\" SET n = 5 WHERE pk = 'nobody' AND sk = 1",
        f"UPDATE \"{table}\" SET n = n + 1 WHERE pk = 'nobody' AND sk = 1",
        f"UPDATE \"{table}\" SET n = 5 WHERE pk = 'u' AND sk = 1 AND n = 99",
    ):
        status, code, _ = _error(db, Statement=statement)
        assert (status, code) == (400, "ConditionalCheckFailedException"), statement
    assert _all(db, table) == [{"pk": S("u"), "sk": N(1), "n": N(1)}]
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        db.execute_statement(
            Statement=f"UPDATE \"{table}\" SET n = 5 WHERE pk = 'u' AND sk = 1 AND n = 99",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    failure: dict[str, Any] = dict(caught.value.response)
    assert failure["Item"] == {"pk": S("u"), "sk": N(1), "n": N(1)}
    status, code, message = _error(db, Statement=f"UPDATE \"{table}\" SET n = 5 WHERE pk = 'u'")
    assert (status, code, message) == (
        400,
        "ValidationException",
        "Where clause does not contain a mandatory equality on all key attributes",
    )


def test_delete_with_and_without_a_failing_condition(db: Any, table: str) -> None:
    _fill(db, table)
    status, code, _ = _error(db, Statement=f"DELETE FROM \"{table}\" WHERE pk = 'a' AND sk = 1 AND color = 'blue'")
    assert (status, code) == (400, "ConditionalCheckFailedException")
    assert len(_all(db, table)) == 5
    gone = _run(db, f"DELETE FROM \"{table}\" WHERE pk = 'a' AND sk = 1 AND color = 'red' RETURNING ALL OLD *")
    assert gone["Items"] == [{"pk": S("a"), "sk": N(1), "color": S("red"), "n": N(1)}]
    assert _run(db, f"DELETE FROM \"{table}\" WHERE pk = 'a' AND sk = 2") == {"Items": []}
    # A missing item with no condition of its own is not an error, as DeleteItem.
    assert _run(db, f"DELETE FROM \"{table}\" WHERE pk = 'nobody' AND sk = 1") == {"Items": []}
    assert [(i["pk"]["S"], int(i["sk"]["N"])) for i in _all(db, table)] == [("a", 3), ("a", 4), ("b", 1)]


def test_parameters_of_every_type(db: Any, table: str) -> None:
    values: dict[str, Any] = {
        "s": S("text"),
        "num": {"N": "-1.5"},
        "bin": {"B": b"\x00\x01"},
        "yes": {"BOOL": True},
        "nothing": {"NULL": True},
        "ss": {"SS": ["a", "b"]},
        "ns": {"NS": ["1", "2"]},
        "bs": {"BS": [b"x", b"y"]},
        "map": {"M": {"inner": {"L": [S("x"), {"M": {}}]}}},
        "list": {"L": [N(1), S("two"), {"BOOL": False}]},
    }
    fields = ", ".join(f"'{name}': ?" for name in values)
    _run(db, f"INSERT INTO \"{table}\" VALUE {{'pk': ?, 'sk': ?, {fields}}}", S("t"), N(1), *values.values())
    (item,) = _run(db, f'SELECT * FROM "{table}" WHERE pk = ? AND sk = ?', S("t"), N(1))["Items"]
    for name in ("ss", "ns", "bs"):
        kind = next(iter(values[name]))
        assert sorted(item.pop(name)[kind]) == sorted(values.pop(name)[kind])
    assert item == {"pk": S("t"), "sk": N(1), **values}
    for name, value in values.items():  # each value is also found by equality on itself
        found = _run(db, f'SELECT sk FROM "{table}" WHERE pk = ? AND "{name}" = ?', S("t"), value)["Items"]
        assert found == [{"sk": N(1)}], name


def test_literals_of_every_type(db: Any, table: str) -> None:
    _run(
        db,
        f"INSERT INTO \"{table}\" VALUE {{'pk': 'it''s', 'sk': -2.50, 't': TRUE, 'f': false, 'z': NULL, "
        "'ns': <<1, 2>>, 'ss': <<'a'>>, 'm': {'l': [1, 'x', [true]]}, 'e': {}}",
    )
    (item,) = _all(db, table)
    assert item["pk"] == S("it's") and item["sk"] == {"N": "-2.5"}
    assert (item["t"], item["f"], item["z"]) == ({"BOOL": True}, {"BOOL": False}, {"NULL": True})
    assert sorted(item["ns"]["NS"]) == ["1", "2"] and item["ss"] == {"SS": ["a"]}
    assert item["m"] == {"M": {"l": {"L": [N(1), S("x"), {"L": [{"BOOL": True}]}]}}} and item["e"] == {"M": {}}


@pytest.mark.parametrize(
    ("statement", "count"),
    [('SELECT * FROM "{t}" WHERE pk = ?', 0), ('SELECT * FROM "{t}" WHERE pk = ?', 2)],
)
def test_too_few_or_too_many_parameters(db: Any, table: str, statement: str, count: int) -> None:
    params = [S("a")] * count
    kwargs: dict[str, Any] = {"Statement": statement.format(t=table)}
    if params:
        kwargs["Parameters"] = params
    assert _error(db, **kwargs) == (
        400,
        "ValidationException",
        "Number of parameters in request and statement don't match.",
    )


# --- errors ----------------------------------------------------------------------------------

MALFORMED = [
    "SELEC * FROM {t}",
    "SELECT * FROM",
    'SELECT * FROM "{t}" WHERE',
    "SELECT * FROM \"{t}\" WHERE pk = 'a' AND",
    'SELECT * FROM "{t}" WHERE pk = \'unterminated',
    "SELECT * FROM \"{t}\" WHERE pk == 'a'",
    "SELECT * FROM \"{t}\" WHERE (pk = 'a'",
    'SELECT * FROM "{t}" extra',
    "INSERT INTO \"{t}\" VALUE 'not a map'",
    "INSERT INTO \"{t}\" VALUES {{'pk': 'a', 'sk': 1}}",
    "INSERT INTO \"{t}\" VALUE {{'pk': 'a', 'pk': 'b', 'sk': 1}}",
    "INSERT INTO \"{t}\" VALUE {{pk: 'a'}}",
    "INSERT INTO \"{t}\" VALUE {{'pk': 'a', 'sk': 1, 's': <<'a', 1>>}}",
    "UPDATE \"{t}\" WHERE pk = 'a' AND sk = 1",
    'UPDATE "{t}" SET n = 1',
    "UPDATE \"{t}\" SET n = 1 WHERE pk = 'a' AND sk = 1 RETURNING EVERYTHING",
    "DELETE \"{t}\" WHERE pk = 'a' AND sk = 1",
    "DELETE FROM \"{t}\" WHERE pk = 'a' AND sk = 1 RETURNING ALL NEW *",
    'SELECT * FROM "{t}" WHERE a[x] = 1',
    'SELECT * FROM "{t}" WHERE a = 1 ; DROP TABLE x',
    'SELECT * FROM "{t}" WHERE ' + "(" * 200 + "a = 1" + ")" * 200,
    'INSERT INTO "{t}" VALUE ' + "[" * 200 + "]" * 200,
]


@pytest.mark.parametrize("statement", MALFORMED)
def test_malformed_statements_are_refused_and_change_nothing(db: Any, table: str, statement: str) -> None:
    _fill(db, table)
    before = _all(db, table)
    status, code, message = _error(db, Statement=statement.format(t=table))
    assert (status, code) == (400, "ValidationException")
    assert message.startswith("Statement wasn't well formed, can't be processed: ") or "set" in message, message
    assert _all(db, table) == before


@pytest.mark.parametrize(
    "statement",
    [
        'SELECT COUNT(*) FROM "{t}"',
        'SELECT DISTINCT pk FROM "{t}"',
        'SELECT * FROM "{t}" WHERE char_length(pk) = 1',
        'SELECT * FROM "{t}" LIMIT 1',
        "UPDATE \"{t}\" SET n = if_not_exists(n, 1) WHERE pk = 'a' AND sk = 1",
    ],
)
def test_valid_partiql_that_is_not_built_says_so(db: Any, table: str, statement: str) -> None:
    status, code, message = _error(db, Statement=statement.format(t=table))
    assert (status, code) == (400, "ValidationException")
    assert message.startswith("Unsupported PartiQL in this sandbox: "), message


def test_unknown_table_and_index(db: Any, table: str) -> None:
    assert _error(db, Statement='SELECT * FROM "no-such-table"')[:2] == (400, "ResourceNotFoundException")
    assert _error(db, Statement="INSERT INTO \"no-such-table\" VALUE {'pk': 'a'}")[:2] == (
        400,
        "ResourceNotFoundException",
    )
    assert _error(db, Statement=f'SELECT * FROM "{table}"."noSuchIndex"')[:2] == (400, "ValidationException")


def test_statement_length_is_capped_at_8192_characters(db: Any, table: str) -> None:
    padding = " " * (8193 - len(f'SELECT * FROM "{table}"'))
    status, code, message = _error(db, Statement=f'SELECT * FROM "{table}"{padding}')
    assert (status, code) == (400, "ValidationException") and "8192" in message
    assert _run(db, f'SELECT * FROM "{table}"' + padding[1:]) == {"Items": []}


# --- BatchExecuteStatement -------------------------------------------------------------------


def test_batch_reports_each_statement_on_its_own(db: Any, table: str) -> None:
    _fill(db, table)
    answer = db.batch_execute_statement(
        Statements=[
            {"Statement": f"INSERT INTO \"{table}\" VALUE {{'pk': 'new', 'sk': 1}}"},
            {"Statement": f"INSERT INTO \"{table}\" VALUE {{'pk': 'a', 'sk': 1}}"},
            {"Statement": f'UPDATE "{table}" SET n = ? WHERE pk = ? AND sk = ?', "Parameters": [N(9), S("a"), N(2)]},
            {"Statement": f"UPDATE \"{table}\" SET n = 1 WHERE pk = 'nobody' AND sk = 1"},
            {
                "Statement": f"DELETE FROM \"{table}\" WHERE pk = 'a' AND sk = 3 AND color = 'blue'",
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            },
            {"Statement": "DELETE FROM \"no-such-table\" WHERE pk = 'a' AND sk = 3"},
            {"Statement": f"DELETE FROM \"{table}\" WHERE pk = 'b' AND sk = 1"},
        ]
    )["Responses"]
    assert answer[0] == {"TableName": table}
    assert answer[1]["Error"] == {"Code": "DuplicateItem", "Message": "Duplicate primary key exists in table"}
    assert answer[2] == {"TableName": table}
    assert answer[3]["Error"]["Code"] == "ConditionalCheckFailed"
    assert answer[4]["Error"]["Code"] == "ConditionalCheckFailed"
    assert answer[4]["Error"]["Item"] == {"pk": S("a"), "sk": N(3), "color": S("red"), "n": N(3)}
    assert answer[5]["Error"]["Code"] == "ResourceNotFound"
    assert answer[6] == {"TableName": table}
    keys = [(i["pk"]["S"], int(i["sk"]["N"]), i.get("n", {}).get("N")) for i in _all(db, table)]
    assert keys == [("a", 1, "1"), ("a", 2, "9"), ("a", 3, "3"), ("a", 4, "4"), ("new", 1, None)]


def test_batch_reads_are_by_whole_key(db: Any, table: str) -> None:
    _fill(db, table)
    answer = db.batch_execute_statement(
        Statements=[
            {"Statement": f"SELECT pk, color FROM \"{table}\" WHERE pk = 'a' AND sk = 2"},
            {"Statement": f'SELECT * FROM "{table}" WHERE pk = ? AND sk = ?', "Parameters": [S("a"), N(9)]},
            {"Statement": f"SELECT * FROM \"{table}\" WHERE pk = 'a' AND sk = 3 AND color = 'blue'"},
            {"Statement": f"SELECT * FROM \"{table}\" WHERE pk = 'a'", "ConsistentRead": True},
        ]
    )["Responses"]
    assert answer[0] == {"TableName": table, "Item": {"pk": S("a"), "color": S("blue")}}
    assert answer[1] == {"TableName": table}
    assert answer[2] == {"TableName": table}
    assert answer[3]["Error"] == {
        "Code": "ValidationError",
        "Message": "Where clause does not contain a mandatory equality on all key attributes",
    }


def test_batch_of_reads_and_writes_or_of_too_many_is_refused(db: Any, table: str) -> None:
    _fill(db, table)
    before = _all(db, table)
    mixed = [
        {"Statement": f"SELECT * FROM \"{table}\" WHERE pk = 'a' AND sk = 1"},
        {"Statement": f"DELETE FROM \"{table}\" WHERE pk = 'a' AND sk = 1"},
    ]
    assert _error(db, "batch_execute_statement", Statements=mixed)[:2] == (400, "ValidationException")
    many = [{"Statement": f"DELETE FROM \"{table}\" WHERE pk = 'a' AND sk = {i}"} for i in range(26)]
    assert _error(db, "batch_execute_statement", Statements=many)[:2] == (400, "ValidationException")
    broken = [mixed[1], {"Statement": "DELETE FROM"}]
    assert _error(db, "batch_execute_statement", Statements=broken)[:2] == (400, "ValidationException")
    assert _all(db, table) == before


# --- ExecuteTransaction ----------------------------------------------------------------------


def test_transaction_commits_every_write(db: Any, table: str) -> None:
    _fill(db, table)
    answer = db.execute_transaction(
        TransactStatements=[
            {"Statement": f"INSERT INTO \"{table}\" VALUE {{'pk': 'new', 'sk': 1}}"},
            {"Statement": f"UPDATE \"{table}\" SET n = n + 10 WHERE pk = 'a' AND sk = 1"},
            {"Statement": f'DELETE FROM "{table}" WHERE pk = ? AND sk = ?', "Parameters": [S("b"), N(1)]},
            {"Statement": f"EXISTS(SELECT * FROM \"{table}\" WHERE pk = 'a' AND sk = 2 AND color = 'blue')"},
        ]
    )
    assert "Responses" not in answer
    keys = [(i["pk"]["S"], int(i["sk"]["N"]), i.get("n", {}).get("N")) for i in _all(db, table)]
    assert keys == [("a", 1, "11"), ("a", 2, "2"), ("a", 3, "3"), ("a", 4, "4"), ("new", 1, None)]


def test_a_cancelled_transaction_writes_nothing(db: Any, table: str) -> None:
    _fill(db, table)
    before = _all(db, table)
    statements = [
        {"Statement": f"INSERT INTO \"{table}\" VALUE {{'pk': 'new', 'sk': 1}}"},
        {"Statement": f"INSERT INTO \"{table}\" VALUE {{'pk': 'a', 'sk': 1}}"},
        {"Statement": f"UPDATE \"{table}\" SET n = 0 WHERE pk = 'nobody' AND sk = 1"},
        {"Statement": f"UPDATE \"{table}\" SET n = n + 1 WHERE pk = 'nobody' AND sk = 2"},
        {"Statement": f"EXISTS(SELECT * FROM \"{table}\" WHERE pk = 'a' AND sk = 2 AND color = 'red')"},
        {"Statement": f"DELETE FROM \"{table}\" WHERE pk = 'b' AND sk = 1"},
    ]
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        db.execute_transaction(TransactStatements=statements)
    error = caught.value.response
    assert error["Error"]["Code"] == "TransactionCanceledException"
    assert [r["Code"] for r in error["CancellationReasons"]] == [
        "None",
        "DuplicateItem",
        "ConditionalCheckFailed",
        "ConditionalCheckFailed",
        "ConditionalCheckFailed",
        "None",
    ]
    assert _all(db, table) == before


def test_a_transaction_of_reads(db: Any, table: str) -> None:
    _fill(db, table)
    answer = db.execute_transaction(
        TransactStatements=[
            {"Statement": f"SELECT color FROM \"{table}\" WHERE pk = 'a' AND sk = 2"},
            {"Statement": f'SELECT * FROM "{table}" WHERE pk = ? AND sk = ?', "Parameters": [S("x"), N(1)]},
        ]
    )
    assert answer["Responses"] == [{"Item": {"color": S("blue")}}, {}]
    status, code, _ = _error(
        db,
        "execute_transaction",
        TransactStatements=[
            {"Statement": f"SELECT * FROM \"{table}\" WHERE pk = 'a' AND sk = 2"},
            {"Statement": f"DELETE FROM \"{table}\" WHERE pk = 'a' AND sk = 2"},
        ],
    )
    assert (status, code) == (400, "ValidationException")
    assert len(_all(db, table)) == 5


def test_a_transaction_token_makes_a_retry_write_nothing_more(db: Any, table: str) -> None:
    _run(db, f"INSERT INTO \"{table}\" VALUE {{'pk': 'c', 'sk': 1, 'n': 0}}")
    bump = [{"Statement": f"UPDATE \"{table}\" SET n = n + 1 WHERE pk = 'c' AND sk = 1"}]
    db.execute_transaction(TransactStatements=bump, ClientRequestToken="retry-1")
    db.execute_transaction(TransactStatements=bump, ClientRequestToken="retry-1")
    assert _all(db, table)[0]["n"] == N(1)
    other = [{"Statement": f"UPDATE \"{table}\" SET n = n + 2 WHERE pk = 'c' AND sk = 1"}]
    code = _error(db, "execute_transaction", TransactStatements=other, ClientRequestToken="retry-1")[1]
    assert code == "IdempotentParameterMismatchException"


# --- ReturnConsumedCapacity ------------------------------------------------------------------


def test_consumed_capacity_is_that_of_the_operations_run(db: Any, table: str) -> None:
    """The units are the translated operations' own (tests/test_dynamo_capacity.py pins those)."""
    insert = _run(db, f"INSERT INTO \"{table}\" VALUE {{'pk': 'c', 'sk': 1}}", ReturnConsumedCapacity="TOTAL")
    assert insert["ConsumedCapacity"] == {"TableName": table, "CapacityUnits": 1.0}
    select = _run(db, f"SELECT * FROM \"{table}\" WHERE pk = 'c'", ReturnConsumedCapacity="TOTAL")
    assert select["ConsumedCapacity"] == {"TableName": table, "CapacityUnits": 0.5}
    assert "ConsumedCapacity" not in _run(db, f'SELECT * FROM "{table}"')
    batch = db.batch_execute_statement(
        Statements=[{"Statement": f"SELECT * FROM \"{table}\" WHERE pk = 'c' AND sk = {sk}"} for sk in (1, 2)],
        ReturnConsumedCapacity="TOTAL",
    )
    assert batch["ConsumedCapacity"] == [{"TableName": table, "CapacityUnits": 0.5}] * 2
    transaction = db.execute_transaction(
        TransactStatements=[{"Statement": f"UPDATE \"{table}\" SET v = 1 WHERE pk = 'c' AND sk = 1"}],
        ReturnConsumedCapacity="TOTAL",
    )
    assert transaction["ConsumedCapacity"] == [{"TableName": table, "CapacityUnits": 2.0, "WriteCapacityUnits": 2.0}]


# --- against moto ----------------------------------------------------------------------------

DIFFERENTIAL: list[tuple[str, dict[str, Any]]] = [
    ("execute_statement", {"Statement": "INSERT INTO \"pq-diff\" VALUE {'pk': 'a', 'v': 'x', 'n': 3}"}),
    ("execute_statement", {"Statement": "INSERT INTO \"pq-diff\" VALUE {'pk': 'b', 'v': 'y'}"}),
    ("execute_statement", {"Statement": "SELECT * FROM \"pq-diff\" WHERE pk = 'a'"}),
    ("execute_statement", {"Statement": "SELECT v FROM \"pq-diff\" WHERE pk = 'a'"}),
    ("execute_statement", {"Statement": "UPDATE \"pq-diff\" SET v = 'z' WHERE pk = 'a'"}),
    ("execute_statement", {"Statement": 'UPDATE "pq-diff" SET v = ? WHERE pk = ?', "Parameters": [S("w"), S("b")]}),
    ("execute_statement", {"Statement": "UPDATE \"pq-diff\" REMOVE n WHERE pk = 'a'"}),
    ("execute_statement", {"Statement": "SELECT * FROM \"pq-diff\" WHERE pk = 'a'"}),
    ("execute_statement", {"Statement": "DELETE FROM \"pq-diff\" WHERE pk = 'a'"}),
    ("execute_statement", {"Statement": "SELECT * FROM \"pq-diff\" WHERE pk = 'a'"}),
    ("execute_statement", {"Statement": 'SELECT * FROM "pq-missing"'}),
    (
        "batch_execute_statement",
        {
            "Statements": [
                {"Statement": "INSERT INTO \"pq-diff\" VALUE {'pk': 'd'}"},
                {"Statement": "DELETE FROM \"pq-diff\" WHERE pk = 'b'"},
            ]
        },
    ),
    ("execute_statement", {"Statement": "SELECT * FROM \"pq-diff\" WHERE pk = 'd'"}),
    ("execute_statement", {"Statement": "SELECT * FROM \"pq-diff\" WHERE pk = 'b'"}),
    ("execute_transaction", {"TransactStatements": [{"Statement": "SELECT * FROM \"pq-diff\" WHERE pk = 'd'"}]}),
]


def _record(client: Any, operation: str, kwargs: dict[str, Any]) -> Any:
    try:
        answer = getattr(client, operation)(**kwargs)
    except botocore.exceptions.ClientError as error:
        return ("error", error.response["Error"]["Code"])
    answer.pop("ResponseMetadata", None)
    return answer


def test_the_same_statements_answer_as_moto_does(endpoints: tuple[Any, Any]) -> None:
    for client in endpoints:
        client.create_table(
            TableName="pq-diff",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    ours, moto = endpoints
    for operation, kwargs in DIFFERENTIAL:
        assert _record(ours, operation, kwargs) == _record(moto, operation, kwargs), (operation, kwargs)


# --- @tables-streams -------------------------------------------------------------------------


async def test_partiql_writes_fire_the_stream_function(tmp_path: Path) -> None:
    app = Path(shutil.copytree(STREAMS_APP, tmp_path / "streams-app"))
    async with Sandbox(SandboxConfig.ephemeral(app), clock=FakeClock()) as sandbox:
        client = boto3.client("dynamodb", endpoint_url=f"http://127.0.0.1:{sandbox.ports['tables']}", **KEYS)
        notes = '"streams-app-staging-notes"'

        def write() -> None:
            client.execute_statement(Statement=f"INSERT INTO {notes} VALUE {{'id': 'p1', 'body': 'hello'}}")
            client.execute_statement(Statement=f"UPDATE {notes} SET body = 'bye' WHERE id = 'p1'")
            client.batch_execute_statement(Statements=[{"Statement": f"DELETE FROM {notes} WHERE id = 'p1'"}])
            client.execute_transaction(TransactStatements=[{"Statement": f"INSERT INTO {notes} VALUE {{'id': 'p2'}}"}])

        wakes: list[str] = []  # the stream readers' wake-up call, which settle() would not need
        sandbox.store.on_write(lambda: wakes.append("write"))
        await asyncio.to_thread(write)
        assert len(wakes) == 4
        results = await sandbox.settle()
        assert {(r.pragma, r.name, r.ok) for r in results} == {("tables-streams", "notes", True)}
        rows = [row for row in await sandbox.tables().received.scan_all() if not str(row["seq"]).startswith("tried-")]
        records = [json.loads(row["record"]) for row in sorted(rows, key=lambda row: str(row["seq"]))]
        assert [(r["eventName"], r["dynamodb"]["Keys"]["id"]["S"]) for r in records] == [
            ("INSERT", "p1"),
            ("MODIFY", "p1"),
            ("REMOVE", "p1"),
            ("INSERT", "p2"),
        ]
        assert records[1]["dynamodb"]["NewImage"]["body"] == S("bye")

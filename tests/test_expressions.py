"""The expression languages: parsing, precedence, functions, updates, projections, key plans, errors."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.dynamodb.expressions import (
    ExpressionCache,
    Names,
    apply_update,
    check_update,
    evaluate,
    key_condition_plan,
    project,
)
from sandbox.dynamodb.types import item_from_python, item_to_python
from sandbox.errors import ValidationError

CACHE = ExpressionCache()
ITEM = item_from_python(
    {"pk": "p", "n": 5, "s": "hello", "tags": {"a", "b"}, "l": [1, "two", {"x": 3}], "m": {"deep": {"v": 1}}}
)


def names(values: dict[str, Any] | None = None, attr_names: dict[str, str] | None = None) -> Names:
    return Names(attr_names, item_from_python(values) if values else None)


@pytest.mark.parametrize(
    ("text", "values", "expected"),
    [
        pytest.param("n = :v", {":v": 5}, True, id="eq"),
        pytest.param("n <> :v", {":v": 5}, False, id="ne"),
        pytest.param("absent <> :v", {":v": 5}, True, id="ne-missing"),
        pytest.param("n < :v", {":v": 10}, True, id="lt"),
        pytest.param("s > :v", {":v": "abc"}, True, id="gt-string"),
        pytest.param("n > :v", {":v": "abc"}, False, id="gt-mixed-types"),
        pytest.param("n BETWEEN :a AND :b", {":a": 1, ":b": 5}, True, id="between"),
        pytest.param("n IN (:a, :b)", {":a": 1, ":b": 5}, True, id="in"),
        pytest.param("begins_with(s, :p)", {":p": "he"}, True, id="begins-with"),
        pytest.param("contains(s, :p)", {":p": "ell"}, True, id="contains-string"),
        pytest.param("contains(tags, :p)", {":p": "b"}, True, id="contains-set"),
        pytest.param("contains(l, :p)", {":p": "two"}, True, id="contains-list"),
        pytest.param("size(l) = :n", {":n": 3}, True, id="size-list"),
        pytest.param("size(s) > :n", {":n": 4}, True, id="size-string"),
        pytest.param("attribute_type(n, :t)", {":t": "N"}, True, id="attribute-type"),
        pytest.param("l[2].x = :v", {":v": 3}, True, id="nested-path"),
        pytest.param("m.deep.v = :v", {":v": 1}, True, id="map-path"),
        pytest.param("n = :a OR n = :b AND s = :c", {":a": 5, ":b": 0, ":c": "no"}, True, id="and-binds-tighter"),
        pytest.param("(n = :a OR n = :b) AND s = :c", {":a": 5, ":b": 0, ":c": "no"}, False, id="parentheses"),
        pytest.param("NOT n = :a AND s = :c", {":a": 1, ":c": "hello"}, True, id="not-binds-tighter"),
    ],
)
def test_expressions_conditions(text: str, values: dict[str, Any], expected: bool) -> None:
    context = names(values)
    assert evaluate(CACHE.condition(text), ITEM, context) is expected
    context.check_all_used()


def test_expressions_attribute_exists_on_a_missing_item() -> None:
    assert evaluate(CACHE.condition("attribute_not_exists(pk)"), None, names()) is True
    assert evaluate(CACHE.condition("attribute_exists(pk)"), None, names()) is False


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("status = :v", "reserved keyword; reserved keyword: status", id="reserved"),
        pytest.param("n = = :v", 'Syntax error; token: "="', id="syntax"),
        pytest.param("n = :missing", "attribute value: :missing", id="undefined-value"),
        pytest.param("#nope = :v", "attribute name: #nope", id="undefined-name"),
        pytest.param("n BETWEEN :b AND :a", "upper bound", id="between-bounds"),
        pytest.param("unknown_fn(n)", "Invalid function name", id="bad-function"),
        pytest.param("attribute_exists(n, :v)", "Incorrect number of operands", id="arity"),
    ],
)
def test_expressions_condition_errors(text: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message.replace("(", r"\(")):
        evaluate(CACHE.condition(text), ITEM, names({":v": 1, ":a": 1, ":b": 9}))


def test_expressions_unused_values_and_names_are_errors() -> None:
    context = names({":v": 5, ":extra": 1}, {"#n": "n", "#unused": "x"})
    evaluate(CACHE.condition("#n = :v"), ITEM, context)
    with pytest.raises(ValidationError, match="ExpressionAttributeNames unused in expressions: keys: {#unused}"):
        context.check_all_used()


def test_expressions_are_parsed_once() -> None:
    cache = ExpressionCache()
    assert cache.condition("n = :v") is cache.condition("n = :v")


def update(text: str, values: dict[str, Any] | None = None, item: dict[str, Any] | None = None) -> dict[str, Any]:
    base = item_from_python(item) if item is not None else ITEM
    parsed, context = CACHE.update(text), names(values)
    check_update(parsed, context, key_attributes=["pk"])  # what is wrong whatever the item, checked first
    return item_to_python(apply_update(parsed, base, context))


def test_expressions_update_set_arithmetic_and_functions() -> None:
    got = update(
        "SET n = n + :one, s = :s, l = list_append(l, :more), fresh = if_not_exists(fresh, :zero), m.deep.w = :one",
        {":one": 1, ":s": "bye", ":more": [4], ":zero": 0},
    )
    assert (got["n"], got["s"], got["l"][-1], got["fresh"], got["m"]["deep"]) == (6, "bye", 4, 0, {"v": 1, "w": 1})


def test_expressions_update_remove_add_delete() -> None:
    got = update("REMOVE s, l[0] ADD n :two, tags :c, tally :two", {":two": 2, ":c": {"c"}})
    assert "s" not in got and got["l"][0] == "two"
    assert (got["n"], got["tally"], got["tags"]) == (7, 2, {"a", "b", "c"})
    assert update("DELETE tags :a", {":a": {"a"}})["tags"] == {"b"}
    emptied = update("DELETE tags :ab", {":ab": {"a", "b"}})
    assert "tags" not in emptied


@pytest.mark.parametrize(
    ("text", "values", "message"),
    [
        pytest.param("SET pk = :v", {":v": 1}, "part of the key", id="key"),
        pytest.param("SET a = :v, a.b = :v", {":v": 1}, "Two document paths overlap", id="overlap"),
        pytest.param("SET s = s + :v", {":v": 1}, "Incorrect operand type", id="arithmetic-on-string"),
        pytest.param("ADD s :v", {":v": 1}, "incorrect data type", id="add-to-string"),
        pytest.param(
            "SET x.y = :v", {":v": 1}, "document path provided in the update expression is invalid", id="no-parent"
        ),
        pytest.param("SET a = :v SET b = :v", {":v": 1}, 'The "SET" section can only be used once', id="two-sets"),
    ],
)
def test_expressions_update_errors(text: str, values: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        update(text, values)


def test_expressions_projection_keeps_nested_structure() -> None:
    got = project(CACHE.projection("s, l[2].x, l[0], m.deep, nothing"), ITEM, names())
    assert item_to_python(got) == {"s": "hello", "l": [1, {"x": 3}], "m": {"deep": {"v": 1}}}


@pytest.mark.parametrize(
    ("text", "op", "count"),
    [
        pytest.param("pk = :p", None, 0, id="partition-only"),
        pytest.param("pk = :p AND sk = :a", "EQ", 1, id="eq"),
        pytest.param("pk = :p AND sk <= :a", "LE", 1, id="le"),
        pytest.param("sk BETWEEN :a AND :b AND pk = :p", "BETWEEN", 2, id="between-any-order"),
        pytest.param("pk = :p AND begins_with(sk, :a)", "BEGINS_WITH", 1, id="begins-with"),
    ],
)
def test_expressions_key_condition_plans(text: str, op: str | None, count: int) -> None:
    context = names({":p": "x", ":a": "a", ":b": "b"})
    plan = key_condition_plan(CACHE.key_condition(text), context, partition_key="pk", sort_key="sk")
    assert (plan.partition_value, plan.sort_op, len(plan.sort_values)) == ({"S": "x"}, op, count)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("sk = :a", "missed key schema element: pk", id="no-partition"),
        pytest.param("pk < :p", "Query key condition not supported", id="partition-range"),
        pytest.param("pk = :p OR sk = :a", "OR", id="or"),
        pytest.param("pk = :p AND extra = :a", "missed key schema element", id="non-key"),
    ],
)
def test_expressions_key_condition_errors(text: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        key_condition_plan(CACHE.key_condition(text), names({":p": "x", ":a": "a"}), partition_key="pk", sort_key="sk")

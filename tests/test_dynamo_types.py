"""Attribute values: validation with DynamoDB's wording, canonical numbers, sizes, plain values."""

from __future__ import annotations

from decimal import Decimal

import pytest

from sandbox.dynamodb.types import (
    equal,
    item_from_python,
    item_size,
    item_to_python,
    normalize_number,
    validate_item,
    validate_value,
)
from sandbox.errors import SerializationError, ValidationError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("1.50", "1.5", id="trailing-zero"),
        pytest.param("100", "100", id="integer"),
        pytest.param("1e2", "100", id="exponent"),
        pytest.param("-0.0010", "-0.001", id="negative-fraction"),
        pytest.param("-0", "0", id="negative-zero"),
        pytest.param("1" * 38, "1" * 38, id="38-digits"),
        pytest.param("-12", "-12", id="negative-integer"),
        pytest.param("0", "0", id="zero"),
        pytest.param("007", "7", id="leading-zeros"),
        pytest.param("+5", "5", id="plus-sign"),
        pytest.param(".5", "0.5", id="leading-point"),
        pytest.param("1e+5", "100000", id="signed-exponent"),
        pytest.param("1" + "0" * 38, "1" + "0" * 38, id="39-digit-integer-with-one-significant"),
    ],
)
def test_types_normalize_number(text: str, expected: str) -> None:
    assert normalize_number(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("1" * 39, "38 significant digits", id="39-digits"),
        pytest.param("1e126", "Number overflow", id="overflow"),
        pytest.param("1e-131", "Number underflow", id="underflow"),
        pytest.param("abc", "cannot be converted to a numeric value", id="not-a-number"),
        pytest.param("NaN", "cannot be converted to a numeric value", id="nan"),
        pytest.param("Infinity", "cannot be converted to a numeric value", id="infinity"),
        pytest.param(" 42", "cannot be converted to a numeric value", id="spaces"),
        pytest.param("1_000", "cannot be converted to a numeric value", id="underscores"),
        pytest.param("1e1000000", "Number overflow", id="exponent-beyond-decimal-context"),
        pytest.param("1e" + "9" * 40, "Number overflow", id="exponent-beyond-decimal"),
        pytest.param("1" + "0" * 100_000, "Number overflow", id="hundred-thousand-digits"),
    ],
)
def test_types_reject_bad_numbers(text: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        normalize_number(text)


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        pytest.param({}, ValidationError, "Supplied AttributeValue is empty", id="empty"),
        pytest.param({"S": "a", "N": "1"}, ValidationError, "more than one datatypes", id="two-types"),
        pytest.param({"SS": []}, ValidationError, "may not be empty", id="empty-set"),
        pytest.param({"SS": ["a", "a"]}, ValidationError, "contains duplicates", id="duplicate-set"),
        pytest.param({"NS": ["1", "1.0"]}, ValidationError, "contains duplicates", id="duplicate-numbers"),
        pytest.param({"NULL": False}, ValidationError, "Null attribute value", id="null-false"),
        pytest.param({"X": 1}, ValidationError, "unknown datatype", id="unknown-type"),
        pytest.param({"S": 1}, SerializationError, "STRING_VALUE", id="number-as-string"),
        pytest.param({"B": "***"}, SerializationError, "Base64", id="bad-base64"),
    ],
)
def test_types_validate_value_errors(value: object, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        validate_value(value, param="x")


def test_types_validate_item_normalises_nested_numbers() -> None:
    item = validate_item({"m": {"M": {"l": {"L": [{"N": "2.0"}]}}}, "s": {"S": ""}})
    assert item == {"m": {"M": {"l": {"L": [{"N": "2"}]}}}, "s": {"S": ""}}


def test_types_item_size_counts_names_and_values() -> None:
    assert item_size({"ab": {"S": "xyz"}}) == 5
    assert item_size({"n": {"N": "12345"}}) == 1 + 4
    assert item_size({"m": {"M": {"k": {"BOOL": True}}}}) == 1 + 3 + 1 + 1 + 1


def test_types_equality_is_by_value() -> None:
    assert equal({"N": "1.0"}, {"N": "1"})
    assert equal({"SS": ["a", "b"]}, {"SS": ["b", "a"]})
    assert not equal({"S": "1"}, {"N": "1"})
    assert not equal(None, {"S": "x"})


def test_types_plain_values_round_trip() -> None:
    plain = {"i": 3, "d": Decimal("0.5"), "s": "x", "b": b"\x00", "ss": {"a"}, "ns": {1, 2}, "l": [None, True], "m": {}}
    assert item_to_python(item_from_python(plain)) == plain
    assert item_from_python({"f": 0.1})["f"] == {"N": "0.1"}
    with pytest.raises(ValidationError):
        item_from_python({"bad": object()})

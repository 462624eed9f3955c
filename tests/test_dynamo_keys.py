"""The order-preserving key encoding: byte order must be exactly DynamoDB's order."""

from __future__ import annotations

import base64
import decimal
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from sandbox.dynamodb.keys import begins_with_range, encode_key
from sandbox.dynamodb.types import compare, normalize_number

# DynamoDB's range: up to 38 significant digits, magnitudes from 1e-130 to 9.99...e125
digits = st.integers(min_value=1, max_value=10**38 - 1)
magnitudes = st.integers(min_value=-129, max_value=126)  # value = 0.d1d2... x 10^magnitude
# A context wide enough for 38 digits: the default one (28) would round some of them up, out of range.
WIDE = decimal.Context(prec=50)
numbers = st.just(Decimal(0)) | st.builds(
    lambda d, m, s: WIDE.multiply(Decimal(d).scaleb(m - len(str(d)), WIDE), s),
    digits,
    magnitudes,
    st.sampled_from([1, -1]),
)


def n(value: Decimal) -> dict[str, str]:
    return {"N": normalize_number(str(value))}


@given(numbers, numbers)
def test_keys_numbers_order_like_decimals(a: Decimal, b: Decimal) -> None:
    x, y = n(a), n(b)
    assert (encode_key(x) > encode_key(y)) - (encode_key(x) < encode_key(y)) == compare(x, y)


@given(st.text(), st.text())
def test_keys_strings_order_by_utf8_bytes(a: str, b: str) -> None:
    x, y = {"S": a}, {"S": b}
    assert (encode_key(x) > encode_key(y)) - (encode_key(x) < encode_key(y)) == compare(x, y)


@given(st.binary(), st.binary())
def test_keys_binary_orders_by_bytes(a: bytes, b: bytes) -> None:
    x, y = {"B": base64.b64encode(a).decode()}, {"B": base64.b64encode(b).decode()}
    assert (encode_key(x) > encode_key(y)) - (encode_key(x) < encode_key(y)) == compare(x, y)


def test_keys_number_examples() -> None:
    ordered = ["-1e10", "-10", "-0.123", "-0.12", "0", "0.001", "0.12", "0.123", "1", "9", "10", "1e10"]
    encoded = [encode_key({"N": normalize_number(v)}) for v in ordered]
    assert encoded == sorted(encoded)


@given(st.text(min_size=1), st.text())
def test_keys_begins_with_range_covers_exactly_the_prefixed(prefix: str, other: str) -> None:
    low, high = begins_with_range({"S": prefix})
    key = encode_key({"S": other})
    inside = key >= low and (high is None or key < high)
    assert inside == other.encode().startswith(prefix.encode())


@given(st.integers(min_value=-(10**38) + 1, max_value=10**38 - 1))
def test_keys_integers_encode_as_the_same_number_written_with_a_fraction(i: int) -> None:
    # Plain integers take a shortcut past Decimal; "i.0" takes the Decimal path: the bytes must agree.
    assert encode_key({"N": str(i)}) == encode_key({"N": f"{i}.0"})


def test_keys_numbers_of_38_digits_stay_distinct() -> None:
    # Decimal's default context (28 digits) once rounded these two to one key: one item overwrote the other.
    a = encode_key({"N": "12345678901234567890123456789012345678"})
    b = encode_key({"N": "12345678901234567890123456789012345679"})
    c = encode_key({"N": "1234567890123456789012345678901234567.9"})
    assert a < b and c < a

"""Key values as bytes whose byte order is DynamoDB's order, so SQLite's BLOB index sorts them.

S: its UTF-8 bytes (DynamoDB orders strings by UTF-8 bytes). B: the bytes themselves.
N: sign, exponent, then digits, chosen so that memcmp orders numbers numerically:
   negative < zero < positive; for positives a larger exponent, then larger digits, sort later;
   negatives use the complement of both and end with 0xFF so that -0.12 sorts after -0.123.
"""

from __future__ import annotations

import base64
import decimal
import re
from decimal import Decimal

from sandbox.dynamodb.types import AttributeValue

_EXPONENT_BIAS = 1000
_WIDE = decimal.Context(prec=50)  # DynamoDB numbers have 38 digits: the default context (28) would round some
_PLAIN_INTEGER = re.compile(r"-?[1-9][0-9]*")


_COMPLEMENT = bytes.maketrans(b"0123456789", b"9876543210")  # 0x39 - d, for the digits of a negative number


def _encode_number(text: str) -> bytes:
    negative = text[:1] == "-"
    whole = text[negative:]
    if _PLAIN_INTEGER.fullmatch(text):  # most keys are plain integers: their digits are the text's own
        stripped = whole.rstrip("0").encode()
        if not negative:
            return b"\x02" + (len(whole) + _EXPONENT_BIAS).to_bytes(2, "big") + stripped
        return (
            b"\x00" + (2 * _EXPONENT_BIAS - len(whole)).to_bytes(2, "big") + stripped.translate(_COMPLEMENT) + b"\xff"
        )
    value = Decimal(text)
    if value.is_zero():
        return b"\x01"
    sign, digits, exponent = value.normalize(_WIDE).as_tuple()
    assert isinstance(exponent, int)
    magnitude = len(digits) + exponent  # value = 0.d1d2... x 10^magnitude
    if not sign:
        return b"\x02" + (magnitude + _EXPONENT_BIAS).to_bytes(2, "big") + bytes(0x30 + d for d in digits)
    return b"\x00" + (2 * _EXPONENT_BIAS - magnitude).to_bytes(2, "big") + bytes(0x39 - d for d in digits) + b"\xff"


def encode_key(value: AttributeValue) -> bytes:
    kind, inner = next(iter(value.items()))
    if kind == "S":
        return str(inner).encode()
    if kind == "B":
        return base64.b64decode(inner)
    if kind == "N":
        return _encode_number(inner)
    raise ValueError(f"{kind} is not a key type")


def begins_with_range(prefix: AttributeValue) -> tuple[bytes, bytes | None]:
    """[low, high) covering every S or B key that starts with `prefix`; high None means no bound."""
    low = encode_key(prefix)
    return low, successor(low)


def encode_tuple(values: list[AttributeValue]) -> bytes:
    """Several key values as one key whose byte order is theirs, left to right (a multi-attribute GSI key).

    Each value's bytes have 0x00 escaped as 0x00 0xFF and end with 0x00 0x00, which sorts below any
    continuation, so a value that is a prefix of another sorts first, as it does alone.
    """
    return b"".join(escape(encode_key(v)) + TERMINATOR for v in values)


TERMINATOR = b"\x00\x00"


def escape(encoded: bytes) -> bytes:
    return encoded.replace(b"\x00", b"\x00\xff")


def successor(prefix: bytes) -> bytes | None:
    """The smallest key above every key starting with `prefix`; None when there is none."""
    high = bytearray(prefix)
    while high and high[-1] == 0xFF:
        high.pop()
    if not high:
        return None
    high[-1] += 1
    return bytes(high)

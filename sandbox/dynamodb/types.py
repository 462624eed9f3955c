"""DynamoDB's attribute values: validation, canonical numbers, sizes, ordering, and plain Python values.

Inside the store values stay in their wire form ({"S": "x"}, {"N": "1.5"}, B as base64 text).
"""

from __future__ import annotations

import base64
import binascii
import decimal
import math
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, TypeAlias

from sandbox.errors import SerializationError, ValidationError

AttributeValue: TypeAlias = dict[str, Any]
Item: TypeAlias = dict[str, AttributeValue]

TYPES = frozenset({"S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS"})
_SET_NAMES = {"SS": "string set", "NS": "number set", "BS": "binary set"}
_CONTEXT = decimal.Context(prec=38, Emax=125, Emin=-130, traps=[decimal.Inexact, decimal.InvalidOperation])
MAX_DIGITS = 38
MAX_NAME_BYTES = 65535
MAX_NESTING = 32  # levels of maps and lists, the item itself included
_WIDE = decimal.Context(prec=200)  # wide enough that normalising never rounds: the digit limit is checked after
# Stored numbers span 10^-130..10^126 with 38 digits, so an exact sum needs at most ~300 digits.
_EXACT = decimal.Context(prec=320, Emax=400, Emin=-400, traps=[decimal.Inexact, decimal.InvalidOperation])
_CANONICAL_INTEGER = re.compile(r"-?[1-9][0-9]{0,37}")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def normalize_number(text: str) -> str:
    """DynamoDB's canonical text for a number: no exponent, no trailing zeros, 38 digits at most."""
    if not isinstance(text, str):
        raise SerializationError(f"NUMBER_VALUE cannot be converted to String: {text!r}")
    if _CANONICAL_INTEGER.fullmatch(text):
        return text  # most numbers are plain integers, already canonical: skip Decimal
    if not _NUMBER.fullmatch(text):  # Decimal alone would take " 1", "1_000", "NaN" and "Infinity"
        raise ValidationError(f"The parameter cannot be converted to a numeric value: {text[:100]}")
    try:
        value = Decimal(text)
    except decimal.DecimalException:  # an exponent beyond what Decimal holds: far out of range either way
        raise ValidationError(
            "Number overflow. Attempting to store a number with magnitude larger than supported range"
        ) from None
    if value.is_zero():
        return "0"
    # The magnitude first: normalising 1e1000000 would overflow the context (and cost its digits).
    check_magnitude(value)
    value = value.normalize(_WIDE)
    _, digits, _ = value.as_tuple()
    if len(digits) > MAX_DIGITS:
        raise ValidationError("Attempting to store more than 38 significant digits in a Number")
    return format(value, "f")


def check_magnitude(value: Decimal) -> None:
    magnitude = value.adjusted() + 1  # value = 0.d1d2... x 10^magnitude
    if magnitude > 126:
        raise ValidationError(
            "Number overflow. Attempting to store a number with magnitude larger than supported range"
        )
    if magnitude < -129:
        raise ValidationError(
            "Number underflow. Attempting to store a number with magnitude smaller than supported range"
        )


def add_numbers(a: str, b: str, *, negate: bool = False) -> str:
    """a + b (or a - b) of two stored numbers, exactly; a result that needs more than 38 digits is an
    error, as on DynamoDB, never silently rounded."""
    x, y = Decimal(a), Decimal(b)
    try:
        total = _EXACT.subtract(x, y) if negate else _EXACT.add(x, y)
    except decimal.Inexact:
        raise ValidationError(
            "Number overflow. Attempting to store a number with magnitude larger than supported range"
        ) from None
    if total.is_zero():
        return "0"
    check_magnitude(total)
    _, digits, _ = total.normalize(_WIDE).as_tuple()
    if len(digits) > MAX_DIGITS:
        raise ValidationError(
            "Number overflow. Attempting to store a number with magnitude larger than supported range"
        )
    return normalize_number(str(total))


def _b64(text: Any, param: str) -> bytes:
    if not isinstance(text, str):
        raise SerializationError(f"Binary value for {param} must be base64 text")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise SerializationError(
            f"Base64 encoded length is expected a multiple of 4 bytes but found: {len(text)}"
        ) from None


def _validate_set(kind: str, values: Any, param: str) -> AttributeValue:
    if not isinstance(values, list):
        raise SerializationError(f"Unexpected value type for {param}: a {_SET_NAMES[kind]} is a list")
    if not values:
        raise ValidationError(f"One or more parameter values were invalid: An {_SET_NAMES[kind]}  may not be empty")
    seen: set[Any]
    if kind == "NS":
        out = [normalize_number(v) for v in values]
        seen = {Decimal(v) for v in out}
    elif kind == "SS":
        if not all(isinstance(v, str) for v in values):
            raise SerializationError(f"Unexpected value type in {param}: a string set holds strings")
        out, seen = list(values), set(values)
    else:
        seen = {_b64(v, param) for v in values}
        out = list(values)
    if len(seen) != len(out):
        raise ValidationError(
            f"One or more parameter values were invalid: Input collection {values} contains duplicates."
        )
    return {kind: out}


def validate_value(value: object, *, param: str, depth: int = 1) -> AttributeValue:
    """Check one attribute value's shape and normalise its numbers; errors use DynamoDB's wording.

    `depth` counts the maps and lists around the value: DynamoDB allows 32 levels with the item.
    """
    if not isinstance(value, dict) or len(value) != 1:
        raise ValidationError(
            "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"
            if isinstance(value, dict) and not value
            else "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes"
            if isinstance(value, dict)
            else f"Unexpected value for {param}: an attribute value is a map"
        )
    kind, inner = next(iter(value.items()))
    if kind not in TYPES:
        raise ValidationError(
            f"Supplied AttributeValue has an unknown datatype {str(kind)[:50]!r} in {param}: it must contain exactly "
            "one of the supported datatypes"
        )
    if kind == "M" or kind == "L":
        if depth >= MAX_NESTING:
            raise ValidationError(
                "Nesting Levels have exceeded supported limits: an attribute value is nested more than "
                f"{MAX_NESTING} levels deep"
            )
        return _validate_m(inner, param, depth) if kind == "M" else _validate_l(inner, param, depth)
    return _VALIDATORS[kind](inner, param)


def _validate_s(inner: Any, param: str) -> AttributeValue:
    if not isinstance(inner, str):
        raise SerializationError(f"STRING_VALUE cannot be converted to String in {param}")
    return {"S": inner}


def _validate_bool(inner: Any, param: str) -> AttributeValue:
    if not isinstance(inner, bool):
        raise SerializationError(f"BOOL in {param} must be true or false")
    return {"BOOL": inner}


def _validate_null(inner: Any, param: str) -> AttributeValue:
    if inner is not True:
        raise ValidationError(
            "One or more parameter values were invalid: Null attribute value types must have the value of true"
        )
    return {"NULL": True}


def _validate_m(inner: Any, param: str, depth: int) -> AttributeValue:
    if not isinstance(inner, dict):
        raise SerializationError(f"M in {param} must be a map")
    return {"M": {k: validate_value(v, param=f"{param}.{k}", depth=depth + 1) for k, v in inner.items()}}


def _validate_l(inner: Any, param: str, depth: int) -> AttributeValue:
    if not isinstance(inner, list):
        raise SerializationError(f"L in {param} must be a list")
    return {"L": [validate_value(v, param=f"{param}[{i}]", depth=depth + 1) for i, v in enumerate(inner)]}


def _validate_b(inner: Any, param: str) -> AttributeValue:
    _b64(inner, param)
    return {"B": inner}


_VALIDATORS: dict[str, Callable[[Any, str], AttributeValue]] = {
    "S": _validate_s,
    "N": lambda inner, param: {"N": normalize_number(inner)},
    "B": _validate_b,
    "BOOL": _validate_bool,
    "NULL": _validate_null,
    "SS": lambda inner, param: _validate_set("SS", inner, param),
    "NS": lambda inner, param: _validate_set("NS", inner, param),
    "BS": lambda inner, param: _validate_set("BS", inner, param),
}


def validate_item(item: object, *, param: str = "Item") -> Item:
    if not isinstance(item, dict):
        raise SerializationError(f"{param} must be a map of attribute names to values")
    out: Item = {}
    for name, value in item.items():
        check_attribute_name(name, "One or more parameter values were invalid: {problem}")
        # The common string attribute needs no parameter path for errors it cannot have: skip building one.
        if type(value) is dict and len(value) == 1 and type(value.get("S")) is str:
            out[name] = {"S": value["S"]}
        else:
            out[name] = validate_value(value, param=f"{param}.{name}")
    return out


def check_attribute_name(name: str, template: str) -> None:
    """Attribute names are 1 to 65535 bytes; `template` words the error around `{problem}`."""
    if not name:
        raise ValidationError(template.format(problem="Empty attribute name"))
    if len(name) > MAX_NAME_BYTES // 4 and len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        raise ValidationError(
            template.format(problem=f"Attribute name is too long, must be less than {MAX_NAME_BYTES + 1} bytes")
        )


def _number_size(text: str) -> int:
    digits = text.lstrip("-").replace(".", "").strip("0") or "0"
    return (len(digits) + 1) // 2 + 1


def value_size(value: AttributeValue) -> int:
    kind, inner = next(iter(value.items()))
    if kind == "S":
        return len(inner.encode())
    if kind == "N":
        return _number_size(inner)
    if kind == "B":
        return len(base64.b64decode(inner))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(v.encode()) for v in inner)
    if kind == "NS":
        return sum(_number_size(v) for v in inner)
    if kind == "BS":
        return sum(len(base64.b64decode(v)) for v in inner)
    if kind == "M":
        return 3 + sum(len(k.encode()) + value_size(v) + 1 for k, v in inner.items())
    return 3 + sum(value_size(v) + 1 for v in inner)  # L


def item_size(item: Item) -> int:
    """Bytes as DynamoDB counts them against the 400 KB item limit: names plus values."""
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def compare(a: AttributeValue, b: AttributeValue) -> int | None:
    """-1, 0 or 1 for two values of the same scalar type (N numerically, S and B by bytes); else None."""
    kind = next(iter(a))
    if kind != next(iter(b)) or kind not in ("S", "N", "B"):
        return None
    if kind == "N":
        x: Any = Decimal(a["N"])
        y: Any = Decimal(b["N"])
    elif kind == "S":
        x, y = a["S"].encode(), b["S"].encode()
    else:
        x, y = base64.b64decode(a["B"]), base64.b64decode(b["B"])
    return int((x > y) - (x < y))


def equal(a: AttributeValue | None, b: AttributeValue | None) -> bool:
    """DynamoDB equality: numbers by value, sets regardless of order, maps and lists deeply."""
    if a is None or b is None:
        return False
    kind = next(iter(a))
    if kind != next(iter(b)):
        return False
    x, y = a[kind], b[kind]
    if kind == "N":
        return Decimal(x) == Decimal(y)
    if kind == "NS":
        return {Decimal(v) for v in x} == {Decimal(v) for v in y}
    if kind in ("SS", "BS"):
        return set(x) == set(y)
    if kind == "M":
        return x.keys() == y.keys() and all(equal(x[k], y[k]) for k in x)
    if kind == "L":
        return len(x) == len(y) and all(equal(i, j) for i, j in zip(x, y, strict=True))
    return bool(x == y)


def _python_number(text: str) -> int | Decimal:
    value = Decimal(text)
    return int(value) if value == value.to_integral_value() and "." not in text and "E" not in text.upper() else value


def to_python(value: AttributeValue) -> Any:
    kind, inner = next(iter(value.items()))
    if kind == "S" or kind == "BOOL":
        return inner
    if kind == "N":
        return _python_number(inner)
    if kind == "B":
        return base64.b64decode(inner)
    if kind == "NULL":
        return None
    if kind == "SS":
        return set(inner)
    if kind == "NS":
        return {_python_number(v) for v in inner}
    if kind == "BS":
        return {base64.b64decode(v) for v in inner}
    if kind == "M":
        return {k: to_python(v) for k, v in inner.items()}
    return [to_python(v) for v in inner]


def from_python(value: Any) -> AttributeValue:
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | Decimal):
        return {"N": normalize_number(str(value))}
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValidationError("NaN and infinity are not DynamoDB numbers")
        return {"N": normalize_number(repr(value))}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, bytes | bytearray):
        return {"B": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, Mapping):
        return {"M": {str(k): from_python(v) for k, v in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [from_python(v) for v in value]}
    if isinstance(value, set | frozenset):
        return _set_from_python(value)
    raise ValidationError(f"{type(value).__name__} values cannot be stored in DynamoDB")


def _set_from_python(values: set[Any] | frozenset[Any]) -> AttributeValue:
    if not values:
        raise ValidationError("DynamoDB has no empty sets: remove the attribute instead")
    if all(isinstance(v, str) for v in values):
        return {"SS": sorted(values)}
    if all(isinstance(v, int | Decimal | float) and not isinstance(v, bool) for v in values):
        return {"NS": [from_python(v)["N"] for v in values]}
    if all(isinstance(v, bytes | bytearray) for v in values):
        return {"BS": [base64.b64encode(bytes(v)).decode() for v in values]}
    raise ValidationError("a set must hold only strings, only numbers or only bytes")


def item_to_python(item: Mapping[str, AttributeValue]) -> dict[str, Any]:
    return {k: to_python(v) for k, v in item.items()}


def item_from_python(item: Mapping[str, Any]) -> Item:
    return {str(k): from_python(v) for k, v in item.items()}

"""KeyConditionExpression: which index range a Query reads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sandbox.dynamo.expressions import documents
from sandbox.dynamo.expressions.names import Names
from sandbox.dynamo.expressions.nodes import Between, BoolOp, Compare, Condition, Function, Node, Path, Value
from sandbox.dynamo.types import AttributeValue
from sandbox.errors import ValidationError

SortOp = Literal["EQ", "LT", "LE", "GT", "GE", "BETWEEN", "BEGINS_WITH"]
_OPS: dict[str, SortOp] = {"=": "EQ", "<": "LT", "<=": "LE", ">": "GT", ">=": "GE"}
LABEL = "KeyConditionExpression"
NOT_SUPPORTED = f"Invalid {LABEL}: Query key condition not supported"


@dataclass(frozen=True)
class KeyPlan:
    partition_value: AttributeValue
    sort_op: SortOp | None
    sort_values: tuple[AttributeValue, ...]


def _clauses(node: Node) -> list[Node]:
    if isinstance(node, BoolOp):
        if node.op != "AND":
            raise ValidationError(f"Invalid {LABEL}: Invalid operator used in KeyConditionExpression: OR")
        return _clauses(node.left) + _clauses(node.right)
    return [node]


def _attribute(operand: object, names: Names) -> str:
    if not isinstance(operand, Path) or len(operand.parts) != 1:
        raise ValidationError(NOT_SUPPORTED)
    return str(documents.resolve(operand, names)[0])


def _value(operand: object, names: Names) -> AttributeValue:
    if not isinstance(operand, Value):
        raise ValidationError(NOT_SUPPORTED)
    return names.value(operand.placeholder)


def _clause(node: Node, names: Names) -> tuple[str, SortOp, tuple[AttributeValue, ...]]:
    if isinstance(node, Compare):
        if node.op not in _OPS:
            raise ValidationError(f"Invalid {LABEL}: Unsupported operator in KeyConditionExpression: {node.op}")
        return _attribute(node.left, names), _OPS[node.op], (_value(node.right, names),)
    if isinstance(node, Between):
        return _attribute(node.subject, names), "BETWEEN", (_value(node.low, names), _value(node.high, names))
    if isinstance(node, Function) and node.name == "begins_with":
        return _attribute(node.args[0], names), "BEGINS_WITH", (_value(node.args[1], names),)
    raise ValidationError(NOT_SUPPORTED)


def key_condition_plan(cond: Condition, names: Names, *, partition_key: str, sort_key: str | None) -> KeyPlan:
    names.use(cond.placeholders, LABEL)
    clauses = _clauses(cond.root)
    if len(clauses) > 2:
        raise ValidationError(f"Invalid {LABEL}: The expression has too many conditions")
    partition: AttributeValue | None = None
    sort: tuple[SortOp, tuple[AttributeValue, ...]] | None = None
    for node in clauses:
        attribute, op, values = _clause(node, names)
        if attribute == partition_key and partition is None:
            if op != "EQ":
                raise ValidationError(NOT_SUPPORTED)
            partition = values[0]
        elif attribute == sort_key and sort is None:
            sort = (op, values)
        else:
            raise ValidationError(f"Query condition missed key schema element: {sort_key or partition_key}")
    if partition is None:
        raise ValidationError(f"Query condition missed key schema element: {partition_key}")
    if sort is None:
        return KeyPlan(partition, None, ())
    return KeyPlan(partition, sort[0], sort[1])

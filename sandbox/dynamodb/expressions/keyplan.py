"""KeyConditionExpression: which index range a Query reads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sandbox.dynamodb.expressions import documents
from sandbox.dynamodb.expressions.names import Names
from sandbox.dynamodb.expressions.nodes import Between, BoolOp, Compare, Condition, Function, In, Node, Not, Path, Value
from sandbox.dynamodb.types import AttributeValue
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


_REVERSED = {"=": "=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}  # `:v < k` is `k > :v`


def _clauses(node: Node) -> list[Node]:
    pending: list[Node] = [node]
    clauses: list[Node] = []
    while pending:  # a loop: an AND chain may be long (it is an error, but must be found cheaply)
        current = pending.pop()
        if isinstance(current, BoolOp):
            if current.op != "AND":
                raise ValidationError(f"Invalid {LABEL}: Invalid operator used in KeyConditionExpression: OR")
            pending += (current.right, current.left)
        else:
            clauses.append(current)
    return clauses


def _attribute(operand: object, names: Names) -> str:
    if isinstance(operand, Path) and len(operand.parts) != 1:
        raise ValidationError(f"Invalid {LABEL}: Key conditions may not use nested attributes")
    if not isinstance(operand, Path):
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
        if isinstance(node.left, Value) and isinstance(node.right, Path):
            return _attribute(node.right, names), _OPS[_REVERSED[node.op]], (_value(node.left, names),)
        return _attribute(node.left, names), _OPS[node.op], (_value(node.right, names),)
    if isinstance(node, Between):
        return _attribute(node.subject, names), "BETWEEN", (_value(node.low, names), _value(node.high, names))
    if isinstance(node, Function) and node.name == "begins_with":
        prefix = _value(node.args[1], names)
        if next(iter(prefix)) not in ("S", "B"):
            raise ValidationError(
                f"Invalid {LABEL}: Incorrect operand type for operator or function; operator or function: "
                f"begins_with, operand type: {next(iter(prefix))}"
            )
        return _attribute(node.args[0], names), "BEGINS_WITH", (prefix,)
    if isinstance(node, In | Not):
        operator = "IN" if isinstance(node, In) else "NOT"
        raise ValidationError(f"Invalid {LABEL}: Invalid operator used in KeyConditionExpression: {operator}")
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
        if (attribute == partition_key and partition is not None) or (attribute == sort_key and sort is not None):
            raise ValidationError(f"Invalid {LABEL}: KeyConditionExpressions must only contain one condition per key")
        if attribute == partition_key:
            if op != "EQ":
                raise ValidationError(NOT_SUPPORTED)
            partition = values[0]
        elif attribute == sort_key:
            sort = (op, values)
        else:
            if sort_key is None:  # the only key is the partition key: a second condition cannot be one
                raise ValidationError(f"{NOT_SUPPORTED}: {attribute} is not a key of the table or index")
            raise ValidationError(f"Query condition missed key schema element: {sort_key}")
    if partition is None:
        raise ValidationError(f"Query condition missed key schema element: {partition_key}")
    if sort is None:
        return KeyPlan(partition, None, ())
    return KeyPlan(partition, sort[0], sort[1])

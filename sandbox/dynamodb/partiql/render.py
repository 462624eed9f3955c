"""The parsed PartiQL written back as DynamoDB expressions. Every attribute name and value becomes a
generated placeholder (`#p0`, `:p0`), so no text of the statement is ever spliced into an expression."""

from __future__ import annotations

from typing import Any

from sandbox.dynamodb.partiql import nodes as n


class Placeholders:
    """The ExpressionAttributeNames and ExpressionAttributeValues of one translated request."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self._by_name: dict[str, str] = {}
        self.values: dict[str, n.AttributeValue] = {}

    def name(self, attribute: str) -> str:
        found = self._by_name.get(attribute)
        if found is None:
            found = f"#p{len(self._by_name)}"
            self._by_name[attribute] = found
            self.names[found] = attribute
        return found

    def value(self, value: n.AttributeValue) -> str:
        key = f":p{len(self.values)}"
        self.values[key] = value
        return key

    def into(self, request: dict[str, Any]) -> dict[str, Any]:
        """`request` with the names and values it uses (left out when there are none, as DynamoDB insists)."""
        if self.names:
            request["ExpressionAttributeNames"] = self.names
        if self.values:
            request["ExpressionAttributeValues"] = self.values
        return request


def path(marks: Placeholders, target: n.Path) -> str:
    text = marks.name(target.top)
    for part in target.parts[1:]:
        text += f"[{part}]" if isinstance(part, int) else f".{marks.name(part)}"
    return text


def operand(marks: Placeholders, item: n.Operand) -> str:
    if isinstance(item, n.Path):
        return path(marks, item)
    if isinstance(item, n.Size):
        return f"size({path(marks, item.path)})"
    return marks.value(item.value)


def condition(marks: Placeholders, cond: n.Condition) -> str:
    if isinstance(cond, n.And | n.Or):
        joiner = " AND " if isinstance(cond, n.And) else " OR "
        return "(" + joiner.join(condition(marks, part) for part in cond.parts) + ")"
    if isinstance(cond, n.Not):
        return f"(NOT {condition(marks, cond.inner)})"
    if isinstance(cond, n.Compare):
        return f"{operand(marks, cond.left)} {cond.op} {operand(marks, cond.right)}"
    if isinstance(cond, n.Between):
        low, high = operand(marks, cond.low), operand(marks, cond.high)
        return f"{operand(marks, cond.operand)} BETWEEN {low} AND {high}"
    if isinstance(cond, n.In):
        options = ", ".join(operand(marks, option) for option in cond.options)
        return f"{operand(marks, cond.operand)} IN ({options})"
    if isinstance(cond, n.Call):
        return f"{cond.name}({', '.join(operand(marks, arg) for arg in cond.args)})"
    return _is_check(marks, cond)


def _is_check(marks: Placeholders, cond: n.Is) -> str:
    where = path(marks, cond.path)
    if cond.what == "MISSING":
        return f"attribute_exists({where})" if cond.negated else f"attribute_not_exists({where})"
    # In PartiQL a missing attribute IS NULL too (MISSING is a kind of absent value).
    null = marks.value({"S": "NULL"})
    if cond.negated:
        return f"(attribute_exists({where}) AND NOT attribute_type({where}, {null}))"
    return f"(attribute_not_exists({where}) OR attribute_type({where}, {null}))"


def set_value(marks: Placeholders, value: n.SetValue) -> str:
    if isinstance(value, n.Arithmetic):
        return f"{operand(marks, value.left)} {value.op} {operand(marks, value.right)}"
    if isinstance(value, n.ListAppend):
        return f"list_append({operand(marks, value.first)}, {operand(marks, value.second)})"
    return operand(marks, value)


def update(marks: Placeholders, statement: n.Update) -> str:
    clauses = []
    if statement.sets:
        sets = ", ".join(f"{path(marks, p)} = {set_value(marks, v)}" for p, v in statement.sets)
        clauses.append(f"SET {sets}")
    if statement.removes:
        clauses.append("REMOVE " + ", ".join(path(marks, p) for p in statement.removes))
    if statement.adds:
        clauses.append("ADD " + ", ".join(f"{path(marks, p)} {operand(marks, v)}" for p, v in statement.adds))
    if statement.deletes:
        clauses.append("DELETE " + ", ".join(f"{path(marks, p)} {operand(marks, v)}" for p, v in statement.deletes))
    return " ".join(clauses)


def attributes(cond: n.Condition) -> set[str]:
    """The top-level attributes a condition reads."""
    if isinstance(cond, n.And | n.Or):
        return set().union(*(attributes(part) for part in cond.parts))
    if isinstance(cond, n.Not):
        return attributes(cond.inner)
    if isinstance(cond, n.Is):
        return {cond.path.top}
    items: tuple[n.Operand, ...]
    if isinstance(cond, n.Compare):
        items = (cond.left, cond.right)
    elif isinstance(cond, n.Between):
        items = (cond.operand, cond.low, cond.high)
    elif isinstance(cond, n.In):
        items = (cond.operand, *cond.options)
    else:
        items = cond.args
    return {_top(item) for item in items if not isinstance(item, n.Literal)}


def _top(item: n.Path | n.Size) -> str:
    return item.top if isinstance(item, n.Path) else item.path.top

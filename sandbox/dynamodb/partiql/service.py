"""ExecuteStatement, BatchExecuteStatement and ExecuteTransaction, run as the operations their
statements translate to (through the store's own `call`, so writes reach the stream listeners)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from sandbox.dynamodb.catalog import Catalog
from sandbox.dynamodb.partiql import nodes as n
from sandbox.dynamodb.partiql import paging
from sandbox.dynamodb.partiql.parser import parse
from sandbox.dynamodb.partiql.translate import Write, point_read, read, write
from sandbox.dynamodb.request import WIRE
from sandbox.dynamodb.types import validate_value
from sandbox.errors import (
    AwsError,
    ConditionalCheckFailedError,
    DuplicateItemError,
    TransactionCanceledError,
    ValidationError,
)

Run = Callable[[str, Mapping[str, Any]], Awaitable[dict[str, Any]]]
MAX_STATEMENT = 8192
MAX_BATCH = 25
MAX_TRANSACTION = 100
DUPLICATE = "Duplicate primary key exists in table"
OPERATIONS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem"}
CAPACITY = "ReturnConsumedCapacity"
ON_FAILURE = "ReturnValuesOnConditionCheckFailure"
PASSED_ON = (CAPACITY, ON_FAILURE)


def _constraint(field: str, problem: str) -> ValidationError:
    return ValidationError(f"1 validation error detected: Value at '{field}' failed to satisfy constraint: {problem}")


def _statement(entry: Mapping[str, Any], field: str = "statement") -> tuple[str, list[dict[str, Any]]]:
    text = entry.get("Statement")
    if not isinstance(text, str) or not text:
        raise _constraint(field, "Member must have length greater than or equal to 1")
    if len(text) > MAX_STATEMENT:
        raise _constraint(field, f"Member must have length less than or equal to {MAX_STATEMENT}")
    raw = entry.get("Parameters")
    if raw is None:
        return text, []
    if not isinstance(raw, list) or not raw:
        raise _constraint("parameters", "Member must have length greater than or equal to 1")
    return text, [validate_value(value, param=f"Parameters[{i}]") for i, value in enumerate(raw)]


def _entries(request: Mapping[str, Any], field: str, most: int) -> list[Mapping[str, Any]]:
    entries = request.get(field)
    if not isinstance(entries, list) or not entries:
        raise _constraint(field[0].lower() + field[1:], "Member must have length greater than or equal to 1")
    if len(entries) > most:
        raise _constraint(field[0].lower() + field[1:], f"Member must have length less than or equal to {most}")
    if not all(isinstance(entry, dict) for entry in entries):
        raise ValidationError(f"Each member of {field} is an object with a Statement")
    return entries


def _capacity(request: Mapping[str, Any]) -> dict[str, Any]:
    return {CAPACITY: request[CAPACITY]} if CAPACITY in request else {}


def _is_read(statement: n.Statement) -> bool:
    return isinstance(statement, n.Select)


def _batch_error(error: AwsError) -> dict[str, Any]:
    code = "ValidationError" if error.aws_code == "ValidationException" else error.aws_code.removesuffix("Exception")
    out: dict[str, Any] = {"Code": code, "Message": error.message}
    if isinstance(error, ConditionalCheckFailedError) and error.item is not None:
        out["Item"] = error.item
    return out


class PartiQL:
    """The three PartiQL operations of one store.

    Args:
        catalog: the store's tables, to find keys and indexes while translating.
        run: the store's own operation entry point (`TableStore.call`), which the translations go through.
    """

    def __init__(self, catalog: Catalog, run: Run) -> None:
        self._catalog = catalog
        self._run = run

    async def execute_statement(self, request: Mapping[str, Any]) -> dict[str, Any]:
        text, parameters = _statement(request)
        statement = parse(text, parameters)
        if isinstance(statement, n.Select):
            return await self._select(request, statement, text, parameters)
        if isinstance(statement, n.Exists):
            raise ValidationError("EXISTS is only supported inside ExecuteTransaction")
        action = write(self._catalog, statement)
        body = dict(action.body)
        body.update({k: request[k] for k in PASSED_ON if k in request})
        if action.returning is not None:
            body["ReturnValues"] = action.returning
        answer = await self._write(action, body)
        out: dict[str, Any] = {"Items": [answer["Attributes"]] if "Attributes" in answer else []}
        if "ConsumedCapacity" in answer:
            out["ConsumedCapacity"] = answer["ConsumedCapacity"]
        return out

    async def _write(self, action: Write, body: dict[str, Any]) -> dict[str, Any]:
        try:
            return await self._run(OPERATIONS[action.kind], body)
        except ConditionalCheckFailedError:
            if action.insert:  # the only condition an INSERT carries is that the key is new
                raise DuplicateItemError(DUPLICATE) from None
            raise

    async def _select(
        self, request: Mapping[str, Any], select: n.Select, text: str, parameters: list[dict[str, Any]]
    ) -> dict[str, Any]:
        operation, body = read(self._catalog, select)
        for name in ("ConsistentRead", "Limit", "ReturnConsumedCapacity", WIRE):
            if name in request:
                body[name] = request[name]
        if request.get("NextToken") is not None:
            body["ExclusiveStartKey"] = paging.decode(request["NextToken"], text, parameters)
        answer = await self._run(operation, body)
        out: dict[str, Any] = {"Items": answer.get("Items", [])}
        last = answer.get("LastEvaluatedKey")
        if last is not None:
            out["NextToken"] = paging.encode(last, text, parameters)
            out["LastEvaluatedKey"] = last
        if "ConsumedCapacity" in answer:
            out["ConsumedCapacity"] = answer["ConsumedCapacity"]
        return out

    async def batch_execute_statement(self, request: Mapping[str, Any]) -> dict[str, Any]:
        entries = _entries(request, "Statements", MAX_BATCH)
        parsed = [parse(*_statement(entry)) for entry in entries]
        if any(isinstance(statement, n.Exists) for statement in parsed):
            raise ValidationError("EXISTS is only supported inside ExecuteTransaction")
        if len({_is_read(statement) for statement in parsed}) > 1:
            raise ValidationError("The entire batch must consist of either read statements or write statements")
        responses = []
        consumed: list[dict[str, Any]] = []
        for entry, statement in zip(entries, parsed, strict=True):
            responses.append(await self._batch_one(request, entry, statement, consumed))
        out: dict[str, Any] = {"Responses": responses}
        if consumed:
            out["ConsumedCapacity"] = consumed
        return out

    async def _batch_one(
        self, request: Mapping[str, Any], entry: Mapping[str, Any], statement: n.Statement, consumed: list[Any]
    ) -> dict[str, Any]:
        """One statement's entry of Responses: its failure is its own, not the batch's."""
        table = statement.target.table if not isinstance(statement, n.Exists) else statement.select.target.table
        try:
            if isinstance(statement, n.Select):
                table, body = point_read(self._catalog, statement, filtered=True)
                body["ConsistentRead"] = entry.get("ConsistentRead") is True
                answer = await self._run("Query", {**body, **_capacity(request)})
            else:
                action = write(self._catalog, statement)
                if action.returning is not None:
                    raise ValidationError("RETURNING is not supported in BatchExecuteStatement")
                body = {**action.body, **_capacity(request)}
                if ON_FAILURE in entry:
                    body[ON_FAILURE] = entry[ON_FAILURE]
                answer = await self._write(action, body)
        except AwsError as error:
            return {"TableName": table, "Error": _batch_error(error)}
        if "ConsumedCapacity" in answer:
            consumed.append(answer["ConsumedCapacity"])
        out: dict[str, Any] = {"TableName": table}
        if answer.get("Items"):
            out["Item"] = answer["Items"][0]
        return out

    async def execute_transaction(self, request: Mapping[str, Any]) -> dict[str, Any]:
        entries = _entries(request, "TransactStatements", MAX_TRANSACTION)
        parsed = [parse(*_statement(entry)) for entry in entries]
        reads = {_is_read(statement) for statement in parsed}
        if len(reads) > 1:
            raise ValidationError("A transaction must consist of either read statements or write statements")
        extra = _capacity(request)
        if reads == {True}:
            gets = []
            for statement in parsed:
                assert isinstance(statement, n.Select)
                gets.append({"Get": point_read(self._catalog, statement, filtered=False)[1]})
            answer = await self._run("TransactGetItems", {"TransactItems": gets, **extra})
            return answer
        return await self._transact_write(request, entries, parsed, extra)

    async def _transact_write(
        self,
        request: Mapping[str, Any],
        entries: list[Mapping[str, Any]],
        parsed: list[n.Statement],
        extra: dict[str, Any],
    ) -> dict[str, Any]:
        actions = [write(self._catalog, statement) for statement in parsed]
        if any(action.returning is not None for action in actions):
            raise ValidationError("RETURNING is not supported in ExecuteTransaction")
        if request.get("ClientRequestToken") is not None:
            extra["ClientRequestToken"] = request["ClientRequestToken"]
        try:
            return await self._run("TransactWriteItems", {"TransactItems": _actions(entries, actions), **extra})
        except TransactionCanceledError as error:
            reasons: list[dict[str, object]] = [
                {"Code": "DuplicateItem", "Message": DUPLICATE}
                if action.insert and reason.get("Code") == "ConditionalCheckFailed"
                else reason
                for action, reason in zip(actions, error.reasons, strict=True)
            ]
            raise TransactionCanceledError(reasons) from None


def _actions(entries: list[Mapping[str, Any]], actions: list[Write]) -> list[dict[str, Any]]:
    items = []
    for entry, action in zip(entries, actions, strict=True):
        body = dict(action.body)
        if ON_FAILURE in entry:
            body[ON_FAILURE] = entry[ON_FAILURE]
        items.append({action.kind: body})
    return items

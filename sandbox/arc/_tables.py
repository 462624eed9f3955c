"""`arc.tables()`: DynamoDB tables by their logical names, with plain Python values in and out."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

from sandbox.arc._backends import Backend, InProcess, backend
from sandbox.dynamodb.types import item_from_python, item_to_python
from sandbox.errors import NotFoundError, SandboxError
from sandbox.runtime import Services

T = TypeVar("T", "Table", "AsyncTable")
_VALUE_PARAMS = ("Key", "ExclusiveStartKey", "Item")
_ITEM_RESULTS = ("Item", "Attributes", "LastEvaluatedKey")


def _to_wire(table: str, params: Mapping[str, Any]) -> dict[str, Any]:
    request: dict[str, Any] = {"TableName": table, **params}
    for name in _VALUE_PARAMS:
        if name in request and request[name] is not None:
            request[name] = item_from_python(request[name])
    if "ExpressionAttributeValues" in request:
        request["ExpressionAttributeValues"] = item_from_python(request["ExpressionAttributeValues"])
    return request


def _from_wire(result: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(result)
    for name in _ITEM_RESULTS:
        if name in out:
            out[name] = item_to_python(out[name])
    if "Items" in out:
        out["Items"] = [item_to_python(i) for i in out["Items"]]
    return out


class Table:
    """One table; every method takes and returns plain values (ints stay ints, other numbers Decimal)."""

    def __init__(self, backend: Backend, name: str) -> None:
        self._backend = backend
        self.name = name

    def _call(self, operation: str, params: Mapping[str, Any]) -> dict[str, Any]:
        try:
            return _from_wire(self._backend.dynamo(operation, _to_wire(self.name, params)))
        except SandboxError as error:  # its traceback starts here: the caller need not read the bridging below
            raise error.with_traceback(None) from error.__cause__

    def get(self, key: Mapping[str, Any], **params: Any) -> dict[str, Any] | None:
        result: dict[str, Any] | None = self._call("GetItem", {"Key": key, **params}).get("Item")
        return result

    def put(self, item: Mapping[str, Any], **params: Any) -> dict[str, Any]:
        self._call("PutItem", {"Item": item, **params})
        return dict(item)

    def delete(self, key: Mapping[str, Any], **params: Any) -> dict[str, Any]:
        return self._call("DeleteItem", {"Key": key, **params})

    def update(self, **params: Any) -> dict[str, Any]:
        return self._call("UpdateItem", params)

    def query(self, **params: Any) -> dict[str, Any]:
        return self._call("Query", params)

    def scan(self, **params: Any) -> dict[str, Any]:
        return self._call("Scan", params)

    def scan_all(self, **params: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        while True:
            page = self.scan(**params)
            items += page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return items
            params["ExclusiveStartKey"] = page["LastEvaluatedKey"]


class AsyncTable:
    """The same methods as `Table`, as coroutines."""

    def __init__(self, backend: Backend, name: str) -> None:
        self._backend = backend
        self.name = name

    async def _call(self, operation: str, params: Mapping[str, Any]) -> dict[str, Any]:
        try:
            return _from_wire(await self._backend.dynamo_async(operation, _to_wire(self.name, params)))
        except SandboxError as error:
            raise error.with_traceback(None) from error.__cause__

    async def get(self, key: Mapping[str, Any], **params: Any) -> dict[str, Any] | None:
        result: dict[str, Any] | None = (await self._call("GetItem", {"Key": key, **params})).get("Item")
        return result

    async def put(self, item: Mapping[str, Any], **params: Any) -> dict[str, Any]:
        await self._call("PutItem", {"Item": item, **params})
        return dict(item)

    async def delete(self, key: Mapping[str, Any], **params: Any) -> dict[str, Any]:
        return await self._call("DeleteItem", {"Key": key, **params})

    async def update(self, **params: Any) -> dict[str, Any]:
        return await self._call("UpdateItem", params)

    async def query(self, **params: Any) -> dict[str, Any]:
        return await self._call("Query", params)

    async def scan(self, **params: Any) -> dict[str, Any]:
        return await self._call("Scan", params)

    async def scan_all(self, **params: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        while True:
            page = await self.scan(**params)
            items += page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return items
            params["ExclusiveStartKey"] = page["LastEvaluatedKey"]


class _Client(Generic[T]):
    def __init__(self, backend: Backend, make: Callable[[Backend, str], T]) -> None:
        self._backend = backend
        self._make: Callable[[Backend, str], T] = make
        self._names = backend.table_names()

    def name(self, logical: str) -> str:
        try:
            return self._names[logical]
        except KeyError:
            known = ", ".join(sorted(self._names)) or "none"
            raise NotFoundError(f"no table named {logical!r} in this app (tables: {known})") from None

    def reflect(self) -> dict[str, str]:
        return dict(self._names)

    def __getitem__(self, logical: str) -> T:
        return self._make(self._backend, self.name(logical))

    def __getattr__(self, logical: str) -> T:
        if logical.startswith("_"):
            raise AttributeError(logical)
        return self[logical]


class TablesClient(_Client[Table]):
    def __init__(self, backend: Backend) -> None:
        super().__init__(backend, Table)


class AsyncTablesClient(_Client[AsyncTable]):
    def __init__(self, backend: Backend) -> None:
        super().__init__(backend, AsyncTable)


def tables() -> TablesClient:
    return TablesClient(backend())


async def tables_async() -> AsyncTablesClient:
    chosen = backend()
    return AsyncTablesClient(chosen)


def async_client(services: Services) -> AsyncTablesClient:
    """A client bound to one sandbox in this process (the pytest plugin's `sandbox.tables()`)."""
    return AsyncTablesClient(InProcess(services))

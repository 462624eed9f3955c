"""TransactWriteItems and TransactGetItems: all-or-nothing over up to 100 distinct items.

Every condition is checked against the state before the transaction, and only when all of them
hold is anything written; the whole thing runs in one `db.transaction()`.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sandbox.clock import Clock
from sandbox.dynamodb import capacity, storage
from sandbox.dynamodb.context import Context
from sandbox.dynamodb.expressions import Condition, Names, Update, check_update, evaluate, project
from sandbox.dynamodb.operations import condition_of, creates_nothing, projection_of, updated_item
from sandbox.dynamodb.request import check_item_keys, check_key, check_size, names_for, on_failure_returns_old
from sandbox.dynamodb.schema import IndexDef, TableDef
from sandbox.dynamodb.transaction_capacity import Touch, consumed, table_units
from sandbox.dynamodb.types import Item, item_size, validate_item
from sandbox.errors import IdempotentParameterMismatchError, TransactionCanceledError, ValidationError

MAX_ACTIONS = 100
MAX_TOKEN = 36
MAX_TRANSACTION_BYTES = 4 * 1024 * 1024
TOKEN_SECONDS = 600.0  # DynamoDB remembers a ClientRequestToken for 10 minutes
MAX_TOKENS = 100_000  # at most this many remembered at once; the oldest go first
KINDS = ("ConditionCheck", "Put", "Update", "Delete")


@dataclass
class Action:
    kind: str
    table: TableDef
    key: tuple[bytes, bytes]
    base: Item  # the Key (or the Put item)
    names: Names
    cond: Condition | None
    update: Update | None
    return_old: bool
    invalid: ValidationError | None = None  # found in the request alone: the transaction is cancelled
    size: int = 0


class TokenCache:
    """ClientRequestToken -> (request fingerprint, expiry, what a retry is answered with).

    Tokens are kept in the order they were first seen, which is also the order they expire in (one
    fixed lifetime), so expiring is popping from the front: O(1) per call however many are kept.
    `max_tokens` bounds memory when a client sends a new token with every call for ten minutes.
    """

    def __init__(self, clock: Clock, *, lifetime: float = TOKEN_SECONDS, max_tokens: int = MAX_TOKENS) -> None:
        self._clock = clock
        self._lifetime = lifetime
        self._max_tokens = max_tokens
        self._seen: OrderedDict[str, tuple[str, float, dict[str, Any]]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._seen)

    def _expire(self, now: float) -> None:
        while self._seen:
            token, (_, expires, _) = next(iter(self._seen.items()))
            if expires > now and len(self._seen) <= self._max_tokens:
                return
            del self._seen[token]

    def lookup(self, token: str, fingerprint: str) -> dict[str, Any] | None:
        self._expire(self._clock.now())
        seen = self._seen.get(token)
        if seen is None:
            return None
        if seen[0] != fingerprint:
            raise IdempotentParameterMismatchError(
                "The request uses the same client token as a previous, but non-identical request."
            )
        return seen[2]

    def remember(self, token: str, fingerprint: str, response: dict[str, Any]) -> None:
        self._seen.pop(token, None)  # re-added at the end, where the latest expiry goes
        self._seen[token] = (fingerprint, self._clock.now() + self._lifetime, response)
        self._expire(self._clock.now())


def _items(request: Mapping[str, Any]) -> list[Any]:
    items = request.get("TransactItems")
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_ACTIONS:
        raise ValidationError(
            "1 validation error detected: Value at 'transactItems' failed to satisfy constraint: "
            f"Member must have length less than or equal to {MAX_ACTIONS}"
            if isinstance(items, list) and items
            else "1 validation error detected: Value at 'transactItems' failed to satisfy constraint: "
            "Member must have length greater than or equal to 1"
        )
    return items


def _action(ctx: Context, entry: object) -> Action:
    if not isinstance(entry, dict) or len(entry) != 1 or next(iter(entry)) not in KINDS:
        raise ValidationError("TransactItems can only contain one of Check, Put, Update or Delete")
    kind, body = next(iter(entry.items()))
    if not isinstance(body, dict):
        raise ValidationError(f"Invalid {kind} request")
    table = ctx.catalog.get(body.get("TableName"))
    invalid: ValidationError | None = None
    if kind == "Put":
        base = validate_item(body.get("Item"), param="Item")
        size = item_size(base)
        try:  # a bad key or size cancels the transaction with this action's reason, as on DynamoDB
            check_item_keys(table, base)
            check_size(size)
        except ValidationError as error:
            invalid = error
    else:
        base = check_key(table, body.get("Key"))
        size = item_size(base)
    text = body.get("UpdateExpression")
    update = None
    if kind == "Update":
        if not isinstance(text, str) or not text:
            raise ValidationError("Invalid UpdateExpression: The expression can not be empty;")
        update = ctx.expressions.update(text)
    if kind == "ConditionCheck" and "ConditionExpression" not in body:
        raise ValidationError("The ConditionCheck must contain a ConditionExpression")
    return Action(
        kind=kind,
        table=table,
        key=storage.row_key(table, base) if invalid is None else (b"", b""),
        base=base,
        names=names_for(body),
        cond=condition_of(ctx, body),
        update=update,
        return_old=on_failure_returns_old(body),
        invalid=invalid,
        size=size,
    )


def _outcome(action: Action, old: Item | None) -> tuple[dict[str, Any], Item | None, int, int]:
    """(cancellation reason, the item to store or None to delete/leave alone, that item's size, the
    size the action is charged on: the larger of the item before and after, as for the plain operations)."""
    if action.update is not None:  # what is wrong whatever the item comes first, as alone
        check_update(action.update, action.names, key_attributes=action.table.key_names())
    ok = action.cond is None or evaluate(action.cond, old, action.names)
    new: Item | None = None
    size = 0
    if action.kind == "Put":
        new = action.base
        size = action.size
    elif action.kind == "Update" and ok:  # a failed condition cancels before the update is worked out, as alone
        new = updated_item(action.update, old or dict(action.base), action.names, exists=old is not None)
        check_item_keys(action.table, new)
        size = item_size(new)
        check_size(size, update=True)
        if creates_nothing(action.update, old):
            new = None
    action.names.check_all_used()
    charged = max(size, item_size(old) if old else 0)
    if ok:
        return {"Code": "None"}, new, size, charged
    reason: dict[str, Any] = {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"}
    if action.return_old and old is not None:
        reason["Item"] = old
    return reason, new, size, charged


async def _apply(ctx: Context, actions: list[Action], *, count_indexes: bool) -> list[Touch]:
    """Runs the transaction; what each action touched, with the index writes counted when `count_indexes`."""
    async with ctx.db.transaction() as conn:
        now = ctx.clock.now()
        plans = []
        reasons = []
        for action in actions:
            raw, expires = await storage.load(conn, action.table, *action.key)
            reason, new, new_size, size = _outcome(action, storage.live(raw, expires, now))
            reasons.append(reason)
            plans.append((action, raw, new, new_size, size))
        if any(r["Code"] != "None" for r in reasons):
            raise TransactionCanceledError(reasons)  # carries no ConsumedCapacity, as on DynamoDB
        touches = []
        for action, raw, new, new_size, size in plans:
            indexes: dict[IndexDef, float] = {}
            if new is not None:
                await storage.write(conn, action.table, action.key, raw, new, new_size, now=now)
                if count_indexes:
                    indexes = capacity.index_write_units(action.table, raw, new)
            elif action.kind == "Delete" and raw is not None:
                await storage.remove(conn, action.table, action.key, raw, now=now)
                if count_indexes:
                    indexes = capacity.index_write_units(action.table, raw, None)
            touches.append(Touch(action.table, size, indexes))
        return touches


def _check_request(request: Mapping[str, Any], actions: list[Action]) -> None:
    token = request.get("ClientRequestToken")
    if token is not None and (not isinstance(token, str) or not 1 <= len(token) <= MAX_TOKEN):
        raise ValidationError(
            f"1 validation error detected: Value '{token}' at 'clientRequestToken' failed to satisfy constraint: "
            f"Member must have length less than or equal to {MAX_TOKEN}"
        )
    if sum(a.size for a in actions) > MAX_TRANSACTION_BYTES:
        raise ValidationError("Transaction request size cannot exceed 4 MB")
    first = next((n for n, a in enumerate(actions) if a.invalid is not None), None)
    if first is not None:  # DynamoDB stops at the first invalid action: the others say "None"
        reasons: list[dict[str, object]] = [{"Code": "None"} for _ in actions]
        reasons[first] = {"Code": "ValidationError", "Message": str(actions[first].invalid)}
        raise TransactionCanceledError(reasons)


async def transact_write_items(ctx: Context, tokens: TokenCache, request: Mapping[str, Any]) -> dict[str, Any]:
    cap = capacity.mode(request)
    actions = [_action(ctx, entry) for entry in _items(request)]
    _check_request(request, actions)
    targets = [(a.table.name, a.key) for a in actions]
    if len(set(targets)) != len(targets):
        raise ValidationError("Transaction request cannot include multiple operations on one item")
    token = request.get("ClientRequestToken")
    fingerprint = ""
    response: dict[str, Any] = {}
    if isinstance(token, str):
        # The capacity asked for is not part of the request's identity: a retry may ask for another.
        kept = {k: v for k, v in request.items() if k not in ("ClientRequestToken", "ReturnConsumedCapacity")}
        fingerprint = json.dumps(kept, sort_keys=True)
        cached = tokens.lookup(token, fingerprint)
        if cached is not None:
            # A retry writes nothing; DynamoDB answers it with the read units of reading the items.
            capacity.add(response, "ConsumedCapacity", consumed(cap, cached, "READ"))
            return response
    touches = await _apply(ctx, actions, count_indexes=cap != "NONE")
    capacity.add(response, "ConsumedCapacity", consumed(cap, table_units(touches, "WRITE"), "WRITE", touches))
    if isinstance(token, str):
        tokens.remember(token, fingerprint, table_units(touches, "READ"))
    return response


async def transact_get_items(ctx: Context, request: Mapping[str, Any]) -> dict[str, Any]:
    cap = capacity.mode(request)
    gets = []
    for entry in _items(request):
        body = entry.get("Get") if isinstance(entry, dict) and len(entry) == 1 else None
        if not isinstance(body, dict):
            raise ValidationError("TransactItems can only contain Get actions in TransactGetItems")
        table = ctx.catalog.get(body.get("TableName"))
        key = storage.row_key(table, check_key(table, body.get("Key")))
        proj = projection_of(ctx, body)
        names = names_for(body)
        if proj is not None:
            project(proj, {}, names)
        names.check_all_used()
        gets.append((table, key, proj, names))
    responses: list[dict[str, Any]] = []
    touches = []
    now = ctx.clock.now()
    async with ctx.db.reading() as conn:
        for table, key, proj, names in gets:
            item = await storage.load_live(conn, table, *key, now)
            if cap != "NONE":  # charged on the whole item whatever the projection; a missing item costs a read
                touches.append(Touch(table, item_size(item) if item else 0))
            if item is None:
                responses.append({})
            else:
                responses.append({"Item": project(proj, item, names) if proj else item})
    out: dict[str, Any] = {"Responses": responses}
    capacity.add(out, "ConsumedCapacity", consumed(cap, table_units(touches, "READ"), "READ"))
    return out

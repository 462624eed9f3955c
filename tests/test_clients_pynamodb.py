"""PynamoDB, unmodified, from a test process against a started sandbox's tables port, and the same
scenario against moto's server: create_table with a global secondary index, save, get, query,
scan, counts, conditional saves, updates and deletes failing as DynamoDB does, update actions,
batches and a cancelled transaction. Both endpoints must give the same observations."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from pynamodb.attributes import (
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.connection import Connection
from pynamodb.exceptions import DeleteError, DoesNotExist, PutError, TransactWriteError, UpdateError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from sandbox.config import SandboxConfig
from sandbox.sandbox import Sandbox
from tests.moto_server import moto_server

pytestmark = pytest.mark.asyncio(loop_scope="module")

POSTED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
CONDITION_FAILED = ("ConditionalCheckFailedException", "The conditional request failed")


class ThreadModel(Model):
    """The shape every endpoint's model class has; `models(host)` binds one to an endpoint."""

    forum = UnicodeAttribute(hash_key=True)
    subject = UnicodeAttribute(range_key=True)
    author = UnicodeAttribute()
    views = NumberAttribute(default=0)
    tags = UnicodeSetAttribute(null=True)
    posted = UTCDateTimeAttribute(null=True)
    replies = ListAttribute[str](null=True)
    extra = MapAttribute[str, Any](null=True)  # type: ignore[no-untyped-call]  # PynamoDB leaves it untyped
    by_author: GlobalSecondaryIndex[Any]  # each bound class has its own index object


def models(endpoint: str) -> type[ThreadModel]:
    class ByAuthor(GlobalSecondaryIndex["Thread"]):  # type: ignore[no-untyped-call]
        class Meta:
            index_name = "by-author"
            projection = AllProjection()

        author = UnicodeAttribute(hash_key=True)
        views = NumberAttribute(range_key=True)

    class Thread(ThreadModel):
        class Meta:
            table_name = "threads"
            host = endpoint
            region = "us-west-2"
            billing_mode = "PAY_PER_REQUEST"

        by_author = ByAuthor()

    return Thread


def values(item: ThreadModel) -> dict[str, Any]:
    """An item as plain, comparable values (sets sorted: their order is not DynamoDB's to keep)."""
    found = {name: getattr(item, name) for name in ThreadModel.get_attributes()}
    if found["tags"] is not None:
        found["tags"] = sorted(found["tags"])
    if found["extra"] is not None:
        found["extra"] = found["extra"].as_dict()
    return found


def failure(error: Any) -> tuple[str | None, str | None]:
    return error.cause_response_code, error.cause_response_message


def scenario(Thread: type[ThreadModel]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    Thread.create_table(wait=True)
    described = Thread.describe_table()
    seen["keys"] = sorted((k["AttributeName"], k["KeyType"]) for k in described["KeySchema"])
    seen["indexes"] = [index["IndexName"] for index in described["GlobalSecondaryIndexes"]]

    thread = Thread("py", "hello", author="ada", views=3, tags={"a", "b"}, posted=POSTED, replies=["r1"])
    thread.extra = MapAttribute(k=1, nested={"deep": True})  # type: ignore[no-untyped-call]
    thread.save(condition=Thread.forum.does_not_exist())
    seen["saved"] = values(Thread.get("py", "hello", consistent_read=True))

    try:
        Thread("py", "hello", author="bob").save(condition=Thread.forum.does_not_exist())
    except PutError as error:
        seen["save twice"] = failure(error)
    seen["after failed save"] = Thread.get("py", "hello").author

    try:
        thread.update(actions=[Thread.tags.add({"c"}), Thread.tags.delete({"a"})])
    except UpdateError as error:
        seen["overlapping paths"] = error.cause_response_code  # moto words the message its own way
    thread.update(actions=[Thread.tags.delete({"a"})])
    thread.update(
        actions=[
            Thread.views.add(2),
            Thread.tags.add({"c"}),
            Thread.replies.set(Thread.replies.append(["r2"])),
            Thread.extra.remove(),
        ]
    )
    seen["updated"] = values(thread)
    try:
        thread.update(actions=[Thread.views.set(0)], condition=Thread.views < 1)
    except UpdateError as error:
        seen["update refused"] = failure(error)

    with Thread.batch_write() as batch:
        for subject, author, views in (("help", "bob", 1), ("howto", "ada", 7), ("misc", "cy", 0)):
            batch.save(Thread("py", subject, author=author, views=views))
        batch.save(Thread("rust", "hello", author="ada", views=5))
    seen["query"] = [t.subject for t in Thread.query("py", Thread.subject.startswith("h"))]
    seen["query filtered"] = [t.subject for t in Thread.query("py", filter_condition=Thread.views > 2)]
    seen["query newest first"] = [t.subject for t in Thread.query("py", scan_index_forward=False, limit=2)]
    seen["count"] = Thread.count("py", Thread.subject.startswith("h"))
    seen["scan"] = sorted(f"{t.forum}/{t.subject}" for t in Thread.scan(Thread.author == "ada"))
    seen["index"] = [(t.forum, t.subject, t.views) for t in Thread.by_author.query("ada", Thread.views >= 5)]
    seen["batch get"] = sorted(t.subject for t in Thread.batch_get([("py", "misc"), ("py", "nope"), ("rust", "hello")]))

    misc = Thread.get("py", "misc")
    try:
        misc.delete(condition=Thread.views > 0)
    except DeleteError as error:
        seen["delete refused"] = failure(error)
    misc.delete(condition=Thread.views == 0)
    try:
        Thread.get("py", "misc")
    except DoesNotExist:
        seen["deleted"] = True

    connection = Connection(host=Thread.Meta.host, region="us-west-2")
    try:
        with TransactWrite(connection=connection) as transaction:
            transaction.save(Thread("py", "new", author="dee"))
            transaction.condition_check(Thread, "py", "help", condition=Thread.views > 100)
    except TransactWriteError as error:
        seen["transaction"] = (error.cause_response_code, [r and r.code for r in error.cancellation_reasons])
    seen["transaction wrote nothing"] = Thread.count("py", Thread.subject == "new")
    return seen


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def sandbox(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Sandbox]:
    app: Path = tmp_path_factory.mktemp("pynamodb")
    (app / "app.arc").write_text("@app\npynamodb-test\n")
    async with Sandbox(SandboxConfig.ephemeral(app)) as sb:
        yield sb


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    with moto_server() as endpoint:
        yield endpoint


async def run(check: Callable[[type[ThreadModel]], dict[str, Any]], endpoint: str) -> dict[str, Any]:
    # PynamoDB is synchronous; the sandbox serves on this loop, so the client runs on a thread.
    return await asyncio.to_thread(check, models(endpoint))


async def test_pynamodb_against_the_tables_port_behaves_as_against_moto(
    sandbox: Sandbox, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")  # PynamoDB signs with botocore's usual credentials
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    ours = await run(scenario, f"http://127.0.0.1:{sandbox.ports['tables']}")
    assert ours == await run(scenario, moto_endpoint)
    # And what DynamoDB itself says, spelled out:
    assert ours["keys"] == [("forum", "HASH"), ("subject", "RANGE")]
    assert ours["saved"]["posted"] == POSTED and ours["saved"]["extra"] == {"k": 1, "nested": {"deep": True}}
    assert ours["save twice"] == ours["update refused"] == ours["delete refused"] == CONDITION_FAILED
    assert ours["after failed save"] == "ada" and ours["overlapping paths"] == "ValidationException"
    assert {k: ours["updated"][k] for k in ("views", "tags", "replies", "extra")} == {
        "views": 5,
        "tags": ["b", "c"],
        "replies": ["r1", "r2"],
        "extra": None,
    }
    assert ours["query"] == ["hello", "help", "howto"] and ours["count"] == 3
    assert ours["query filtered"] == ["hello", "howto"] and ours["query newest first"] == ["misc", "howto"]
    assert ours["scan"] == ["py/hello", "py/howto", "rust/hello"]
    assert ours["index"] == [("py", "hello", 5), ("rust", "hello", 5), ("py", "howto", 7)]
    assert ours["batch get"] == ["hello", "misc"] and ours["deleted"] is True
    # PynamoDB sends condition checks first, then puts: one reason per item, in that order.
    assert ours["transaction"] == ("TransactionCanceledException", ["ConditionalCheckFailed", None])
    assert ours["transaction wrote nothing"] == 0

"""The dashboard's JSON API and live stream on a real sandbox: access rules, bad input, the invocation
record of a failing handler, pagination, and a stream that ends when the sandbox stops."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from sandbox.config import SandboxConfig
from sandbox.dashboard.recorder import InvocationRecorder
from sandbox.lambdas.invocations import Finished
from sandbox.model import FunctionSpec
from sandbox.sandbox import Sandbox
from tests.wire_app import call, client_factory

API = "/_dashboard/api"
MANIFEST = (
    "@app\ndash-app\n@http\nget /ok\nget /boom\n@events\nalerts\n@queues\njobs\n  fifo false\n"
    "@tables\nthings\n  id *String\n  expires TTL\n@tables-indexes\nthings\n  kind *String\n  name byKind\n"
)


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[Sandbox]:
    (tmp_path / "app.arc").write_text(MANIFEST)
    handlers = {
        "http/get-ok": "def handler(event, context):\n    print('serving ok')\n    return {'statusCode': 200, 'body': 'fine'}\n",
        "http/get-boom": "def explode():\n    raise ValueError('no cake')\n\n\ndef handler(event, context):\n    explode()\n",
        "queues/jobs": "def handler(event, context):\n    pass\n",
        "events/alerts": "def handler(event, context):\n    raise RuntimeError('pager down')\n",
    }
    for folder, code in handlers.items():
        (tmp_path / "src" / folder).mkdir(parents=True)
        (tmp_path / "src" / folder / "lambda.py").write_text(code)
    async with Sandbox(SandboxConfig.ephemeral(tmp_path)) as sb:
        yield sb


@pytest.fixture
async def client(sandbox: Sandbox) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(f"http://127.0.0.1:{sandbox.ports['internal']}") as session:
        yield session


async def _json(response: aiohttp.ClientResponse) -> Any:
    return json.loads(await response.text())


async def test_dashboard_page_and_api_answer_only_a_loopback_host(client: aiohttp.ClientSession) -> None:
    async with client.get("/") as page:
        assert page.status == 200 and "arc-sandbox dashboard" in await page.text()
    for path in ("/", API + "/tables"):
        async with client.get(path, headers={"Host": "attacker.example:2222"}) as refused:
            assert refused.status == 403
            assert "is not this machine" in (await _json(refused))["error"]
    async with client.get(API + "/tables", headers={"Host": "localhost:2222"}) as allowed:
        assert allowed.status == 200


async def test_dashboard_answers_only_a_loopback_name_even_when_bound_to_every_interface(tmp_path: Path) -> None:
    (tmp_path / "app.arc").write_text("@app\nwide-app\n")
    async with Sandbox(SandboxConfig.ephemeral(tmp_path, host="0.0.0.0")) as wide:
        port = wide.ports["internal"]
        async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as session:
            # Bound to every interface, the internal port answers a LAN address (its SSM discovery does);
            # the dashboard, which can write to tables and queues, still answers only a loopback name.
            async with session.get(API + "/tables", headers={"Host": f"192.168.1.20:{port}"}) as refused:
                assert refused.status == 403
                assert "only on a loopback host name" in (await _json(refused))["error"]
            async with session.get(API + "/tables", headers={"Host": f"localhost:{port}"}) as allowed:
                assert allowed.status == 200


async def test_dashboard_writes_need_json_and_no_foreign_origin(
    sandbox: Sandbox, client: aiohttp.ClientSession
) -> None:
    item = {"item": {"id": "a"}}
    async with client.put(API + "/tables/things/item", data=json.dumps(item)) as form_like:
        assert form_like.status == 403 and "application/json" in (await _json(form_like))["error"]
    foreign = {"Origin": "http://attacker.example"}
    async with client.put(API + "/tables/things/item", json=item, headers=foreign) as cross_site:
        assert cross_site.status == 403
    app_page = {"Origin": sandbox.url}  # a loopback origin, so the port guard lets it by: not the dashboard's own
    async with client.put(API + "/tables/things/item", json=item, headers=app_page) as from_the_app:
        assert from_the_app.status == 403 and "cross-site" in (await _json(from_the_app))["error"]
    own = {"Origin": f"http://127.0.0.1:{sandbox.ports['internal']}"}
    async with client.put(API + "/tables/things/item", json=item, headers=own) as same_site:
        assert same_site.status == 200
    assert [i["id"] for i in await sandbox.tables().things.scan_all()] == ["a"]


async def test_dashboard_rejects_bad_input_with_a_4xx_and_changes_nothing(
    sandbox: Sandbox, client: aiohttp.ClientSession
) -> None:
    await sandbox.tables().things.put({"id": "keep", "n": 1})
    cases = [
        ("PUT", "/tables/things/item", {"item": {"no_key": 1}}, 400),
        ("PUT", "/tables/things/item", {"item": {"id": "x"}, "format": "yaml"}, 400),
        ("PUT", "/tables/things/item", {"item": {"id": {"Q": "x"}}, "format": "dynamo"}, 400),
        ("PUT", "/tables/nope/item", {"item": {"id": "x"}}, 400),
        ("POST", "/publish", {"pragma": "queues", "name": "nope", "payload": {}}, 404),
        ("POST", "/publish", {"pragma": "sms", "name": "jobs", "payload": {}}, 400),
        ("POST", "/dead-letters/replay", {"ids": ["no-such-letter"]}, 404),
        ("POST", "/dead-letters/purge", {"what": "ever"}, 400),
        ("POST", "/schedules/nope/run", {}, 404),
    ]
    for method, path, body, status in cases:
        async with client.request(method, API + path, json=body) as response:
            assert response.status == status, (path, body, await response.text())
            assert (await _json(response))["error"]
    async with client.get(API + "/tables/things/items", params={"limit": "0"}) as bad_limit:
        assert bad_limit.status == 400
    async with client.get(API + "/tables/things/items", params={"pk": "x", "sk_op": "=", "sk": "y"}) as no_sort_key:
        assert no_sort_key.status == 400 and "no sort key" in (await _json(no_sort_key))["error"]
    assert await sandbox.tables().things.scan_all() == [{"id": "keep", "n": 1}]
    assert sandbox.bus.pending() == []


async def test_dashboard_records_a_failing_handler_with_its_event_and_traceback(
    sandbox: Sandbox, client: aiohttp.ClientSession
) -> None:
    async with aiohttp.ClientSession() as app:
        async with app.get(f"{sandbox.url}/boom?x=1") as response:
            assert response.status == 500  # the sandbox shows the error page, as Architect does
        async with app.get(f"{sandbox.url}/ok") as response:
            assert response.status == 200
    async with client.get(API + "/invocations", params={"status": "error"}) as listing:
        (failed,) = (await _json(listing))["invocations"]
    assert (failed["function"], failed["trigger"], failed["status"]) == ("get /boom", "http", "error")
    assert failed["error"] == "ValueError: no cake"
    async with client.get(API + f"/invocations/{failed['request_id']}") as detail:
        record = await _json(detail)
    assert record["event"]["rawQueryString"] == "x=1"
    assert record["error_type"] == "ValueError" and record["result"] is None
    assert "in explode" in record["traceback"] and "sandbox/" not in record["traceback"]
    async with client.get(API + "/invocations", params={"function": "get /ok"}) as ok:
        (fine,) = (await _json(ok))["invocations"]
    assert fine["status"] == "ok" and fine["duration_ms"] > 0
    async with client.get(API + f"/invocations/{fine['request_id']}") as detail:
        assert "serving ok" in (await _json(detail))["logs"]  # what the handler printed, by request id


async def test_dashboard_stream_tells_started_finished_and_the_count_and_ends_at_stop(tmp_path: Path) -> None:
    (tmp_path / "app.arc").write_text("@app\nstream-app\n@http\nget /\n")
    (tmp_path / "src" / "http" / "get-index").mkdir(parents=True)
    (tmp_path / "src" / "http" / "get-index" / "lambda.py").write_text(
        "def handler(e, c):\n    return {'body': 'hi'}\n"
    )
    sandbox = Sandbox(SandboxConfig.ephemeral(tmp_path))
    await sandbox.start()
    try:
        async with aiohttp.ClientSession() as session:
            stream = await session.get(f"http://127.0.0.1:{sandbox.ports['internal']}{API}/stream")
            assert (await stream.content.readuntil(b"\n\n")).startswith(b"retry:")  # subscribed from here on
            async with session.get(sandbox.url + "/") as response:
                assert response.status == 200
            told: dict[str, Any] = {}
            kind = ""
            while "finished" not in told or kind != "recorded":  # each batch ends with the count
                head, _, data = (await stream.content.readuntil(b"\n\n")).decode().partition("\ndata: ")
                kind = head.removeprefix("event: ")
                told[kind] = json.loads(data)  # "started" too when the call ended after its batch was sent
            assert (told["finished"]["function"], told["finished"]["status"]) == ("get /", "ok")
            assert told["recorded"] == {"recorded": 1}  # said with the batch: the page's count stays true
            await sandbox.stop()
            assert await stream.content.read() == b""  # the stream ended rather than holding the stop up
    finally:
        await sandbox.stop()


def _fn(name: str) -> FunctionSpec:
    return FunctionSpec("queues", name, Path("/src") / name)


def test_recorder_keeps_the_newest_and_pages_back_through_them() -> None:
    recorder = InvocationRecorder(capacity=5, now=lambda: 1.0)
    for n in range(8):
        fn = _fn("even" if n % 2 == 0 else "odd")
        recorder.started(f"r{n}", fn, {"n": n})
        recorder.finished(f"r{n}", fn, Finished("ok" if n != 6 else "error", 1.0, None, False))
    assert recorder.recorded == 5 and recorder.get("r2") is None  # the three oldest are forgotten
    first, before = recorder.page(limit=2)
    assert [r.request_id for r in first] == ["r7", "r6"]
    second, before = recorder.page(limit=2, before=before)
    third, end = recorder.page(limit=2, before=before)
    assert [r.request_id for r in second + third] == ["r5", "r4", "r3"] and end is None
    assert [r.request_id for r in recorder.newest(function="even", status="ok")] == ["r4"]
    assert recorder.last_of("odd", "queues") is recorder.get("r7")


def test_recorder_tells_listeners_until_they_unsubscribe_and_bounds_log_lines() -> None:
    recorder = InvocationRecorder(capacity=10)
    heard: list[tuple[str, Any]] = []
    unsubscribe = recorder.subscribe(lambda kind, data: heard.append((kind, data)))
    recorder.started("r1", _fn("f"), {})
    for n in range(600):
        recorder.log("r1", _fn("f"), f"line {n}")
    recorder.log("unknown", _fn("f"), "ignored")
    unsubscribe()
    recorder.finished("r1", _fn("f"), Finished("ok", 2.0, 128, True, result=[1]))
    assert [k for k, _ in heard].count("log") == 600 and "finished" not in [k for k, _ in heard]
    detail = recorder.get("r1").detail()  # type: ignore[union-attr]
    assert len(detail["logs"]) == 500 and detail["dropped_logs"] == 100 and detail["log_lines"] == 600
    assert (detail["result"], detail["max_memory_mb"], detail["cold"]) == ([1], 128, True)


def test_recorder_keeps_each_attempt_of_one_request_id_apart_and_routes_to_the_newest() -> None:
    """An asynchronous invocation's retries have its request id: each is its own record, by sequence number."""
    recorder = InvocationRecorder(capacity=3)
    heard: list[tuple[str, Any]] = []
    recorder.subscribe(lambda kind, data: heard.append((kind, data)))
    fn = _fn("f")
    recorder.started("async-1", fn, {"try": 1})
    recorder.log("async-1", fn, "first try")
    recorder.finished("async-1", fn, Finished("error", 1.0, None, False, error_type="RuntimeError"))
    recorder.started("async-1", fn, {"try": 2})
    recorder.log("async-1", fn, "second try")  # the attempt in progress has it, not the first
    recorder.finished("async-1", fn, Finished("ok", 1.0, None, False, result="done"))
    first, second = recorder.attempts("async-1")
    assert (first.seq, first.attempt, first.status, first.logs, first.event) == (
        1,
        1,
        "error",
        ["first try"],
        {"try": 1},
    )
    assert (second.seq, second.attempt, second.status, second.logs) == (2, 2, "ok", ["second try"])
    assert recorder.get("async-1") is second and recorder.at(1) is first and recorder.recorded == 2
    assert [(k, d["seq"]) for k, d in heard] == [
        ("started", 1), ("log", 1), ("finished", 1), ("started", 2), ("log", 2), ("finished", 2)
    ]  # fmt: skip
    assert heard[-1][1]["attempt"] == 2 and heard[-1][1]["request_id"] == "async-1"
    recorder.started("other", fn, {})
    recorder.started("async-1", fn, {"try": 3})  # the ring is full: the first attempt is forgotten
    assert recorder.at(1) is None and [r.attempt for r in recorder.attempts("async-1")] == [2, 3]
    for n in range(3):
        recorder.started(f"new-{n}", fn, {})
    assert recorder.get("async-1") is None and recorder.attempts("async-1") == []
    recorder.log("async-1", fn, "late")  # for a call no longer kept: dropped, nothing raised
    assert [r.request_id for r in recorder.newest()] == ["new-2", "new-1", "new-0"]


def test_recorder_keeps_long_bodies_and_messages_cut_short() -> None:
    recorder = InvocationRecorder(capacity=3)
    big = "x" * 300_000
    sqs = {"Records": [{"body": big, "messageId": "m1"}, {"body": "small", "messageId": "m2"}]}
    sns = {"Records": [{"Sns": {"Message": big, "MessageId": "s1"}}]}
    http = {"rawPath": "/upload", "body": big}
    for n, event in enumerate((sqs, sns, http)):
        recorder.started(f"r{n}", _fn("f"), event)
        recorder.finished(f"r{n}", _fn("f"), Finished("ok", 1.0, None, False, result={"statusCode": 200, "body": big}))
    kept = [recorder.get(f"r{n}").detail() for n in range(3)]  # type: ignore[union-attr]
    assert len(kept[0]["event"]["Records"][0]["body"]) < 70_000 and kept[0]["event"]["Records"][1]["body"] == "small"
    assert "234,464 more characters not kept" in kept[1]["event"]["Records"][0]["Sns"]["Message"]
    assert kept[2]["event"]["rawPath"] == "/upload" and len(kept[2]["event"]["body"]) < 70_000
    assert all(len(k["result"]["body"]) < 70_000 for k in kept)
    assert len(sqs["Records"][0]["body"]) == 300_000  # the handler's own event is not touched


async def test_dashboard_tables_list_counts_indexes_and_ttl_and_pages_a_query(
    sandbox: Sandbox, client: aiohttp.ClientSession
) -> None:
    for n in range(5):
        await sandbox.tables().things.put({"id": f"t{n}", "kind": "odd" if n % 2 else "even", "expires": 2_000_000_000})
    async with client.get(API + "/tables") as listing:
        (things,) = (await _json(listing))["tables"]
    assert (things["item_count"], things["ttl_attribute"]) == (5, "expires")
    assert things["indexes"] == [
        {"name": "byKind", "partition_key": "kind", "sort_key": None, "projection": "ALL", "local": False}
    ]
    seen: list[str] = []
    start = None
    while True:
        params = {"index": "byKind", "pk": "even", "limit": "2", **({"start": start} if start else {})}
        async with client.get(API + "/tables/things/items", params=params) as page:
            found = await _json(page)
        assert found.get("operation") == "Query" and len(found["items"]) <= 2, found
        seen += [item["id"] for item in found["items"]]
        if not (start := found["next"]):
            break
    assert sorted(seen) == ["t0", "t2", "t4"]
    async with client.get(API + "/tables/things/items", params={"format": "dynamo", "limit": "1"}) as typed:
        (item,) = (await _json(typed))["items"]
    assert item["expires"] == {"N": "2000000000"}


async def test_dashboard_lists_an_event_waiting_for_its_retry_with_its_payload(
    sandbox: Sandbox, client: aiohttp.ClientSession
) -> None:
    async with client.post(API + "/publish", json={"pragma": "events", "name": "alerts", "payload": {"level": 3},
                                                   "attributes": {"source": "test"}}) as sent:  # fmt: skip
        assert sent.status == 200
    await sandbox.bus.drain()  # the first attempt fails; the retry waits for its backoff
    async with client.get(API + "/queues") as listing:
        (alerts,) = (await _json(listing))["topics"]
    (retry,) = alerts["retries"]
    assert (retry["payload"], retry["attributes"], retry["attempt"]) == ({"level": 3}, {"source": "test"}, 2)
    assert alerts["counts"] == {"retrying": 1, "dead_letters": 0}
    assert alerts["next_attempt_at"] == retry["next_attempt_at"] > sandbox.clock.now()


async def test_dashboard_pages_back_through_invocations_newest_first(
    sandbox: Sandbox, client: aiohttp.ClientSession
) -> None:
    async with aiohttp.ClientSession() as app:
        for n in range(5):
            async with app.get(f"{sandbox.url}/ok?n={n}") as response:
                assert response.status == 200
    seen: list[str] = []
    params = {"limit": "2", "function": "get /ok"}
    while True:
        async with client.get(API + "/invocations", params=params) as listing:
            page = await _json(listing)
        assert len(page["invocations"]) <= 2 and page["recorded"] == 5
        for summary in page["invocations"]:
            async with client.get(API + f"/invocations/{summary['request_id']}") as detail:
                seen.append((await _json(detail))["event"]["rawQueryString"])
        if page["next_before"] is None:
            break
        params["before"] = str(page["next_before"])
    assert seen == ["n=4", "n=3", "n=2", "n=1", "n=0"]


async def test_dashboard_lists_a_dead_lettered_async_invoke_by_function_and_replays_it(
    sandbox: Sandbox, client: aiohttp.ClientSession
) -> None:
    sandbox.bus.retry_delays = (0.0, 0.0)  # this sandbox runs on the real clock; the backoff is tested elsewhere
    lam = client_factory("lambda", sandbox.ports["events"])()
    answer = await call(lam.invoke, FunctionName="get /boom", InvocationType="Event", Payload=b'{"slice": 1}')
    assert answer["StatusCode"] == 202
    await sandbox.settle(raise_on_failure=False)  # three attempts, then the dead letter
    async with client.get(API + "/queues") as listing:
        overview = await _json(listing)
    assert [t["counts"] for t in overview["topics"]] == [{"retrying": 0, "dead_letters": 0}]
    (invoked,) = overview["invokes"]
    (letter,) = invoked["dead_letters"]
    assert (invoked["name"], letter["pragma"], letter["payload"], letter["attempts"]) == (
        "get /boom", "lambda", {"slice": 1}, 3,
    )  # fmt: skip
    assert "no cake" in letter["traceback"]
    assert letter["request_id"] == answer["ResponseMetadata"]["RequestId"]  # the invocation's, on every attempt
    async with client.post(API + "/dead-letters/replay", json={"name": "get /boom"}) as replayed:
        assert (await _json(replayed))["replayed"] == 1
    results = await sandbox.settle(raise_on_failure=False)
    assert [(r.pragma, r.name, r.attempt) for r in results] == [("lambda", "get /boom", n) for n in (1, 2, 3)]

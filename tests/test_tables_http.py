"""The tables port's own HTTP/1.1 server (`sandbox/dynamodb/http_protocol.py`) on real sockets: what it
handles itself rather than aiohttp's web server: pipelining, HTTP/1.0, keep-alive and `Connection:
close`, chunked and compressed bodies, 100-continue, the header and body timeouts, 413, and a 503 for a
request still running when the server closes. boto3 and the Alternator suite cover the operations."""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
import zlib
from collections.abc import AsyncIterator
from typing import Any

import boto3
import pytest

from sandbox.clock import FakeClock
from sandbox.db import Database
from sandbox.dynamodb.http_protocol import TablesHttpServer
from sandbox.dynamodb.protocol import DynamoEndpoint
from sandbox.guard import HostPolicy
from sandbox.http1 import Settings
from sandbox.model import KeyAttr, TableSpec
from sandbox.server import Limits, Listeners
from sandbox.store import TableStore

SPEC = TableSpec(name="things", partition_key=KeyAttr("pk", "S"))
TABLE = "app-staging-things"
SMALL_BODY = 1000  # the limit of the `small` server, so that 413s need no 16 MB upload
KEYS: Any = {"region_name": "us-west-2", "aws_access_key_id": "dummy", "aws_secret_access_key": "dummy"}


class Served:
    def __init__(self, listeners: Listeners, port: int, small: int) -> None:
        self.listeners, self.port, self.small = listeners, port, small


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    async with Database(None) as db, TableStore(db, clock=FakeClock(), app_name="app", tables=[SPEC]) as store:
        logger = logging.getLogger("arc_sandbox.server")
        listeners = Listeners(limits=Limits(header_timeout=0.3, body_timeout=0.3), policy=HostPolicy(), logger=logger)
        port = await listeners.listen_tables(DynamoEndpoint(store), host="127.0.0.1", port=0)
        settings = Settings(
            policy=HostPolicy(),
            tracker=listeners,
            header_timeout=5.0,
            body_timeout=5.0,
            max_body=SMALL_BODY,
            linger=0.1,
            logger=logger,
        )
        small = TablesHttpServer(DynamoEndpoint(store), settings)
        server = await asyncio.get_running_loop().create_server(small.connection, "127.0.0.1", 0)
        try:
            yield Served(listeners, port, server.sockets[0].getsockname()[1])
        finally:
            await listeners.close()
            small.close_connections()
            server.close()


def request(operation: str, body: bytes | dict[str, Any], *, extra: str = "", version: str = "1.1") -> bytes:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return (
        f"POST / HTTP/{version}\r\nHost: localhost\r\nX-Amz-Target: DynamoDB_20120810.{operation}\r\n"
        f"Content-Type: application/x-amz-json-1.0\r\n{extra}Content-Length: {len(data)}\r\n\r\n"
    ).encode() + data


async def answer(reader: asyncio.StreamReader) -> tuple[str, dict[str, str], bytes]:
    """(status line, headers lowercased, body) of the next answer on the connection."""
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in head[1:] if line)}
    return head[0], headers, await reader.readexactly(int(headers["content-length"]))


async def connect(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port)


async def test_pipelined_requests_are_answered_in_order_on_one_connection(served: Served) -> None:
    reader, writer = await connect(served.port)
    put = {"TableName": TABLE, "Item": {"pk": {"S": "a"}, "n": {"N": "1"}}}
    writer.write(
        request("PutItem", put)
        + request("GetItem", {"TableName": TABLE, "Key": {"pk": {"S": "a"}}})
        + request("GetItem", b"{oops")
        + request("DescribeTable", {"TableName": TABLE})
    )
    answers = [await answer(reader) for _ in range(4)]
    writer.close()
    assert [status for status, _, _ in answers] == [
        "HTTP/1.1 200 OK",
        "HTTP/1.1 200 OK",
        "HTTP/1.1 400 Bad Request",
    ] + ["HTTP/1.1 200 OK"]
    assert json.loads(answers[1][2]) == {"Item": put["Item"]}  # the write before it, seen
    assert json.loads(answers[2][2])["__type"].endswith("#SerializationException")
    assert json.loads(answers[3][2])["Table"]["TableName"] == TABLE
    for _, headers, body in answers:
        assert headers["x-amz-crc32"] == str(zlib.crc32(body))
        assert headers["content-type"] == "application/x-amz-json-1.0" and headers["server"]
    assert len({headers["x-amzn-requestid"] for _, headers, _ in answers}) == 4


async def test_many_pipelined_requests_in_one_write_are_all_answered(served: Served) -> None:
    reader, writer = await connect(served.port)
    count = 200  # past the point where the server stops reading until it catches up
    writer.write(
        b"".join(request("PutItem", {"TableName": TABLE, "Item": {"pk": {"S": f"k{i}"}}}) for i in range(count))
    )
    statuses = [(await answer(reader))[0] for _ in range(count)]
    writer.write(request("Scan", {"TableName": TABLE, "Select": "COUNT"}))
    _, _, body = await answer(reader)
    writer.close()
    assert statuses == ["HTTP/1.1 200 OK"] * count
    assert json.loads(body)["Count"] == count


async def test_http_1_0_is_answered_and_closed_unless_it_asks_to_keep_alive(served: Served) -> None:
    reader, writer = await connect(served.port)
    writer.write(request("ListTables", {}, version="1.0"))
    status, headers, body = await answer(reader)
    assert status == "HTTP/1.0 200 OK" and "connection" not in headers
    assert TABLE in json.loads(body)["TableNames"]
    assert await reader.read() == b""  # closed after the answer
    writer.close()
    reader, writer = await connect(served.port)
    for _ in range(2):
        writer.write(request("ListTables", {}, version="1.0", extra="Connection: keep-alive\r\n"))
        status, headers, _ = await answer(reader)
        assert status == "HTTP/1.0 200 OK" and headers["connection"] == "keep-alive"
    writer.close()


async def test_connection_close_is_honoured_after_the_answer(served: Served) -> None:
    reader, writer = await connect(served.port)
    writer.write(request("ListTables", {}, extra="Connection: close\r\n"))
    status, headers, _ = await answer(reader)
    assert status == "HTTP/1.1 200 OK" and headers["connection"] == "close"
    assert await reader.read() == b""
    writer.close()


async def test_chunked_gzip_and_deflate_bodies_are_read(served: Served) -> None:
    reader, writer = await connect(served.port)
    body = json.dumps({"TableName": TABLE, "Item": {"pk": {"S": "chunked"}}}).encode()
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:10], body[10:])) + b"0\r\n\r\n"
    head = request("PutItem", b"").replace(b"Content-Length: 0\r\n", b"Transfer-Encoding: chunked\r\n")
    writer.write(head + chunks)
    assert (await answer(reader))[0] == "HTTP/1.1 200 OK"
    for name, compress in (("gzip", gzip.compress), ("deflate", zlib.compress)):
        item = {"TableName": TABLE, "Item": {"pk": {"S": name}}}
        writer.write(request("PutItem", compress(json.dumps(item).encode()), extra=f"Content-Encoding: {name}\r\n"))
        assert (await answer(reader))[0] == "HTTP/1.1 200 OK"
    writer.write(request("Scan", {"TableName": TABLE, "Select": "COUNT"}))
    assert json.loads((await answer(reader))[2])["Count"] == 3
    writer.close()


async def test_a_broken_gzip_body_is_a_400_serialization_exception(served: Served) -> None:
    reader, writer = await connect(served.port)
    writer.write(request("PutItem", b"\x1f\x8b\x08\x00not gzip at all", extra="Content-Encoding: gzip\r\n"))
    status, _, body = await answer(reader)
    writer.close()
    assert status == "HTTP/1.1 400 Bad Request"
    assert json.loads(body)["__type"] == "com.amazonaws.dynamodb.v20120810#SerializationException"


@pytest.mark.parametrize("how", ["content-length", "chunked", "gzip"])
async def test_a_body_over_the_limit_is_a_413_however_it_arrives(served: Served, how: str) -> None:
    reader, writer = await connect(served.small)
    large = json.dumps({"TableName": TABLE, "Item": {"pk": {"S": "x" * 3 * SMALL_BODY}}}).encode()
    if how == "content-length":
        data = request("PutItem", large)
    elif how == "chunked":
        head = request("PutItem", b"").replace(b"Content-Length: 0\r\n", b"Transfer-Encoding: chunked\r\n")
        data = head + b"".join(b"%x\r\n%s\r\n" % (100, large[i : i + 100]) for i in range(0, len(large) - 100, 100))
    else:  # small on the wire, large once decompressed
        data = request("PutItem", gzip.compress(large), extra="Content-Encoding: gzip\r\n")
    writer.write(data)
    status, headers, body = await answer(reader)
    assert status == "HTTP/1.1 413 Request Entity Too Large" and headers["connection"] == "close"
    assert json.loads(body)["__type"] == "com.amazonaws.dynamodb.v20120810#RequestEntityTooLarge"
    assert await reader.read() == b""
    writer.close()


async def test_expect_100_continue_is_answered_before_the_body_is_sent(served: Served) -> None:
    reader, writer = await connect(served.port)
    body = json.dumps({"TableName": TABLE, "Item": {"pk": {"S": "expect"}}}).encode()
    full = request("PutItem", body, extra="Expect: 100-continue\r\n")
    writer.write(full[: -len(body)])
    assert await reader.readuntil(b"\r\n\r\n") == b"HTTP/1.1 100 Continue\r\n\r\n"
    writer.write(body)
    assert (await answer(reader))[0] == "HTTP/1.1 200 OK"
    writer.close()


async def test_idle_and_slow_connections_are_closed_after_the_header_timeout(served: Served) -> None:
    reader, writer = await connect(served.port)
    writer.write(b"POST / HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")  # never finishes its headers
    assert await asyncio.wait_for(reader.read(), 10) == b""
    writer.close()
    reader, writer = await connect(served.port)
    writer.write(request("ListTables", {}))
    assert (await answer(reader))[0] == "HTTP/1.1 200 OK"
    assert await asyncio.wait_for(reader.read(), 10) == b""  # then idle past the timeout
    writer.close()


async def test_a_body_that_never_arrives_is_a_408(served: Served) -> None:
    reader, writer = await connect(served.port)
    full = request("PutItem", {"TableName": TABLE, "Item": {"pk": {"S": "late"}}})
    writer.write(full[:-5])
    status, headers, body = await answer(reader)
    assert status == "HTTP/1.1 408 Request Timeout" and headers["connection"] == "close"
    assert json.loads(body)["__type"].endswith("#RequestTimeout")
    writer.close()


async def test_a_client_gone_before_its_body_came_is_no_error_and_frees_the_request(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    _reader, writer = await connect(served.port)
    full = request("PutItem", {"TableName": TABLE, "Item": {"pk": {"S": "gone"}}})
    writer.write(full[:-5])
    await served.listeners.until_in_flight(1)  # the request waits for the rest of its body
    writer.close()
    await served.listeners.drain(10)
    assert served.listeners.in_flight == 0
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_health_other_paths_and_methods(served: Served) -> None:
    reader, writer = await connect(served.port)
    asked = [b"GET / HTTP/1.1", b"GET /?x=1 HTTP/1.1", b"HEAD / HTTP/1.1", b"POST /nope HTTP/1.1", b"PUT / HTTP/1.1"]
    got = []
    for line in asked:
        writer.write(line + b"\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n")
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        length = int(head.lower().partition("content-length: ")[2].partition("\r\n")[0])
        got.append((head.partition("\r\n")[0], b"" if line.startswith(b"HEAD") else await reader.readexactly(length)))
    writer.close()
    assert got == [
        ("HTTP/1.1 200 OK", b"healthy: dynamodb.local"),
        ("HTTP/1.1 200 OK", b"healthy: dynamodb.local"),
        ("HTTP/1.1 200 OK", b""),
        ("HTTP/1.1 404 Not Found", b"404: Not Found"),
        ("HTTP/1.1 405 Method Not Allowed", b"405: Method Not Allowed"),
    ]


async def test_a_request_still_running_when_the_server_closes_gets_a_503(served: Served) -> None:
    reader, writer = await connect(served.port)
    full = request("PutItem", {"TableName": TABLE, "Item": {"pk": {"S": "cut"}}})
    writer.write(full[:-5])  # its body is still arriving: the request is in flight
    await served.listeners.until_in_flight(1)
    await served.listeners.close()
    status, headers, body = await answer(reader)
    assert status == "HTTP/1.1 503 Service Unavailable" and headers["connection"] == "close"
    assert json.loads(body)["__type"].endswith("#ServiceUnavailable")
    writer.close()


async def test_a_malformed_request_is_a_400_and_closes(served: Served) -> None:
    reader, writer = await connect(served.port)
    writer.write(b"POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}")  # HTTP/1.1 without Host
    status, _, _ = await answer(reader)
    assert status == "HTTP/1.1 400 Bad Request"
    assert await reader.read() == b""
    writer.close()


async def test_a_request_line_without_a_version_is_a_400(served: Served) -> None:
    reader, writer = await connect(served.port)
    writer.write(b"GET /\r\n\r\n")
    status, _, body = await answer(reader)
    assert status == "HTTP/1.1 400 Bad Request" and "HTTP/0.9 is not supported" in json.loads(body)["message"]
    assert await reader.read() == b""
    writer.close()


async def test_boto3_through_the_port(served: Served) -> None:
    client = boto3.client("dynamodb", endpoint_url=f"http://127.0.0.1:{served.port}", **KEYS)

    def run() -> Any:
        client.put_item(TableName=TABLE, Item={"pk": {"S": "b"}, "v": {"SS": ["x"]}})
        return client.get_item(TableName=TABLE, Key={"pk": {"S": "b"}})["Item"]

    try:
        assert await asyncio.to_thread(run) == {"pk": {"S": "b"}, "v": {"SS": ["x"]}}
    finally:
        client.close()


@pytest.mark.parametrize("encoding", ["", "gzip"])
async def test_a_large_item_arrives_in_many_reads_and_round_trips(served: Served, encoding: str) -> None:
    reader, writer = await connect(served.port)
    text = "".join(
        f"{i:07d}" for i in range(50_000)
    )  # 350 KB: past the body buffer's limit, under DynamoDB's item limit
    data = json.dumps({"TableName": TABLE, "Item": {"pk": {"S": "big"}, "text": {"S": text}}}).encode()
    extra = ""
    if encoding:
        data, extra = gzip.compress(data), f"Content-Encoding: {encoding}\r\n"
    writer.write(request("PutItem", data, extra=extra))
    assert (await answer(reader))[0] == "HTTP/1.1 200 OK"
    writer.write(request("GetItem", {"TableName": TABLE, "Key": {"pk": {"S": "big"}}}))
    assert json.loads((await answer(reader))[2])["Item"]["text"]["S"] == text
    writer.close()


async def test_describe_endpoints_names_the_address_reached_even_without_host(served: Served) -> None:
    reader, writer = await connect(served.port)
    writer.write(request("DescribeEndpoints", {}, version="1.0").replace(b"Host: localhost\r\n", b""))
    _, _, body = await answer(reader)
    writer.close()
    assert json.loads(body)["Endpoints"][0]["Address"] == f"127.0.0.1:{served.port}"


async def test_the_tables_ports_connections_count_towards_the_cap() -> None:
    async with Database(None) as db, TableStore(db, clock=FakeClock(), app_name="app", tables=[SPEC]) as store:
        logger = logging.getLogger("arc_sandbox.server")
        listeners = Listeners(limits=Limits(max_connections=2), policy=HostPolicy(), logger=logger)
        port = await listeners.listen_tables(DynamoEndpoint(store), host="127.0.0.1", port=0)
        kept = []
        try:
            for _ in range(2):  # each finishes a request, so the server has surely counted it
                reader, writer = await connect(port)
                writer.write(request("ListTables", {}))
                assert (await answer(reader))[0] == "HTTP/1.1 200 OK"
                kept.append(writer)
            assert listeners.open_connections == 2
            reader, writer = await connect(port)
            writer.write(request("ListTables", {}))
            try:
                refused = await asyncio.wait_for(reader.read(), 10)
            except ConnectionResetError:
                refused = b""
            writer.close()
            assert refused == b""
        finally:
            for writer in kept:
                writer.close()
            await listeners.close()


@pytest.mark.parametrize(
    ("encoding", "body", "why"),
    [
        pytest.param("garbage", b'{"TableName": "t"}', "Content-Encoding 'garbage' is not supported", id="unknown"),
        pytest.param("gzip", b"", "the body is empty", id="empty-gzip"),
        pytest.param("gzip", "cut", "ends early", id="truncated-gzip"),
        pytest.param("gzip", "trailing", "bytes after the end of its gzip data", id="trailing-bytes"),
        pytest.param("deflate", b"not deflated", "not valid deflate data", id="not-deflate"),
    ],
)
async def test_a_body_that_is_not_what_its_encoding_says_is_refused_and_not_run(
    served: Served, encoding: str, body: bytes | str, why: str
) -> None:
    """DynamoDB itself answers these 500 (aiohttp's own decoding even ran a gzip body cut short); here
    each is the client's 400, and the PutItem inside is never run."""
    item = json.dumps({"TableName": TABLE, "Item": {"pk": {"S": "encoded"}}}).encode()
    if body == "cut":
        body = gzip.compress(item)[:-1]
    elif body == "trailing":
        body = gzip.compress(item) + b"more"
    assert isinstance(body, bytes)
    reader, writer = await connect(served.port)
    writer.write(request("PutItem", body, extra=f"Content-Encoding: {encoding}\r\n"))
    status, _, answered = await answer(reader)
    writer.close()
    assert status == "HTTP/1.1 400 Bad Request"
    error = json.loads(answered)
    assert error["__type"] == "com.amazonaws.dynamodb.v20120810#SerializationException" and why in error["message"]
    reader, writer = await connect(served.port)
    writer.write(request("GetItem", {"TableName": TABLE, "Key": {"pk": {"S": "encoded"}}}))
    assert "Item" not in json.loads((await answer(reader))[2])
    writer.close()


async def test_raw_deflate_identity_and_multi_member_gzip_bodies_are_read_too(served: Served) -> None:
    reader, writer = await connect(served.port)
    raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    item = json.dumps({"TableName": TABLE, "Item": {"pk": {"S": "raw"}}}).encode()
    writer.write(request("PutItem", raw.compress(item) + raw.flush(), extra="Content-Encoding: deflate\r\n"))
    assert (await answer(reader))[0] == "HTTP/1.1 200 OK"
    item = json.dumps({"TableName": TABLE, "Item": {"pk": {"S": "plain"}}}).encode()
    writer.write(request("PutItem", item, extra="Content-Encoding: identity\r\n"))
    assert (await answer(reader))[0] == "HTTP/1.1 200 OK"
    item = json.dumps({"TableName": TABLE, "Item": {"pk": {"S": "members"}}}).encode()
    two_members = gzip.compress(item[:10]) + gzip.compress(item[10:])  # one gzip file, as the format allows
    writer.write(request("PutItem", two_members, extra="Content-Encoding: gzip\r\n"))
    assert (await answer(reader))[0] == "HTTP/1.1 200 OK"
    writer.write(request("GetItem", {"TableName": TABLE, "Key": {"pk": {"S": "members"}}}))
    assert json.loads((await answer(reader))[2])["Item"] == {"pk": {"S": "members"}}
    writer.close()

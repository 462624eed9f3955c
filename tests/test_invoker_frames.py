"""The frames between the sandbox and its execution environments carry JSON exactly as json would,
though orjson writes and reads them: long integers, NaN, lone surrogates and non-string keys arrive
as they were sent, and what json refuses is still refused."""

from __future__ import annotations

import asyncio
import math
import socket
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest

from sandbox.errors import HandlerFailedError, InvocationError
from sandbox.lambdas import frames
from sandbox.lambdas.invoker import Invoker
from sandbox.model import FunctionSpec

LONG = 123456789012345678901234567890  # over 64 bits: orjson alone would read it back as a float


def roundtrip(message: frames.Message) -> frames.Message:
    buffer = frames.FrameBuffer()
    [decoded] = buffer.feed(frames.encode(message))
    return decoded


@pytest.mark.parametrize(
    ("sent", "received"),
    [
        ({"n": LONG}, {"n": LONG}),
        ({"n": [1, -LONG, 2.5]}, {"n": [1, -LONG, 2.5]}),
        ({"keys": {1: "a", None: "b"}}, {"keys": {"1": "a", "null": "b"}}),
        ({"t": ("a", "b")}, {"t": ["a", "b"]}),
        ({"s": "caf\u00e9 \U0001f600"}, {"s": "caf\u00e9 \U0001f600"}),
    ],
)
def test_a_frame_reads_back_as_json_would_carry_it(sent: frames.Message, received: frames.Message) -> None:
    assert roundtrip(sent) == received  # a long integer read back as a float would differ


def test_what_json_refuses_is_refused() -> None:
    for bad in ({"when": datetime(2026, 1, 1)}, {"what": object()}):
        with pytest.raises(TypeError):
            frames.encode(bad)
    with pytest.raises(ValueError):  # a lone surrogate cannot be written as UTF-8
        frames.encode({"s": "\ud800"})


def test_spliced_results_read_back_exactly() -> None:
    for text, expected in (
        ('{"n": 123456789012345678901234567890}', {"n": LONG}),
        ('"\\ud800"', "\ud800"),
        ('[1, 2.5, "x"]', [1, 2.5, "x"]),
    ):
        [decoded] = frames.FrameBuffer().feed(frames.encode_with_text({"t": "result", "id": "r"}, "result", text))
        assert decoded == {"t": "result", "id": "r", "result": expected}
    [nan] = frames.FrameBuffer().feed(frames.encode_with_text({"t": "result"}, "result", "NaN"))
    assert math.isnan(nan["result"])


def test_frames_split_and_joined_across_reads_and_the_blocking_reader() -> None:
    data = b"".join(frames.encode({"i": i, "n": LONG}) for i in range(3))
    buffer = frames.FrameBuffer()
    got = [m for chunk in (data[:3], data[3:20], data[20:]) for m in buffer.feed(chunk)]
    assert got == [{"i": i, "n": LONG} for i in range(3)]
    left, right = socket.socketpair()
    with left, right:
        left.sendall(data)
        reader = frames.FrameReader(right)
        assert [reader.receive() for _ in range(3)] == got


@pytest.fixture
async def invoker() -> AsyncIterator[Invoker]:
    async with Invoker() as inv:
        yield inv


def echo(tmp_path: Path, code: str = "def handler(event, context):\n    return event\n") -> FunctionSpec:
    (tmp_path / "echo").mkdir()
    (tmp_path / "echo" / "lambda.py").write_text(code)
    return FunctionSpec("events", "echo", tmp_path / "echo")


async def test_events_and_results_cross_to_a_worker_and_back_exactly(invoker: Invoker, tmp_path: Path) -> None:
    fn = echo(tmp_path)
    event = {"long": LONG, "neg": -LONG, "text": "caf\u00e9", "nested": [{"n": 2**63}], "f": 0.1}
    assert await invoker(fn, event) == event
    assert await invoker(fn, {1: "int key"}) == {"1": "int key"}


async def test_results_json_writes_and_orjson_would_not_read(invoker: Invoker, tmp_path: Path) -> None:
    fn = echo(tmp_path, "def handler(event, context):\n    return [float('nan'), '\\ud800', 10**30]\n")
    nan, surrogate, long = await invoker(fn, {})
    assert math.isnan(nan) and surrogate == "\ud800" and long == 10**30


async def test_events_and_results_json_refuses_fail_as_before(invoker: Invoker, tmp_path: Path) -> None:
    fn = echo(tmp_path, "import datetime\ndef handler(event, context):\n    return datetime.date(2026, 1, 1)\n")
    with pytest.raises(HandlerFailedError) as caught:
        await invoker(fn, {})
    assert caught.value.error_type == "Runtime.MarshalError"
    with pytest.raises(InvocationError, match="not JSON"):
        await invoker(fn, {"when": datetime(2026, 1, 1)})


async def test_large_results_from_environments_at_once_arrive_intact(invoker: Invoker, tmp_path: Path) -> None:
    """The environments share one read buffer: results of several reads each, arriving together, must
    not mix."""
    fn = echo(tmp_path, "def handler(event, context):\n    return [event['c'] * event['n'], event['c']]\n")
    sizes = [700_000, 300_001, 1_200_000, 5, 64 * 1024 - 40]
    calls = [(chr(ord("a") + i), n) for i, n in enumerate(sizes * 3)]
    results = await asyncio.gather(*(invoker(fn, {"c": c, "n": n}) for c, n in calls))
    assert results == [[c * n, c] for c, n in calls]
    assert len(invoker.environments()[fn.src_dir].idle) > 1  # they did run side by side


def test_a_frame_over_the_limit_is_refused_by_the_reader() -> None:
    too_big = frames.encode({"s": "x" * (frames.MAX_FRAME + 1)})
    with pytest.raises(frames.ChannelClosed):
        frames.FrameBuffer().feed(too_big)


def test_the_blocking_reader_takes_frames_however_they_arrive() -> None:
    """One read may hold several frames, part of one, or a frame larger than the reader's buffer."""
    sent: list[frames.Message] = [
        {"i": 0, "n": LONG},
        {"i": 1, "s": "x" * 40},
        {"i": 2},
        {"i": 3, "big": "y" * 5000},
        {"i": 4},
    ]
    left, right = socket.socketpair()
    with left, right:
        left.sendall(b"".join(frames.encode(m) for m in sent))
        reader = frames.FrameReader(right, size=64)  # small: frames straddle reads and the buffer's end
        assert [reader.receive() for _ in sent] == sent
        left.sendall(frames.encode({"again": True}))
        assert reader.receive() == {"again": True}
        left.close()
        with pytest.raises(frames.ChannelClosed):
            reader.receive()


def test_long_integers_are_found_in_result_text() -> None:
    assert frames.has_long_integer(b'{"n": 1234567890123456789}')
    assert not frames.has_long_integer(b'{"n": 123456789012345678, "m": 123456789012345678}')
    assert not frames.has_long_integer(b'"2026-11-29T13:00:00.123456+00:00"')


async def test_large_events_reach_the_worker_intact(invoker: Invoker, tmp_path: Path) -> None:
    fn = echo(tmp_path)
    for size in (64 * 1024, 300_001, 2_000_000):
        event = {"s": "z" * size, "n": LONG}
        assert await invoker(fn, event) == event


async def test_a_result_json_refuses_leaves_the_next_result_unharmed(invoker: Invoker, tmp_path: Path) -> None:
    """The worker writes results with one JSON encoder it keeps: a failure half-way through a result
    (a circular one, a set deep inside) must not spoil the next result, which shares objects."""
    fn = echo(
        tmp_path,
        "shared = {'k': [1, 2]}\n"
        "def handler(event, context):\n"
        "    if event['bad'] == 'circular':\n"
        "        loop = {'shared': shared}\n"
        "        loop['self'] = loop\n"
        "        return loop\n"
        "    if event['bad'] == 'set':\n"
        "        return {'shared': shared, 'deep': [{'s': {1}}]}\n"
        "    return {'a': shared, 'b': shared, 'f': 1.5, 'nan': float('inf'), 't': (1, 'x'), 1: None}\n",
    )
    for bad in ("circular", "set"):
        with pytest.raises(HandlerFailedError) as caught:
            await invoker(fn, {"bad": bad})
        assert caught.value.error_type == "Runtime.MarshalError"
        assert await invoker(fn, {"bad": ""}) == {
            "a": {"k": [1, 2]},
            "b": {"k": [1, 2]},
            "f": 1.5,
            "nan": math.inf,
            "t": [1, "x"],
            "1": None,
        }


@pytest.mark.parametrize(
    "result",
    [
        {"statusCode": 200, "body": "pong", "headers": {"content-type": "text/plain"}},
        [1, -LONG, 2.5, 1e16, -0.0, float("nan"), float("-inf"), True, None],
        {1: "a", 2.5: "b", False: "c", None: "d", "caf\u00e9": "\U0001f600 \ud800"},
        ("tuple", ["nested", {"deep": (1, 2)}]),
        "just text \u2028",
        42,
        None,
    ],
)
def test_results_are_written_as_json_dumps_writes_them(result: object) -> None:
    import json

    from sandbox.lambdas.worker import _marshal

    assert _marshal(result) == json.dumps(result)


def test_the_blocking_reader_takes_a_frame_in_one_read() -> None:
    """The worker's per-call cost: a frame that fits its buffer (an API Gateway event) is one recv."""

    class Counting:
        def __init__(self, sock: socket.socket) -> None:
            self.sock = sock
            self.reads = 0

        def recv_into(self, buffer: memoryview) -> int:
            self.reads += 1
            return self.sock.recv_into(buffer)

    left, right = socket.socketpair()
    with left, right:
        counting = Counting(right)
        reader = frames.FrameReader(counting)  # type: ignore[arg-type]
        for n in range(3):
            left.sendall(frames.encode({"n": n, "event": {"headers": {"h": "v" * 800}}}))
            assert reader.receive()["n"] == n
        assert counting.reads == 3


class _ArrivesLate:
    """A socket whose first non-blocking read finds nothing, the frame arriving just after it looked."""

    def __init__(self, sock: socket.socket, sender: socket.socket, frame: bytes) -> None:
        self.sock, self.sender, self.frame = sock, sender, frame
        self.reads: list[str] = []

    def recv_into(self, buffer: memoryview, nbytes: int = 0, flags: int = 0) -> int:
        polling = bool(flags & socket.MSG_DONTWAIT)
        if polling and self.frame:
            self.sender.sendall(self.frame)
            self.frame = b""
            self.reads.append("empty poll")
            raise BlockingIOError
        self.reads.append("poll" if polling else "blocking read")
        return self.sock.recv_into(buffer, nbytes, flags)


@pytest.mark.parametrize(
    ("poll_ns", "reads"),
    [
        pytest.param(10**10, ["empty poll", "poll"], id="arrives-while-polling"),
        pytest.param(1, ["empty poll", "blocking read"], id="arrives-after-the-poll-time"),
    ],
)
def test_a_polling_reader_takes_the_next_frame_while_polling_or_after(poll_ns: int, reads: list[str]) -> None:
    left, right = socket.socketpair()
    with left, right:
        late = _ArrivesLate(right, left, frames.encode({"call": 1}))
        reader = frames.FrameReader(late)  # type: ignore[arg-type]
        assert reader.receive(poll_ns) == {"call": 1}
        assert late.reads == reads
        left.close()
        with pytest.raises(frames.ChannelClosed):  # a closed channel ends the poll at once, as a read would
            reader.receive(poll_ns)


def test_workers_poll_for_their_next_call_after_a_short_one_when_the_sandbox_has_another_cpu() -> None:
    from sandbox.lambdas.worker import next_call_poll_ns

    assert next_call_poll_ns(2, 50_000) > 0
    assert next_call_poll_ns(1, 50_000) == 0  # alone on one CPU, polling would take it from the sandbox
    assert next_call_poll_ns(8, 5_000_000) == 0  # a 5 ms call: the wake-up is a small share of it

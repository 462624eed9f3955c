"""Messages between the sandbox and an execution environment: length-prefixed JSON frames.

Both ends of a worker's channels use this: the sandbox through `FrameBuffer` on its event loop, the
worker with blocking `send` and `FrameReader` on its main thread. Light to import: the worker pays for it.

Frames are written and read with orjson, several times faster than json for an API Gateway event.
What orjson would write differently (integers over 64 bits; dict keys that are not strings;
subclasses of str, int, dict or list; dates and dataclasses, which json refuses) is written by json
instead, and the header's top bit then tells the reader to use json too: orjson would read an
integer over 64 bits back as a float. What orjson refuses to read (NaN, a lone surrogate) json reads.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import time
from typing import Any

import orjson

HEADER = struct.Struct("!I")
MAX_FRAME = 64 * 1024 * 1024  # an event or result is at most 6 MB on Lambda; this only guards the reader
STDLIB_JSON = 1 << 31  # in the header: the body needs json's reader (see the module's docstring)
_SIZE = STDLIB_JSON - 1
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS
# An integer of 19 digits or more may be over 64 bits, which orjson would read as a float. (Digits in
# a string or a float's fraction count too: they only cost the slower reader.) Found by turning every
# digit into a NUL byte, which JSON text never holds (json escapes it), and looking for a run of 19:
# ten times faster than the regular expression \d{19}, which took 25 us on a 2 KB result.
_DIGITS_TO_NUL = bytes.maketrans(b"0123456789", bytes(10))
_LONG_RUN = bytes(19)
READ_SIZE = 64 * 1024  # a blocking reader's buffer: an API Gateway event arrives in one read

Message = dict[str, Any]


class ChannelClosed(EOFError):
    """The other end went away (the worker exited, or the sandbox did)."""


def _refuse(value: object) -> None:
    raise TypeError  # not JSON as orjson writes it: json decides, as it did before orjson


def _dumps(message: Message) -> tuple[bytes, bool]:
    """The message's JSON, and whether json (not orjson) wrote it."""
    try:
        return orjson.dumps(message, default=_refuse, option=_ORJSON_OPTIONS), False
    except TypeError:  # json writes it (or refuses it) exactly as before
        return json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode(), True


def encode(message: Message) -> bytes:
    payload, stdlib = _dumps(message)
    return _header(len(payload), stdlib) + payload


def encode_with_text(message: Message, key: str, text: str) -> bytes:
    """`message` with `key` set to `text`, JSON that json.dumps wrote (the worker's result): spliced
    in rather than decoded and encoded again."""
    head, stdlib = _dumps(message)
    body = text.encode()
    payload = b"".join((head[:-1], b',"', key.encode(), b'":', body, b"}"))
    return _header(len(payload), stdlib or has_long_integer(body)) + payload


def has_long_integer(text: bytes) -> bool:
    """Whether JSON text may hold an integer over 64 bits (a run of 19 digits or more)."""
    return len(text) >= 19 and _LONG_RUN in text.translate(_DIGITS_TO_NUL)


def _header(size: int, stdlib: bool) -> bytes:
    # A size too large for the header's 31 bits is written as the largest, which every reader refuses
    # (over MAX_FRAME), rather than wrapped into a smaller size or the flag.
    return HEADER.pack(min(size, _SIZE) | (STDLIB_JSON if stdlib else 0))


def decode(payload: bytes | bytearray | memoryview, stdlib: bool) -> Message:
    if not stdlib:
        try:
            fast: Message = orjson.loads(payload)
            return fast
        except orjson.JSONDecodeError:
            pass  # NaN or a lone surrogate, as json.dumps writes them in a handler's result: json reads them
    decoded: Message = json.loads(bytes(payload) if isinstance(payload, memoryview) else payload)
    return decoded


def send(sock: socket.socket, message: Message) -> None:
    sock.sendall(encode(message))


def _read_exactly(sock: socket.socket, size: int) -> bytes:
    chunks: list[bytes] = []
    while size:
        chunk = sock.recv(min(size, 1 << 20))
        if not chunk:
            raise ChannelClosed("the channel was closed")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


class FrameReader:
    """Blocking reads of whole frames from a socket: one `recv` for a frame that fits the buffer (the
    header and body together), decoded where it landed."""

    def __init__(self, sock: socket.socket, size: int = READ_SIZE) -> None:
        self._sock = sock
        self._buffer = bytearray(size)
        self._view = memoryview(self._buffer)
        self._start = 0  # the unread bytes are _buffer[_start:_end]
        self._end = 0

    def receive(self, poll_ns: int = 0) -> Message:
        """The next frame; `poll_ns`: how long to keep asking for it without blocking before blocking."""
        while True:
            available = self._end - self._start
            if available >= HEADER.size:
                (header,) = HEADER.unpack_from(self._buffer, self._start)
                size = header & _SIZE
                if size > MAX_FRAME:
                    raise ChannelClosed(f"frame of {size} bytes exceeds the channel's limit")
                if available >= HEADER.size + size:
                    body = self._start + HEADER.size
                    self._start = body + size
                    return decode(self._view[body : self._start], bool(header & STDLIB_JSON))
                if HEADER.size + size > len(self._buffer):
                    return self._receive_large(header, size)
            self._fill(poll_ns)

    def _fill(self, poll_ns: int) -> None:
        if self._start == self._end:
            self._start = self._end = 0
        elif self._end == len(self._buffer):  # a partial frame at the end: move it to the front
            left = self._end - self._start
            self._buffer[:left] = self._buffer[self._start : self._end]
            self._start, self._end = 0, left
        count = self._poll(poll_ns) if poll_ns else None
        if count is None:
            count = self._sock.recv_into(self._view[self._end :])
        if not count:
            raise ChannelClosed("the channel was closed")
        self._end += count

    def _poll(self, poll_ns: int) -> int | None:
        """Read without blocking until the poll time is up: the bytes read, or None if none came.
        Yields the CPU between tries, so anything else runnable on it runs first."""
        deadline = time.perf_counter_ns() + poll_ns
        while True:
            try:
                return self._sock.recv_into(self._view[self._end :], 0, socket.MSG_DONTWAIT)
            except BlockingIOError:
                if time.perf_counter_ns() > deadline:
                    return None
                os.sched_yield()

    def _receive_large(self, header: int, size: int) -> Message:
        """A frame larger than the buffer (a multi-megabyte event): read into a buffer of its own."""
        have = bytes(self._view[self._start + HEADER.size : self._end])
        self._start = self._end = 0
        body = have + _read_exactly(self._sock, size - len(have))
        return decode(body, bool(header & STDLIB_JSON))


class FrameBuffer:
    """Incremental decoding for a non-blocking reader: feed bytes, get the complete messages."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes | memoryview) -> list[Message]:
        """`data` is only read during the call (the caller may reuse its memory afterwards)."""
        buffer = self._buffer
        if not buffer and len(data) >= HEADER.size:
            # The usual case: one whole frame per read, decoded from `data` without copying it.
            (header,) = HEADER.unpack_from(data)
            size = header & _SIZE
            if len(data) == HEADER.size + size and size <= MAX_FRAME:
                return [decode(memoryview(data)[HEADER.size :], bool(header & STDLIB_JSON))]
        buffer += data
        messages: list[Message] = []
        offset = 0
        end = len(buffer)
        while end - offset >= HEADER.size:
            (header,) = HEADER.unpack_from(buffer, offset)
            size = header & _SIZE
            if size > MAX_FRAME:
                raise ChannelClosed(f"frame of {size} bytes exceeds the channel's limit")
            if end - offset - HEADER.size < size:
                break
            start = offset + HEADER.size
            messages.append(decode(buffer[start : start + size], bool(header & STDLIB_JSON)))
            offset = start + size
        if offset:
            del buffer[:offset]
        return messages

"""Messages between the sandbox and an execution environment: length-prefixed JSON frames.

Both ends of a worker's channels use this: the sandbox through `FrameBuffer` on its event loop, the
worker with blocking `send`/`receive` on its main thread. Light to import: the worker pays for it.
"""

from __future__ import annotations

import json
import socket
import struct
from typing import Any, BinaryIO

HEADER = struct.Struct("!I")
MAX_FRAME = 64 * 1024 * 1024  # an event or result is at most 6 MB on Lambda; this only guards the reader

Message = dict[str, Any]


class ChannelClosed(EOFError):
    """The other end went away (the worker exited, or the sandbox did)."""


def encode(message: Message) -> bytes:
    payload = json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode()
    return HEADER.pack(len(payload)) + payload


def send(sock: socket.socket, message: Message) -> None:
    sock.sendall(encode(message))


def receive(source: socket.socket | BinaryIO) -> Message:
    """The next message from a socket, or from a buffered reader over one (one read call per frame)."""
    (size,) = HEADER.unpack(_read_exactly(source, HEADER.size))
    if size > MAX_FRAME:
        raise ChannelClosed(f"frame of {size} bytes exceeds the channel's limit")
    decoded: Message = json.loads(_read_exactly(source, size))
    return decoded


def _read_exactly(source: socket.socket | BinaryIO, size: int) -> bytes:
    read = source.recv if isinstance(source, socket.socket) else source.read
    chunks: list[bytes] = []
    while size:
        chunk = read(min(size, 1 << 20))
        if not chunk:
            raise ChannelClosed("the channel was closed")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


class FrameBuffer:
    """Incremental decoding for a non-blocking reader: feed bytes, get the complete messages."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Message]:
        buffer = self._buffer
        buffer += data
        messages: list[Message] = []
        offset = 0
        end = len(buffer)
        while end - offset >= HEADER.size:
            (size,) = HEADER.unpack_from(buffer, offset)
            if size > MAX_FRAME:
                raise ChannelClosed(f"frame of {size} bytes exceeds the channel's limit")
            if end - offset - HEADER.size < size:
                break
            start = offset + HEADER.size
            messages.append(json.loads(buffer[start : start + size]))
            offset = start + size
        if offset:
            del buffer[:offset]
        return messages

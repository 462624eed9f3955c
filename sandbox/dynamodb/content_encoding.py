"""Compressed DynamoDB requests: a body sent with `Content-Encoding: gzip` or `deflate` is decompressed
here, whole and checked, before any of it is run.

The shared HTTP connection hands bodies over as they came (the http port must, as API Gateway passes a
compressed body on untouched), and aiohttp's own decompression accepts a gzip stream cut short. A
stream that ends early, carries bytes after its end, or names an encoding DynamoDB does not take is
refused with a 400 (DynamoDB answers these with a 500, which says "retry" to a client whose request
will never work), and a body past the size limit once decompressed with a 413: nothing is written.
"""

from __future__ import annotations

import zlib

from sandbox.http1 import BodyRefused

# zlib's window bits: a gzip stream, a zlib stream (HTTP's "deflate"), and the raw deflate some clients send.
GZIP, ZLIB, RAW_DEFLATE = 16 + zlib.MAX_WBITS, zlib.MAX_WBITS, -zlib.MAX_WBITS
ENCODINGS = ("gzip", "deflate")


def decoded(body: bytes, content_encoding: str | None, limit: int) -> bytes:
    """The body with its content codings undone (the last applied is named last), at most `limit` bytes."""
    if not content_encoding:  # nearly every request: nothing to do
        return body
    codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
    for coding in reversed(codings):
        if coding == "identity":
            continue
        if coding not in ENCODINGS:
            raise _refused(f"Content-Encoding {coding!r} is not supported: send gzip, deflate or no encoding")
        body = _inflate(body, coding, limit)
    return body


def _inflate(data: bytes, coding: str, limit: int) -> bytes:
    if not data:
        raise _refused(f"the body is empty, which is not {coding} data")
    if coding == "gzip":
        return _stream(data, GZIP, coding, limit)
    try:
        return _stream(data, ZLIB, coding, limit)
    except BodyRefused as refusal:
        if refusal.status != 400:
            raise
        return _stream(data, RAW_DEFLATE, coding, limit)  # no zlib header: a raw deflate stream


def _stream(data: bytes, wbits: int, coding: str, limit: int) -> bytes:
    """One zlib or deflate stream, or one gzip file of any number of members (the gzip format allows
    members one after another, and they are read as one stream)."""
    out = b""
    while True:
        inflater = zlib.decompressobj(wbits)
        try:
            out += inflater.decompress(data, limit + 1 - len(out))  # bounded: a small body may inflate without end
        except zlib.error as error:
            if out:  # what follows a complete gzip member is not another one
                raise _refused(f"the body has {len(data)} bytes after the end of its {coding} data") from None
            raise _refused(f"the body is not valid {coding} data ({error})") from None
        if len(out) > limit:
            raise BodyRefused(
                413, "RequestEntityTooLarge", f"Request Entity Too Large: over {limit:,} bytes once decompressed"
            )
        if not inflater.eof:
            raise _refused(f"the body's {coding} data ends early")
        data = inflater.unused_data
        if not data:
            return out
        if wbits != GZIP:
            raise _refused(f"the body has {len(data)} bytes after the end of its {coding} data")


def _refused(why: str) -> BodyRefused:
    return BodyRefused(400, "SerializationException", f"The request body could not be read: {why}")

"""Livereload: HTML responses get a script that reloads the tab when the sandbox says "reload"."""

from __future__ import annotations

import contextlib
import gzip
import weakref
import zlib
from collections.abc import Callable

from aiohttp import WSCloseCode, web

LIVERELOAD_PATH = "/_arc/livereload"
_SCRIPT = (
    "<script>(()=>{{const c=()=>{{const s=new WebSocket(`ws://${{location.hostname}}:{port}" + LIVERELOAD_PATH + "`);"
    "s.onmessage=e=>{{if(e.data==='reload')location.reload()}};s.onclose=()=>setTimeout(c,1000)}};c()}})();</script>"
)


def inject_script(body: bytes, *, content_encoding: str | None, port: int) -> bytes:
    """The body with the livereload script before </head> (or </body>, or at the end)."""
    encoding = (content_encoding or "").strip().lower()
    codec = _CODECS.get(encoding)
    if encoding and codec is None:
        return body  # an encoding we can't rewrite (br without brotli): leave the page as it is
    try:
        text = codec[0](body) if codec else body
    except (OSError, zlib.error):
        return body
    script = _SCRIPT.format(port=port).encode()
    for marker in (b"</head>", b"</body>"):
        at = text.lower().rfind(marker)
        if at != -1:
            text = text[:at] + script + text[at:]
            break
    else:
        text += script
    return codec[1](text) if codec else text


Codec = tuple[Callable[[bytes], bytes], Callable[[bytes], bytes]]
_CODECS: dict[str, Codec] = {
    "gzip": (gzip.decompress, gzip.compress),
    "deflate": (zlib.decompress, zlib.compress),
}


class LiveReload:
    """The browser tabs listening on LIVERELOAD_PATH (on the internal port)."""

    def __init__(self) -> None:
        self._sockets: weakref.WeakSet[web.WebSocketResponse] = weakref.WeakSet()

    def routes(self) -> list[web.RouteDef]:
        return [web.get(LIVERELOAD_PATH, self._connect)]

    async def _connect(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=30)
        await ws.prepare(request)
        self._sockets.add(ws)
        try:
            async for _ in ws:
                pass  # tabs only listen
        finally:
            self._sockets.discard(ws)
        return ws

    async def broadcast(self, message: str = "reload") -> int:
        told = 0
        for ws in list(self._sockets):
            if ws.closed:
                continue
            with contextlib.suppress(ConnectionError, RuntimeError):
                await ws.send_str(message)
                told += 1
        return told

    async def close(self) -> None:
        for ws in list(self._sockets):
            with contextlib.suppress(ConnectionError, RuntimeError):
                await ws.close(code=WSCloseCode.GOING_AWAY, message=b"sandbox stopped")
        self._sockets = weakref.WeakSet()

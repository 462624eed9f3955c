"""Livereload: the script injected into HTML, and the socket that tells tabs to reload."""

from __future__ import annotations

import gzip

import aiohttp
from aiohttp import web

from sandbox.apigateway.livereload import LIVERELOAD_PATH, LiveReload, inject_script


def test_livereload_injects_before_head_end() -> None:
    out = inject_script(b"<html><head><title>x</title></head><body></body></html>", content_encoding=None, port=2222)
    head_end = out.index(b"</head>")
    assert b":2222" + LIVERELOAD_PATH.encode() in out[:head_end]


def test_livereload_handles_gzip_and_pages_without_head() -> None:
    body = gzip.compress(b"<p>no head</p>")
    out = gzip.decompress(inject_script(body, content_encoding="gzip", port=1))
    assert out.startswith(b"<p>no head</p><script>")
    assert inject_script(b"data", content_encoding="br", port=1) == b"data"  # can't rewrite: left alone


async def test_livereload_tells_connected_tabs(unused_tcp_port: int) -> None:
    live = LiveReload()
    app = web.Application()
    app.add_routes(live.routes())
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", unused_tcp_port).start()
    try:
        url = f"http://127.0.0.1:{unused_tcp_port}{LIVERELOAD_PATH}"
        async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
            told = 0
            while told == 0:  # the server registers the socket just after the handshake
                told = await live.broadcast()
                if told == 0:
                    await ws.send_str("hello")  # a round trip, so registration has happened
            message = await ws.receive(timeout=5)
            assert message.data == "reload"
        await live.close()
    finally:
        await runner.cleanup()

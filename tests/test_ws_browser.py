"""@ws from a real browser page: headless Chromium's WebSocket against the sandbox's http port."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sandbox.config import SandboxConfig
from sandbox.sandbox import Sandbox

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
playwright_api = pytest.importorskip(
    "playwright.async_api", reason="Playwright is not installed (pip install playwright)"
)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (Debian package `chromium`)")

APP = "@app\nws-browser\n\n@ws\n"
HANDLERS = {
    "connect": (  # chooses the subprotocol the page asks for: Chromium refuses a connection without it
        "def handler(event, context):\n"
        "    asked = event['headers'].get('Sec-WebSocket-Protocol')\n"
        "    headers = {'Sec-WebSocket-Protocol': asked.split(',')[0].strip()} if asked else {}\n"
        "    return {'statusCode': 200, 'headers': headers}\n"
    ),
    "disconnect": "def handler(event, context):\n    return None\n",
    "default": (
        "import json\nfrom sandbox import arc\n\n"
        "def handler(event, context):\n"
        "    arc.ws.send(event['requestContext']['connectionId'], {'shout': event['body'].upper()})\n"
        "    return {'statusCode': 200}\n"
    ),
}
PAGE = """<!doctype html><script>
  window.answers = [];
  const socket = new WebSocket("ws://127.0.0.1:%d/", ["chat.v2"]);
  socket.onopen = () => { window.protocol = socket.protocol; socket.send("hello from the page"); };
  socket.onmessage = (message) => window.answers.push(JSON.parse(message.data));
</script>"""


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[Sandbox]:
    app = tmp_path / "app"
    for name, source in HANDLERS.items():
        (app / "src" / "ws" / name).mkdir(parents=True)
        (app / "src" / "ws" / name / "lambda.py").write_text(source)
    (app / "app.arc").write_text(APP)
    async with Sandbox(SandboxConfig.ephemeral(app)) as sb:
        yield sb


@pytest.mark.timeout(60)
async def test_ws_browser_page_round_trip(sandbox: Sandbox) -> None:
    async with playwright_api.async_playwright() as driver:
        browser = await driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = await browser.new_page()
            await page.set_content(PAGE % sandbox.ports["http"])
            await page.wait_for_function("window.answers.length > 0", timeout=20_000)
            assert await page.evaluate("window.answers") == [{"shout": "HELLO FROM THE PAGE"}]
            assert await page.evaluate("window.protocol") == "chat.v2"
        finally:
            await browser.close()

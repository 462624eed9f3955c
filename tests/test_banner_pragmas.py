"""What the start banner says about #12's pragmas: the @ws routes served, and the pragmas only parsed."""

from __future__ import annotations

from pathlib import Path

import click

from sandbox.config import SandboxConfig
from sandbox.console import banner
from sandbox.sandbox import Sandbox

APP = "@app\nbanner-app\n\n@ws\nchat\n\n@create\nautocreate true\n\n@plugins\nmy-plugin\n"


async def test_banner_lists_ws_routes_and_warns_of_pragmas_not_emulated(tmp_path: Path) -> None:
    app = tmp_path / "app"
    for name in ("connect", "default", "disconnect", "chat"):
        (app / "src" / "ws" / name).mkdir(parents=True)
        (app / "src" / "ws" / name / "lambda.py").write_text("def handler(event, context):\n    return None\n")
    (app / "app.arc").write_text(APP)
    async with Sandbox(SandboxConfig.ephemeral(app, watch=False)) as sandbox:
        lines = click.unstyle(banner(sandbox, verbose=False)).splitlines()
    assert "  @ws         connect, default, disconnect, chat" in lines
    assert "  ⚠ @create is parsed but not emulated yet (`arc-sandbox init` writes missing handlers)" in lines
    assert "  ⚠ @plugins is parsed but not emulated yet" in lines

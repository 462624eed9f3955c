"""`sandbox-seed.json` fills the tables at start when ARC_ENV is `testing`, as Architect's sandbox does;
in any other environment it is left alone, and the log says so."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from sandbox import Sandbox, SandboxConfig

APP = "@app\nseeded\n\n@tables\nthings\n  id *String\n"


def seeded_app(tmp_path: Path) -> Path:
    (tmp_path / "app.arc").write_text(APP)
    (tmp_path / "sandbox-seed.json").write_text(json.dumps({"things": [{"id": "a", "n": 1}]}))
    return tmp_path


async def test_seed_data_fills_the_tables_in_testing(tmp_path: Path) -> None:
    async with Sandbox(SandboxConfig.ephemeral(seeded_app(tmp_path), watch=False, arc_env="testing")) as sandbox:
        got = await sandbox.store.call(
            "GetItem", {"TableName": sandbox.store.physical_name("things"), "Key": {"id": {"S": "a"}}}
        )
    assert got["Item"] == {"id": {"S": "a"}, "n": {"N": "1"}}


async def test_seed_data_is_left_alone_outside_testing_and_the_log_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="arc_sandbox")
    async with Sandbox(SandboxConfig.ephemeral(seeded_app(tmp_path), watch=False, arc_env="staging")) as sandbox:
        got = await sandbox.store.call("Scan", {"TableName": sandbox.store.physical_name("things")})
    assert got["Items"] == []
    said = [r.getMessage() for r in caplog.records if "sandbox-seed.json" in r.getMessage()]
    assert said == ["Seed data sandbox-seed.json not loaded: ARC_ENV is staging, seeding is for testing"]

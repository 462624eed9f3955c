"""The example app deploys with Architect's own tooling unchanged: `arc deploy --dry-run` (npm package
@architect/architect) writes a CloudFormation template for it, and cfn-lint finds no error in it.

Needs node and npm and the npm registry; skipped, saying which is missing, otherwise. The package is
installed once into ARC_SANDBOX_NPM_CACHE (default ~/.cache/arc-sandbox/architect). The dry run
reads the app's environment variables from SSM, which moto's server answers here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.moto_server import moto_server

ROOT = Path(__file__).resolve().parent.parent
ARCHITECT = "@architect/architect"


def architect_bin() -> Path:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are needed to run Architect's `arc deploy --dry-run`")
    cache = Path(os.environ.get("ARC_SANDBOX_NPM_CACHE") or Path.home() / ".cache" / "arc-sandbox" / "architect")
    arc = cache / "node_modules" / ".bin" / "arc"
    if not arc.exists():
        cache.mkdir(parents=True, exist_ok=True)
        npm = ["npm", "install", "--prefix", str(cache), "--no-audit", "--no-fund", "--loglevel=error", ARCHITECT]
        done = subprocess.run(npm, check=False, capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            pytest.skip(f"npm could not install {ARCHITECT}: {done.stderr.strip()[-300:]}")
    return arc


@pytest.fixture
def moto_endpoint() -> Iterator[str]:
    with moto_server() as endpoint:
        yield endpoint


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_example_app_dry_run_deploy_gives_a_template_cfn_lint_accepts(tmp_path: Path, moto_endpoint: str) -> None:
    arc = architect_bin()
    app = shutil.copytree(ROOT / "example-app", tmp_path / "app", ignore=shutil.ignore_patterns(".sandbox"))
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "AWS_REGION": "us-west-2",
        "AWS_ACCESS_KEY_ID": "dry-run",
        "AWS_SECRET_ACCESS_KEY": "dry-run",
        "AWS_ENDPOINT_URL": moto_endpoint,
    }
    # --no-hydrate: the template does not depend on installing each function's dependencies.
    deploy = [str(arc), "deploy", "--dry-run", "--no-hydrate"]
    done = subprocess.run(deploy, cwd=app, env=env, check=False, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    template: dict[str, Any] = json.loads((app / "sam.json").read_text())
    check_template(template)
    lint = [sys.executable, "-m", "cfnlint", "--format", "parseable", str(app / "sam.json")]
    linted = subprocess.run(lint, check=False, capture_output=True, text=True, timeout=300)
    errors = [line for line in linted.stdout.splitlines() if ":E" in line]
    assert linted.returncode & 2 == 0 and errors == [], linted.stdout + linted.stderr  # 2: errors; 4, 8: warnings


def check_template(template: dict[str, Any]) -> None:
    """The functions run Python, and the names discovery serves locally are the ones deployed."""
    resources = template["Resources"]
    lambdas = {k: v["Properties"] for k, v in resources.items() if v["Type"] == "AWS::Serverless::Function"}
    assert {p["Runtime"] for p in lambdas.values()} == {"python3.12"}
    assert {p["Handler"] for p in lambdas.values()} == {"lambda.handler"}
    assert resources["BackgroundTaskEventTopic"]["Type"] == "AWS::SNS::Topic"
    assert "FifoQueue" not in resources["TaskProgressQueue"]["Properties"]  # config.arc `@aws fifo false`
    served = set()
    for resource in resources.values():
        if resource["Type"] == "AWS::SSM::Parameter":
            path, names = resource["Properties"]["Name"]["Fn::Sub"]
            for key, value in {"AWS::StackName": "Stack", **names}.items():
                path = path.replace("${" + key + "}", value)
            served.add(path)
    # what the sandbox's discovery serves under /<Stack>/ too
    assert {"/Stack/tables/tasks", "/Stack/events/background-task", "/Stack/queues/task-progress"} <= served

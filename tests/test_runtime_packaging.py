"""The runtime client installs alone: `pip install --no-deps arc-sandbox` in a venv with only boto3, as
a function deployed to Lambda has it, imports `sandbox.arc` without the sandbox's server dependencies,
pytest there still starts (the package's pytest plugin loads the server only for its fixtures), and the
`arc-sandbox` command says what is missing. A plain install declares the whole sandbox's dependencies."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SERVER_ONLY = ("aiohttp", "aiosqlite", "click", "watchfiles", "croniter", "dotenv")
CHECK = f"""
import importlib.util, os, sys
for variable in ("ARC_SANDBOX", "ARC_ENV"):
    os.environ.pop(variable, None)
import boto3
from sandbox import arc
from sandbox.arc import _backends
installed = [m for m in {SERVER_ONLY!r} if importlib.util.find_spec(m) is not None]
assert installed == [], installed
assert type(_backends.backend()).__name__ == "Aws", _backends.backend()
assert callable(arc.events.publish) and callable(arc.ws.send) and callable(arc.tables)
print("runtime ok")
"""
METADATA = """
import re
from importlib.metadata import requires
plain = [r for r in requires("arc-sandbox") or [] if "extra ==" not in r]
print(" ".join(re.split(r"[<>=!~;\\[ ]", r)[0] for r in plain))
"""


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_sandbox_arc_installs_without_the_server_dependencies(tmp_path: Path) -> None:
    source = tmp_path / "source"  # a copy: building in place would leave build/ in the checkout
    shutil.copytree(ROOT / "sandbox", source / "sandbox", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    wheels = tmp_path / "wheels"
    build = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(wheels), str(source)]
    built = subprocess.run(build, check=False, capture_output=True, text=True)
    if built.returncode != 0 and "Could not find a version that satisfies" in built.stderr:
        pytest.skip(f"setuptools could not be installed from the package index: {built.stderr.strip()[-300:]}")
    assert built.returncode == 0, built.stderr
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    [wheel] = wheels.glob("arc_sandbox-*.whl")
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    boto3 = subprocess.run([*pip, "boto3", "pytest"], check=False, capture_output=True, text=True)
    if boto3.returncode != 0:
        pytest.skip(f"boto3 could not be installed from the package index: {boto3.stderr.strip()[-300:]}")
    subprocess.run([*pip, "--no-deps", str(wheel)], check=True, capture_output=True)
    python = str(venv / "bin" / "python")
    done = subprocess.run([python, "-c", CHECK], check=False, capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "runtime ok"
    # pytest loads the package's plugin (entry point pytest11) without the server's modules
    (tmp_path / "test_nothing.py").write_text("def test_nothing():\n    pass\n")
    tested = subprocess.run([python, "-m", "pytest", "-q", "test_nothing.py"], check=False, capture_output=True,
                            text=True, cwd=tmp_path)  # fmt: skip
    assert tested.returncode == 0, tested.stdout + tested.stderr
    arc_sandbox = [str(venv / "bin" / "arc-sandbox"), "start"]
    command = subprocess.run(arc_sandbox, check=False, capture_output=True, text=True, timeout=120)
    assert command.returncode == 1
    assert "pip install arc-sandbox (without --no-deps)" in command.stderr
    # ...and a plain install brings everything `arc-sandbox start` needs
    metadata = subprocess.run([python, "-c", METADATA], check=False, capture_output=True, text=True, cwd=tmp_path)
    assert metadata.returncode == 0, metadata.stderr
    assert set(metadata.stdout.split()) >= {"aiohttp", "aiosqlite", "click", "watchfiles", "croniter", "orjson"}

"""The README's testing example, copied as written into a new project beside the example app and run
by pytest in a subprocess, passes with no warnings."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SECTION = "## Testing your app without AWS"


def readme_snippets() -> tuple[str, str]:
    """The section's pyproject.toml and test file, exactly as a reader would copy them."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index(SECTION) :]
    section = section[: section.index("\n## ", len(SECTION))]
    toml = re.search(r"```toml\n(.*?)```", section, re.DOTALL)
    test = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert toml is not None and test is not None, "the README's testing section lost a snippet"
    return toml.group(1), test.group(1)


@pytest.mark.timeout(180)
def test_the_readme_testing_example_passes_as_written_with_no_warnings(tmp_path: Path) -> None:
    project = Path(
        shutil.copytree(ROOT / "example-app", tmp_path / "project", ignore=shutil.ignore_patterns(".sandbox"))
    )
    pyproject, test_file = readme_snippets()
    (project / "pyproject.toml").write_text(pyproject)
    (project / "test_app.py").write_text(test_file)
    # The user's own shell: none of this test run's pytest or coverage settings.
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTEST_", "COV_", "COVERAGE_"))}
    result = subprocess.run(
        [sys.executable, "-m", "pytest"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=150,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert re.search(r"^=+ 2 passed in [\d.]+s =+$", result.stdout, re.MULTILINE), output
    assert "warning" not in output.lower(), output

"""The code style CI enforces, as a test: ``ruff check`` and ``ruff format --check`` over the repository."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]], ids=["check", "format"])
def test_ruff_is_clean(command):
    result = subprocess.run(
        [sys.executable, "-m", "ruff", *command, "."], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_the_suite_schedule_names_test_files_that_exist():
    # conftest.LONGEST_FILES orders the files pytest-xdist hands out; a renamed file would silently drop out.
    from conftest import LONGEST_FILES

    missing = [name for name in LONGEST_FILES if not (ROOT / "tests" / name).is_file()]
    assert not missing, f"conftest.LONGEST_FILES names files that do not exist: {missing}"

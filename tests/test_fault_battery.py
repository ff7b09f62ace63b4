"""The fault battery end to end (slow: about 10 minutes on 2 cores): pytest -m slow."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_fault_battery_loses_nothing():
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "fault_battery.py"), "--kills", "3", "--write-kills", "2"],
        capture_output=True,
        text=True,
        timeout=3600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "lost: nothing" in result.stdout and "fault battery: PASSED" in result.stdout

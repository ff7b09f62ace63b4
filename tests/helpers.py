"""Helpers shared by the tests that kill a training process."""

import json
import signal
import time
from pathlib import Path


def kill_after_checkpoint(proc, state_path: Path, min_step: int, timeout: float = 300, linger: float = 0.0) -> int:
    """Waits until the run's ``state.json`` records a step >= ``min_step``, then SIGKILLs ``proc``.

    Args:
        proc: the ``subprocess.Popen`` of ``train.py``.
        state_path: the run's ``backup/state.json``.
        min_step: the checkpointed step to wait for.
        timeout: seconds to wait at most.
        linger: seconds to let the process run on after that checkpoint.

    Returns:
        The step of the last checkpoint when the process died.
    """
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if json.loads(state_path.read_text())["step"] >= min_step:
                break
        except (OSError, ValueError):
            pass
        time.sleep(0.02)
    time.sleep(linger)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    return json.loads(state_path.read_text())["step"]

"""Fault injection for the fault battery and the tests: set by environment variables, off by default.

- ``KERAS_WGAN_FAULT_KILL_IN_WRITE=K``: the process kills itself (SIGKILL) in
  the middle of its K-th atomic file write, after half of the temporary file
  is on disk and before the rename; what a power cut or ``kill -9`` during a
  checkpoint does.
- ``KERAS_WGAN_FAULT_NAN_AT_STEP=N``: ``train`` injects a NaN after generator
  step N, in one of two ways (``KERAS_WGAN_FAULT_NAN_MODE``):
  ``weights`` (the default) fills the generator's first kernel, a NaN that
  stays in the weights (the losses may or may not show it, depending on the
  CPU's kernels); ``loss`` fills the critic's output bias, so that the next
  step's losses are NaN on every CPU (``keras_wgan.callbacks.InjectNaN``).

Nothing here runs unless the variables are set.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

_writes = 0


def before_rename(tmp: Path) -> None:
    """Called by ``keras_wgan.io_utils.atomic_path`` between the write and the rename."""
    global _writes
    target = os.environ.get("KERAS_WGAN_FAULT_KILL_IN_WRITE")
    if not target:
        return
    _writes += 1
    if _writes == int(target):
        size = tmp.stat().st_size if tmp.exists() else 0
        if size:
            with open(tmp, "r+b") as f:
                f.truncate(size // 2)
        os.kill(os.getpid(), signal.SIGKILL)


def nan_step() -> int | None:
    """The step after which ``train`` injects a NaN, or None."""
    value = os.environ.get("KERAS_WGAN_FAULT_NAN_AT_STEP")
    return int(value) if value else None


def nan_mode() -> str:
    """How ``train`` injects the NaN: ``weights`` (default) or ``loss``."""
    return os.environ.get("KERAS_WGAN_FAULT_NAN_MODE") or "weights"

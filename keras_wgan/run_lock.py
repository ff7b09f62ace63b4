"""One writer per run folder: an advisory lock held for the whole training run.

``RunLock(run_dir)`` takes an exclusive ``fcntl.flock`` on ``run_dir/.lock`` and
writes the holder's process id, host and start time into it. The operating
system releases the lock when the process ends in any way (``kill -9``
included), so a crashed run never blocks its own resume; a second trainer on a
folder in use is refused with the holder named.

Example:
>>> with RunLock("runs/demo"):  # doctest: +SKIP
...     train(...)
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from pathlib import Path

LOCK_FILE = ".lock"


class RunFolderInUse(RuntimeError):
    """Another live process holds the run folder's lock; the message names it."""


class RunLock:
    """Exclusive lock on a run folder for the life of one training process.

    Args:
        run_dir: the run folder (must exist).
    """

    def __init__(self, run_dir: str | os.PathLike):
        self.path = Path(run_dir) / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> None:
        """Takes the lock or raises ``RunFolderInUse`` naming the process that holds it."""
        import fcntl

        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise RunFolderInUse(f"the run folder {self.path.parent} is in use by {self.holder()}") from None
        info = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.time(), "argv": sys.argv}
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(info) + "\n").encode(), 0)
        self._fd = fd

    def holder(self) -> str:
        """The lock holder as written in the lock file, for messages."""
        try:
            info = json.loads(self.path.read_text())
            since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(info["since"]))
            return f"process {info['pid']} on {info['host']} (since {since}: {' '.join(info['argv'])[:200]})"
        except (OSError, ValueError, KeyError):
            return "another process"

    def release(self) -> None:
        """Releases the lock (the file stays; it holds no state)."""
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()

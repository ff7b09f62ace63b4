"""Atomic file writes: write beside the target, then rename over it.

A crash during the write leaves the previous file intact (``os.replace`` is
atomic on one file system), so readers never see a half-written file.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from keras_wgan import faults


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yields a temporary path beside ``path``; renames it onto ``path`` if the block succeeds.

    The temporary name keeps all of ``path``'s suffixes (Keras and NumPy choose the
    format from them, e.g. ``.weights.h5``) and is hidden (starts with a dot). The
    parent folder is created.

    Example:
    >>> with atomic_path("runs/demo/generator.keras") as tmp:  # doctest: +SKIP
    ...     generator.save(tmp)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    base, dot, suffixes = path.name.partition(".")
    tmp = path.with_name(f".{base}.tmp-{os.getpid()}{dot}{suffixes}")
    try:
        yield tmp
        faults.before_rename(tmp)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Writes ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Writes ``text`` (UTF-8) to ``path`` atomically."""
    atomic_write_bytes(path, text.encode())

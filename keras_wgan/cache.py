"""The cache folder: folder scans, dataset statistics, the digits classifier."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir(*parts: str) -> Path:
    """``$KERAS_WGAN_CACHE`` (default ``~/.cache/keras_wgan``), joined with ``parts``.

    Example:
    >>> cache_dir("stats").name
    'stats'
    """
    root = Path(os.environ.get("KERAS_WGAN_CACHE", Path.home() / ".cache" / "keras_wgan"))
    return root.joinpath(*parts)

"""Reading the files the project reads without running what they hold.

- NumPy files (``.npy``, ``.npz``: fixed latents, cached statistics, MNIST's
  ``mnist.npz``) are read with ``allow_pickle=False`` (NumPy's default, stated
  here so that it stays so): an object array would be unpickled, and unpickling
  runs code. A file that holds one is refused with ``UnsafeFile``.
- ``.keras`` files (the run's models, the digits classifier) are loaded with
  Keras' ``safe_mode=True``: a ``Lambda`` layer's Python code is not
  deserialized. A file that needs it is refused with ``UnsafeFile``.

The FID Inception graph, a TensorFlow program, is checked op by op before it
runs (``keras_wgan.evaluation.inception_graph``).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from keras_wgan.errors import UnsafeFile


def _refuse(path: str | os.PathLike, what: str) -> UnsafeFile:
    return UnsafeFile(
        f"{path} holds {what}, which loading would run as code; refusing to load it (a file keras_wgan writes "
        "never does: it may have been replaced)"
    )


def load_npy(path: str | os.PathLike) -> np.ndarray:
    """The array of a ``.npy`` file, read without pickle.

    Raises:
        UnsafeFile: the file holds pickled Python objects.
    """
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as err:
        if "allow_pickle" in str(err):
            raise _refuse(path, "pickled Python objects") from None
        raise


def load_npz(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Every array of a ``.npz`` file, read without pickle.

    Raises:
        UnsafeFile: an array holds pickled Python objects.

    Example:
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "a.npz"
    >>> np.savez(f, x=np.arange(3), bad=np.array([{"a": 1}], dtype=object))
    >>> load_npz(f)
    Traceback (most recent call last):
    ...
    keras_wgan.errors.UnsafeFile: ... holds pickled Python objects (array 'bad'), ...
    """
    with np.load(path, allow_pickle=False) as archive:
        arrays = {}
        for key in archive.files:
            try:
                arrays[key] = archive[key]
            except ValueError as err:
                if "allow_pickle" in str(err):
                    raise _refuse(path, f"pickled Python objects (array {key!r})") from None
                raise
    return arrays


def load_keras(path: str | os.PathLike, compile: bool = True) -> Any:
    """A ``.keras`` file through ``keras.saving.load_model(..., safe_mode=True)``.

    Args:
        path: the file.
        compile: restore the compile state (optimizers) too.

    Raises:
        UnsafeFile: the file needs code deserialized (a ``Lambda`` layer).
    """
    import keras

    try:
        return keras.saving.load_model(path, compile=compile, safe_mode=True)
    except ValueError as err:
        if "safe_mode" in str(err):
            raise _refuse(path, "a Lambda layer's Python code") from None
        raise

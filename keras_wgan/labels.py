"""Labels of conditional models as NumPy: checked, and turned into the vectors the networks take.

A conditional model's networks take float vectors of ``num_labels`` entries:
one-hot for classes, 0/1 for attributes. ``label_vectors`` builds them from
what a user passes (a class index, one per sample, or the vectors themselves)
and says plainly what is wrong with anything else. ``balanced_classes`` is the
label sequence a grid or an evaluation uses when none is given.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def balanced_classes(n: int, num_classes: int) -> np.ndarray:
    """Class indices ``0, 1, ..., K-1, 0, 1, ...`` for ``n`` samples: every class as often as the others (±1)."""
    return np.arange(n, dtype=np.int64) % num_classes


def label_vectors(labels: Any, n: int, num_labels: int, kind: str) -> np.ndarray:
    """Float32 ``(n, num_labels)`` label vectors from what a user passes.

    Args:
        labels: None (classes in turn; refused for attributes), one class index,
            ``n`` class indices, or ``(n, num_labels)`` vectors (attributes: 0/1).
        n: the number of samples.
        num_labels: the classes or attributes the model has.
        kind: ``classes`` or ``attributes``.

    Returns:
        The vectors.

    Raises:
        ValueError: labels of the wrong shape, out of range, or missing for attributes.

    Example:
    >>> label_vectors(2, 2, 3, "classes")
    array([[0., 0., 1.],
           [0., 0., 1.]], dtype=float32)
    """
    if labels is None:
        if kind == "attributes":
            raise ValueError(
                f"An attribute model generates for given attributes: pass labels= as (n, {num_labels}) 0/1 vectors."
            )
        labels = balanced_classes(n, num_labels)
    array = np.asarray(labels)
    if array.ndim == 2 and array.shape == (n, num_labels):
        if kind == "attributes" and not np.isin(array, (0, 1)).all():
            raise ValueError("Attribute vectors hold 0 or 1 for each attribute.")
        return array.astype(np.float32)
    if kind == "attributes":
        raise ValueError(f"An attribute model takes ({n}, {num_labels}) vectors of 0/1; got shape {array.shape}.")
    if array.ndim == 0:
        array = np.full((n,), array)
    if array.ndim != 1 or len(array) != n:
        raise ValueError(f"Pass one class index, {n} class indices or ({n}, {num_labels}) vectors; got {array.shape}.")
    if not np.issubdtype(array.dtype, np.integer):
        if not np.all(np.equal(np.mod(array, 1), 0)):
            raise ValueError(f"Class indices are integers; got {array.dtype} values such as {array.ravel()[:3]}.")
        array = array.astype(np.int64)
    bad = array[(array < 0) | (array >= num_labels)]
    if bad.size:
        raise ValueError(f"Class indices run from 0 to {num_labels - 1}; got {int(bad[0])}.")
    return np.eye(num_labels, dtype=np.float32)[array]


def grid_rows(num_labels: int, kind: str, names: list[str] | None = None) -> tuple[np.ndarray, list[str]]:
    """The label vector of each row of a conditional sample grid, and the row's name.

    Classes: one row per class. Attributes: every combination when there are
    at most three (2, 4 or 8 rows), else none, each one alone, and all of them.

    Args:
        num_labels: classes or attributes.
        kind: ``classes`` or ``attributes``.
        names: the labels' names (default: their indices).

    Returns:
        ``(float32 (rows, num_labels) vectors, row names)``.

    Example:
    >>> grid_rows(2, "attributes", ["Male", "Smiling"])[1]
    ['none', 'Male', 'Smiling', 'Male+Smiling']
    """
    names = names or [str(i) for i in range(num_labels)]
    if kind == "classes":
        return np.eye(num_labels, dtype=np.float32), list(names)
    if num_labels <= 3:
        rows = np.array([[(i >> k) & 1 for k in range(num_labels)] for i in range(2**num_labels)], np.float32)
    else:
        rows = np.concatenate([np.zeros((1, num_labels)), np.eye(num_labels), np.ones((1, num_labels))])
        rows = rows.astype(np.float32)
    titles = ["+".join(n for n, on in zip(names, row, strict=True) if on) or "none" for row in rows]
    titles[-1] = "all" if num_labels > 3 else titles[-1]
    return rows, titles


def sample_vectors(num_labels: int, kind: str, n: int, seed: int = 0) -> np.ndarray:
    """``n`` label vectors where statistics need some: classes in turn, or each attribute on with probability 1/2."""
    if kind == "classes":
        return np.eye(num_labels, dtype=np.float32)[balanced_classes(n, num_labels)]
    return (np.random.default_rng(seed).random((n, num_labels)) < 0.5).astype(np.float32)

"""The exact optimal-transport cost between two uniform empirical sets (POT's network simplex).

POT (Python Optimal Transport) looks for TensorFlow, JAX, PyTorch and CuPy when
it is imported, to offer them as array backends; none is needed for NumPy
arrays, so they are switched off for its import here (a process that imported
them already keeps them, and an environment variable set beforehand wins).
"""

from __future__ import annotations

import os

import numpy as np

_BACKENDS_OFF = {f"POT_BACKEND_DISABLE_{name}": "1" for name in ("TENSORFLOW", "JAX", "PYTORCH", "CUPY")}


def exact_transport_cost(cost: np.ndarray) -> float:
    """The optimal transport cost between two sets of equal size and uniform weights: the mean matched cost.

    Args:
        cost: ``(n, n)`` ground costs between the sets' points.

    Returns:
        ``min over permutations p of mean_i cost[i, p(i)]`` (exact).

    Example:
    >>> exact_transport_cost(np.array([[1.0, 5.0], [5.0, 2.0]]))  # (1 + 2) / 2
    1.5
    """
    for key, value in _BACKENDS_OFF.items():
        os.environ.setdefault(key, value)
    import ot

    cost = np.ascontiguousarray(cost, dtype=np.float64)
    n, m = cost.shape
    if n != m:
        raise ValueError(f"exact_transport_cost needs a square cost matrix. Received {cost.shape}")
    weights = np.full(n, 1.0 / n)
    return float(ot.emd2(weights, weights, cost, numItermax=max(100_000, 500 * n * n)))

"""The backend-specific operations on Keras' JAX backend (see ``keras_wgan.backend``).

A JAX step sees the global batch: ``keras.distribution.DataParallel`` shards one
array over the devices and the jitted step is one program over all of it, so
global means are plain means and no per-replica scaling is needed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import keras
import numpy as np


def input_gradient(fn: Callable[[Any], Any], x: Any) -> Any:
    """The gradient of the scalar ``fn(x)`` with respect to ``x`` (``jax.grad``; an outer
    ``jax.grad`` differentiates through it: double back-propagation).

    Args:
        fn: function of ``x`` returning a scalar.
        x: the point; a float32 array.

    Returns:
        An array shaped like ``x``.
    """
    return jax.grad(fn)(x)


def gradients(fn: Callable[[], Any], variables: Sequence[keras.Variable]) -> list[Any]:
    """The gradients of the scalar ``fn()`` with respect to ``variables``, at their current values.

    ``jax.grad`` of ``fn`` with the variables bound to the arrays being
    differentiated (``keras.StatelessScope``), so nothing ``fn`` assigns
    (random-number state, batch-norm statistics) reaches the variables.

    Args:
        fn: function of no arguments returning a scalar; reads ``variables``.
        variables: the variables to differentiate with respect to.

    Returns:
        One gradient per variable.
    """
    variables = list(variables)

    def bound(values: list[Any]) -> Any:
        with keras.StatelessScope(state_mapping=list(zip(variables, values, strict=True))):
            return fn()

    return list(jax.grad(bound)([v.value for v in variables]))


def global_mean(x: Any) -> Any:
    """The float32 mean of ``x`` over the global batch (a plain mean: the step sees the whole batch)."""
    return keras.ops.mean(keras.ops.cast(x, "float32"))


def replica_scale() -> float:
    """1: the step's losses are already means over the global batch."""
    return 1.0


def graph_function(fn: Callable[..., Any], reduce_retracing: bool = False) -> Callable[..., Any]:
    """``fn`` itself: a function that assigns variables runs eagerly on JAX (``jax.grad`` inside it too)."""
    return fn


def finite_flags_fn(variables: Sequence[keras.Variable]) -> Callable[[], np.ndarray]:
    """A jitted check, one flag per variable, of whether all its values are finite.

    Args:
        variables: floating-point variables.

    Returns:
        A function of no arguments returning a NumPy bool array.
    """
    variables = list(variables)
    if not variables:
        return lambda: np.zeros((0,), dtype=bool)
    compiled = jax.jit(lambda values: keras.ops.stack([keras.ops.all(keras.ops.isfinite(v)) for v in values]))
    return lambda: np.asarray(compiled([v.value for v in variables]))

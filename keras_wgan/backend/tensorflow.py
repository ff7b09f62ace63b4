"""The backend-specific operations on Keras' TensorFlow backend (see ``keras_wgan.backend``).

Also the per-replica arithmetic of ``tf.distribute`` that a training step
needs (the strategies themselves, roles and input sharding are in
``keras_wgan.distribute``): under a strategy with several replicas each
replica holds ``1 / replicas`` of the global batch, its batch means are
scaled by ``1 / replicas`` before the gradients are summed, and global
statistics are all-reduced.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from keras_wgan.errors import ConfigError


def input_gradient(fn: Callable[[Any], Any], x: Any) -> Any:
    """The gradient of the scalar ``fn(x)`` with respect to ``x``, itself differentiable.

    A nested ``tf.GradientTape``: an outer tape that is recording sees through
    it (double back-propagation). This is the gradient penalty's inner gradient.

    Args:
        fn: function of ``x`` returning a scalar.
        x: the point; a float32 tensor.

    Returns:
        A tensor shaped like ``x``.
    """
    x = tf.convert_to_tensor(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        value = fn(x)
    return tape.gradient(value, x)


def gradients(fn: Callable[[], Any], variables: Sequence[keras.Variable]) -> list[Any]:
    """The gradients of the scalar ``fn()`` with respect to ``variables`` (a ``tf.GradientTape``).

    Args:
        fn: function of no arguments returning a scalar; reads ``variables``.
        variables: the variables to differentiate with respect to.

    Returns:
        One gradient per variable (None for a variable ``fn`` does not use).
    """
    variables = list(variables)
    with tf.GradientTape() as tape:
        value = fn()
    return tape.gradient(value, variables)


def num_replicas() -> int:
    """The replicas of the current ``tf.distribute`` strategy (1 without one)."""
    return tf.distribute.get_strategy().num_replicas_in_sync


def replica_scale() -> float:
    """``1 / replicas``: each replica's batch mean times this, summed over the
    replicas (as the optimizers do with gradients), is the global-batch mean."""
    return 1.0 / num_replicas()


def global_mean(x: Any) -> Any:
    """The mean of ``x`` over the global batch, in float32, differentiable.

    Inside a replica of a strategy with several replicas, the replicas'
    batch means are averaged with an all-reduce (its gradient is the
    all-reduce of the incoming gradients, so each replica's loss is
    differentiated through the other replicas' samples as well); elsewhere
    the plain mean. All replicas hold equal batch sizes (the input pipeline
    and ``assert_equal_batches`` see to it).

    Args:
        x: a tensor whose first axis is the (per-replica) batch.

    Returns:
        A float32 scalar, the same in every replica.
    """
    local = tf.reduce_mean(tf.cast(x, tf.float32))
    context = tf.distribute.get_replica_context()
    if context is None or num_replicas() == 1:
        return local
    return context.all_reduce(tf.distribute.ReduceOp.MEAN, local)


def in_multi_worker_mode() -> bool:
    """Whether the current strategy spans several workers (a ``MultiWorkerMirroredStrategy``
    whose cluster, from ``TF_CONFIG``, has more than one task)."""
    strategy = tf.distribute.get_strategy()
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return False
    spec = strategy.cluster_resolver.cluster_spec().as_dict()
    return sum(len(spec.get(job, [])) for job in ("chief", "worker")) > 1


def assert_equal_batches(size: tf.Tensor, minimum: int = 1) -> tf.Operation:
    """An op that fails unless every replica holds ``size`` samples, at least ``minimum``.

    Call in replica context on a batch whose size is only known at run time.
    Uneven per-replica batches (a global batch the replicas do not divide, or
    a partial last batch) would bias the ``1 / replicas`` loss scaling.
    """
    size = tf.cast(size, tf.float32)
    context = tf.distribute.get_replica_context()
    replicas = num_replicas()
    sums = context.all_reduce(tf.distribute.ReduceOp.SUM, tf.stack([size, size * size]))
    total, squares = sums[0], sums[1]
    # All sizes are equal exactly when their variance is zero: R * sum(n^2) == (sum n)^2.
    even = tf.logical_and(tf.equal(replicas * squares, total * total), tf.reduce_all(total >= replicas * minimum))
    return tf.debugging.Assert(
        even,
        [
            f"The replicas got batches of different sizes (or fewer than {minimum} samples each): batch the "
            f"dataset with drop_remainder=True by a global batch that is a multiple of {replicas}. Sum of the "
            "replicas' sizes:",
            total,
        ],
    )


def check_steps_per_execution(steps_per_execution: int, replicas: int | None = None) -> None:
    """Raises ``ConfigError`` for ``steps_per_execution > 1`` with several replicas.

    Keras 3.15's multi-step loop over a distributed dataset fails at its first
    call ("You must feed a value for placeholder tensor ... while/cond"), for
    any model, under ``mirrored`` and ``multiworker`` alike.

    Args:
        steps_per_execution: train steps per compiled call.
        replicas: the replicas (default: the current strategy's).
    """
    replicas = num_replicas() if replicas is None else replicas
    if replicas > 1 and steps_per_execution > 1:
        raise ConfigError(
            f"`steps_per_execution` {steps_per_execution} does not work with {replicas} replicas: Keras' multi-step "
            "loop over a distributed dataset fails at its first call; use 1 (the default)",
            field="steps_per_execution",
        )


def graph_function(fn: Callable[..., Any], reduce_retracing: bool = False) -> Callable[..., Any]:
    """``fn`` as one ``tf.function`` graph (a callback's per-step variable updates or diagnostics)."""
    return tf.function(fn, reduce_retracing=reduce_retracing)


def finite_flags_fn(variables: Sequence[keras.Variable]) -> Callable[[], np.ndarray]:
    """A ``tf.function`` check, one flag per variable, of whether all its values are finite.

    One call, one small boolean array back, instead of copying every variable
    to the host.

    Args:
        variables: floating-point variables.

    Returns:
        A function of no arguments returning a NumPy bool array.

    Example:
    >>> v = keras.Variable([1.0, float("nan")])
    >>> finite_flags_fn([v, keras.Variable([2.0])])().tolist()
    [False, True]
    """
    variables = list(variables)
    if not variables:
        return lambda: np.zeros((0,), dtype=bool)
    compiled = tf.function(lambda: keras.ops.stack([keras.ops.all(keras.ops.isfinite(v.value)) for v in variables]))
    return lambda: np.asarray(compiled())

"""The few operations whose code differs between Keras' TensorFlow and JAX backends.

Everything else in keras_wgan that runs inside a training step (losses, the
penalty's definition, the variants' hooks) is written once with ``keras.ops``.
What cannot be: taking a gradient (``tf.GradientTape`` on TensorFlow,
``jax.grad`` on JAX) and averaging over a ``tf.distribute`` strategy's replicas.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import keras
import numpy as np

from keras_wgan.errors import ConfigError

#: The type of the tensors the backend-neutral code handles: a ``tf.Tensor``, a
#: ``jax.Array``, or anything ``keras.ops`` accepts (NumPy arrays, Python numbers).
Tensor = Any

#: The backends keras_wgan trains on. TensorFlow is the reference.
SUPPORTED_BACKENDS = ("tensorflow", "jax")


def backend() -> str:
    """The name of the Keras backend in use (``"tensorflow"`` or ``"jax"``)."""
    return keras.backend.backend()


def is_jax() -> bool:
    """Whether Keras runs on JAX."""
    return backend() == "jax"


def check_backend() -> None:
    """Raises a ``RuntimeError`` naming the supported backends when Keras runs on another one."""
    if backend() not in SUPPORTED_BACKENDS:
        raise RuntimeError(
            f"keras_wgan trains on the {' and '.join(SUPPORTED_BACKENDS)} backends of Keras; this process runs "
            f"Keras on {backend()!r}. Set KERAS_BACKEND=tensorflow or KERAS_BACKEND=jax before Python starts."
        )


def check_mixed_precision(policy: str) -> None:
    """Raises ``ConfigError`` (a ``ValueError``) for a dtype policy this backend's step cannot run.

    ``mixed_float16`` needs dynamic loss scaling, which keras_wgan's step does on
    TensorFlow only (``mixed_bfloat16`` needs none and runs on both).

    Args:
        policy: a Keras dtype policy name (``float32``, ``mixed_float16``, ...).
    """
    if is_jax() and policy == "mixed_float16":
        raise ConfigError(
            "mixed precision mixed_float16 needs loss scaling, which keras_wgan does on TensorFlow only; on JAX use "
            "mixed_bfloat16 (no loss scaling needed) or float32, or run with KERAS_BACKEND=tensorflow"
        )


def input_gradient(fn: Callable[[Any], Any], x: Any) -> Any:
    """The gradient of the scalar ``fn(x)`` with respect to ``x``, itself differentiable.

    On TensorFlow a nested ``tf.GradientTape`` (an outer tape that is recording
    sees through it: double back-propagation); on JAX ``jax.grad`` (an outer
    ``jax.grad`` differentiates through it). This is the inner gradient of the
    WGAN-GP penalty.

    Args:
        fn: function of ``x`` returning a scalar.
        x: the point; a float32 tensor.

    Returns:
        A tensor shaped like ``x``.
    """
    if is_jax():
        import jax

        return jax.grad(fn)(x)
    import tensorflow as tf

    x = tf.convert_to_tensor(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        value = fn(x)
    return tape.gradient(value, x)


def global_mean(x: Any) -> Any:
    """The float32 mean of ``x`` over the global batch, differentiable.

    On JAX a step sees the global batch (``keras.distribution.DataParallel``
    shards one array over the devices), so the plain mean is global. On
    TensorFlow, inside a replica of a strategy with several replicas, the
    replicas' means are averaged with an all-reduce
    (``keras_wgan.distribute.global_mean``).

    Args:
        x: a tensor whose first axis is the batch.

    Returns:
        A float32 scalar.
    """
    if is_jax():
        return keras.ops.mean(keras.ops.cast(x, "float32"))
    from keras_wgan import distribute

    return distribute.global_mean(x)


def gradients(fn: Callable[[], Any], variables: Sequence[keras.Variable]) -> list[Any]:
    """The gradients of the scalar ``fn()`` with respect to ``variables``, at their current values.

    On TensorFlow a ``tf.GradientTape``; on JAX ``jax.grad`` of ``fn`` with the
    variables bound to the arrays being differentiated (``keras.StatelessScope``),
    so nothing ``fn`` assigns (random-number state, batch-norm statistics)
    reaches the variables. For diagnostics outside the training step (the
    critic's per-layer gradient norms); the step has its own code per backend.

    Args:
        fn: function of no arguments returning a scalar; reads ``variables``.
        variables: the variables to differentiate with respect to.

    Returns:
        One gradient per variable (None on TensorFlow for a variable ``fn`` does not use).
    """
    variables = list(variables)
    if is_jax():
        import jax

        def bound(values: list[Any]) -> Any:
            with keras.StatelessScope(state_mapping=list(zip(variables, values, strict=True))):
                return fn()

        return list(jax.grad(bound)([v.value for v in variables]))
    import tensorflow as tf

    with tf.GradientTape() as tape:
        value = fn()
    return tape.gradient(value, variables)


def finite_flags_fn(variables: Sequence[keras.Variable]) -> Callable[[], np.ndarray]:
    """A compiled function that says, for each variable, whether all its values are finite.

    One ``tf.function`` (TensorFlow) or ``jax.jit`` (JAX) reduction over all the
    variables at their current values: one call, one small boolean array back,
    instead of copying every variable to the host.

    Args:
        variables: floating-point variables.

    Returns:
        A function of no arguments returning a NumPy bool array, one entry per variable.

    Example:
    >>> v = keras.Variable([1.0, float("nan")])
    >>> finite_flags_fn([v, keras.Variable([2.0])])().tolist()
    [False, True]
    """
    variables = list(variables)

    def flags(values: Sequence[Any]) -> Any:
        return keras.ops.stack([keras.ops.all(keras.ops.isfinite(value)) for value in values])

    if not variables:
        return lambda: np.zeros((0,), dtype=bool)
    if is_jax():
        import jax

        compiled = jax.jit(flags)
        return lambda: np.asarray(compiled([v.value for v in variables]))
    import tensorflow as tf

    compiled = tf.function(lambda: flags([v.value for v in variables]))
    return lambda: np.asarray(compiled())

"""The few operations whose code differs between Keras' TensorFlow and JAX backends, chosen once.

Everything else in keras_wgan that runs inside a training step (losses, the
penalty's definition, the variants' hooks) is written once with ``keras.ops``.
What cannot be: taking a gradient (``tf.GradientTape`` on TensorFlow,
``jax.grad`` on JAX), averaging over a ``tf.distribute`` strategy's replicas,
and compiling a function. This package picks the module for the backend Keras
runs on when it is first imported, as Keras picks its trainer:
``keras_wgan.backend.tensorflow`` or ``keras_wgan.backend.jax``; both define the
same functions, and nothing else in the package asks which backend it is on in
order to compute something.

- ``input_gradient(fn, x)``: the gradient of a scalar function of ``x``, itself
  differentiable (the gradient penalty's inner gradient).
- ``gradients(fn, variables)``: gradients of a scalar function of variables
  (diagnostics outside the step).
- ``global_mean(x)``: the mean over the global batch (RaGAN's averages).
- ``replica_scale()``: ``1 / replicas``, the factor that turns per-replica means
  into a global one once the gradients are summed.
- ``graph_function(fn)``: ``fn`` compiled where the backend compiles functions
  that assign variables (``tf.function``), else ``fn`` itself.
- ``finite_flags_fn(variables)``: a compiled check that every value is finite.
"""

from __future__ import annotations

from typing import Any

import keras

from keras_wgan.errors import ConfigError

#: The type of the tensors the backend-neutral code handles: a ``tf.Tensor``, a
#: ``jax.Array``, or anything ``keras.ops`` accepts (NumPy arrays, Python numbers).
Tensor = Any

#: The backends keras_wgan trains on. TensorFlow is the reference.
SUPPORTED_BACKENDS = ("tensorflow", "jax")


def name() -> str:
    """The name of the Keras backend in use (``"tensorflow"`` or ``"jax"``)."""
    return keras.backend.backend()


def is_jax() -> bool:
    """Whether Keras runs on JAX (for messages and defaults; computations use the functions below)."""
    return name() == "jax"


def check_backend() -> None:
    """Raises a ``RuntimeError`` naming the supported backends when Keras runs on another one."""
    if name() not in SUPPORTED_BACKENDS:
        raise RuntimeError(
            f"keras_wgan trains on the {' and '.join(SUPPORTED_BACKENDS)} backends of Keras; this process runs "
            f"Keras on {name()!r}. Set KERAS_BACKEND=tensorflow or KERAS_BACKEND=jax before Python starts."
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
            "mixed_bfloat16 (no loss scaling needed) or float32, or run with KERAS_BACKEND=tensorflow",
            field="mixed_precision",
        )


if is_jax():
    from keras_wgan.backend.jax import (
        finite_flags_fn,
        global_mean,
        gradients,
        graph_function,
        input_gradient,
        replica_scale,
    )
else:
    from keras_wgan.backend.tensorflow import (
        finite_flags_fn,
        global_mean,
        gradients,
        graph_function,
        input_gradient,
        replica_scale,
    )

__all__ = [
    "SUPPORTED_BACKENDS",
    "Tensor",
    "check_backend",
    "check_mixed_precision",
    "finite_flags_fn",
    "global_mean",
    "gradients",
    "graph_function",
    "input_gradient",
    "is_jax",
    "name",
    "replica_scale",
]

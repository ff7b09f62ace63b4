"""Gradient penalty of WGAN-GP (Gulrajani et al. 2017, "Improved Training of Wasserstein GANs")."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from keras_wgan.backend import Tensor, input_gradient

#: Added to the squared gradient norm before the square root, so the norm and
#: its gradient stay finite when the critic's input gradient is exactly zero.
DEFAULT_EPSILON = 1e-12


def interpolate(real: Tensor, fake: Tensor, alpha: Tensor) -> Tensor:
    """Points on the straight lines between paired real and fake samples.

    Args:
        real: real batch, shape ``(batch, ...)``.
        fake: generated batch of the same shape.
        alpha: per-example mixing weights, shape ``(batch,)``.

    Returns:
        ``alpha * real + (1 - alpha) * fake``, computed in float32.
    """
    real = ops.cast(real, "float32")
    fake = ops.cast(fake, "float32")
    alpha = ops.reshape(ops.cast(alpha, "float32"), [-1] + [1] * (len(real.shape) - 1))
    return fake + alpha * (real - fake)


def gradient_penalty(
    critic: Any,
    real: Tensor,
    fake: Tensor,
    *,
    alpha: Tensor | None = None,
    seed: keras.random.SeedGenerator | int | None = None,
    one_sided: bool = False,
    target: float = 1.0,
    epsilon: float = DEFAULT_EPSILON,
    training: bool = True,
    gradient_scale: Tensor | float | None = None,
) -> Tensor:
    """Batch mean of ``(||grad_x C(x_hat)||_2 - target)^2`` on random interpolates.

    ``x_hat = alpha * real + (1 - alpha) * fake`` with one ``alpha ~ U[0, 1]``
    per example (Gulrajani et al. 2017, Algorithm 1). The input gradient is
    taken with ``keras_wgan.backend.input_gradient`` (a nested
    ``tf.GradientTape`` on TensorFlow, ``jax.grad`` on JAX), so under an outer
    tape or ``jax.grad`` the penalty is differentiable with respect to the
    critic's weights (double back-propagation); it works inside
    ``tf.function`` and ``jax.jit``. The norm runs over all non-batch axes and is computed in
    float32 as ``sqrt(sum(g**2) + epsilon)``.

    The result is *not* multiplied by the penalty weight lambda.

    The gradient of ``sum_i C(x_hat_i)`` with respect to ``x_hat_i`` equals the
    per-example gradient only when the critic treats examples independently:
    no batch normalization in the critic (``WGANGP`` refuses one).

    Args:
        critic: callable mapping a batch to scores of shape ``(batch,)`` or
            ``(batch, 1)``, typically a ``keras.Model``.
        real: real batch.
        fake: generated batch, same shape as ``real``.
        alpha: optional per-example weights of shape ``(batch,)``; drawn from
            ``U[0, 1]`` with ``seed`` when omitted.
        seed: ``keras.random.SeedGenerator`` or int for drawing ``alpha``.
        one_sided: penalise only norms above ``target``
            (``max(0, ||g|| - target)^2``), the variant discussed in the paper's
            appendix; two-sided by default.
        target: the target norm (1 for a 1-Lipschitz critic).
        epsilon: added inside the square root.
        training: passed to the critic; use the same mode as the critic loss.
        gradient_scale: multiplies the critic's scores before the input
            gradient is taken, which is then divided by it in float32: a
            loss scale for the inner gradient, so that a float16 critic
            (mixed precision) does not underflow it. None or 1: no scaling.

    Returns:
        Scalar float32 tensor.

    Example:
    >>> import keras, numpy as np
    >>> critic = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, use_bias=False)])
    >>> _ = critic.layers[0].kernel.assign([[3.0], [4.0]])  # ||w|| = 5
    >>> x = np.random.randn(8, 2).astype("float32")
    >>> round(float(gradient_penalty(critic, x, -x)), 3)  # (5 - 1)^2
    16.0
    """
    if alpha is None:
        batch = real.shape[0] if real.shape[0] is not None else ops.shape(real)[0]
        alpha = keras.random.uniform((batch,), seed=seed)
    x_hat = interpolate(real, fake, alpha)

    def total_score(x: Tensor) -> Tensor:
        total = ops.sum(ops.cast(critic(x, training=training), "float32"))
        return total if gradient_scale is None else total * ops.cast(gradient_scale, "float32")

    grads = ops.cast(input_gradient(total_score, x_hat), "float32")
    if gradient_scale is not None:
        grads = grads / ops.cast(gradient_scale, "float32")
    return penalty_from_gradients(grads, one_sided=one_sided, target=target, epsilon=epsilon)


def penalty_from_gradients(
    grads: Tensor, *, one_sided: bool = False, target: float = 1.0, epsilon: float = DEFAULT_EPSILON
) -> Tensor:
    """Batch mean of ``(||g_i||_2 - target)^2`` (or ``max(0, ||g_i|| - target)^2`` one-sided).

    The part of the gradient penalty after the input gradient; the same on every backend.

    Args:
        grads: per-example input gradients of the critic, shape ``(batch, ...)``.
        one_sided: penalise only norms above ``target``.
        target: the target norm.
        epsilon: added to the squared norm inside the square root.

    Returns:
        Scalar float32 tensor.
    """
    grads = ops.cast(grads, "float32")
    axes = list(range(1, len(grads.shape)))
    norm = ops.sqrt(ops.sum(ops.square(grads), axis=axes) + epsilon)
    gap = norm - target
    if one_sided:
        gap = ops.relu(gap)
    return ops.mean(ops.square(gap))

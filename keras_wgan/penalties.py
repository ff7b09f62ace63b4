"""Gradient penalty of WGAN-GP (Gulrajani et al. 2017, "Improved Training of Wasserstein GANs")."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

#: Added to the squared gradient norm before the square root, so the norm and
#: its gradient stay finite when the critic's input gradient is exactly zero.
DEFAULT_EPSILON = 1e-12


def interpolate(real: tf.Tensor, fake: tf.Tensor, alpha: tf.Tensor) -> tf.Tensor:
    """Points on the straight lines between paired real and fake samples.

    Args:
        real: real batch, shape ``(batch, ...)``.
        fake: generated batch of the same shape.
        alpha: per-example mixing weights, shape ``(batch,)``.

    Returns:
        ``alpha * real + (1 - alpha) * fake``, computed in float32.
    """
    real = tf.cast(real, tf.float32)
    fake = tf.cast(fake, tf.float32)
    alpha = tf.reshape(tf.cast(alpha, tf.float32), [-1] + [1] * (len(real.shape) - 1))
    return fake + alpha * (real - fake)


def gradient_penalty(
    critic: Any,
    real: tf.Tensor,
    fake: tf.Tensor,
    *,
    alpha: tf.Tensor | None = None,
    seed: keras.random.SeedGenerator | int | None = None,
    one_sided: bool = False,
    target: float = 1.0,
    epsilon: float = DEFAULT_EPSILON,
    training: bool = True,
    gradient_scale: tf.Tensor | float | None = None,
) -> tf.Tensor:
    """Batch mean of ``(||grad_x C(x_hat)||_2 - target)^2`` on random interpolates.

    ``x_hat = alpha * real + (1 - alpha) * fake`` with one ``alpha ~ U[0, 1]``
    per example (Gulrajani et al. 2017, Algorithm 1). The input gradient is
    taken with a nested ``tf.GradientTape``, so when this function is called
    under an outer tape the penalty is differentiable with respect to the
    critic's weights (double back-propagation); it works inside
    ``tf.function``. The norm runs over all non-batch axes and is computed in
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
        batch = real.shape[0] if real.shape[0] is not None else tf.shape(real)[0]
        alpha = keras.random.uniform((batch,), seed=seed)
    x_hat = interpolate(real, fake, alpha)
    with tf.GradientTape() as inner:
        inner.watch(x_hat)
        scores = critic(x_hat, training=training)
        total = tf.reduce_sum(tf.cast(scores, tf.float32))
        if gradient_scale is not None:
            total = total * tf.cast(gradient_scale, tf.float32)
    grads = tf.cast(inner.gradient(total, x_hat), tf.float32)
    if gradient_scale is not None:
        grads = grads / tf.cast(gradient_scale, tf.float32)
    axes = list(range(1, len(grads.shape)))
    norm = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=axes) + epsilon)
    gap = norm - target
    if one_sided:
        gap = tf.nn.relu(gap)
    return tf.reduce_mean(tf.square(gap))

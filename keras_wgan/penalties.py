"""Critic regularisers on the critic's input gradient, as pure functions (unweighted).

- ``gradient_penalty``: WGAN-GP (Gulrajani et al. 2017, "Improved Training of
  Wasserstein GANs"), ``E[(||grad C(x_hat)|| - 1)^2]`` on interpolates of real and
  fake samples; ``one_sided=True`` gives WGAN-LP's ``E[max(0, ||grad|| - 1)^2]``
  (Petzka et al. 2018, "On the regularization of Wasserstein GANs").
- ``dragan_penalty``: DRAGAN (Kodali et al. 2017, "On Convergence and Stability of
  GANs"), the same two-sided penalty on points between real samples and their
  perturbations ``x + 0.5 * std(x) * U[0, 1)``.
- ``r1_penalty``: R1 (Mescheder et al. 2018, "Which Training Methods for GANs do
  actually Converge?"), ``E[||grad C(x)||^2] / 2`` on real samples (R2: on fakes).
- ``wasserstein_div_penalty``: WGAN-div (Wu et al. 2018, "Wasserstein Divergence
  for GANs"), ``(E_r[||grad C||^p] + E_f[||grad C||^p]) / 2``, at real and fake samples.

Each is the penalty *without* its weight (lambda, gamma, k), which the model
multiplies in. The input gradient is ``keras_wgan.backend.input_gradient`` (a
nested ``tf.GradientTape`` on TensorFlow, ``jax.grad`` on JAX), so an outer tape
or ``jax.grad`` differentiates through it (double back-propagation).
"""

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
    norms = squared_gradient_norms(
        critic, interpolate(real, fake, alpha), training=training, gradient_scale=gradient_scale
    )
    gap = ops.sqrt(norms + epsilon) - target
    if one_sided:
        gap = ops.relu(gap)
    return ops.mean(ops.square(gap))


def squared_gradient_norms(
    critic: Any, x: Tensor, *, training: bool = True, gradient_scale: Tensor | float | None = None
) -> Tensor:
    """Per-example squared L2 norms ``||grad_x C(x_i)||^2`` of the critic's input gradient, float32 ``(batch,)``.

    The gradient of ``sum_i C(x_i)`` with respect to ``x_i`` is the per-example one
    when the critic treats examples independently (no batch normalization).

    Args:
        critic: callable from a batch to scores ``(batch,)`` or ``(batch, 1)``.
        x: the points.
        training: the critic's mode.
        gradient_scale: a loss scale for the inner gradient under mixed precision (see ``gradient_penalty``).
    """
    x = ops.cast(x, "float32")

    def total_score(points: Tensor) -> Tensor:
        total = ops.sum(ops.cast(critic(points, training=training), "float32"))
        return total if gradient_scale is None else total * ops.cast(gradient_scale, "float32")

    grads = ops.cast(input_gradient(total_score, x), "float32")
    if gradient_scale is not None:
        grads = grads / ops.cast(gradient_scale, "float32")
    return ops.sum(ops.square(grads), axis=list(range(1, len(grads.shape))))


def dragan_perturbation(real: Tensor, noise: Tensor) -> Tensor:
    """DRAGAN's perturbed real samples ``x + 0.5 * std(x) * u`` (``std`` over the whole batch, ``u ~ U[0, 1)``).

    As the DRAGAN authors' code does (Kodali et al. 2017); the paper writes the
    perturbation as Gaussian noise. The penalty then takes points between each
    real sample and its perturbation (``dragan_penalty``).

    Args:
        real: real batch.
        noise: ``U[0, 1)`` values shaped like ``real``.
    """
    real = ops.cast(real, "float32")
    return real + 0.5 * ops.std(real) * ops.cast(noise, "float32")


def dragan_penalty(
    critic: Any,
    real: Tensor,
    *,
    noise: Tensor,
    alpha: Tensor,
    training: bool = True,
    epsilon: float = DEFAULT_EPSILON,
    gradient_scale: Tensor | float | None = None,
) -> Tensor:
    """DRAGAN's penalty ``E[(||grad C(x_hat)|| - 1)^2]`` (unweighted; lambda 10 in the paper).

    ``x_hat = x + alpha * (x_p - x)`` between each real sample ``x`` and its
    perturbation ``x_p`` (``dragan_perturbation(real, noise)``), one ``alpha`` per
    example: ``gradient_penalty`` between the perturbed and the real batch.

    Example:
    >>> import keras, numpy as np
    >>> critic = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, use_bias=False)])
    >>> _ = critic.layers[0].kernel.assign([[0.6], [0.8]])  # ||w|| = 1: no penalty
    >>> x = np.random.randn(4, 2).astype("float32")
    >>> round(float(dragan_penalty(critic, x, noise=np.ones_like(x), alpha=np.ones(4))), 6)
    0.0
    """
    perturbed = dragan_perturbation(real, noise)
    return gradient_penalty(
        critic, perturbed, real, alpha=alpha, training=training, epsilon=epsilon, gradient_scale=gradient_scale
    )


def r1_penalty(
    critic: Any, points: Tensor, *, training: bool = True, gradient_scale: Tensor | float | None = None
) -> Tensor:
    """R1 (on real ``points``) or R2 (on generated ones): ``E[||grad C(x)||^2] / 2`` (unweighted).

    Mescheder et al. 2018, eq. 9: ``R1 = gamma / 2 * E[||grad D(x)||^2]``; the
    model multiplies this value by ``gamma``. (The authors' code multiplies
    ``E[||grad D(x)||^2]`` by its ``reg_param``, so its ``reg_param = 10`` is ``gamma = 20`` here.)

    Example:
    >>> import keras, numpy as np
    >>> critic = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, use_bias=False)])
    >>> _ = critic.layers[0].kernel.assign([[3.0], [4.0]])  # ||w||^2 = 25
    >>> float(r1_penalty(critic, np.zeros((3, 2), "float32")))
    12.5
    """
    return 0.5 * ops.mean(squared_gradient_norms(critic, points, training=training, gradient_scale=gradient_scale))


def wasserstein_div_penalty(
    critic: Any,
    real: Tensor,
    fake: Tensor,
    *,
    power: float = 6.0,
    training: bool = True,
    gradient_scale: Tensor | float | None = None,
) -> Tensor:
    """WGAN-div's penalty ``(E_r[||grad C||^p] + E_f[||grad C||^p]) / 2`` (unweighted; Wu et al. 2018).

    The paper's ``k * E_u[||grad f(u)||^p]`` with ``u`` the real and the fake
    samples together; the model multiplies by ``k`` (2 in the paper, with ``p = 6``).

    Example:
    >>> import keras, numpy as np
    >>> critic = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, use_bias=False)])
    >>> _ = critic.layers[0].kernel.assign([[0.0], [2.0]])  # ||w|| = 2
    >>> x = np.zeros((3, 2), "float32")
    >>> float(wasserstein_div_penalty(critic, x, x, power=6.0))  # 2^6
    64.0
    """
    half = ops.cast(power, "float32") / 2.0
    terms = [
        ops.mean(ops.power(squared_gradient_norms(critic, x, training=training, gradient_scale=gradient_scale), half))
        for x in (real, fake)
    ]
    return 0.5 * (terms[0] + terms[1])

"""Optimizers that step exactly as the reference implementations' do.

The WGAN reference code (Arjovsky et al. 2017) trains with PyTorch's
``torch.optim.RMSprop(lr, alpha=0.99, eps=1e-8)``, which divides by
``sqrt(v) + eps``. Keras' ``RMSprop`` divides by ``sqrt(v + epsilon)`` (epsilon
1e-7 inside the square root). The two agree for large gradients, but a
weight-clipped critic and its generator see gradients of about 1e-6 to 1e-4,
below ``sqrt(1e-7) ~ 3e-4``: there Keras' step is up to hundreds of times
smaller. ``RMSpropEpsOutside`` is Keras' RMSprop with the epsilon outside the
square root, so the ``wgan`` variant steps like the reference.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_wgan")
class RMSpropEpsOutside(keras.optimizers.RMSprop):
    """RMSprop with the epsilon outside the square root, as ``torch.optim.RMSprop``.

    ``v = rho * v + (1 - rho) * g**2`` and ``w -= lr * g / (sqrt(v) + epsilon)``
    (centered: ``sqrt(v - mean_g**2) + epsilon``; with momentum ``m``,
    ``b = m * b + lr * g / (...)`` and ``w -= b``). Defaults are PyTorch's
    (``rho`` = its ``alpha`` = 0.99, ``epsilon`` = 1e-8), which the WGAN
    reference code uses with learning rate 5e-5.

    Args:
        learning_rate: step size (5e-5 in WGAN).
        rho: decay of the squared-gradient average (PyTorch's ``alpha``).
        epsilon: added to ``sqrt(v)``.
        **kwargs: the other ``keras.optimizers.RMSprop`` arguments
            (``momentum``, ``centered``, ``clipnorm``, ``name``, ...).

    Example:
    >>> opt = RMSpropEpsOutside(5e-5)
    >>> w = keras.Variable([1.0])
    >>> opt.apply([keras.ops.convert_to_tensor([1e-6])], [w])
    >>> round(float((1.0 - w.numpy()[0]) / 5e-5), 3)  # 1e-6 / (0.1 * 1e-6 + 1e-8)
    9.091
    """

    def __init__(self, learning_rate: float = 5e-5, rho: float = 0.99, epsilon: float = 1e-8, **kwargs: Any):
        super().__init__(learning_rate=learning_rate, rho=rho, epsilon=epsilon, **kwargs)

    def update_step(self, gradient, variable, learning_rate):
        lr = ops.cast(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        index = self._get_variable_index(variable)
        velocity = self._velocities[index]
        self.assign(
            velocity, ops.add(ops.multiply(self.rho, velocity), ops.multiply(1 - self.rho, ops.square(gradient)))
        )
        second_moment = velocity
        if self.centered:
            average_grad = self._average_gradients[index]
            self.assign(
                average_grad, ops.add(ops.multiply(self.rho, average_grad), ops.multiply(1 - self.rho, gradient))
            )
            second_moment = ops.subtract(velocity, ops.square(average_grad))
        increment = ops.divide(ops.multiply(lr, gradient), ops.add(ops.sqrt(second_moment), self.epsilon))
        if self.momentum > 0:
            buffer = self._momentums[index]
            self.assign(buffer, ops.add(ops.multiply(self.momentum, buffer), increment))
            self.assign_sub(variable, buffer)
        else:
            self.assign_sub(variable, increment)

"""Spectral normalization as Miyato et al. (2018) define it: a reparametrization.

``keras.layers.SpectralNormalization`` keeps the layer's weights and the
power-iteration vector ``u`` and runs the power iteration; this module's
subclass changes what a training call does with them:

- Keras' layer *projects*: a training call overwrites the kernel variable with
  ``W / sigma`` and the layer then reads the variable, so the gradient is taken at
  the projected point without the Jacobian of the division. Under a
  ``tf.GradientTape`` that is what happens; under ``jax.grad`` the assigned value
  is a traced function of ``W``, the gradient goes through the division and the
  assignment to a trainable variable is dropped. The two backends would take
  different steps from the same state.
- This layer *reparametrizes*, as the paper (Section 2.1, Eq. 8) and the
  authors' Chainer code (``sngan_projection``, ``W_bar``) do: every call uses
  ``W_SN = W / sigma(W)``, the gradient reaches ``W`` through the division with
  ``u`` and ``v`` held constant (the paper's Eq. 12 with the power-iteration
  vectors as constants), and ``W`` itself is never overwritten. Both backends
  take the same step.

A training call advances ``u`` by one power iteration (the paper's Algorithm 1,
one iteration per update); an inference call runs the same iteration from the
stored ``u`` but stores nothing. Only ``Dense`` and ``Conv2D`` layers are
supported, the layers ``keras_wgan.networks`` builds critics from.

Under ``tf.distribute`` strategies ``u`` is, like batch-norm statistics,
per-replica state: each replica advances its own copy from the same starting
value, and because every replica sees the same ``W`` and takes the same
deterministic iteration from the same ``u``, the copies stay equal.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops


def _l2_normalize(x: Any, epsilon: float = 1e-12) -> Any:
    return x / (ops.sqrt(ops.sum(ops.square(x))) + epsilon)


@keras.saving.register_keras_serializable(package="keras_wgan")
class SpectralNormalization(keras.layers.SpectralNormalization):
    """A ``Dense`` or ``Conv2D`` layer whose kernel is used as ``W / sigma(W)``.

    Miyato et al., "Spectral Normalization for Generative Adversarial Networks",
    ICLR 2018. The variables (the wrapped layer's kernel and bias, the vector
    ``u``) and the configuration are Keras' own; see the module docstring for
    how a call differs from ``keras.layers.SpectralNormalization``.

    Args:
        layer: a ``keras.layers.Dense`` or ``keras.layers.Conv2D``.
        power_iterations: power iterations per call (the paper uses 1).
        **kwargs: passed to ``keras.layers.Wrapper``.

    Example:
        >>> import numpy as np
        >>> layer = SpectralNormalization(keras.layers.Dense(3))
        >>> tuple(layer(np.ones((2, 4), "float32"), training=True).shape)
        (2, 3)
    """

    def build(self, input_shape: Any) -> None:
        if not isinstance(self.layer, (keras.layers.Dense, keras.layers.Conv2D)):
            raise ValueError(
                f"keras_wgan's SpectralNormalization wraps Dense and Conv2D layers, not "
                f"{type(self.layer).__name__} ({self.layer.name})."
            )
        super().build(input_shape)

    def spectral_norm(self, kernel: Any) -> tuple[Any, Any]:
        """One or more power iterations from the stored ``u``.

        Args:
            kernel: the kernel's current value.

        Returns:
            ``(sigma, u)``: the estimate of the largest singular value of the kernel
            reshaped to ``(-1, filters)`` (a constant for the gradient only through
            ``u`` and ``v``), and the advanced ``u``.
        """
        weights = ops.reshape(kernel, (-1, self.kernel_shape[-1]))
        u = ops.cast(self.vector_u, weights.dtype)
        for _ in range(self.power_iterations):
            v = _l2_normalize(ops.matmul(u, ops.transpose(weights)))
            u = _l2_normalize(ops.matmul(v, weights))
        u, v = ops.stop_gradient(u), ops.stop_gradient(v)
        sigma = ops.sum(ops.matmul(v, weights) * u)
        return sigma, u

    def call(self, inputs: Any, training: bool = False) -> Any:
        kernel = self.kernel.value
        sigma, u = self.spectral_norm(kernel)
        if training:
            self.vector_u.assign(ops.cast(u, self.vector_u.dtype))
        return ops.cast(self._apply(inputs, kernel / sigma), inputs.dtype)

    def _apply(self, inputs: Any, kernel: Any) -> Any:
        """The wrapped layer's computation with ``kernel`` in place of its kernel variable."""
        layer = self.layer
        if isinstance(layer, keras.layers.Conv2D):
            outputs = layer.convolution_op(inputs, kernel)
            if layer.use_bias:
                shape = (1, -1, 1, 1) if layer.data_format == "channels_first" else (1, 1, 1, -1)
                outputs = outputs + ops.reshape(layer.bias, shape)
        else:
            outputs = ops.matmul(inputs, kernel)
            if layer.use_bias:
                outputs = outputs + layer.bias
        return layer.activation(outputs) if layer.activation is not None else outputs

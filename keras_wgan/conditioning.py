"""The layers that bring labels into the networks of a conditional GAN.

Labels reach the networks as float vectors of ``num_labels`` entries: one-hot
for classes (a digit, a subfolder), multi-hot for binary attributes (CelebA's
``Male``, ``Smiling``, ...). A linear map of such a vector is a class
embedding (one row per class) or a sum of attribute embeddings, so one code
path serves both.

- ``ConditionalAffine``: the per-label scale and offset of conditional batch
  normalization (de Vries et al. 2017; Miyato & Koyama 2018 use it in their
  generators): after a normalization without its own scale and offset,
  ``x * (1 + y W_gamma) + y W_beta``, both maps zero at the start (the layer
  starts as the identity, for any number of active attributes).
- ``ProjectionScore``: the projection discriminator's label term (Miyato &
  Koyama 2018, eq. 3): ``<y V, phi(x)>``, added to the critic's linear score
  of the features ``phi(x)``.
- ``LabelChannels``: the label vector repeated over an image's pixels as extra
  input channels, the concatenation conditioning of Mirza & Osindero (2014)
  for convolutional critics.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import layers, ops

#: How a generator takes labels: conditional batch normalization or ``[z, y]`` concatenated.
GENERATOR_CONDITIONINGS = ("cbn", "concat")
#: The images' default, measured (``experiments/conditional.py``, docs/results.md section 6): with
#: the library's 32 px DCGAN pair, conditional WGAN-GP on digits followed the asked class for 93%
#: and 89% of its samples with ``concat`` after the study's 2,000 iterations (seeds 0 and 1; classifier
#: FID 4.0 and 10.7), and for 67% and 37% with ``cbn`` (FID 47 and 332), whose per-label scales and
#: offsets start at the identity and move at most the learning rate per step (at 1,000 iterations:
#: 88% and 73% against 16% and 11%; chance is 10%).
DEFAULT_GENERATOR_CONDITIONING = "concat"
#: How a critic takes labels: projection (Miyato & Koyama 2018), an auxiliary classifier
#: head (AC-GAN, Odena et al. 2017; WGAN-GP's CIFAR-10 model), or concatenation.
CRITIC_CONDITIONINGS = ("projection", "ac", "concat")


@keras.saving.register_keras_serializable(package="keras_wgan")
class ConditionalAffine(layers.Layer):
    """Per-label scale and offset: ``x * (1 + y W_gamma) + y W_beta`` over the last axis of ``x``.

    Put after a normalization layer built with ``center=False, scale=False``:
    together they are conditional batch normalization (de Vries et al. 2017).
    Both maps start at zero, so the layer starts as the identity.

    Call it on ``[x, y]``: ``x`` of shape ``(batch, ..., channels)``, ``y`` of
    shape ``(batch, num_labels)``.

    Example:
        >>> import numpy as np
        >>> layer = ConditionalAffine()
        >>> x, y = np.ones((2, 4, 4, 3), "float32"), np.eye(2, dtype="float32")
        >>> float(np.abs(layer([x, y]) - x).max())
        0.0
    """

    def build(self, input_shape: Any) -> None:
        x_shape, y_shape = input_shape
        channels, labels = int(x_shape[-1]), int(y_shape[-1])
        self.gamma = self.add_weight(shape=(labels, channels), initializer="zeros", name="gamma")
        self.beta = self.add_weight(shape=(labels, channels), initializer="zeros", name="beta")

    def call(self, inputs: Any) -> Any:
        x, y = inputs
        y = ops.cast(y, x.dtype)
        shape = (-1,) + (1,) * (len(x.shape) - 2) + (x.shape[-1],)
        gamma = ops.reshape(ops.matmul(y, ops.cast(self.gamma, x.dtype)), shape)
        beta = ops.reshape(ops.matmul(y, ops.cast(self.beta, x.dtype)), shape)
        return x * (1.0 + gamma) + beta

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape[0]


@keras.saving.register_keras_serializable(package="keras_wgan")
class ProjectionScore(layers.Layer):
    """The projection discriminator's label term ``<y V, phi(x)>`` (Miyato & Koyama 2018, eq. 3).

    Call it on ``[features, y]``: ``features`` ``(batch, d)`` (the critic's last
    hidden features, the input of its linear score), ``y`` ``(batch, num_labels)``.
    ``V`` (``num_labels x d``) is the class embedding; returns ``(batch, 1)``.

    Args:
        embedding: the ``keras.layers.Dense`` (no bias, ``d`` units) that maps a
            label vector to its embedding; pass it wrapped in spectral
            normalization for a spectrally normalized critic, as the paper does.
        **kwargs: passed to ``keras.layers.Layer``.

    Example:
        >>> import numpy as np
        >>> layer = ProjectionScore(keras.layers.Dense(3, use_bias=False, kernel_initializer="ones"))
        >>> phi, y = np.array([[1.0, 2.0, 3.0]], "float32"), np.array([[0.0, 1.0]], "float32")
        >>> float(layer([phi, y])[0, 0])  # (1 + 2 + 3) * 1
        6.0
    """

    def __init__(self, embedding: layers.Layer, **kwargs: Any):
        super().__init__(**kwargs)
        self.embedding = embedding

    def build(self, input_shape: Any) -> None:
        if not self.embedding.built:  # a deserialized embedding comes built
            self.embedding.build(input_shape[1])

    def call(self, inputs: Any, training: bool = False) -> Any:
        features, y = inputs
        features = ops.cast(features, self.compute_dtype)
        embedded = ops.cast(self.embedding(ops.cast(y, features.dtype), training=training), self.compute_dtype)
        return ops.sum(embedded * features, axis=-1, keepdims=True)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return (input_shape[0][0], 1)

    def get_config(self) -> dict:
        return {**super().get_config(), "embedding": keras.saving.serialize_keras_object(self.embedding)}

    @classmethod
    def from_config(cls, config: dict) -> ProjectionScore:
        config = dict(config)
        config["embedding"] = keras.saving.deserialize_keras_object(config["embedding"])
        return cls(**config)


@keras.saving.register_keras_serializable(package="keras_wgan")
class LabelChannels(layers.Layer):
    """``[image, y]`` -> the image with ``y`` repeated over its pixels as extra channels.

    Example:
        >>> import numpy as np
        >>> LabelChannels()([np.zeros((2, 4, 4, 1), "float32"), np.eye(2, dtype="float32")]).shape[-1]
        3
    """

    def call(self, inputs: Any) -> Any:
        image, y = inputs
        y = ops.cast(y, image.dtype)
        planes = ops.broadcast_to(y[:, None, None, :], (ops.shape(image)[0], *image.shape[1:3], y.shape[-1]))
        return ops.concatenate([image, planes], axis=-1)

    def compute_output_shape(self, input_shape: Any) -> Any:
        image, y = input_shape
        return (*image[:-1], image[-1] + y[-1])


def check_conditioning(name: str, value: str, choices: tuple[str, ...]) -> str:
    """``value`` when it is one of ``choices``; a ``ValueError`` naming the argument otherwise."""
    if value not in choices:
        raise ValueError(f"`{name}` must be one of {', '.join(choices)}. Received: {name}={value!r}")
    return value

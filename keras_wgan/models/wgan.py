"""WGAN with weight clipping (Arjovsky, Chintala and Bottou 2017, "Wasserstein GAN")."""

from __future__ import annotations

from typing import Any

import keras

from keras_wgan import losses
from keras_wgan import paper_defaults as papers
from keras_wgan.backend import Tensor
from keras_wgan.constraints import WeightClip
from keras_wgan.models.gan import GAN
from keras_wgan.networks import spectral_layers


@keras.saving.register_keras_serializable(package="keras_wgan")
class WGAN(GAN):
    """Wasserstein GAN whose critic is kept Lipschitz by weight clipping.

    The critic minimises ``E[C(x_f)] - E[C(x_r)]``, the generator
    ``-E[C(x_f)]``. A ``WeightClip(clip_value)`` constraint is attached to
    every trainable critic variable (kernels, biases, normalization scales and
    offsets), so Keras clips them after every critic optimizer update; the
    critic's weights are also clipped once here so that the first update
    starts inside the box, as in Algorithm 1. Paper defaults: RMSprop 5e-5,
    ``n_critic=5``, ``clip_value=0.01``.

    Args:
        generator, critic, latent_dim, seed: see ``keras_wgan.models.GAN``.
        n_critic: critic updates per generator update (5).
        clip_value: the clipping bound ``c`` (0.01).

    Example:
    >>> from keras_wgan import networks
    >>> gan = WGAN(networks.build_mlp_generator(width=16), networks.build_mlp_critic(width=16), clip_value=0.05)
    >>> round(max(float(abs(v).numpy().max()) for v in gan.critic.trainable_variables), 6)
    0.05
    """

    paper_defaults = papers.WGAN

    def __init__(
        self,
        generator: keras.Model,
        critic: keras.Model,
        latent_dim: int | None = None,
        n_critic: int = 5,
        seed: int | None = None,
        clip_value: float = 0.01,
        **kwargs: Any,
    ):
        super().__init__(generator, critic, latent_dim=latent_dim, n_critic=n_critic, seed=seed, **kwargs)
        if spectral_layers(critic):
            raise ValueError(
                "WGAN clips the critic's weights; a spectrally normalized critic rescales them after every step, "
                "so the two fight over the same constraint. Use another critic norm, or --variant sngan."
            )
        self.clip_value = float(clip_value)
        constraint = WeightClip(self.clip_value)
        for variable in self.critic.trainable_variables:
            variable.constraint = constraint
            variable.assign(constraint(variable))

    def critic_loss(self, real_out: Tensor, fake_out: Tensor) -> Tensor:
        return losses.wasserstein_critic_loss(real_out, fake_out)

    def generator_loss(self, real_out: Tensor | None, fake_out: Tensor) -> Tensor:
        return losses.wasserstein_generator_loss(fake_out)

    def get_config(self) -> dict:
        return {**super().get_config(), "clip_value": self.clip_value}

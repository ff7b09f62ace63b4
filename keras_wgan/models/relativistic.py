"""Relativistic GANs (Jolicoeur-Martineau 2019, "The relativistic discriminator")."""

from __future__ import annotations

import keras

from keras_wgan import backend, losses
from keras_wgan import paper_defaults as papers
from keras_wgan.backend import Tensor
from keras_wgan.models.gan import GAN


@keras.saving.register_keras_serializable(package="keras_wgan")
class RSGAN(GAN):
    """Relativistic standard GAN: the critic estimates the probability that a
    real sample is more realistic than a paired fake one,
    ``sigmoid(C(x_r) - C(x_f))``.

    Critic: ``softplus(-(C(x_r) - C(x_f)))``; generator:
    ``softplus(-(C(x_f) - C(x_r)))``. Both need the critic's outputs on real
    data, so the generator update also evaluates the critic on the last real
    chunk of the step.

    Args: see ``keras_wgan.models.GAN``.
    """

    paper_defaults = papers.RELATIVISTIC
    uses_real_in_generator_loss = True

    def critic_loss(self, real_out: Tensor, fake_out: Tensor) -> Tensor:
        return losses.relativistic_standard_critic_loss(real_out, fake_out)

    def generator_loss(self, real_out: Tensor | None, fake_out: Tensor) -> Tensor:
        return losses.relativistic_standard_generator_loss(real_out, fake_out)


@keras.saving.register_keras_serializable(package="keras_wgan")
class RaGAN(GAN):
    """Relativistic average GAN: each sample is compared with the mean critic
    output of the other set, ``sigmoid(C(x_r) - E[C(x_f)])``.

    Losses: ``keras_wgan.losses.relativistic_average_critic_loss`` and
    ``relativistic_average_generator_loss``. The averages are over the global
    batch: under a strategy with several replicas they are all-reduced, so
    every replica compares its samples with the same two means.

    Args: see ``keras_wgan.models.GAN``.
    """

    paper_defaults = papers.RELATIVISTIC
    uses_real_in_generator_loss = True

    def critic_loss(self, real_out: Tensor, fake_out: Tensor) -> Tensor:
        means = backend.global_mean(real_out), backend.global_mean(fake_out)
        return losses.relativistic_average_critic_loss(real_out, fake_out, *means)

    def generator_loss(self, real_out: Tensor | None, fake_out: Tensor) -> Tensor:
        means = backend.global_mean(real_out), backend.global_mean(fake_out)
        return losses.relativistic_average_generator_loss(real_out, fake_out, *means)

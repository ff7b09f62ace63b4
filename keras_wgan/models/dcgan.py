"""DCGAN with the non-saturating loss (Radford et al. 2016; Goodfellow et al. 2014)."""

from __future__ import annotations

import keras

from keras_wgan import losses
from keras_wgan import paper_defaults as papers
from keras_wgan.backend import Tensor
from keras_wgan.models.gan import GAN


@keras.saving.register_keras_serializable(package="keras_wgan")
class DCGAN(GAN):
    """Standard GAN with the non-saturating generator loss.

    Critic (discriminator) minimises the binary cross-entropy on logits
    ``softplus(-D(x_r)) + softplus(D(x_f))``; the generator minimises
    ``softplus(-D(G(z)))``. Paper defaults (``keras_wgan.paper_defaults``): Adam
    2e-4, beta1 0.5, one critic update per generator update, batch norm.

    Args: see ``keras_wgan.models.GAN``.
    """

    paper_defaults = papers.DCGAN

    def critic_loss(self, real_out: Tensor, fake_out: Tensor) -> Tensor:
        return losses.nonsaturating_critic_loss(real_out, fake_out)

    def generator_loss(self, real_out: Tensor | None, fake_out: Tensor) -> Tensor:
        return losses.nonsaturating_generator_loss(fake_out)

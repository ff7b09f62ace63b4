"""SNGAN (Miyato et al. 2018, "Spectral Normalization for Generative Adversarial Networks")."""

from __future__ import annotations

import keras

from keras_wgan import losses
from keras_wgan import paper_defaults as papers
from keras_wgan.backend import Tensor
from keras_wgan.models.gan import GAN
from keras_wgan.networks import spectral_layers


@keras.saving.register_keras_serializable(package="keras_wgan")
class SNGAN(GAN):
    """A GAN whose critic is kept Lipschitz by spectral normalization of every layer, trained with the hinge loss.

    Every convolution and dense layer of the critic is wrapped in
    ``keras.layers.SpectralNormalization`` (``networks.build_critic(norm="spectral")``):
    its kernel is divided by an estimate of its largest singular value, kept by
    one power iteration each time the critic runs in training mode. The critic
    minimises the hinge loss ``E[max(0, 1 - C(x_r))] + E[max(0, 1 + C(x_f))]``, the
    generator ``-E[C(x_f)]`` (``keras_wgan.losses.hinge_*``). Paper defaults
    (``keras_wgan.paper_defaults.SNGAN``): the authors' CIFAR-10 configuration
    (``sn_cifar10_unconditional.yml``): Adam 2e-4 (0.0, 0.9), 5 critic steps.

    The step calls the critic once per critic update (real and fake together, see
    ``GAN.critic_objective``): one power iteration per critic update, and one
    more in the generator update. Keras' layer writes the normalized kernel back
    into the wrapped layer's kernel each training call, so the optimizer steps on
    the normalized kernel (a projection after each update) rather than
    differentiating through the normalization as the paper's layer does; both
    keep every layer's spectral norm at about 1.

    Args: see ``keras_wgan.models.GAN``; the critic must have spectrally normalized layers.
    """

    paper_defaults = papers.SNGAN

    def __init__(self, generator: keras.Model, critic: keras.Model, *args, **kwargs):
        super().__init__(generator, critic, *args, **kwargs)
        if not spectral_layers(critic):
            raise ValueError(
                "SNGAN's critic has no spectrally normalized layer: build it with norm='spectral' "
                "(networks.build_critic or build_mlp_critic). For the hinge loss with another critic, "
                "pass loss='hinge' to another variant."
            )

    def critic_loss(self, real_out: Tensor, fake_out: Tensor) -> Tensor:
        return losses.hinge_critic_loss(real_out, fake_out)

    def generator_loss(self, real_out: Tensor | None, fake_out: Tensor) -> Tensor:
        return losses.hinge_generator_loss(fake_out)

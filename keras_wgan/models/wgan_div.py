"""WGAN-div (Wu et al. 2018, "Wasserstein Divergence for GANs")."""

from __future__ import annotations

from typing import Any

import keras

from keras_wgan import losses
from keras_wgan import paper_defaults as papers
from keras_wgan.backend import Tensor
from keras_wgan.models.penalized import PenalizedGAN
from keras_wgan.penalties import wasserstein_div_penalty


@keras.saving.register_keras_serializable(package="keras_wgan")
class WGANDiv(PenalizedGAN):
    """The Wasserstein divergence GAN: the Wasserstein losses with ``k * E_u[||grad C(u)||^p]``.

    The critic minimises ``E[C(x_f)] - E[C(x_r)] + k * (E_r[||grad C||^p] +
    E_f[||grad C||^p]) / 2``, the gradient taken at the real and at the generated
    samples (not at interpolates), the generator ``-E[C(x_f)]``. Unlike the
    gradient penalty this needs no Lipschitz constraint: it is the dual of the
    Wasserstein divergence. Paper defaults (``keras_wgan.paper_defaults.WGAN_DIV``):
    k 2, p 6, Adam 2e-4 (0.5, 0.999), 5 critic steps.

    Args:
        generator, critic, latent_dim, seed, allow_batchnorm: see ``PenalizedGAN``.
        n_critic: critic updates per generator update (5).
        penalty_weight: k (2).
        power: p (6).
    """

    paper_defaults = papers.WGAN_DIV

    def __init__(
        self,
        generator: keras.Model,
        critic: keras.Model,
        *,
        n_critic: int = 5,
        penalty_weight: float = 2.0,
        power: float = 6.0,
        **kwargs: Any,
    ):
        if not float(power) > 0:
            raise ValueError(f"`power` must be > 0. Received: power={power!r}")
        super().__init__(generator, critic, n_critic=n_critic, penalty_weight=penalty_weight, **kwargs)
        self.power = float(power)

    def critic_loss(self, real_out: Tensor, fake_out: Tensor) -> Tensor:
        return losses.wasserstein_critic_loss(real_out, fake_out)

    def generator_loss(self, real_out: Tensor | None, fake_out: Tensor) -> Tensor:
        return losses.wasserstein_generator_loss(fake_out)

    def penalty(self, real: Tensor, fake: Tensor, training: bool = True, labels: Tensor | None = None) -> Tensor:
        """``(E_r[||grad C||^p] + E_f[||grad C||^p]) / 2`` at the real and the generated samples (unweighted)."""
        critic = self.critic_for(labels)
        return wasserstein_div_penalty(
            critic, real, fake, power=self.power, training=training, gradient_scale=self.gradient_scale()
        )

    def get_config(self) -> dict:
        return {**super().get_config(), "power": self.power}

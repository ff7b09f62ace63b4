"""R1 (and R2) regularization (Mescheder et al. 2018, "Which Training Methods for GANs do actually Converge?")."""

from __future__ import annotations

from typing import Any

import keras

from keras_wgan import losses
from keras_wgan import paper_defaults as papers
from keras_wgan.backend import Tensor
from keras_wgan.models.penalized import PenalizedGAN
from keras_wgan.penalties import r1_penalty


@keras.saving.register_keras_serializable(package="keras_wgan")
class R1GAN(PenalizedGAN):
    """The standard GAN with the R1 penalty ``gamma / 2 * E[||grad C(x_r)||^2]`` on real samples (and R2 on fakes).

    A zero-centred penalty on the real data: it makes the training converge
    locally for distributions on a manifold (the paper's analysis), where
    unregularized and WGAN-GP training oscillate. The critic minimises the
    non-saturating GAN loss plus ``gamma * r1_penalty(real)`` (and
    ``r2_weight * r1_penalty(fake)`` when ``r2_weight`` > 0); the generator the
    non-saturating loss. Paper defaults (``keras_wgan.paper_defaults.R1``): gamma
    10 with the paper's ``gamma / 2`` (the authors' code multiplies
    ``E[||grad||^2]`` by its ``reg_param``: their 10 is gamma 20 here), their
    RMSprop 1e-4 (PyTorch's, epsilon outside the root), one critic step.

    Args:
        generator, critic, latent_dim, seed, allow_batchnorm: see ``PenalizedGAN``.
        n_critic: critic updates per generator update (1).
        penalty_weight: gamma (10).
        r2_weight: the weight of R2, the same penalty on generated samples (0: none).

    The ``gp`` metric reports ``r1_penalty(real)`` plus ``r2_weight / gamma`` times the R2 term
    (so that ``d_loss`` holds ``gamma * gp``).
    """

    paper_defaults = papers.R1

    def __init__(
        self,
        generator: keras.Model,
        critic: keras.Model,
        *,
        penalty_weight: float = 10.0,
        r2_weight: float = 0.0,
        **kwargs: Any,
    ):
        if not float(r2_weight) >= 0:
            raise ValueError(f"`r2_weight` must be >= 0. Received: r2_weight={r2_weight!r}")
        super().__init__(generator, critic, penalty_weight=penalty_weight, **kwargs)
        self.r2_weight = float(r2_weight)

    def critic_loss(self, real_out: Tensor, fake_out: Tensor) -> Tensor:
        return losses.nonsaturating_critic_loss(real_out, fake_out)

    def generator_loss(self, real_out: Tensor | None, fake_out: Tensor) -> Tensor:
        return losses.nonsaturating_generator_loss(fake_out)

    def penalty(self, real: Tensor, fake: Tensor, training: bool = True, labels: Tensor | None = None) -> Tensor:
        """``r1_penalty(real)`` (+ ``r2_weight / gamma * r1_penalty(fake)``), unweighted by gamma."""
        value = r1_penalty(self.critic_for(labels), real, training=training, gradient_scale=self.gradient_scale())
        if self.r2_weight > 0 and self.penalty_weight > 0:
            r2 = r1_penalty(self.critic_for(labels), fake, training=training, gradient_scale=self.gradient_scale())
            value = value + (self.r2_weight / self.penalty_weight) * r2
        return value

    def get_config(self) -> dict:
        return {**super().get_config(), "r2_weight": self.r2_weight}

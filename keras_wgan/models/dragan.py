"""DRAGAN (Kodali et al. 2017, "On Convergence and Stability of GANs")."""

from __future__ import annotations

from typing import Any

import keras

from keras_wgan import losses
from keras_wgan import paper_defaults as papers
from keras_wgan.backend import Tensor
from keras_wgan.models.gan import batch_size_of
from keras_wgan.models.penalized import PenalizedGAN
from keras_wgan.penalties import dragan_penalty


@keras.saving.register_keras_serializable(package="keras_wgan")
class DRAGAN(PenalizedGAN):
    """The standard GAN with DRAGAN's gradient penalty around the real data.

    The critic minimises the non-saturating GAN loss plus
    ``lambda * E[(||grad C(x_hat)|| - 1)^2]`` at points between each real sample
    and its perturbation ``x + 0.5 * std(x) * U[0, 1)``
    (``keras_wgan.penalties.dragan_penalty``, as the authors' code does); the
    generator minimises the non-saturating loss. The penalty keeps the critic
    from sharp gradients near the real data, where mode collapse starts.
    Paper defaults (``keras_wgan.paper_defaults.DRAGAN``): lambda 10, Adam 1e-4
    (0.5, 0.9), one critic step (the authors' code).

    Args:
        generator, critic, latent_dim, seed, allow_batchnorm: see ``PenalizedGAN``.
        n_critic: critic updates per generator update (1).
        penalty_weight: lambda (10).
    """

    paper_defaults = papers.DRAGAN

    def __init__(self, generator: keras.Model, critic: keras.Model, *, penalty_weight: float = 10.0, **kwargs: Any):
        super().__init__(generator, critic, penalty_weight=penalty_weight, **kwargs)

    def critic_loss(self, real_out: Tensor, fake_out: Tensor) -> Tensor:
        return losses.nonsaturating_critic_loss(real_out, fake_out)

    def generator_loss(self, real_out: Tensor | None, fake_out: Tensor) -> Tensor:
        return losses.nonsaturating_generator_loss(fake_out)

    def penalty(self, real: Tensor, fake: Tensor, training: bool = True, labels: Tensor | None = None) -> Tensor:
        """DRAGAN's penalty on fresh noise and interpolation weights (unweighted)."""
        noise = self.sample_uniform((batch_size_of(real), *real.shape[1:]))
        alpha = self.sample_uniform(batch_size_of(real))
        critic = self.critic_for(labels)
        return dragan_penalty(
            critic, real, noise=noise, alpha=alpha, training=training, gradient_scale=self.gradient_scale()
        )

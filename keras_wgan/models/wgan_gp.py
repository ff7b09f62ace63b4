"""WGAN-GP (Gulrajani et al. 2017, "Improved Training of Wasserstein GANs") and WGAN-LP (Petzka et al. 2018)."""

from __future__ import annotations

from typing import Any

import keras

from keras_wgan import losses
from keras_wgan import paper_defaults as papers
from keras_wgan.backend import Tensor
from keras_wgan.models.gan import batch_size_of
from keras_wgan.models.penalized import PenalizedGAN
from keras_wgan.penalties import gradient_penalty


@keras.saving.register_keras_serializable(package="keras_wgan")
class WGANGP(PenalizedGAN):
    """Wasserstein GAN with the gradient penalty.

    The critic minimises ``E[C(x_f)] - E[C(x_r)] + gp_weight * GP`` with
    ``GP = E[(||grad C(x_hat)||_2 - 1)^2]`` on per-example uniform
    interpolates ``x_hat`` between paired real and fake samples
    (``keras_wgan.penalties.gradient_penalty``, a nested ``GradientTape``);
    the generator minimises ``-E[C(x_f)]``. Paper defaults: Adam 1e-4,
    beta1 0, beta2 0.9, ``n_critic=5``, ``gp_weight=10``, layer norm in the
    critic.

    The penalty is per example, so a critic with batch normalization (which
    mixes the examples of a batch) is refused unless ``allow_batchnorm=True``.

    Args:
        generator, critic, latent_dim, seed: see ``keras_wgan.models.GAN``.
        n_critic: critic updates per generator update (5).
        gp_weight: the penalty weight lambda (10).
        one_sided: penalise only gradient norms above 1.
        allow_batchnorm: accept a critic with batch normalization anyway.

    The ``gp`` metric reports the unweighted penalty averaged over critic
    updates; ``d_loss`` includes ``gp_weight * gp``.
    """

    paper_defaults = papers.WGAN_GP
    penalty_weight_arg = "gp_weight"

    def __init__(
        self,
        generator: keras.Model,
        critic: keras.Model,
        latent_dim: int | None = None,
        n_critic: int = 5,
        seed: int | None = None,
        gp_weight: float = 10.0,
        one_sided: bool = False,
        allow_batchnorm: bool = False,
        **kwargs: Any,
    ):
        kwargs.pop("penalty_weight", None)  # gp_weight is this class's name for it
        super().__init__(
            generator,
            critic,
            latent_dim=latent_dim,
            n_critic=n_critic,
            seed=seed,
            penalty_weight=gp_weight,
            allow_batchnorm=allow_batchnorm,
            **kwargs,
        )
        self.one_sided = bool(one_sided)

    @property
    def gp_weight(self) -> float:
        """The penalty weight lambda (``penalty_weight``)."""
        return self.penalty_weight

    def critic_loss(self, real_out: Tensor, fake_out: Tensor) -> Tensor:
        return losses.wasserstein_critic_loss(real_out, fake_out)

    def generator_loss(self, real_out: Tensor | None, fake_out: Tensor) -> Tensor:
        return losses.wasserstein_generator_loss(fake_out)

    def penalty(self, real: Tensor, fake: Tensor, training: bool = True, labels: Tensor | None = None) -> Tensor:
        """The gradient penalty on fresh per-example uniform interpolates (unweighted).

        Under mixed precision the critic's input gradient is taken at the critic
        optimizer's current loss scale and unscaled in float32, so small
        gradients do not underflow in float16 (an overflow makes the step
        non-finite, and the loss-scale optimizer skips it and lowers the scale).
        """
        alpha = self.sample_uniform(batch_size_of(real))
        return gradient_penalty(
            self.critic_for(labels),
            real,
            fake,
            alpha=alpha,
            one_sided=self.one_sided,
            training=training,
            gradient_scale=self.gradient_scale(),
        )

    def get_config(self) -> dict:
        return {**super().get_config(), "one_sided": self.one_sided}


@keras.saving.register_keras_serializable(package="keras_wgan")
class WGANLP(WGANGP):
    """WGAN-LP: the Wasserstein GAN with the one-sided Lipschitz penalty ``E[max(0, ||grad C(x_hat)|| - 1)^2]``.

    Petzka et al. 2018, "On the regularization of Wasserstein GANs": the optimal
    critic has gradient norm 1 only on the lines between coupled real and fake
    points and at most 1 elsewhere, so penalising norms *below* 1 (as WGAN-GP's
    two-sided penalty does) pushes the critic away from it; penalise only what
    exceeds 1. The same interpolates as WGAN-GP. Paper defaults
    (``keras_wgan.paper_defaults.WGAN_LP``): the WGAN-GP setting the paper builds
    on and compares with, Adam 1e-4 (0, 0.9), 5 critic steps, lambda 10.

    Args: as ``WGANGP`` (``one_sided`` is always True).
    """

    paper_defaults = papers.WGAN_LP

    def __init__(self, generator: keras.Model, critic: keras.Model, **kwargs: Any):
        kwargs.pop("one_sided", None)
        super().__init__(generator, critic, one_sided=True, **kwargs)

"""``PenalizedGAN``: the base of the variants whose critic regulariser is a penalty on its input gradient.

WGAN-GP and WGAN-LP (on interpolates of real and fake samples), DRAGAN (around
real samples), R1/R2 (at real, or generated, samples) and WGAN-div (at both)
penalise the critic's gradient with respect to its input, example by example.
What they share lives here: the penalty's weight, the refusal of a critic with
batch normalization (which mixes the examples of a batch, so the gradient of the
summed scores is no longer each example's own), and the loss scale the input
gradient is taken at under mixed precision.
"""

from __future__ import annotations

from typing import Any, ClassVar

import keras

from keras_wgan.models.gan import GAN
from keras_wgan.networks import batchnorm_layers


class PenalizedGAN(GAN):
    """A GAN whose critic objective adds ``penalty_weight * penalty()``, a per-example input-gradient penalty.

    Args:
        generator, critic, latent_dim, n_critic, seed: see ``keras_wgan.models.GAN``.
        penalty_weight: the penalty's weight (lambda, gamma or k, by the paper).
        allow_batchnorm: accept a critic with batch normalization anyway.
        **kwargs: see ``keras_wgan.models.GAN``.
    """

    #: The constructor argument that holds the penalty's weight (its name in the variant's paper).
    penalty_weight_arg: ClassVar[str] = "penalty_weight"

    def __init__(
        self,
        generator: keras.Model,
        critic: keras.Model,
        latent_dim: int | None = None,
        n_critic: int = 1,
        seed: int | None = None,
        penalty_weight: float = 10.0,
        allow_batchnorm: bool = False,
        **kwargs: Any,
    ):
        if not float(penalty_weight) >= 0:
            raise ValueError(
                f"`{self.penalty_weight_arg}` must be >= 0. Received: {self.penalty_weight_arg}={penalty_weight!r}"
            )
        super().__init__(
            generator,
            critic,
            latent_dim=latent_dim,
            n_critic=n_critic,
            seed=seed,
            penalty_weight=penalty_weight,
            **kwargs,
        )
        bn = [layer.name for layer in batchnorm_layers(critic)]
        if bn and not allow_batchnorm:
            raise ValueError(
                f"The {type(self).__name__} critic contains batch normalization ({', '.join(bn)}), which mixes the "
                "examples of a batch and breaks the per-example gradient penalty. Use norm='layer', 'instance', "
                "'spectral' or 'none', or pass allow_batchnorm=True to force it."
            )
        self.allow_batchnorm = bool(allow_batchnorm)

    def gradient_scale(self) -> Any:
        """The loss scale the input gradient is taken at (the critic optimizer's, under mixed_float16), or None.

        A float16 critic's input gradient can underflow; it is taken at the
        critic optimizer's current loss scale and unscaled in float32 (an
        overflow makes the step non-finite, and the loss-scale optimizer skips
        it and lowers the scale).
        """
        return getattr(self.d_optimizer, "dynamic_scale", None) if self.d_optimizer is not None else None

    def get_config(self) -> dict:
        config = super().get_config()
        config.pop("penalty_weight", None)
        return {**config, self.penalty_weight_arg: self.penalty_weight, "allow_batchnorm": self.allow_batchnorm}

"""Registry of the GAN variants: a name, its model class and its paper's defaults.

This module is the one list of variant names (``names()``) and the one place
that maps a name to a model class; nothing else in the package branches on the
variant's name. The defaults themselves live with the models
(``keras_wgan.paper_defaults``, the table there and in the README).

Example:
>>> from keras_wgan import variants
>>> v = variants.get("wgan_gp")
>>> v.model_class.__name__, v.n_critic, v.gp_weight, v.critic_norm
('WGANGP', 5, 10.0, 'layer')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import keras

from keras_wgan.models import DCGAN, DRAGAN, GAN, R1GAN, RSGAN, SNGAN, WGAN, WGANGP, WGANLP, RaGAN, WGANDiv
from keras_wgan.paper_defaults import OPTIMIZERS, PaperDefaults

__all__ = ["OPTIMIZERS", "Variant", "get", "names"]


@dataclass(frozen=True)
class Variant:
    """A GAN variant: its registry name and its model class, whose paper defaults it exposes.

    Attributes:
        name: registry name.
        model_class: the ``keras_wgan.models.GAN`` subclass.

    The paper's values are read through: ``paper``, ``optimizer``,
    ``learning_rate``, ``beta_1``, ``beta_2``, ``rho``, ``n_critic``,
    ``critic_norm``, ``clip_value``, ``gp_weight`` (see ``PaperDefaults``).
    """

    name: str
    model_class: type[GAN]

    @property
    def paper_defaults(self) -> PaperDefaults:
        """The model class's ``PaperDefaults``."""
        return self.model_class.paper_defaults

    def __getattr__(self, key: str) -> Any:
        # paper, optimizer, learning_rate, ...: the paper's values.
        if key.startswith("_"):
            raise AttributeError(key)
        try:
            return getattr(self.model_class.paper_defaults, key)
        except AttributeError:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {key!r}") from None

    @property
    def defaults(self) -> dict[str, Any]:
        """The hyper-parameters as a plain dict (without the paper)."""
        return self.paper_defaults.hyperparameters()

    def make_optimizer(self, *args: Any, **kwargs: Any) -> keras.optimizers.Optimizer:
        """A fresh optimizer with the paper's defaults; see ``PaperDefaults.make_optimizer``."""
        return self.paper_defaults.make_optimizer(*args, **kwargs)

    def model_kwargs(self) -> dict[str, Any]:
        """Constructor arguments of ``model_class`` that this variant sets."""
        d = self.paper_defaults
        kwargs: dict[str, Any] = {"n_critic": d.n_critic}
        if d.clip_value is not None:
            kwargs["clip_value"] = d.clip_value
        if d.gp_weight is not None:
            kwargs[self.penalty_weight_arg] = d.gp_weight
        if d.penalty_power is not None:
            kwargs["power"] = d.penalty_power
        return kwargs

    @property
    def penalty_weight_arg(self) -> str | None:
        """The model class's constructor argument for the penalty's weight (None: no penalty)."""
        return getattr(self.model_class, "penalty_weight_arg", None)

    def build_model(self, generator: keras.Model, critic: keras.Model, **overrides: Any) -> GAN:
        """Instantiates ``model_class`` with this variant's defaults, overridable.

        Args:
            generator: the generator model.
            critic: the critic model.
            **overrides: constructor arguments that replace the defaults
                (``n_critic``, ``clip_value``, ``gp_weight``, ``seed``, ...).

        Returns:
            An uncompiled model.
        """
        return self.model_class(generator, critic, **{**self.model_kwargs(), **overrides})


_REGISTRY: dict[str, Variant] = {
    v.name: v
    for v in (
        Variant("dcgan", DCGAN),
        Variant("rsgan", RSGAN),
        Variant("ragan", RaGAN),
        Variant("wgan", WGAN),
        Variant("wgan_gp", WGANGP),
        Variant("sngan", SNGAN),
        Variant("wgan_lp", WGANLP),
        Variant("dragan", DRAGAN),
        Variant("r1", R1GAN),
        Variant("wgan_div", WGANDiv),
    )
}


def names() -> list[str]:
    """The registered variant names."""
    return list(_REGISTRY)


def get(name: str) -> Variant:
    """The variant registered under ``name``.

    Args:
        name: one of ``names()``.

    Returns:
        The ``Variant`` with its model class and paper defaults.

    Raises:
        ValueError: for an unknown name, listing the known ones.
    """
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise ValueError(f"Unknown variant {name!r}. Choose one of: {', '.join(_REGISTRY)}.") from None

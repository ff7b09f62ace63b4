"""Registry of the GAN variants and their papers' default hyper-parameters.

This module is the one place that maps a variant name to its model class and
defaults; nothing else in the package branches on the variant's name.

| name      | model    | optimizer (paper)              | n_critic | critic norm | extra          |
|-----------|----------|--------------------------------|----------|-------------|----------------|
| `dcgan`   | DCGAN    | Adam 2e-4, beta1 0.5, b2 0.999 | 1        | batch       |                |
| `rsgan`   | RSGAN    | Adam 2e-4, 0.5, 0.999          | 1        | batch       |                |
| `ragan`   | RaGAN    | Adam 2e-4, 0.5, 0.999          | 1        | batch       |                |
| `wgan`    | WGAN     | RMSprop 5e-5 (eps outside)     | 5        | batch       | clip 0.01      |
| `wgan_gp` | WGANGP   | Adam 1e-4, beta1 0.0, b2 0.9   | 5        | layer       | lambda 10      |

Example:
>>> from keras_wgan import variants
>>> v = variants.get("wgan_gp")
>>> v.model_class.__name__, v.n_critic, v.gp_weight, v.critic_norm
('WGANGP', 5, 10.0, 'layer')
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import keras

from keras_wgan.models import DCGAN, GAN, RSGAN, WGAN, WGANGP, RaGAN
from keras_wgan.optimizers import RMSpropEpsOutside

OPTIMIZERS = ("adam", "adamw", "rmsprop")


@dataclass(frozen=True)
class Variant:
    """A GAN variant: its model class and its paper's defaults.

    Attributes:
        name: registry name.
        model_class: the ``keras_wgan.models.GAN`` subclass.
        paper: the reference the defaults come from.
        optimizer: ``adam`` or ``rmsprop`` (``adamw`` available as an option).
        learning_rate: for both networks.
        beta_1, beta_2: Adam's betas (ignored by RMSprop).
        rho: RMSprop's decay (0.99, PyTorch's default used by the WGAN code);
            ``rmsprop`` is ``keras_wgan.optimizers.RMSpropEpsOutside`` (epsilon
            1e-8 outside the square root, as PyTorch's).
        n_critic: critic updates per generator update.
        critic_norm: normalization of the DCGAN critic.
        clip_value: WGAN weight-clipping bound, None where it does not apply.
        gp_weight: WGAN-GP penalty weight lambda, None where it does not apply.
    """

    name: str
    model_class: type[GAN]
    paper: str
    optimizer: str
    learning_rate: float
    beta_1: float = 0.9
    beta_2: float = 0.999
    rho: float = 0.99
    n_critic: int = 1
    critic_norm: str = "batch"
    clip_value: float | None = None
    gp_weight: float | None = None

    @property
    def defaults(self) -> dict[str, Any]:
        """The hyper-parameters as a plain dict (without name, class and paper)."""
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name not in ("name", "model_class", "paper")
        }

    def model_kwargs(self) -> dict[str, Any]:
        """Constructor arguments of ``model_class`` that this variant sets."""
        kwargs: dict[str, Any] = {"n_critic": self.n_critic}
        if self.clip_value is not None:
            kwargs["clip_value"] = self.clip_value
        if self.gp_weight is not None:
            kwargs["gp_weight"] = self.gp_weight
        return kwargs

    def make_optimizer(
        self,
        optimizer: str | None = None,
        learning_rate: float | None = None,
        beta_1: float | None = None,
        beta_2: float | None = None,
        weight_decay: float = 1e-4,
    ) -> keras.optimizers.Optimizer:
        """A fresh optimizer with this variant's defaults, any of them overridden.

        Args:
            optimizer: ``adam``, ``adamw`` or ``rmsprop``; the paper's by default.
            learning_rate: overrides the paper's learning rate.
            beta_1, beta_2: override Adam's betas.
            weight_decay: AdamW's decoupled weight decay.

        Returns:
            A new, unbuilt ``keras.optimizers.Optimizer``.
        """
        name = (optimizer or self.optimizer).lower()
        lr = self.learning_rate if learning_rate is None else learning_rate
        b1 = self.beta_1 if beta_1 is None else beta_1
        b2 = self.beta_2 if beta_2 is None else beta_2
        if name == "adam":
            return keras.optimizers.Adam(lr, beta_1=b1, beta_2=b2)
        if name == "adamw":
            return keras.optimizers.AdamW(lr, beta_1=b1, beta_2=b2, weight_decay=weight_decay)
        if name == "rmsprop":
            # The reference's RMSprop (PyTorch): epsilon 1e-8 outside the square root.
            return RMSpropEpsOutside(lr, rho=self.rho, epsilon=1e-8)
        raise ValueError(f"Unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}.")

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


_ADAM_DCGAN = {"optimizer": "adam", "learning_rate": 2e-4, "beta_1": 0.5, "beta_2": 0.999}

_REGISTRY: dict[str, Variant] = {
    v.name: v
    for v in (
        Variant("dcgan", DCGAN, "Radford et al. 2016, arXiv:1511.06434", **_ADAM_DCGAN),
        Variant("rsgan", RSGAN, "Jolicoeur-Martineau 2019, arXiv:1807.00734", **_ADAM_DCGAN),
        Variant("ragan", RaGAN, "Jolicoeur-Martineau 2019, arXiv:1807.00734", **_ADAM_DCGAN),
        Variant(
            "wgan",
            WGAN,
            "Arjovsky et al. 2017, arXiv:1701.07875",
            optimizer="rmsprop",
            learning_rate=5e-5,
            n_critic=5,
            clip_value=0.01,
        ),
        Variant(
            "wgan_gp",
            WGANGP,
            "Gulrajani et al. 2017, arXiv:1704.00028",
            optimizer="adam",
            learning_rate=1e-4,
            beta_1=0.0,
            beta_2=0.9,
            n_critic=5,
            critic_norm="layer",
            gp_weight=10.0,
        ),
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


def for_model(model_class: type) -> Variant:
    """The variant whose model class is ``model_class`` or its closest registered base.

    Args:
        model_class: a ``GAN`` subclass.

    Returns:
        The matching ``Variant``.
    """
    for cls in model_class.__mro__:
        for variant in _REGISTRY.values():
            if variant.model_class is cls:
                return variant
    raise ValueError(f"No registered variant for {model_class.__name__}; pass g_optimizer and d_optimizer.")

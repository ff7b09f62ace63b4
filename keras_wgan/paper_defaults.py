"""The papers' default hyper-parameters of each variant, and the optimizers they name.

The models (``GAN.paper_defaults``, used by ``compile()`` without optimizers) and
the variant registry (``keras_wgan.variants``) both read this table; it imports
neither, so neither imports the other.

| variant    | optimizer (paper)              | n_critic | critic norm | extra          |
|------------|--------------------------------|----------|-------------|----------------|
| `dcgan`    | Adam 2e-4, beta1 0.5, b2 0.999 | 1        | batch       |                |
| `rsgan`    | Adam 2e-4, 0.5, 0.999          | 1        | batch       |                |
| `ragan`    | Adam 2e-4, 0.5, 0.999          | 1        | batch       |                |
| `wgan`     | RMSprop 5e-5 (eps outside)     | 5        | batch       | clip 0.01      |
| `wgan_gp`  | Adam 1e-4, beta1 0.0, b2 0.9   | 5        | layer       | lambda 10      |
| `sngan`    | Adam 2e-4, 0.0, 0.9            | 5        | spectral    | hinge loss     |
| `wgan_lp`  | Adam 1e-4, 0.0, 0.9            | 5        | layer       | lambda 10      |
| `dragan`   | Adam 1e-4, 0.5, 0.9            | 1        | layer       | lambda 10      |
| `r1`       | RMSprop 1e-4 (eps outside)     | 1        | none        | gamma 10       |
| `wgan_div` | Adam 2e-4, 0.5, 0.999          | 5        | layer       | k 2, p 6       |

Where each value comes from is written beside it below (the paper, its table, or
the authors' released configuration). ``gp_weight`` is the weight of whatever
penalty the variant has (lambda, gamma or k); ``penalty_power`` is WGAN-div's p.

On the 2D toys the WGAN-GP authors' toy script (``gan_toy.py``) used other values
for WGAN-GP: Adam 1e-4 with beta1 0.5, beta2 0.9 and lambda 0.1 (``for_toys``);
its WGAN settings are the paper's. WGAN-LP takes WGAN-GP's values. DRAGAN, which has
no toy script either, takes the same lambda 0.1 on the toys: its paper's 10 collapses
the 8gaussians toy (0 of 8 modes on two seeds, 8 of 8 with 0.1; docs/results.md,
section 5). The other variants have no toy script: their paper values apply.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import keras

from keras_wgan.optimizers import RMSpropEpsOutside

OPTIMIZERS = ("adam", "adamw", "rmsprop")


@dataclass(frozen=True)
class PaperDefaults:
    """One paper's training hyper-parameters.

    Attributes:
        paper: the reference the values come from.
        optimizer: ``adam`` or ``rmsprop`` (``adamw`` available as an option).
        learning_rate: for both networks.
        beta_1, beta_2: Adam's betas (ignored by RMSprop).
        rho: RMSprop's decay (0.99, PyTorch's default used by the WGAN code);
            ``rmsprop`` is ``keras_wgan.optimizers.RMSpropEpsOutside`` (epsilon
            1e-8 outside the square root, as PyTorch's).
        n_critic: critic updates per generator update.
        critic_norm: normalization of the DCGAN critic.
        clip_value: WGAN weight-clipping bound, None where it does not apply.
        gp_weight: the penalty's weight (lambda, gamma or k), None where there is no penalty.
        penalty_power: WGAN-div's exponent p, None elsewhere.
        toy_overrides: the values the same authors used on the 2D toys, where
            they differ (``(name, value)`` pairs; see ``for_toys``).
    """

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
    penalty_power: float | None = None
    toy_overrides: tuple[tuple[str, Any], ...] = ()

    def hyperparameters(self) -> dict[str, Any]:
        """The values as a plain dict (without ``paper`` and the toy overrides)."""
        skip = ("paper", "toy_overrides")
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in skip}

    def for_toys(self) -> PaperDefaults:
        """These defaults with the authors' 2D-toy values in place (the same object when there are none)."""
        return dataclasses.replace(self, **dict(self.toy_overrides)) if self.toy_overrides else self

    def make_optimizer(
        self,
        optimizer: str | None = None,
        learning_rate: float | None = None,
        beta_1: float | None = None,
        beta_2: float | None = None,
        weight_decay: float = 1e-4,
    ) -> keras.optimizers.Optimizer:
        """A fresh optimizer with these defaults, any of them overridden.

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


_RADFORD_ADAM = {"optimizer": "adam", "learning_rate": 2e-4, "beta_1": 0.5, "beta_2": 0.999}

DCGAN = PaperDefaults("Radford et al. 2016, arXiv:1511.06434", **_RADFORD_ADAM)
RELATIVISTIC = PaperDefaults("Jolicoeur-Martineau 2019, arXiv:1807.00734", **_RADFORD_ADAM)
# The WGAN-GP authors' toy script (gan_toy.py) trains WGAN with these same values on the 2D toys.
WGAN = PaperDefaults(
    "Arjovsky et al. 2017, arXiv:1701.07875", optimizer="rmsprop", learning_rate=5e-5, n_critic=5, clip_value=0.01
)
WGAN_GP = PaperDefaults(
    "Gulrajani et al. 2017, arXiv:1704.00028",
    optimizer="adam",
    learning_rate=1e-4,
    beta_1=0.0,
    beta_2=0.9,
    n_critic=5,
    critic_norm="layer",
    gp_weight=10.0,
    # gan_toy.py: Adam(1e-4, beta1 0.5, beta2 0.9) and lambda 0.1 on the 2D toys.
    toy_overrides=(("beta_1", 0.5), ("beta_2", 0.9), ("gp_weight", 0.1)),
)

# Miyato et al. 2018, the authors' CIFAR-10 configuration (sngan_projection, configs/sn_cifar10_unconditional.yml):
# the hinge loss, Adam alpha 2e-4, beta1 0.0, beta2 0.9, n_dis 5.
SNGAN = PaperDefaults(
    "Miyato et al. 2018, arXiv:1802.05957",
    optimizer="adam",
    learning_rate=2e-4,
    beta_1=0.0,
    beta_2=0.9,
    n_critic=5,
    critic_norm="spectral",
)
# Petzka et al. 2018 build on the WGAN-GP setting and compare the two penalties in it: its optimizer, critic
# steps and lambda (on the 2D toys the WGAN-GP toy script's values, as for WGAN-GP), with the one-sided penalty.
WGAN_LP = dataclasses.replace(WGAN_GP, paper="Petzka et al. 2018, arXiv:1709.08894")
# Kodali et al. 2017, the authors' code (DRAGAN.ipynb): lambda 10, Adam 1e-4 (0.5, 0.9), one critic step.
# Batch normalization would mix the examples the penalty takes one by one: layer norm, as WGAN-GP.
# On the 2D toys lambda 0.1, the WGAN-GP toy script's (gan_toy.py): the paper has no toy setting, and
# at 10 the penalty (norm 1 within half a batch standard deviation of each point) fills the gaps
# between a 2D mixture's modes; measured on 8gaussians, 3,000 iterations: 0/8 modes at 10, 8/8 at 0.1.
DRAGAN = PaperDefaults(
    "Kodali et al. 2017, arXiv:1705.07215",
    optimizer="adam",
    learning_rate=1e-4,
    beta_1=0.5,
    beta_2=0.9,
    n_critic=1,
    critic_norm="layer",
    gp_weight=10.0,
    toy_overrides=(("gp_weight", 0.1),),
)
# Mescheder et al. 2018: gamma 10 with the paper's gamma / 2 (eq. 9); the authors' configs (GAN_stability,
# configs/default.yaml): RMSprop 1e-4 (PyTorch's: epsilon 1e-8 outside the root, alpha 0.99), one critic step,
# critics without normalization.
R1 = PaperDefaults(
    "Mescheder et al. 2018, arXiv:1801.04406",
    optimizer="rmsprop",
    learning_rate=1e-4,
    n_critic=1,
    critic_norm="none",
    gp_weight=10.0,
)
# Wu et al. 2018: k 2 and p 6 (the paper's recommended values), Adam 2e-4 (0.5, 0.999), 5 critic steps.
WGAN_DIV = PaperDefaults(
    "Wu et al. 2018, arXiv:1712.01026",
    optimizer="adam",
    learning_rate=2e-4,
    beta_1=0.5,
    beta_2=0.999,
    n_critic=5,
    critic_norm="layer",
    gp_weight=2.0,
    penalty_power=6.0,
)

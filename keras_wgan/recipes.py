"""Named training recipes: sets of defaults for a purpose, beside the papers' defaults.

A recipe fills ``TrainConfig`` fields above the papers' and the dataset's
defaults; anything given explicitly wins (the precedence is
``keras_wgan.config.SOURCES``). It is stored in ``config.json`` with the values
it chose.

| name   | for         | what it sets                                                               |
|--------|-------------|----------------------------------------------------------------------------|
| `fast` | the 2D toys | MLPs 64 wide, Adam 1e-3 (Adam variants), an averaged generator (0.999)     |

Why ``fast`` works: at 64 units the MLP steps are many times cheaper than the
toy script's 512 (and about half the cost of 128, which needs as many steps),
and a learning rate of 1e-3 moves the generator to the modes in a few thousand
iterations; at that rate the generator keeps moving
from iterate to iterate, and the exponential moving average of its weights
(Yazici et al. 2019) is the stable point the iterates circle. Measured in
``benchmarks/time_to_quality.py``.

Example:
>>> from keras_wgan.config import TrainConfig
>>> c = TrainConfig(variant="wgan_gp", dataset="25gaussians", recipe="fast").resolve()
>>> c.width, c.g_lr, c.ema_decay, c.gp_weight
(64, 0.001, 0.999, 0.1)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from keras_wgan.errors import ConfigError


@dataclass(frozen=True)
class Recipe:
    """A named set of defaults.

    Attributes:
        name: registry name (``--recipe NAME``).
        purpose: one line for help texts and errors.
        kinds: the dataset kinds it is made for (``keras_wgan.data.registry``).
        values: ``TrainConfig`` fields it sets when they are left open.
        adam_learning_rate: the learning rate of both networks for variants trained with Adam.
    """

    name: str
    purpose: str
    kinds: tuple[str, ...]
    values: tuple[tuple[str, Any], ...]
    adam_learning_rate: float | None = None

    def defaults(self, optimizer: str, learning_rate_given: bool = False) -> dict[str, Any]:
        """The ``TrainConfig`` values this recipe sets for a run trained with ``optimizer``.

        Args:
            optimizer: the run's optimizer (``adam``, ``adamw``, ``rmsprop``); the
                learning rates are set for ``adam`` only.
            learning_rate_given: whether the run sets a learning rate itself (``lr``,
                ``g_lr`` or ``d_lr``). The recipe's rate is one rate for the pair of
                networks, so then it sets neither: a network whose rate is not
                given keeps the paper's.

        Returns:
            ``{field: value}``.
        """
        values = dict(self.values)
        if self.adam_learning_rate is not None and optimizer == "adam" and not learning_rate_given:
            values.update(g_lr=self.adam_learning_rate, d_lr=self.adam_learning_rate)
        return values


_REGISTRY = {
    r.name: r
    for r in (
        Recipe(
            "fast",
            "the 2D toys on a CPU in minutes: MLPs 64 wide, Adam 1e-3, an averaged generator",
            kinds=("toy",),
            values=(("width", 64), ("ema_decay", 0.999)),
            adam_learning_rate=1e-3,
        ),
    )
}


def names() -> list[str]:
    """The registered recipe names."""
    return list(_REGISTRY)


def get(name: str) -> Recipe:
    """The recipe registered under ``name``.

    Raises:
        ConfigError: an unknown name, listing the known ones.
    """
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise ConfigError(f"unknown recipe {name!r}; choose one of {', '.join(_REGISTRY)}") from None

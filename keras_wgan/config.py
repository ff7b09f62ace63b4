"""``TrainConfig``: everything a training run needs, saved as ``config.json``.

A config is created from the command line (``train.py``) or in code, then
``resolve()``d: every field left as None gets its default from the variant's
registry entry (paper defaults) and from the dataset (image size, latent
size, networks). The resolved config is what a run folder stores and what
``evaluate.py`` rebuilds the networks from.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keras_wgan import datasets, recipes, variants
from keras_wgan import networks as networks_lib
from keras_wgan.distribute import STRATEGIES
from keras_wgan.errors import ConfigError, DatasetError
from keras_wgan.io_utils import atomic_write_text
from keras_wgan.paper_defaults import OPTIMIZERS

__all__ = ["ConfigError", "TrainConfig"]

MIXED_PRECISION = ("off", "mixed_float16", "mixed_bfloat16")

#: Fields that define the model and the data: a resumed run must not change them.
IDENTITY_FIELDS = (
    "variant",
    "dataset",
    "image_size",
    "channels",
    "crop",
    "batch_size",
    "latent_dim",
    "n_critic",
    "optimizer",
    "g_lr",
    "d_lr",
    "beta_1",
    "beta_2",
    "gp_weight",
    "clip_value",
    "critic_norm",
    "activation",
    "width",
    "depth",
    "seed",
    "steps_per_epoch",
    "mixed_precision",
    "ema_decay",
    # The sample order: --cache reads through a shuffle buffer instead of per-pass permutations.
    "cache",
    # The noise: each replica folds its id into the seed, so the replica count changes the draws.
    "strategy",
)


@dataclass
class TrainConfig:
    """Configuration of one training run. None means "the default" (see ``resolve``).

    Attributes (main ones):
        variant: ``dcgan``, ``rsgan``, ``ragan``, ``wgan`` or ``wgan_gp``.
        dataset: ``celeb_a``, ``folder:PATH``, ``8gaussians``, ``25gaussians``,
            ``swissroll`` or ``digits``.
        out: the run folder; derived from variant, dataset and time if None.
        steps: total generator iterations; ``epochs`` is the alternative.
        steps_per_epoch: generator iterations per epoch (the unit of logs,
            sample grids and checkpoints): one pass over an image dataset (at least 100),
            1000 for the endless toys.
        batch_size: samples per critic update (64 for images, 256 for toys).
    """

    variant: str = "wgan_gp"
    dataset: str = "celeb_a"
    out: str | None = None
    image_size: int | None = None
    channels: int | None = None
    crop: int | None = None
    epochs: int | None = None
    steps: int | None = None
    steps_per_epoch: int | None = None
    batch_size: int | None = None
    latent_dim: int | None = None
    n_critic: int | None = None
    optimizer: str | None = None
    lr: float | None = None
    g_lr: float | None = None
    d_lr: float | None = None
    beta_1: float | None = None
    beta_2: float | None = None
    gp_weight: float | None = None
    clip_value: float | None = None
    critic_norm: str | None = None
    activation: str | None = None
    width: int | None = None
    depth: int | None = None
    seed: int = 0
    sample_every_epochs: int = 1
    sample_every_steps: int | None = None
    plot_every_steps: int | None = None
    grad_norm_every_steps: int | None = None
    checkpoint_every_steps: int | None = None
    ema_decay: float | None = None
    recipe: str | None = None
    allow_batchnorm: bool = False
    jit_compile: bool | None = None  # None: the backend's default (TensorFlow: off; JAX: on)
    steps_per_execution: int = 1
    mixed_precision: str = "off"
    strategy: str = "default"
    cache: bool = False
    data_dir: str | None = None
    tensorboard_histograms: bool = False
    resume: bool = True
    verbose: int = 1

    # --------------------------------------------------------------- JSON
    def to_dict(self) -> dict[str, Any]:
        """The config as a JSON-ready dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """Builds a config from a dict, rejecting unknown keys."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"Unknown config keys: {', '.join(unknown)}")
        return cls(**values)

    def save(self, path: str | os.PathLike) -> None:
        """Writes the config as JSON, atomically."""
        atomic_write_text(path, json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike) -> TrainConfig:
        """Reads a config written by ``save``."""
        try:
            return cls.from_dict(json.loads(Path(path).read_text()))
        except (OSError, json.JSONDecodeError) as err:
            raise ConfigError(f"Cannot read the run configuration {path}: {err}") from err

    # ----------------------------------------------------------- defaults
    @property
    def dataset_spec(self) -> datasets.DatasetSpec:
        """The registry's entry for ``dataset`` (``keras_wgan.datasets``)."""
        try:
            return datasets.get(self.dataset)
        except DatasetError as err:
            raise ConfigError(str(err)) from None

    @property
    def is_toy(self) -> bool:
        """Whether the run's samples are 2D points."""
        return self.dataset_spec.is_toy

    def resolve(self) -> TrainConfig:
        """A copy with every default filled in and every value checked.

        Returns:
            The resolved config.

        Raises:
            ConfigError: with one line naming the bad value.
        """
        if self.variant not in variants.names():
            raise ConfigError(f"unknown variant {self.variant!r}; choose one of {', '.join(variants.names())}")
        c = dataclasses.replace(self)
        spec = c.dataset_spec
        toy = spec.is_toy
        v = variants.get(self.variant).paper_defaults
        v = v.for_toys() if toy else v
        if c.recipe is not None:
            recipe = recipes.get(c.recipe)
            if spec.kind not in recipe.kinds:
                raise ConfigError(f"the {recipe.name} recipe is for {recipe.purpose.split(':')[0]}, not {c.dataset}")
            for name, value in recipe.values:
                if getattr(c, name) is None:
                    setattr(c, name, value)
            learning_rates_open = c.lr is None and c.g_lr is None and c.d_lr is None
            if recipe.adam_learning_rate is not None and learning_rates_open and (c.optimizer or v.optimizer) == "adam":
                c.lr = recipe.adam_learning_rate
        if toy:
            c.image_size = c.channels = c.crop = None
        else:
            c.image_size = c.image_size or spec.image_size
            c.channels = c.channels or spec.channels
            if c.image_size not in networks_lib.SUPPORTED_IMAGE_SIZES:
                sizes = ", ".join(map(str, networks_lib.SUPPORTED_IMAGE_SIZES))
                raise ConfigError(f"--image-size must be one of {sizes} for the DCGAN networks, got {c.image_size}")
        c.batch_size = c.batch_size if c.batch_size is not None else spec.batch_size
        c.latent_dim = c.latent_dim if c.latent_dim is not None else spec.latent_dim
        c.n_critic = c.n_critic if c.n_critic is not None else v.n_critic
        c.optimizer = c.optimizer or v.optimizer
        c.g_lr = c.g_lr if c.g_lr is not None else (c.lr if c.lr is not None else v.learning_rate)
        c.d_lr = c.d_lr if c.d_lr is not None else (c.lr if c.lr is not None else v.learning_rate)
        c.lr = None
        c.beta_1 = c.beta_1 if c.beta_1 is not None else v.beta_1
        c.beta_2 = c.beta_2 if c.beta_2 is not None else v.beta_2
        c.gp_weight = c.gp_weight if c.gp_weight is not None else v.gp_weight
        c.clip_value = c.clip_value if c.clip_value is not None else v.clip_value
        c.activation = c.activation or ("relu" if toy else "leaky_relu")
        default_norm = "none" if toy or c.activation == "selu" else v.critic_norm
        c.critic_norm = c.critic_norm or default_norm
        c.width = c.width if c.width is not None else spec.width
        c.depth = c.depth if c.depth is not None else 3
        for name in (
            "batch_size",
            "latent_dim",
            "n_critic",
            "width",
            "depth",
            "steps_per_execution",
            "sample_every_epochs",
        ):
            _check_positive(name, getattr(c, name))
        for name in (
            "epochs",
            "steps",
            "steps_per_epoch",
            "sample_every_steps",
            "plot_every_steps",
            "grad_norm_every_steps",
            "checkpoint_every_steps",
        ):
            if getattr(c, name) is not None:
                _check_positive(name, getattr(c, name))
        for name in ("g_lr", "d_lr"):
            if not getattr(c, name) > 0:
                raise ConfigError(f"--{name.replace('_', '-')} must be > 0, got {getattr(c, name)}")
        if c.optimizer not in OPTIMIZERS:
            raise ConfigError(f"--optimizer must be one of {', '.join(OPTIMIZERS)}, got {c.optimizer!r}")
        if c.critic_norm not in networks_lib.NORMS:
            raise ConfigError(f"--critic-norm must be one of {', '.join(networks_lib.NORMS)}, got {c.critic_norm!r}")
        if c.activation not in networks_lib.ACTIVATIONS:
            raise ConfigError(
                f"--activation must be one of {', '.join(networks_lib.ACTIVATIONS)}, got {c.activation!r}"
            )
        if c.mixed_precision not in MIXED_PRECISION:
            raise ConfigError(f"--mixed-precision must be one of {', '.join(MIXED_PRECISION)}")
        if c.strategy not in STRATEGIES:
            raise ConfigError(f"--strategy must be one of {', '.join(STRATEGIES)}")
        if c.gp_weight is not None and c.gp_weight < 0:
            raise ConfigError(f"--gp-weight must be >= 0, got {c.gp_weight}")
        if c.clip_value is not None and not c.clip_value > 0:
            raise ConfigError(f"--clip-value must be > 0, got {c.clip_value}")
        if c.ema_decay is not None and not 0 <= c.ema_decay < 1:
            raise ConfigError(f"--ema-decay must be in [0, 1), got {c.ema_decay}")
        if v.gp_weight is not None and c.critic_norm == "batch" and not c.allow_batchnorm:
            raise ConfigError(
                f"--critic-norm batch mixes the examples of a batch and breaks the per-example gradient penalty of "
                f"{c.variant}; use layer (the paper's), instance or none, or add --allow-batchnorm to force it"
            )
        if c.epochs is not None and c.steps is not None:
            raise ConfigError("give --epochs or --steps, not both")
        return c

    def identity(self) -> dict[str, Any]:
        """The fields a resumed run must keep."""
        return {name: getattr(self, name) for name in IDENTITY_FIELDS}


def _check_positive(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"--{name.replace('_', '-')} must be a positive integer, got {value!r}")

"""``TrainConfig``: everything a training run needs, saved as ``config.json``.

A config is created from the command line (``train.py``) or in code, then
``resolve()``d: every field left as None gets a value from the sources of
defaults, in this order of precedence (``SOURCES``, lowest first):

1. ``paper``: the variant's paper (``keras_wgan.paper_defaults``; on the 2D toys
   the authors' toy script where it differs);
2. ``dataset``: the dataset's registry entry (``keras_wgan.data.registry``:
   image size, channels, batch, latent size, width, the toys' MLP settings);
3. ``recipe``: a named recipe (``--recipe``, ``keras_wgan.recipes``);
4. ``derived``: defaults that follow from another field's value (``DERIVED``:
   SELU networks have no normalization);
5. ``run folder``: a resumed run's own values (``resolve(run=...)``), so a run
   continues with them after a default changed;
6. ``command line``: the values given (``lr`` stands for ``g_lr`` and ``d_lr``).

A later source wins for each field it sets. The rules live in ``layers`` as
data; ``validate`` checks the result apart from them. The resolved config is
what a run folder stores and what ``evaluate.py`` rebuilds the networks from.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keras_wgan import networks as networks_lib
from keras_wgan import recipes, variants
from keras_wgan.conditioning import CRITIC_CONDITIONINGS, DEFAULT_GENERATOR_CONDITIONING, GENERATOR_CONDITIONINGS
from keras_wgan.data import registry
from keras_wgan.distribute import STRATEGIES
from keras_wgan.errors import ConfigError, DatasetError, positive_int
from keras_wgan.io_utils import atomic_write_text
from keras_wgan.models.gan import LOSSES
from keras_wgan.paper_defaults import OPTIMIZERS, PaperDefaults

__all__ = ["ConfigError", "TrainConfig"]

MIXED_PRECISION = ("off", "mixed_float16", "mixed_bfloat16")
#: The sources of defaults, lowest precedence first (see the module docstring).
SOURCES = ("paper", "dataset", "recipe", "derived", "run folder", "command line")

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
    "penalty_power",
    "r2_weight",
    "clip_value",
    "loss",
    "critic_norm",
    "activation",
    "width",
    "critic_width",
    "depth",
    "seed",
    "steps_per_epoch",
    "mixed_precision",
    "ema_decay",
    # The sample order: --cache reads through a shuffle buffer instead of per-pass permutations.
    "cache",
    # The noise: each replica folds its id into the seed, so the replica count changes the draws.
    "strategy",
    "conditional",
    "generator_conditioning",
    "attributes",
    "class_names",
)


@dataclass
class TrainConfig:
    """Configuration of one training run. None means "the default" (see ``resolve``).

    Attributes (main ones):
        variant: a name of ``keras_wgan.variants.names()``.
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
    gp_weight: float | None = None  # the penalty's weight: lambda (GP, LP, DRAGAN), gamma (R1) or k (WGAN-div)
    penalty_power: float | None = None  # WGAN-div's p
    r2_weight: float | None = None  # R1's optional R2 term on generated samples
    clip_value: float | None = None
    loss: str | None = None  # None: the variant's own losses; "hinge": the hinge loss
    conditional: str | None = None  # None: unconditional; the critic's conditioning: projection, ac or concat
    generator_conditioning: str | None = None  # the generator's: concat (default) or cbn (images only)
    attributes: list[str] | None = None  # CelebA's attributes a conditional run takes
    class_names: list[str] | None = None  # filled in by resolve(): the names of the labels, in order
    critic_norm: str | None = None
    activation: str | None = None
    width: int | None = None
    critic_width: int | None = None  # None: the same as width
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
    def dataset_spec(self) -> registry.DatasetSpec:
        """The registry's entry for ``dataset`` (``keras_wgan.data.registry``)."""
        try:
            return registry.get(self.dataset)
        except DatasetError as err:
            raise ConfigError(str(err), field="dataset") from None

    @property
    def is_toy(self) -> bool:
        """Whether the run's samples are 2D points."""
        return self.dataset_spec.is_toy

    def paper_defaults(self) -> PaperDefaults:
        """The variant's paper defaults (the authors' toy values on the 2D toys)."""
        if self.variant not in variants.names():
            raise ConfigError(
                f"unknown variant {self.variant!r}; choose one of {', '.join(variants.names())}", field="variant"
            )
        paper = variants.get(self.variant).paper_defaults
        return paper.for_toys() if self.is_toy else paper

    def layers(self, run: TrainConfig | None = None) -> list[tuple[str, dict[str, Any]]]:
        """The sources of defaults for this config, lowest precedence first: ``[(source, {field: value})]``.

        Args:
            run: a resumed run's saved config; its run-defining fields
                (``IDENTITY_FIELDS``) are the ``run folder`` source.

        Returns:
            One ``(name, values)`` pair per source of ``SOURCES``.
        """
        spec, paper = self.dataset_spec, self.paper_defaults()
        given = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if getattr(self, f.name) is not None}
        learning_rate_given = any(name in given for name in ("lr", "g_lr", "d_lr"))
        lr = given.pop("lr", None)
        if lr is not None:  # --lr stands for both learning rates
            given.setdefault("g_lr", lr)
            given.setdefault("d_lr", lr)
        paper_values = {
            "n_critic": paper.n_critic,
            "optimizer": paper.optimizer,
            "g_lr": paper.learning_rate,
            "d_lr": paper.learning_rate,
            "beta_1": paper.beta_1,
            "beta_2": paper.beta_2,
            "gp_weight": paper.gp_weight,
            "penalty_power": paper.penalty_power,
            "clip_value": paper.clip_value,
            "critic_norm": paper.critic_norm,
        }
        dataset_values: dict[str, Any] = {
            "batch_size": spec.batch_size,
            "latent_dim": spec.latent_dim,
            "width": spec.width,
            "depth": 3,
        }
        if spec.is_toy:  # the toy script's MLPs: ReLU, no normalization layers (a spectral critic stays spectral)
            dataset_values.update(
                activation="relu", critic_norm="spectral" if paper.critic_norm == "spectral" else "none"
            )
        else:
            dataset_values.update(image_size=spec.image_size, channels=spec.channels, activation="leaky_relu")
        if given.get("conditional", run.conditional if run is not None else None) is not None:
            # The MLP generator has no normalization to condition: it concatenates [z, y].
            dataset_values["generator_conditioning"] = "concat" if spec.is_toy else DEFAULT_GENERATOR_CONDITIONING
        recipe_values: dict[str, Any] = {}
        if self.recipe is not None:
            recipe = recipes.get(self.recipe)
            if spec.kind not in recipe.kinds:
                raise ConfigError(
                    f"the {recipe.name} recipe is for {recipe.purpose.split(':')[0]}, not {self.dataset}",
                    field="recipe",
                )
            optimizer = given.get("optimizer", (run.optimizer if run is not None else None) or paper.optimizer)
            recipe_values = recipe.defaults(optimizer, learning_rate_given)
        run_values = {} if run is None else {k: getattr(run, k) for k in IDENTITY_FIELDS}
        below = _merge([paper_values, dataset_values, recipe_values, run_values, given])
        derived = {name: value for name, value, applies in DERIVED if applies(below)}
        return [
            ("paper", paper_values),
            ("dataset", dataset_values),
            ("recipe", recipe_values),
            ("derived", derived),
            ("run folder", run_values),
            ("command line", given),
        ]

    def resolve(self, run: TrainConfig | None = None) -> TrainConfig:
        """A copy with every default filled in (``layers``) and every value checked (``validate``).

        Args:
            run: a resumed run's saved config (see ``layers``).

        Returns:
            The resolved config.

        Raises:
            ConfigError: with one line naming the bad field.
        """
        return self.resolve_with_sources(run)[0]

    def resolve_with_sources(self, run: TrainConfig | None = None) -> tuple[TrainConfig, dict[str, str]]:
        """``resolve``, and for each field the source its value came from (``SOURCES``, or ``"default"``)."""
        layers = self.layers(run)
        values: dict[str, Any] = {}
        sources: dict[str, str] = {}
        for source, layer in layers:
            for name, value in layer.items():
                if value is not None:
                    values[name], sources[name] = value, source
        values["lr"] = None  # given as g_lr and d_lr
        sources.pop("lr", None)
        if self.dataset_spec.is_toy:  # image fields do not apply to 2D points
            values.update(image_size=None, channels=None, crop=None)
        if values.get("conditional") is not None and values.get("class_names") is None:
            values["class_names"] = self._label_names(values.get("attributes"))
            sources["class_names"] = "dataset"
        c = dataclasses.replace(self, **{k: v for k, v in values.items() if k in _FIELD_NAMES})
        c.validate()
        for f in dataclasses.fields(c):
            if sources.get(f.name, "command line") == "command line" and getattr(c, f.name) == f.default:
                sources[f.name] = "default"  # left at the field's own default
        return c, {f.name: sources[f.name] for f in dataclasses.fields(c) if getattr(c, f.name) is not None}

    def _label_names(self, attributes: list[str] | None) -> list[str]:
        """The names of the labels a conditional run takes (a folder's subfolders are read from the disk)."""
        self._check_labels(attributes)
        spec = self.dataset_spec
        if spec.labels == "attributes":
            try:
                return registry.check_attributes(attributes)
            except DatasetError as err:
                raise ConfigError(str(err), field="attributes") from None
        if spec.class_names is not None:
            return list(spec.class_names)
        from keras_wgan.data import label_names  # reads the folder

        return label_names(self.dataset)

    def _check_labels(self, attributes: list[str] | None) -> None:
        spec = self.dataset_spec
        if spec.labels is None:
            raise ConfigError(f"{self.dataset} has no labels for a conditional run", field="conditional")
        if spec.labels == "attributes" and not attributes:
            raise ConfigError(
                f"a conditional {self.dataset} run conditions on attributes: name them (e.g. Male,Smiling,Eyeglasses)",
                field="attributes",
            )

    def validate(self) -> None:
        """Checks a resolved config's values; raises ``ConfigError`` naming the field."""
        for name in ("batch_size", "latent_dim", "n_critic", "width", "depth", "steps_per_execution"):
            positive_int(name, getattr(self, name), ConfigError)
        positive_int("sample_every_epochs", self.sample_every_epochs, ConfigError)
        for name in (*OPTIONAL_POSITIVE, "critic_width"):
            if getattr(self, name) is not None:
                positive_int(name, getattr(self, name), ConfigError)
        if not self.is_toy and self.image_size not in networks_lib.SUPPORTED_IMAGE_SIZES:
            sizes = ", ".join(map(str, networks_lib.SUPPORTED_IMAGE_SIZES))
            _bad("image_size", self.image_size, f"must be one of {sizes} for the DCGAN networks")
        for name in ("g_lr", "d_lr"):
            if not getattr(self, name) > 0:
                _bad(name, getattr(self, name), "must be > 0")
        for name, allowed in CHOICES.items():
            if getattr(self, name) not in allowed:
                _bad(name, getattr(self, name), f"must be one of {', '.join(allowed)}")
        paper = self.paper_defaults()
        for name, applies, what in (
            ("gp_weight", paper.gp_weight is not None, "has no penalty"),
            ("penalty_power", paper.penalty_power is not None, "has no penalty exponent (wgan_div has)"),
            ("r2_weight", self.variant == "r1", "has no R2 term (r1 has)"),
            ("clip_value", paper.clip_value is not None, "does not clip weights (wgan does)"),
        ):
            value = getattr(self, name)
            if value is not None and not applies:
                raise ConfigError(f"`{name}` does not apply: {self.variant} {what}", field=name)
            if value is not None and not value >= 0:
                _bad(name, value, "must be >= 0")
        if self.clip_value is not None and not self.clip_value > 0:
            _bad("clip_value", self.clip_value, "must be > 0")
        if self.penalty_power is not None and not self.penalty_power > 0:
            _bad("penalty_power", self.penalty_power, "must be > 0")
        if self.loss not in (None, *LOSSES):
            _bad("loss", self.loss, f"must be one of {', '.join(LOSSES)} (or left out: the variant's own)")
        if self.ema_decay is not None and not 0 <= self.ema_decay < 1:
            _bad("ema_decay", self.ema_decay, "must be in [0, 1)")
        if paper.gp_weight is not None and self.critic_norm == "batch" and not self.allow_batchnorm:
            raise ConfigError(
                f"`critic_norm` batch mixes the examples of a batch and breaks the per-example gradient penalty of "
                f"{self.variant}; use layer (the paper's), instance, spectral or none, or add `allow_batchnorm` to "
                "force it",
                field="critic_norm",
            )
        if paper.clip_value is not None and self.critic_norm == "spectral":
            raise ConfigError(
                f"`critic_norm` spectral rescales the weights {self.variant} clips: the two fight over one constraint; "
                "use another norm, or --variant sngan for spectral normalization",
                field="critic_norm",
            )
        if paper.critic_norm == "spectral" and self.critic_norm != "spectral":
            raise ConfigError(
                f"{self.variant} is the hinge loss with a spectrally normalized critic; `critic_norm` "
                f"{self.critic_norm} would make it another model: for the hinge loss with another critic, use "
                "another variant with `loss` hinge",
                field="critic_norm",
            )
        if self.epochs is not None and self.steps is not None:
            raise ConfigError("give `epochs` or `steps`, not both", field="steps")
        self._validate_labels()

    def _validate_labels(self) -> None:
        if self.conditional is None:
            for name in ("generator_conditioning", "attributes"):
                if getattr(self, name) is not None:
                    raise ConfigError(f"`{name}` applies to a conditional run: add `conditional`", field=name)
            return
        if self.conditional not in CRITIC_CONDITIONINGS:
            _bad("conditional", self.conditional, f"must be one of {', '.join(CRITIC_CONDITIONINGS)}")
        if self.generator_conditioning not in GENERATOR_CONDITIONINGS:
            _bad(
                "generator_conditioning",
                self.generator_conditioning,
                f"must be one of {', '.join(GENERATOR_CONDITIONINGS)}",
            )
        if self.attributes is not None and self.dataset_spec.labels != "attributes":
            raise ConfigError(f"`attributes` are CelebA's; {self.dataset} has classes", field="attributes")
        if self.generator_conditioning == "cbn" and (self.is_toy or self.activation == "selu"):
            what = "the toys' MLP generator" if self.is_toy else "a SELU generator"
            raise ConfigError(
                f"`generator_conditioning` cbn conditions normalization layers, and {what} has none: use concat",
                field="generator_conditioning",
            )

    def make_dataset(self, **overrides: Any) -> Any:
        """``keras_wgan.data.make_dataset`` for this resolved config's data (a ``tf.data.Dataset``).

        The dataset, batch size, image size, seed, ``n_critic``, channels, crop,
        data folder and cache are the config's; ``overrides`` replaces any of
        them and adds the stream's options (``repeat``, ``start_sample``,
        ``num_shards``, ``shard_index``, ``shuffle``).
        """
        from keras_wgan.data import make_dataset

        options = {
            "batch_size": self.batch_size,
            "image_size": self.image_size,
            "seed": self.seed,
            "n_critic": self.n_critic,
            "channels": self.channels,
            "crop": self.crop,
            "data_dir": self.data_dir,
            "cache": self.cache,
            **({} if self.conditional is None else {"labels": True, "attributes": self.attributes}),
            **overrides,
        }
        return make_dataset(self.dataset, **options)

    def identity(self) -> dict[str, Any]:
        """The fields a resumed run must keep."""
        return {name: getattr(self, name) for name in IDENTITY_FIELDS}


_FIELD_NAMES = {f.name for f in dataclasses.fields(TrainConfig)}


def describe_config(config: TrainConfig) -> str:
    """The resolved config as text, one field a line with the source of its value (``train.py --print-config``).

    When ``config.out`` holds a run, its saved values are the ``run folder`` source,
    as when the run resumes.

    Example:
    >>> lines = describe_config(TrainConfig(variant="wgan_gp", dataset="digits")).splitlines()
    >>> [line for line in lines if line.startswith(("n_critic", "batch_size"))]
    ['batch_size              64  (dataset)', 'n_critic                5  (paper)']
    """
    run = None
    if config.out is not None and (Path(config.out) / "config.json").is_file():
        run = TrainConfig.load(Path(config.out) / "config.json")
    resolved, sources = config.resolve_with_sources(run)
    lines = [
        f"# {resolved.variant} on {resolved.dataset}: each value and its source (by precedence, lowest first: "
        f"{', '.join(SOURCES)}; default: the field's own default)"
    ]
    width = max(len(name) for name in sources)
    for name, source in sources.items():
        lines.append(f"{name:<{width}}  {json.dumps(getattr(resolved, name))}  ({source})")
    return "\n".join(lines)


#: Defaults that follow from another field's resolved value: ``(field, value, applies)``. They rank
#: above the paper, the dataset and the recipe, below a resumed run's values and the command line.
DERIVED: tuple[tuple[str, Any, Callable[[dict[str, Any]], bool]], ...] = (
    # Self-normalizing networks (Klambauer et al. 2017) replace normalization + ReLU.
    ("critic_norm", "none", lambda v: v.get("activation") == "selu"),
)

#: Fields that must be one of a few values.
CHOICES: dict[str, tuple[str, ...]] = {
    "optimizer": OPTIMIZERS,
    "critic_norm": networks_lib.NORMS,
    "activation": networks_lib.ACTIVATIONS,
    "mixed_precision": MIXED_PRECISION,
    "strategy": STRATEGIES,
}

#: Fields that are None or a positive integer.
OPTIONAL_POSITIVE = (
    "epochs",
    "steps",
    "steps_per_epoch",
    "sample_every_steps",
    "plot_every_steps",
    "grad_norm_every_steps",
    "checkpoint_every_steps",
)


def _merge(layers: list[dict[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for layer in layers:
        merged.update({k: v for k, v in layer.items() if v is not None})
    return merged


def _bad(field: str, value: Any, what: str) -> None:
    raise ConfigError(f"`{field}` {what}. Received: {field}={value!r}", field=field)

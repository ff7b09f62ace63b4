"""Registry of the datasets (``keras_wgan.data.registry``): what each name means, beside the variant registry.

One ``DatasetSpec`` per dataset holds its kind, its defaults (image size,
channels, batch, latent size, network width, epochs), the size of one pass
when it is fixed, the metrics ``evaluate.py`` applies to it, and, for the 2D
toys, the mixture's centres and scale. ``TrainConfig.resolve``, the step plan
of ``training`` and ``evaluate.py`` ask the spec instead of comparing names.
The pipelines themselves are the other modules of ``keras_wgan.data``; this
one imports no TensorFlow.

| name          | kind   | default size  | batch | latent | width | one pass     | metrics            |
|---------------|--------|---------------|-------|--------|-------|--------------|--------------------|
| `celeb_a`     | celeba | 64x64x3       | 64    | 128    | 64    | 162,770      | fid, kid, is, swd, prdc |
| `folder:PATH` | folder | 64x64x3       | 64    | 128    | 64    | files found  | fid, kid, is, swd, prdc |
| `digits`      | digits | 32x32x1       | 64    | 128    | 64    | 1,797        | digits, swd, prdc       |
| `mnist`       | mnist  | 32x32x1       | 64    | 128    | 64    | 60,000       | mnist, swd, prdc        |
| `stacked_mnist` | stacked_mnist | 32x32x3 | 64  | 128    | 64    | 128,000      | modes, swd              |
| `8gaussians`, `25gaussians`, `swissroll` | toy | 2D points | 256 | 2 | 512 | endless | toy, prdc |

``prdc`` (precision, recall, density, coverage) is measured on the dataset's
``features``: Inception pool features for photos, the classifier's features for
digits and MNIST (of each channel, concatenated, for Stacked MNIST), the points
themselves for the toys.

Example:
>>> from keras_wgan.data import registry
>>> spec = registry.get("25gaussians")
>>> spec.is_toy, spec.batch_size, spec.toy.centres.shape
(True, 256, (25, 2))
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from keras_wgan.errors import DatasetError

#: Every metric ``evaluate.py`` knows.
ALL_METRICS = ("fid", "kid", "is", "swd", "prdc", "toy", "digits", "mnist", "modes")
#: CelebA's 40 binary attributes, in the order of ``list_attr_celeba.txt`` (tfds stores each as ``attributes/NAME``).
CELEBA_ATTRIBUTES = (
    "5_o_Clock_Shadow Arched_Eyebrows Attractive Bags_Under_Eyes Bald Bangs Big_Lips Big_Nose Black_Hair "
    "Blond_Hair Blurry Brown_Hair Bushy_Eyebrows Chubby Double_Chin Eyeglasses Goatee Gray_Hair Heavy_Makeup "
    "High_Cheekbones Male Mouth_Slightly_Open Mustache Narrow_Eyes No_Beard Oval_Face Pale_Skin Pointy_Nose "
    "Receding_Hairline Rosy_Cheeks Sideburns Smiling Straight_Hair Wavy_Hair Wearing_Earrings Wearing_Hat "
    "Wearing_Lipstick Wearing_Necklace Wearing_Necktie Young"
).split()
#: Default CelebA center crop. The aligned faces are 178x218; a 140 px square
#: keeps the face and hair with little background. DCGAN-era code used 108
#: (tighter, face only) and Lucic et al. 2018 used 160 (more background).
CELEBA_CROP = 140


@dataclass(frozen=True)
class ToyShape:
    """A 2D toy of the WGAN-GP authors' toy script: points (plus noise) divided by a scale.

    Attributes:
        noise_std: standard deviation of the Gaussian noise before scaling.
        divisor: the final division of every point.
        raw_centres: mode centres before scaling (a mixture), or None (the swiss roll).
    """

    noise_std: float
    divisor: float
    raw_centres: tuple[tuple[float, float], ...] | None = None

    @property
    def centres(self) -> np.ndarray | None:
        """The mode centres after scaling, float32 ``(n_modes, 2)`` (None: not a mixture)."""
        if self.raw_centres is None:
            return None
        return np.asarray(self.raw_centres, dtype=np.float32) / self.divisor

    @property
    def std(self) -> float:
        """Standard deviation of each mixture component after scaling."""
        return self.noise_std / self.divisor


@dataclass(frozen=True)
class DatasetSpec:
    """What a dataset name means.

    Attributes:
        name: registry name (``folder`` stands for every ``folder:PATH``).
        kind: ``toy``, ``digits``, ``mnist``, ``stacked_mnist``, ``celeba`` or ``folder``: which pipeline reads it.
        image_size, channels: default image shape (None for 2D points).
        crop: default central crop (None: the largest square for folders, none for others).
        batch_size, latent_dim, width: the defaults of ``train.py``.
        epochs: default number of epochs.
        num_examples: samples in one pass when fixed; None: endless (toys) or
            counted when the data is opened (folders, CelebA).
        metrics: what ``evaluate.py`` measures by default.
        applicable_metrics: what it can measure at all.
        features: the feature vectors of the manifold metrics (``prdc``):
            ``points`` (the 2D samples), ``digits_classifier``, ``mnist_classifier``,
            ``stacked_mnist_classifier`` (its features of each channel, concatenated) or ``inception``.
        eval_samples: default number of generated samples for evaluation.
        toy: the 2D toy's shape (toys only).
        labels: what a conditional model can take from it: ``classes`` (one
            per sample), ``attributes`` (CelebA's binary attributes, chosen by
            name) or None (no labels).
        class_names: the classes' names when they are fixed (None: found in
            the data, a folder's subfolders).
    """

    name: str
    kind: str
    image_size: int | None = 64
    channels: int | None = 3
    crop: int | None = None
    batch_size: int = 64
    latent_dim: int = 128
    width: int = 64
    epochs: int = 25
    num_examples: int | None = None
    metrics: tuple[str, ...] = ("fid", "kid", "is", "swd", "prdc")
    applicable_metrics: tuple[str, ...] = ("fid", "kid", "is", "swd", "prdc")
    features: str = "inception"
    eval_samples: int = 10_000
    toy: ToyShape | None = field(default=None)
    labels: str | None = None
    class_names: tuple[str, ...] | None = None

    @property
    def is_toy(self) -> bool:
        """Whether the samples are 2D points."""
        return self.kind == "toy"


def _toy(name: str, shape: ToyShape) -> DatasetSpec:
    modes = None if shape.raw_centres is None else tuple(f"mode {i}" for i in range(len(shape.raw_centres)))
    return DatasetSpec(
        name,
        "toy",
        image_size=None,
        channels=None,
        batch_size=256,
        latent_dim=2,
        width=512,
        epochs=20,
        metrics=("toy", "prdc"),
        applicable_metrics=("toy", "prdc"),
        features="points",
        eval_samples=2500,
        toy=shape,
        labels=None if modes is None else "classes",  # a mixture's label: the mode a point was drawn from
        class_names=modes,
    )


_S = 1.0 / math.sqrt(2.0)
_EIGHT = tuple(
    (2.0 * x, 2.0 * y) for x, y in [(1, 0), (-1, 0), (0, 1), (0, -1), (_S, _S), (_S, -_S), (-_S, _S), (-_S, -_S)]
)
_GRID = tuple((2.0 * i, 2.0 * j) for i in range(-2, 3) for j in range(-2, 3))
_DIGITS = tuple(str(d) for d in range(10))

_REGISTRY: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in (
        DatasetSpec("celeb_a", "celeba", crop=CELEBA_CROP, labels="attributes"),
        DatasetSpec("folder", "folder", labels="classes"),  # one subfolder per class
        _toy("8gaussians", ToyShape(0.02, 1.414, _EIGHT)),
        _toy("25gaussians", ToyShape(0.05, 2.828, _GRID)),
        _toy("swissroll", ToyShape(0.25, 7.5)),
        DatasetSpec(
            "digits",
            "digits",
            image_size=32,
            channels=1,
            num_examples=1797,
            metrics=("digits", "swd", "prdc"),
            applicable_metrics=("digits", "swd", "prdc", "fid", "kid", "is"),
            features="digits_classifier",
            eval_samples=1797,
            labels="classes",
            class_names=_DIGITS,
        ),
        # MNIST: 28x28 padded to 32x32; evaluated on as many samples as the test set has.
        DatasetSpec(
            "mnist",
            "mnist",
            image_size=32,
            channels=1,
            num_examples=60_000,
            epochs=10,
            metrics=("mnist", "swd", "prdc"),
            applicable_metrics=("mnist", "swd", "prdc", "fid", "kid", "is"),
            features="mnist_classifier",
            eval_samples=10_000,
            labels="classes",
            class_names=_DIGITS,
        ),
        # Stacked MNIST, PacGAN's protocol: 128,000 training triples, 26,000 samples scored. prdc on
        # 26,000 samples would need a 26,000 x 26,000 distance matrix: applicable, not by default.
        DatasetSpec(
            "stacked_mnist",
            "stacked_mnist",
            image_size=32,
            channels=3,
            num_examples=128_000,
            epochs=10,
            metrics=("modes", "swd"),
            applicable_metrics=("modes", "swd", "prdc", "fid", "kid", "is"),
            features="stacked_mnist_classifier",
            eval_samples=26_000,
        ),
    )
}

#: The toy names, in registry order.
TOY_DATASETS = tuple(name for name, spec in _REGISTRY.items() if spec.is_toy)


def choices() -> str:
    """The accepted names as a phrase for messages and help texts."""
    names = [("folder:PATH" if name == "folder" else name) for name in _REGISTRY]
    return ", ".join(names[:-1]) + " or " + names[-1]


def folder_path(name: str) -> str | None:
    """The PATH of ``folder:PATH`` (None for other names)."""
    return name[len("folder:") :] if isinstance(name, str) and name.startswith("folder:") else None


def get(name: str) -> DatasetSpec:
    """The spec of a dataset name (``folder:PATH`` gives the ``folder`` spec).

    Raises:
        DatasetError: an unknown name, or ``folder:`` without a path.
    """
    path = folder_path(name)
    if path is not None:
        if not path:
            raise DatasetError("`folder:` needs a path, e.g. folder:/data/img_align_celeba")
        return _REGISTRY["folder"]
    if name == "folder" or name not in _REGISTRY:
        raise DatasetError(f"unknown dataset {name!r}; choose {choices()}")
    return _REGISTRY[name]


def check_attributes(names: tuple[str, ...] | list[str]) -> list[str]:
    """``names`` when each is one of CelebA's 40 attributes, once; a ``DatasetError`` naming the first that is not.

    Matching is exact; the error suggests the attribute that differs only in case.
    """
    names = list(names)
    for name in names:
        if name not in CELEBA_ATTRIBUTES:
            near = [a for a in CELEBA_ATTRIBUTES if a.lower() == name.lower()]
            hint = f" (did you mean {near[0]}?)" if near else f"; CelebA's are {', '.join(CELEBA_ATTRIBUTES)}"
            raise DatasetError(f"CelebA has no attribute {name!r}{hint}")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise DatasetError(f"attribute {repeated[0]} is named twice")
    if not names:
        raise DatasetError("name at least one CelebA attribute (e.g. Male,Smiling,Eyeglasses)")
    return names


def is_toy(name: str) -> bool:
    """Whether ``name`` is one of the 2D toy datasets."""
    return name in TOY_DATASETS

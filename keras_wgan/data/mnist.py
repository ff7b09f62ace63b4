"""MNIST and Stacked MNIST as ``tf.data`` pipelines.

MNIST (LeCun et al.) comes the Keras way: ``keras.datasets.mnist``'s ``mnist.npz``
(keys ``x_train`` (60000, 28, 28) uint8, ``y_train`` (60000,), ``x_test``
(10000, 28, 28), ``y_test`` (10000,)), downloaded once into Keras' cache
(``~/.keras/datasets``) and checked against its SHA-256; or a copy of that file
you give with ``data_dir`` (``--data-dir DIR`` holding ``mnist.npz``), whose
content is checked instead (keys, shapes, dtype, 60,000 and 10,000 examples,
labels 0-9), since copies re-saved with NumPy have other checksums. The file is
read without pickle.

The 28x28 digits go to the DCGAN networks' 32x32 by padding 2 pixels of
background on each side (no resampling: the strokes stay as they are), then,
for another ``image_size``, an antialiased resize.

Stacked MNIST (Metz et al. 2017; the protocol of Lin et al. 2018, "PacGAN",
section 5.1, which follows Srivastava et al. 2017, "VEEGAN"): each example is
three MNIST training digits drawn independently and uniformly, stacked as the
R, G and B channels, so there are 1,000 equally likely modes (the three
labels). As in PacGAN, ``STACKED_SIZE`` = 128,000 such examples are drawn once
(from ``STACKED_SEED``, the same for every run) and form the training set; a
run's own seed orders them.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np
import tensorflow as tf

from keras_wgan.data.streams import WHOLE, Shard, Stream, table_pipeline
from keras_wgan.errors import DatasetError
from keras_wgan.safe_load import load_npz

MNIST_FILE = "mnist.npz"
#: Where ``keras.datasets.mnist`` downloads ``mnist.npz`` from, and that file's SHA-256 (as Keras checks it).
KERAS_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
KERAS_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
#: The examples of each split of the official MNIST.
SPLIT_SIZES = {"train": 60_000, "test": 10_000}
#: PacGAN's Stacked MNIST training set: 128,000 triples, drawn once.
STACKED_SIZE = 128_000
#: The seed of that draw (the dataset, not a run's order, which is the run's seed).
STACKED_SEED = 2018
#: Padding of 28x28 MNIST digits to the networks' 32x32.
PAD = 2


def mnist_file(data_dir: str | os.PathLike | None = None) -> Path:
    """The ``mnist.npz`` to read: ``data_dir/mnist.npz``, or Keras' cached download (fetched once).

    Args:
        data_dir: a folder holding ``mnist.npz`` (or the file itself); None: Keras' cache.

    Raises:
        DatasetError: no file in ``data_dir``, or no file in Keras' cache and no download possible.
    """
    if data_dir is not None:
        path = Path(data_dir).expanduser()
        path = path if path.suffix == ".npz" else path / MNIST_FILE
        if not path.is_file():
            raise DatasetError(
                f"no {MNIST_FILE} at {path}: put Keras' {MNIST_FILE} (keys x_train, y_train, x_test, y_test; "
                f"from {KERAS_ORIGIN}) there, or leave --data-dir out to download it into Keras' cache"
            )
        return path
    import keras

    try:
        return Path(keras.utils.get_file(MNIST_FILE, KERAS_ORIGIN, file_hash=KERAS_SHA256, cache_subdir="datasets"))
    except Exception as err:  # no network, a proxy's error page, a checksum that differs
        cause = str(getattr(err, "reason", None) or err).splitlines()[0][:200]
        raise DatasetError(
            f"MNIST could not be downloaded ({type(err).__name__}: {cause}); download {KERAS_ORIGIN} elsewhere, "
            f"put it in a folder as {MNIST_FILE} and pass --data-dir FOLDER"
        ) from None


def check_mnist(arrays: dict[str, np.ndarray], source: str | os.PathLike) -> None:
    """Raises ``DatasetError`` naming what is wrong unless ``arrays`` are MNIST in Keras' layout."""
    missing = [k for k in ("x_train", "y_train", "x_test", "y_test") if k not in arrays]
    if missing:
        raise DatasetError(f"{source} is not Keras' mnist.npz: it has no {', '.join(missing)}")
    for split, count in SPLIT_SIZES.items():
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.shape != (count, 28, 28) or x.dtype != np.uint8:
            raise DatasetError(
                f"{source}: x_{split} must be uint8 of shape ({count}, 28, 28), as in Keras' mnist.npz; "
                f"it is {x.dtype} {x.shape}"
            )
        if y.shape != (count,) or not np.issubdtype(y.dtype, np.integer):
            raise DatasetError(f"{source}: y_{split} must be {count} integer labels; it is {y.dtype} {y.shape}")
        if y.min() < 0 or y.max() > 9:
            raise DatasetError(f"{source}: y_{split} holds labels outside 0-9 ({int(y.min())} to {int(y.max())})")


@functools.lru_cache(maxsize=2)
def _read(path: str, mtime_ns: int) -> dict[str, np.ndarray]:
    arrays = load_npz(path)
    check_mnist(arrays, path)
    return {k: arrays[k] for k in ("x_train", "y_train", "x_test", "y_test")}


def load_mnist(data_dir: str | os.PathLike | None = None) -> dict[str, np.ndarray]:
    """MNIST as Keras' arrays (``x_train``, ``y_train``, ``x_test``, ``y_test``), checked (read once a process).

    Raises:
        DatasetError: the file is missing or not MNIST in Keras' layout.
        UnsafeFile: the file holds pickled objects.
    """
    path = mnist_file(data_dir)
    return _read(str(path), path.stat().st_mtime_ns)


def file_identity(data_dir: str | os.PathLike | None = None) -> str:
    """What names the MNIST file in caches (the digits' classifier is trained on it): its size and mtime."""
    path = mnist_file(data_dir)
    stat = path.stat()
    return f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"


def to_images(digits: tf.Tensor | np.ndarray, image_size: int = 32) -> tf.Tensor:
    """uint8 MNIST digits ``(..., 28, 28)`` or ``(..., 28, 28, c)`` -> float32 in [-1, 1], 32x32 (padded).

    The padding is background (-1); another ``image_size`` is an antialiased resize of the 32x32.
    """
    x = tf.convert_to_tensor(digits)
    if x.shape[-1] == 28:
        x = x[..., None]
    x = tf.cast(x, tf.float32) / 127.5 - 1.0
    rank = len(x.shape)
    paddings = [[0, 0]] * (rank - 3) + [[PAD, PAD], [PAD, PAD], [0, 0]]
    x = tf.pad(x, paddings, constant_values=-1.0)
    if image_size != 28 + 2 * PAD:
        x = tf.clip_by_value(tf.image.resize(x, [image_size, image_size], antialias=True), -1.0, 1.0)
    return x


def stacked_triples(labels: np.ndarray, size: int = STACKED_SIZE, seed: int = STACKED_SEED) -> np.ndarray:
    """``size`` triples of indices into the MNIST training digits, drawn independently and uniformly (int32)."""
    return np.random.default_rng(seed).integers(0, len(labels), size=(size, 3), dtype=np.int64).astype(np.int32)


def stacked_modes(labels: np.ndarray) -> np.ndarray:
    """The mode of stacked digits from their three labels ``(n, 3)``: ``100 * c0 + 10 * c1 + c2`` (0-999)."""
    labels = np.asarray(labels, dtype=np.int64)
    return 100 * labels[:, 0] + 10 * labels[:, 1] + labels[:, 2]


def stacked_images(digits: np.ndarray, triples: np.ndarray, image_size: int = 32) -> np.ndarray:
    """The stacked images of index ``triples`` into uint8 ``digits``: float32 ``(n, size, size, 3)`` in [-1, 1]."""
    return to_images(np.stack([digits[triples[:, c]] for c in range(3)], axis=-1), image_size).numpy()


def mnist_dataset(
    batch_size: int,
    image_size: int = 32,
    *,
    data_dir: str | os.PathLike | None = None,
    split: str = "train",
    seed: int = 0,
    shuffle: bool = True,
    repeat: bool = False,
    start_sample: int = 0,
    shard: Shard = WHOLE,
    labels: bool = False,
) -> tf.data.Dataset:
    """MNIST digits as float32 ``(batch, image_size, image_size, 1)`` in [-1, 1] (one pass = one epoch).

    Args:
        batch_size: images per batch.
        image_size: 32 by default (28x28 padded).
        data_dir: a folder holding ``mnist.npz``; None: Keras' cache (downloaded once).
        split: ``train`` (60,000) or ``test`` (10,000).
        seed, shuffle, repeat, start_sample, shard: the stream (``keras_wgan.data.streams.Stream``).
        labels: batches of ``(images, digit)``, the digit an int32 in 0-9.

    Returns:
        A ``tf.data.Dataset`` of batches.
    """
    if split not in SPLIT_SIZES:
        raise DatasetError(f"MNIST has the splits {', '.join(SPLIT_SIZES)}; got {split!r}")
    arrays = load_mnist(data_dir)
    stream = Stream(seed, shuffle, repeat, start_sample, shard)
    y = arrays[f"y_{split}"].astype(np.int32) if labels else None
    return table_pipeline(arrays[f"x_{split}"], lambda d: to_images(d, image_size), batch_size, stream, labels=y)


def stacked_mnist_dataset(
    batch_size: int,
    image_size: int = 32,
    *,
    data_dir: str | os.PathLike | None = None,
    seed: int = 0,
    shuffle: bool = True,
    repeat: bool = False,
    start_sample: int = 0,
    shard: Shard = WHOLE,
) -> tf.data.Dataset:
    """Stacked MNIST (``STACKED_SIZE`` triples of training digits as RGB), float32 in [-1, 1].

    The table is the triples' indices; each example gathers and stacks its three
    digits when it is read, so the pipeline holds MNIST once (47 MB), not 128,000
    images. Resumable like the other tables (a seeded permutation per pass).

    Returns:
        A ``tf.data.Dataset`` of batches ``(batch, image_size, image_size, 3)``.
    """
    mnist = load_mnist(data_dir)
    digits = tf.constant(mnist["x_train"])
    triples = stacked_triples(mnist["y_train"])

    def load(triple: tf.Tensor) -> tf.Tensor:
        return to_images(tf.stack([tf.gather(digits, triple[c]) for c in range(3)], axis=-1), image_size)

    return table_pipeline(triples, load, batch_size, Stream(seed, shuffle, repeat, start_sample, shard))


def write_synthetic_mnist(
    path: str | os.PathLike, train: int = SPLIT_SIZES["train"], test: int = SPLIT_SIZES["test"], seed: int = 0
) -> Path:
    """A file in Keras' ``mnist.npz`` layout with digit-like patterns a classifier separates (for tests).

    Each class is a fixed random stroke pattern on the 28x28 grid, drawn with
    noise and a random shift of up to 2 pixels, so that a small CNN tells the
    classes apart in one epoch. The default sizes are MNIST's (the loader
    refuses others); smaller ones make files the loader must refuse.

    Returns:
        The file.
    """
    rng = np.random.default_rng(seed)
    templates = ((rng.random((10, 28, 28)) < 0.12) * 255.0).astype(np.float32)
    templates[:, :4], templates[:, -4:], templates[:, :, :4], templates[:, :, -4:] = 0, 0, 0, 0

    def draw(n: int) -> tuple[np.ndarray, np.ndarray]:
        y = rng.permutation(np.arange(n) % 10).astype(np.uint8)
        x = templates[y] * rng.uniform(0.7, 1.0, size=(n, 1, 1)).astype(np.float32)
        shifts = rng.integers(-2, 3, size=(n, 2))
        for dy in range(-2, 3):
            for dx in range(-2, 3):
                chosen = (shifts[:, 0] == dy) & (shifts[:, 1] == dx)
                x[chosen] = np.roll(x[chosen], (dy, dx), axis=(1, 2))
        x += rng.normal(0.0, 20.0, size=x.shape).astype(np.float32)
        return np.clip(x, 0, 255).astype(np.uint8), y

    x_train, y_train = draw(train)
    x_test, y_test = draw(test)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return path

"""Every dataset of the project as a ``tf.data.Dataset``: the ``keras_wgan.data`` package.

``make_dataset(name, batch_size, ...)`` returns float32 batches in [-1, 1]:
images NHWC, 2D points ``(batch, 2)``. Batches hold ``batch_size * n_critic``
samples, the real data of one generator iteration (see
``keras_wgan.models.GAN``), are shuffled with a seed, batched with
``drop_remainder`` and prefetched.

Datasets:

- ``celeb_a``: tensorflow-datasets ``celeb_a`` (218x178 aligned faces), center
  crop (140 px by default) then antialiased resize to ``image_size``.
- ``folder:PATH``: every image under PATH (jpg, jpeg, png, bmp, gif, webp),
  same preprocessing (central square crop by default); unreadable files are
  skipped and reported once.
- ``8gaussians``, ``25gaussians``, ``swissroll``: the 2D toys of the WGAN-GP
  authors' toy script, as endless seeded streams.
- ``digits``: scikit-learn's bundled 8x8 digits (1797 images) at 32x32, one
  channel (or 3): the offline image dataset.
- ``mnist``: MNIST from Keras' ``mnist.npz`` (or a copy in ``data_dir``), 28x28
  padded to 32x32; ``stacked_mnist``: three MNIST digits as RGB, PacGAN's
  128,000 training triples (``keras_wgan.data.mnist``).

Image datasets are finite (one pass = one epoch); the toys are endless, so
``fit`` needs ``steps_per_epoch`` for them.

Labels (``labels=True``, for conditional models): batches of ``(samples,
labels)`` in the same order, shards and resume positions as without them:
the digit (``digits``, ``mnist``), the class subfolder (``folder:PATH`` with
one subfolder per class), the mixture component (``8gaussians``,
``25gaussians``), as int32 class indices; for ``celeb_a`` the chosen
``attributes`` as float32 0/1 vectors. ``label_names`` names them.

One module per job:

- ``registry``: what each name means (``DatasetSpec``: kind, defaults, size of
  one pass, metrics, the toys' shapes);
- ``streams``: the resumable stream plumbing (order, position, shards, batches);
- ``toys``, ``digits``, ``mnist``: the generated, the bundled and MNIST's data (Stacked MNIST too);
- ``images``: decoding and preprocessing; ``folders``: image folders (the
  file scan and its cache);
- ``celeba``: CelebA's TFRecords, read encoded; ``celeba_prepare``: preparing
  them with tensorflow-datasets; ``synthetic_celeba``: stand-in download files.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from keras_wgan.data import celeba_prepare, registry
from keras_wgan.data.celeba import celeba_dataset
from keras_wgan.data.digits import digits_dataset, digits_images
from keras_wgan.data.folders import FolderScan, folder_classes, folder_dataset, image_file_is_whole, scan_folder
from keras_wgan.data.images import preprocess_image
from keras_wgan.data.mnist import load_mnist, mnist_dataset, stacked_mnist_dataset
from keras_wgan.data.registry import DatasetSpec
from keras_wgan.data.streams import Shard, Stream
from keras_wgan.data.toys import toy_dataset
from keras_wgan.errors import DatasetError, positive_int

__all__ = [
    "DatasetError",
    "DatasetSpec",
    "FolderScan",
    "Shard",
    "Stream",
    "celeba_dataset",
    "dataset_size",
    "digits_dataset",
    "digits_images",
    "folder_classes",
    "folder_dataset",
    "image_file_is_whole",
    "label_names",
    "load_mnist",
    "make_dataset",
    "mnist_dataset",
    "preprocess_image",
    "registry",
    "scan_folder",
    "stacked_mnist_dataset",
    "toy_dataset",
]


def make_dataset(
    name: str,
    batch_size: int,
    image_size: int | None = None,
    seed: int = 0,
    *,
    n_critic: int = 1,
    channels: int | None = None,
    crop: int | None = None,
    split: str = "train",
    data_dir: str | None = None,
    cache: bool | str = False,
    shuffle: bool = True,
    repeat: bool = False,
    start_sample: int = 0,
    num_shards: int = 1,
    shard_index: int = 0,
    labels: bool = False,
    attributes: tuple[str, ...] | list[str] | None = None,
) -> tf.data.Dataset:
    """The dataset ``name`` as batches for ``GAN.fit``.

    Args:
        name: ``celeb_a``, ``folder:PATH``, ``8gaussians``, ``25gaussians``,
            ``swissroll`` or ``digits``.
        batch_size: samples per critic update.
        image_size: image side (32, 64 or 128 for the DCGAN networks);
            None: 32 for ``digits``, 64 for the other image datasets;
            ignored by the toys.
        seed: seed of the shuffle (images) or of the stream (toys).
        n_critic: critic updates per generator update; each batch holds
            ``batch_size * n_critic`` samples, disjoint chunks for the critic.
        channels: image channels (3, or 1 for digits, by default).
        crop: central crop side (CelebA: 140; folders: largest square).
        split: the split: tfds's for ``celeb_a``, ``train`` or ``test`` for ``mnist``.
        data_dir: tfds' data directory for ``celeb_a``; the folder holding ``mnist.npz`` for
            ``mnist`` and ``stacked_mnist`` (None: Keras' cache, downloaded once).
        cache: True: decoded images in memory; a path: on disk.
        shuffle: shuffle images every epoch.
        repeat: make image datasets endless (the toys always are); each pass
            is a fresh seeded permutation.
        start_sample: the position in the endless stream to start at, in
            samples (a resumed run passes ``steps_done * batch_size * n_critic``).
        num_shards, shard_index: one replica's share of the stream for
            distributed training: samples ``shard_index, shard_index +
            num_shards, ...``, taken before decoding, in batches of
            ``batch_size * n_critic / num_shards`` (which must be whole), so
            that the shards' batches of a step together are the one-process
            batch (``keras_wgan.distribute.distribute_stream``).

    Returns:
        A ``tf.data.Dataset`` of float32 batches in [-1, 1].

    Raises:
        DatasetError: unknown name, bad arguments, or data that cannot be loaded.

    Example:
    >>> ds = make_dataset("25gaussians", batch_size=256, n_critic=5)
    >>> next(iter(ds)).shape
    TensorShape([1280, 2])
    """
    spec = registry.get(name)
    if image_size is None:
        image_size = spec.image_size or 64
    for arg, value in (("batch_size", batch_size), ("n_critic", n_critic), ("image_size", image_size)):
        positive_int(arg, value, DatasetError)
    positive_int("num_shards", num_shards, DatasetError)
    if channels not in (None, 1, 3):
        raise DatasetError(f"`channels` must be 1 or 3. Received: channels={channels!r}")
    if isinstance(start_sample, bool) or not isinstance(start_sample, int) or start_sample < 0:
        raise DatasetError(f"`start_sample` must be an integer >= 0. Received: start_sample={start_sample!r}")
    batch = batch_size * n_critic
    if isinstance(shard_index, bool) or not isinstance(shard_index, int) or not 0 <= shard_index < num_shards:
        raise DatasetError(f"`shard_index` must be in [0, {num_shards}). Received: shard_index={shard_index!r}")
    if batch % num_shards:
        raise DatasetError(
            f"batch_size * n_critic = {batch} samples cannot be split into {num_shards} equal shards; "
            f"use a batch size that makes it a multiple of {num_shards}."
        )
    shard = Shard(num_shards, shard_index)
    _check_labels(name, spec, labels, attributes)
    stream = {"shuffle": shuffle, "repeat": repeat, "start_sample": start_sample, "shard": shard}
    if spec.kind == "toy":
        return toy_dataset(name, batch, seed, start_batch=start_sample // batch, shard=shard, labels=labels)
    if spec.kind == "digits":
        return digits_dataset(batch, image_size, channels or spec.channels, seed=seed, labels=labels, **stream)
    if spec.kind in ("mnist", "stacked_mnist"):
        if channels not in (None, spec.channels):
            raise DatasetError(f"{name} has {spec.channels} channel(s); got channels={channels}")
        if spec.kind == "mnist":
            return mnist_dataset(batch, image_size, data_dir=data_dir, split=split, seed=seed, labels=labels, **stream)
        return stacked_mnist_dataset(batch, image_size, data_dir=data_dir, seed=seed, **stream)
    if spec.kind == "celeba":
        return celeba_dataset(
            batch,
            image_size,
            channels or spec.channels,
            split=split,
            crop=spec.crop if crop is None else crop,
            seed=seed,
            data_dir=data_dir,
            cache=cache,
            attributes=tuple(attributes) if labels else None,
            **stream,
        )
    path = registry.folder_path(name)
    return folder_dataset(
        path, batch, image_size, channels or spec.channels, crop=crop, seed=seed, cache=cache, labels=labels, **stream
    )


def _check_labels(name: str, spec: DatasetSpec, labels: bool, attributes: Any) -> None:
    if attributes and spec.labels != "attributes":
        raise DatasetError(f"attributes are CelebA's; {name} has {spec.labels or 'no labels'}")
    if not labels:
        return
    if spec.labels is None:
        raise DatasetError(f"{name} has no labels for a conditional model")
    if spec.labels == "attributes":
        if not attributes:
            raise DatasetError(f"{name}: name the attributes to condition on (e.g. attributes=Male,Smiling)")
        registry.check_attributes(attributes)


def label_names(name: str, attributes: tuple[str, ...] | list[str] | None = None) -> list[str]:
    """The names of a dataset's labels, in the order of the label indices or vector entries.

    Digits and MNIST: ``"0"`` to ``"9"``; the toys' modes: ``"mode 0"``, ...; a
    folder: its class subfolders, sorted; CelebA: the chosen ``attributes``.

    Raises:
        DatasetError: a dataset without labels, a folder without class subfolders,
            or unknown attributes.
    """
    spec = registry.get(name)
    if spec.labels == "attributes":
        return registry.check_attributes(list(attributes or ()))
    if spec.labels is None:
        raise DatasetError(f"{name} has no labels for a conditional model")
    if spec.class_names is not None:
        return list(spec.class_names)
    path = registry.folder_path(name)
    return folder_classes(path, scan_folder(path).good)[0]


def dataset_size(name: str, data_dir: str | None = None) -> int | None:
    """Samples in one pass over a dataset (None: an endless toy).

    Counted where the registry does not fix it: the readable files of a folder,
    the train split of CelebA (prepared first if needed).

    Raises:
        DatasetError: the data cannot be found or read.
    """
    spec = registry.get(name)
    if spec.kind == "toy" or spec.num_examples is not None:
        return spec.num_examples
    if spec.kind == "folder":
        return len(scan_folder(registry.folder_path(name)).good)
    return celeba_prepare.num_examples(data_dir, "train")

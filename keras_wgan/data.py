"""Every dataset of the project as a ``tf.data.Dataset``.

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

Image datasets are finite (one pass = one epoch); the toys are endless, so
``fit`` needs ``steps_per_epoch`` for them. What each name means (its defaults,
its size, its toy shape) is in the registry, ``keras_wgan.datasets``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from keras_wgan import celeba, datasets
from keras_wgan.cache import cache_dir
from keras_wgan.errors import DatasetError
from keras_wgan.io_utils import atomic_write_text

logger = logging.getLogger("keras_wgan")

AUTOTUNE = tf.data.AUTOTUNE
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")


#: (folder, bad files) already reported in this process.
_REPORTED_SCANS: set[tuple[str, tuple[str, ...]]] = set()


@dataclass(frozen=True)
class FolderScan:
    """Result of scanning an image folder.

    Attributes:
        good: readable image files, sorted.
        bad: files with an image extension that could not be decoded.
    """

    good: tuple[str, ...]
    bad: tuple[str, ...]

    @property
    def total(self) -> int:
        return len(self.good) + len(self.bad)


@dataclass(frozen=True)
class Shard:
    """One replica's share of a sample stream: samples ``index, index + count, ...``.

    Taken before anything is decoded; the shard's batches hold ``1 / count``
    of the samples of a batch, so the shards' batches of one step together are
    the batch of a single process.
    """

    count: int = 1
    index: int = 0

    def take(self, ds: tf.data.Dataset) -> tf.data.Dataset:
        """The shard's samples of a stream of single samples."""
        return ds if self.count == 1 else ds.shard(self.count, self.index)


def _toy_batch(name: str, n: int, seed: tf.Tensor) -> tf.Tensor:
    shape = datasets.get(name).toy
    seeds = tf.random.experimental.stateless_split(seed, 3)
    if name == "swissroll":
        # sklearn.datasets.make_swiss_roll: t = 1.5 pi (1 + 2 u), x = t cos t,
        # y = 21 v, z = t sin t, Gaussian noise on all three; keep x and z.
        t = 1.5 * math.pi * (1.0 + 2.0 * tf.random.stateless_uniform([n], seed=seeds[0]))
        points = tf.stack([t * tf.cos(t), t * tf.sin(t)], axis=1)
    else:
        centres = tf.constant(np.asarray(shape.raw_centres, dtype=np.float32))
        idx = tf.random.stateless_uniform([n], seed=seeds[0], maxval=centres.shape[0], dtype=tf.int32)
        points = tf.gather(centres, idx)
    noise = shape.noise_std * tf.random.stateless_normal([n, 2], seed=seeds[1])
    return (points + noise) / shape.divisor


def toy_dataset(
    name: str, batch_size: int, seed: int = 0, start_batch: int = 0, shard: Shard = Shard()
) -> tf.data.Dataset:
    """An endless, seeded stream of batches of a 2D toy distribution.

    Args:
        name: ``8gaussians``, ``25gaussians`` or ``swissroll``.
        batch_size: points per batch (of all shards together).
        seed: the stream's seed; batch ``k`` depends only on (seed, k).
        start_batch: index of the first batch (to resume a stream).
        shard: one replica's share: points ``shard.index, shard.index +
            shard.count, ...`` of each batch (all of them by default).

    Returns:
        A dataset of float32 tensors ``(batch_size // shard.count, 2)``.
    """
    if not datasets.is_toy(name):
        raise DatasetError(f"Unknown toy dataset {name!r}; choose one of {', '.join(datasets.TOY_DATASETS)}.")

    def make(k):
        return _toy_batch(name, batch_size, tf.stack([tf.cast(seed, tf.int64), k]))[shard.index :: shard.count]

    ds = tf.data.Dataset.counter(start=start_batch).map(make, num_parallel_calls=AUTOTUNE)
    return ds.prefetch(AUTOTUNE)


# -------------------------------------------------------------- images
def _to_channels(image: tf.Tensor, channels: int) -> tf.Tensor:
    """Grayscale, gray+alpha, RGB or RGBA uint8 -> ``channels`` (alpha dropped)."""
    c = tf.shape(image)[-1]
    rgb = tf.cond(c < 3, lambda: tf.tile(image[..., :1], [1, 1, 3]), lambda: image[..., :3])
    if channels == 1:
        return tf.image.rgb_to_grayscale(rgb)
    return rgb


def preprocess_image(image: tf.Tensor, image_size: int, channels: int, crop: int | None) -> tf.Tensor:
    """uint8 HWC image -> float32 ``(image_size, image_size, channels)`` in [-1, 1].

    Center crop of ``crop`` x ``crop`` (clamped to the image; the largest
    central square when None), then an antialiased bilinear resize.

    Args:
        image: uint8 tensor ``(H, W, C)`` with C in 1..4.
        image_size: output height and width.
        channels: 1 or 3.
        crop: side of the central crop, or None.

    Returns:
        Float32 tensor in [-1, 1].
    """
    image = _to_channels(image, channels)
    h, w = tf.shape(image)[0], tf.shape(image)[1]
    side = tf.minimum(h, w) if crop is None else tf.minimum(tf.minimum(h, w), crop)
    top, left = (h - side) // 2, (w - side) // 2
    image = image[top : top + side, left : left + side]
    image = tf.image.resize(tf.cast(image, tf.float32), [image_size, image_size], method="bilinear", antialias=True)
    image = tf.clip_by_value(image / 127.5 - 1.0, -1.0, 1.0)
    image.set_shape((image_size, image_size, channels))
    return image


def _decode_file(path: tf.Tensor) -> tf.Tensor:
    return tf.io.decode_image(tf.io.read_file(path), channels=0, expand_animations=False)


def _list_images(root: Path) -> list[tuple[str, int, int]]:
    """``(path, size, mtime_ns)`` of every image file under ``root``, sorted by path.

    One ``os.scandir`` walk: the directory entries carry the file type and
    (on Linux) a stat that is taken once, which matters for 200,000 files.
    """
    found, stack = [], [str(root)]
    while stack:
        with os.scandir(stack.pop()) as entries:
            for entry in entries:
                if entry.is_dir():
                    stack.append(entry.path)
                elif entry.is_file() and os.path.splitext(entry.name)[1].lower() in IMAGE_EXTENSIONS:
                    st = entry.stat()
                    found.append((entry.path, st.st_size, st.st_mtime_ns))
    return sorted(found)


def _manifest_path(files: list[tuple[str, int, int]]) -> Path:
    digest = hashlib.sha1()
    for path, size, mtime in files:
        digest.update(f"{path}\0{size}\0{mtime}\n".encode())
    return cache_dir("folder_scans", f"{digest.hexdigest()}.json")


def image_file_is_whole(path: str) -> bool:
    """Whether ``path`` starts like an image TensorFlow decodes and is not cut short.

    Reads the first and last bytes only: the signature of JPEG, PNG, GIF, BMP
    or WebP, and the end of the file (JPEG's end-of-image marker, PNG's IEND
    chunk, GIF's trailer, the sizes BMP and WebP record in their headers). This
    catches files that are not images and truncated downloads without decoding;
    a file that passes and still fails to decode is dropped by the pipeline.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(32)
            size = f.seek(0, os.SEEK_END)
            f.seek(max(0, size - 64))
            tail = f.read()
    except OSError:
        return False
    if head[:3] == b"\xff\xd8\xff":
        return b"\xff\xd9" in tail[-64:]
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return b"IEND" in tail[-16:]
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return tail.rstrip(b"\x00")[-1:] == b";"
    if head[:2] == b"BM" and len(head) >= 6:
        return int.from_bytes(head[2:6], "little") <= size
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return int.from_bytes(head[4:8], "little") + 8 <= size
    return False


def scan_folder(path: str | os.PathLike, use_cache: bool = True) -> FolderScan:
    """Finds the image files under ``path`` and which of them look whole.

    Each file's signature and end are checked (``image_file_is_whole``)
    without decoding: CelebA's 202,599 files take seconds,
    not minutes. The result is cached (keyed by the files' paths, sizes and
    modification times) under ``$KERAS_WGAN_CACHE`` (default
    ``~/.cache/keras_wgan``), so a second start does not read them at all.

    Args:
        path: folder, searched recursively.
        use_cache: read and write the scan cache.

    Returns:
        A ``FolderScan`` with the good and the bad files.

    Raises:
        DatasetError: if the folder does not exist or has no image files.
    """
    root = Path(path).expanduser()
    if not root.is_dir():
        raise DatasetError(f"Image folder not found: {str(root)!r}")
    listing = _list_images(root)
    files = [path for path, _, _ in listing]
    if not files:
        raise DatasetError(f"No image files ({', '.join(IMAGE_EXTENSIONS)}) under {str(root)!r}.")
    manifest = _manifest_path(listing) if use_cache else None
    if manifest is not None and manifest.is_file():
        try:
            cached = json.loads(manifest.read_text())
            return FolderScan(tuple(cached["good"]), tuple(cached["bad"]))
        except (OSError, ValueError, KeyError):
            pass
    whole = [image_file_is_whole(f) for f in files]  # ~30 us a file; threads only add lock contention
    scan = FolderScan(
        tuple(f for f, ok in zip(files, whole, strict=True) if ok),
        tuple(f for f, ok in zip(files, whole, strict=True) if not ok),
    )
    if manifest is not None:
        with contextlib.suppress(OSError):  # an unwritable cache only costs a rescan next time
            atomic_write_text(manifest, json.dumps({"good": scan.good, "bad": scan.bad}))
    return scan


def _finish(ds: tf.data.Dataset, batch: int, shard: Shard = Shard()) -> tf.data.Dataset:
    return ds.batch(batch // shard.count, drop_remainder=True, num_parallel_calls=AUTOTUNE).prefetch(AUTOTUNE)


def _check_enough(count: int, batch: int) -> None:
    if count < batch:
        raise DatasetError(
            f"The dataset has {count} images, fewer than one batch of {batch} "
            "(batch_size x n_critic); lower the batch size."
        )


def _epoch_permutations(count: int, seed: int, shuffle: bool, start_sample: int) -> tf.data.Dataset:
    """Endless indices: a seeded permutation of range(count) per pass, starting at ``start_sample``."""
    first_epoch, skip = divmod(start_sample, count)

    def one_pass(k):
        if not shuffle:
            return tf.data.Dataset.range(count)
        keys = tf.random.stateless_uniform([count], seed=tf.stack([tf.constant(seed, tf.int64), k]))
        return tf.data.Dataset.from_tensor_slices(tf.cast(tf.argsort(keys), tf.int64))

    return tf.data.Dataset.counter(start=first_epoch).flat_map(one_pass).skip(skip)


def _table_pipeline(
    table: tf.Tensor | np.ndarray,
    load,
    batch: int,
    seed: int,
    cache: bool | str,
    shuffle: bool,
    repeat: bool,
    start_sample: int,
    shard: Shard = Shard(),
) -> tf.data.Dataset:
    """Pipeline over an indexable table of elements (file paths or decoded images)."""
    count = len(table)
    _check_enough(count, batch)
    table = tf.constant(table)
    if repeat and not cache:
        # Each pass is an explicit seeded permutation, so the stream can start anywhere
        # (resume) by skipping indices, without decoding what is skipped.
        idx = shard.take(_epoch_permutations(count, seed, shuffle, start_sample))
        ds = idx.map(lambda i: load(tf.gather(table, i)), num_parallel_calls=AUTOTUNE).ignore_errors()
        return _finish(ds, batch, shard)
    return _stream_pipeline(
        tf.data.Dataset.from_tensor_slices(table), count, load, batch, seed, cache, shuffle, repeat, start_sample, shard
    )


def _stream_pipeline(
    source: tf.data.Dataset,
    count: int,
    load,
    batch: int,
    seed: int,
    cache: bool | str,
    shuffle: bool,
    repeat: bool,
    start_sample: int,
    shard: Shard = Shard(),
) -> tf.data.Dataset:
    """Pipeline over a dataset of raw elements that can only be read in order."""
    _check_enough(count, batch)
    if cache:
        ds = source.map(load, num_parallel_calls=AUTOTUNE).ignore_errors()
        ds = ds.cache("" if cache is True else str(cache))
        if shuffle:
            ds = ds.shuffle(min(count, 20000), seed=seed, reshuffle_each_iteration=True)
        if repeat:
            ds = ds.repeat().skip(start_sample)
        ds = shard.take(ds)
    else:
        if shuffle:
            source = source.shuffle(min(count, 200_000), seed=seed, reshuffle_each_iteration=True)
        if repeat:
            source = source.repeat().skip(start_sample)
        ds = shard.take(source).map(load, num_parallel_calls=AUTOTUNE).ignore_errors()
    return _finish(ds, batch, shard)


def folder_dataset(
    path: str | os.PathLike,
    batch_size: int,
    image_size: int = 64,
    channels: int = 3,
    *,
    crop: int | None = None,
    seed: int = 0,
    cache: bool | str = False,
    shuffle: bool = True,
    repeat: bool = False,
    start_sample: int = 0,
    shard: Shard = Shard(),
) -> tf.data.Dataset:
    """Every readable image under ``path``, cropped, resized, in [-1, 1].

    Unreadable files are skipped and reported once through the
    ``keras_wgan`` logger ("skipped 3 of 1200 files: ...").

    Args:
        path: the folder (searched recursively).
        batch_size: images per batch.
        image_size: output side.
        channels: 1 or 3 (grayscale and RGBA inputs are converted).
        crop: central crop side; the largest central square when None. Use
            ``datasets.CELEBA_CROP`` (140) on ``img_align_celeba/`` to match ``celeb_a``.
        seed: shuffle seed.
        cache: True caches decoded images in memory, a path caches them on
            disk; False decodes every epoch.
        shuffle: shuffle (seeded) every epoch.
        repeat: an endless stream of passes (each a fresh seeded permutation).
        start_sample: with ``repeat``, the position in the stream to start at.
        shard: one replica's share of the samples (all of them by default).

    Returns:
        A dataset of float32 ``(batch_size // shard.count, image_size, image_size, channels)``:
        one pass (finite) or endless with ``repeat``.
    """
    scan = scan_folder(path)
    if scan.bad and (str(path), scan.bad) not in _REPORTED_SCANS:
        # Once per process: a run builds the stream more than once (resume, epoch restarts).
        _REPORTED_SCANS.add((str(path), scan.bad))
        shown = ", ".join(Path(b).name for b in scan.bad[:5]) + (" ..." if len(scan.bad) > 5 else "")
        logger.warning(
            "keras_wgan: skipped %d of %d files in %s (unreadable): %s", len(scan.bad), scan.total, path, shown
        )
    if not scan.good:
        raise DatasetError(f"None of the {scan.total} image files under {str(path)!r} could be decoded.")

    def load(p):
        return preprocess_image(_decode_file(p), image_size, channels, crop)

    return _table_pipeline(np.array(scan.good), load, batch_size, seed, cache, shuffle, repeat, start_sample, shard)


def digits_images(image_size: int = 32, channels: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled 8x8 digits as float32 images in [-1, 1].

    Args:
        image_size: output side (bilinear upsampling from 8x8).
        channels: 1 or 3.

    Returns:
        ``(images, labels)``: ``(1797, image_size, image_size, channels)`` and ``(1797,)``.
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = digits.images.astype(np.float32)[..., None] / 16.0  # values 0..16
    images = tf.image.resize(images, [image_size, image_size], method="bilinear", antialias=True).numpy()
    images = np.clip(images * 2.0 - 1.0, -1.0, 1.0).astype(np.float32)
    if channels == 3:
        images = np.repeat(images, 3, axis=-1)
    return images, digits.target.astype(np.int32)


def digits_dataset(
    batch_size: int,
    image_size: int = 32,
    channels: int = 1,
    *,
    seed: int = 0,
    shuffle: bool = True,
    repeat: bool = False,
    start_sample: int = 0,
    shard: Shard = Shard(),
) -> tf.data.Dataset:
    """The bundled digits, reshuffled each epoch (one epoch = one pass).

    Args:
        batch_size: images per batch.
        image_size: 32 by default (8x8 upsampled).
        channels: 1 or 3.
        seed: shuffle seed.
        shuffle: shuffle every epoch.
        repeat: an endless stream of passes.
        start_sample: with ``repeat``, the position in the stream to start at.
        shard: one replica's share of the samples (all of them by default).

    Returns:
        A dataset of float32 ``(batch_size // shard.count, image_size, image_size, channels)``.
    """
    images, _ = digits_images(image_size, channels)
    return _table_pipeline(images, lambda x: x, batch_size, seed, False, shuffle, repeat, start_sample, shard)


#: Encoded images shuffled together inside one pass over TFRecord files (about 30 MB of CelebA JPEGs).
RECORD_SHUFFLE_WINDOW = 4096


def _record_pass(
    files: tf.Tensor, skips: tf.Tensor, takes: tf.Tensor, seed: int, shuffle: bool, k: tf.Tensor
) -> tf.data.Dataset:
    """Pass ``k`` over TFRecord files of tfds examples: the encoded ``image`` bytes, not decoded.

    With ``shuffle``, the file order is a seeded permutation per pass, the files
    are interleaved record by record, and windows of ``RECORD_SHUFFLE_WINDOW``
    records are permuted, all from (seed, k): a pass is a fixed function of
    its index, so a resumed stream rebuilds it and skips inside it. The
    records of a tfds split are already in a hashed (random) order.
    """
    n = files.shape[0]
    key = tf.stack([tf.constant(seed, tf.int64), k])
    order = tf.argsort(tf.random.stateless_uniform([n], seed=key)) if shuffle else tf.range(n)
    shards = tf.data.Dataset.from_tensor_slices(
        (tf.gather(files, order), tf.gather(skips, order), tf.gather(takes, order))
    )
    records = shards.interleave(
        lambda f, s, t: tf.data.TFRecordDataset(f, buffer_size=1 << 20).skip(s).take(t),
        cycle_length=min(n, 16),
        block_length=1,
        num_parallel_calls=AUTOTUNE,
        deterministic=True,
    )
    windows = records.batch(RECORD_SHUFFLE_WINDOW).enumerate()

    def open_window(w, serialized):
        images = tf.io.parse_example(serialized, {"image": tf.io.FixedLenFeature([], tf.string)})["image"]
        if shuffle:
            wkey = tf.stack([tf.constant(seed, tf.int64) + 7919 * k, w])
            images = tf.gather(images, tf.argsort(tf.random.stateless_uniform(tf.shape(images), seed=wkey)))
        return tf.data.Dataset.from_tensor_slices(images)

    return windows.flat_map(open_window)


def celeba_dataset(
    batch_size: int,
    image_size: int = 64,
    channels: int = 3,
    *,
    split: str = "train",
    crop: int = datasets.CELEBA_CROP,
    seed: int = 0,
    data_dir: str | None = None,
    cache: bool | str = False,
    shuffle: bool = True,
    repeat: bool = False,
    start_sample: int = 0,
    shard: Shard = Shard(),
) -> tf.data.Dataset:
    """CelebA aligned faces from tensorflow-datasets, center-cropped and resized.

    The dataset is prepared once (``keras_wgan.celeba.prepare``: from the five
    files in the tfds manual folder, or downloaded). The TFRecord files are then
    read directly: JPEG bytes are shuffled and skipped, and decoded only
    after the shuffle, so memory stays bounded (a window of encoded images) and
    a resumed stream skips to its position without decoding anything.

    Args:
        batch_size: images per batch.
        image_size: output side (64 by default).
        channels: 3, or 1 for grayscale.
        split: ``train``, ``validation``, ``test`` or any tfds split expression.
        crop: central crop side (``datasets.CELEBA_CROP`` = 140).
        seed: shuffle seed.
        data_dir: tfds data directory (default: ``$TFDS_DATA_DIR`` or ``~/tensorflow_datasets``).
        cache: as in ``folder_dataset`` (decoded, preprocessed images).
        shuffle: shuffle every pass.
        repeat: an endless stream of passes.
        start_sample: with ``repeat``, the position in the stream to start at.
        shard: one replica's share of the samples (all of them by default):
            every worker reads the records and keeps its share before decoding.

    Returns:
        A dataset of float32 ``(batch_size // shard.count, image_size, image_size, channels)``.

    Raises:
        DatasetError: if the data cannot be downloaded or prepared; the
            message names the cause and says where to put the files.
    """
    paths, skips, takes = celeba.split_files(celeba.prepare(data_dir), split)
    count = sum(takes)
    _check_enough(count, batch_size)
    files, skip_t, take_t = tf.constant(paths), tf.constant(skips, tf.int64), tf.constant(takes, tf.int64)

    def load(encoded):
        return preprocess_image(tf.io.decode_jpeg(encoded, channels=3), image_size, channels, crop)

    if cache:
        source = _record_pass(files, skip_t, take_t, seed, False, tf.constant(0, tf.int64))
        return _stream_pipeline(source, count, load, batch_size, seed, cache, shuffle, repeat, start_sample, shard)
    first_pass, skip = divmod(start_sample, count) if repeat else (0, 0)
    passes = tf.data.Dataset.counter(start=first_pass) if repeat else tf.data.Dataset.range(1)
    encoded = passes.flat_map(lambda k: _record_pass(files, skip_t, take_t, seed, shuffle, k)).skip(skip)
    return _finish(shard.take(encoded).map(load, num_parallel_calls=AUTOTUNE).ignore_errors(), batch_size, shard)


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
        split: tfds split for ``celeb_a``.
        data_dir: tfds data directory for ``celeb_a``.
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
    spec = datasets.get(name)
    if image_size is None:
        image_size = spec.image_size or 64
    positive = (
        ("batch_size", batch_size),
        ("n_critic", n_critic),
        ("image_size", image_size),
        ("num_shards", num_shards),
    )
    for arg, value in positive:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise DatasetError(f"`{arg}` must be a positive integer. Received: {arg}={value!r}")
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
    stream = {"shuffle": shuffle, "repeat": repeat, "start_sample": start_sample, "shard": shard}
    if spec.kind == "toy":
        return toy_dataset(name, batch, seed, start_batch=start_sample // batch, shard=shard)
    if spec.kind == "digits":
        return digits_dataset(batch, image_size, channels or spec.channels, seed=seed, **stream)
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
            **stream,
        )
    path = datasets.folder_path(name)
    return folder_dataset(
        path, batch, image_size, channels or spec.channels, crop=crop, seed=seed, cache=cache, **stream
    )


def dataset_size(name: str, data_dir: str | None = None) -> int | None:
    """Samples in one pass over a dataset (None: an endless toy).

    Counted where the registry does not fix it: the readable files of a folder,
    the train split of CelebA (prepared first if needed).

    Raises:
        DatasetError: the data cannot be found or read.
    """
    spec = datasets.get(name)
    if spec.kind == "toy" or spec.num_examples is not None:
        return spec.num_examples
    if spec.kind == "folder":
        return len(scan_folder(datasets.folder_path(name)).good)
    return celeba.num_examples(data_dir, "train")

"""CelebA from tensorflow-datasets' prepared TFRecords, read as encoded bytes and decoded after the shuffle.

The dataset is prepared once by tensorflow-datasets' own builder
(``keras_wgan.data.celeba_prepare``); this module reads its TFRecord files
directly, so that memory stays bounded and a resumed stream skips to its
position without decoding anything.
"""

from __future__ import annotations

import tensorflow as tf

from keras_wgan.data import celeba_prepare, registry
from keras_wgan.data.images import preprocess_image
from keras_wgan.data.streams import AUTOTUNE, WHOLE, Shard, Stream, check_enough, finish, sequential_pipeline

#: Encoded images shuffled together inside one pass over TFRecord files (about 30 MB of CelebA JPEGs).
RECORD_SHUFFLE_WINDOW = 4096


def record_pass(
    files: tf.Tensor,
    skips: tf.Tensor,
    takes: tf.Tensor,
    seed: int,
    shuffle: bool,
    k: tf.Tensor,
    attributes: tuple[str, ...] = (),
) -> tf.data.Dataset:
    """Pass ``k`` over TFRecord files of tfds examples: the encoded ``image`` bytes, not decoded
    (with ``attributes``: ``(image bytes, float32 0/1 vector of those attributes)``).

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

    features = {"image": tf.io.FixedLenFeature([], tf.string)}
    features.update({f"attributes/{a}": tf.io.FixedLenFeature([], tf.int64) for a in attributes})

    def open_window(w, serialized):
        parsed = tf.io.parse_example(serialized, features)
        images = parsed["image"]
        order = tf.range(tf.shape(images)[0])
        if shuffle:
            wkey = tf.stack([tf.constant(seed, tf.int64) + 7919 * k, w])
            order = tf.argsort(tf.random.stateless_uniform(tf.shape(images), seed=wkey))
            images = tf.gather(images, order)
        if not attributes:
            return tf.data.Dataset.from_tensor_slices(images)
        labels = tf.stack([tf.cast(parsed[f"attributes/{a}"], tf.float32) for a in attributes], axis=1)
        return tf.data.Dataset.from_tensor_slices((images, tf.gather(labels, order)))

    return windows.flat_map(open_window)


def celeba_dataset(
    batch_size: int,
    image_size: int = 64,
    channels: int = 3,
    *,
    split: str = "train",
    crop: int = registry.CELEBA_CROP,
    seed: int = 0,
    data_dir: str | None = None,
    cache: bool | str = False,
    shuffle: bool = True,
    repeat: bool = False,
    start_sample: int = 0,
    shard: Shard = WHOLE,
    attributes: tuple[str, ...] | None = None,
) -> tf.data.Dataset:
    """CelebA aligned faces from tensorflow-datasets, center-cropped and resized.

    The dataset is prepared once (``keras_wgan.data.celeba_prepare.prepare``: from the five
    files in the tfds manual folder, or downloaded). The TFRecord files are then
    read directly: JPEG bytes are shuffled and skipped, and decoded only
    after the shuffle, so memory stays bounded (a window of encoded images) and
    a resumed stream skips to its position without decoding anything.

    Args:
        batch_size: images per batch.
        image_size: output side (64 by default).
        channels: 3, or 1 for grayscale.
        split: ``train``, ``validation``, ``test`` or any tfds split expression.
        crop: central crop side (``registry.CELEBA_CROP`` = 140).
        seed: shuffle seed.
        data_dir: tfds data directory (default: ``$TFDS_DATA_DIR`` or ``~/tensorflow_datasets``).
        cache: as in ``folder_dataset`` (decoded, preprocessed images).
        shuffle: shuffle every pass.
        repeat: an endless stream of passes.
        start_sample: with ``repeat``, the position in the stream to start at.
        shard: one replica's share of the samples (all of them by default):
            every worker reads the records and keeps its share before decoding.
        attributes: names of CelebA attributes (``registry.CELEBA_ATTRIBUTES``):
            batches of ``(images, float32 0/1 vectors of those attributes)``, in
            the same order as without them.

    Returns:
        A dataset of float32 ``(batch_size // shard.count, image_size, image_size, channels)``
        (and ``(batch_size // shard.count, len(attributes))`` attribute vectors).

    Raises:
        DatasetError: if the data cannot be downloaded or prepared; the
            message names the cause and says where to put the files.
    """
    attributes = tuple(registry.check_attributes(attributes)) if attributes else ()
    paths, skips, takes = celeba_prepare.split_files(celeba_prepare.prepare(data_dir), split)
    count = sum(takes)
    check_enough(count, batch_size)
    files, skip_t, take_t = tf.constant(paths), tf.constant(skips, tf.int64), tf.constant(takes, tf.int64)

    def load_image(encoded):
        return preprocess_image(tf.io.decode_jpeg(encoded, channels=3), image_size, channels, crop)

    load = (lambda encoded, y: (load_image(encoded), y)) if attributes else load_image
    if cache:
        source = record_pass(files, skip_t, take_t, seed, False, tf.constant(0, tf.int64), attributes)
        stream = Stream(seed, shuffle, repeat, start_sample, shard, cache)
        return sequential_pipeline(source, count, load, batch_size, stream)
    first_pass, skip = divmod(start_sample, count) if repeat else (0, 0)
    passes = tf.data.Dataset.counter(start=first_pass) if repeat else tf.data.Dataset.range(1)
    encoded = passes.flat_map(lambda k: record_pass(files, skip_t, take_t, seed, shuffle, k, attributes)).skip(skip)
    return finish(shard.take(encoded).map(load, num_parallel_calls=AUTOTUNE).ignore_errors(), batch_size, shard)

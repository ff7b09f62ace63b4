"""The resumable stream plumbing every image pipeline shares: order, position, share, batches.

A dataset is read as a ``Stream``: a seeded order (a fresh permutation per pass,
or a shuffle buffer for sources that can only be read in order), endless or
one pass, starting at a given sample (a resumed run starts where it stopped,
skipping indices or encoded records, never decoding what it skips), and one
replica's ``Shard`` of the samples, taken before anything is decoded.
``table_pipeline`` reads an indexable table (file paths, decoded images);
``sequential_pipeline`` a source read in order (TFRecords); both end in
``finish``: batches of ``batch / shard.count`` samples with ``drop_remainder``,
prefetched.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from keras_wgan.errors import DatasetError

AUTOTUNE = tf.data.AUTOTUNE


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


#: The whole stream: the default share of a single process.
WHOLE = Shard()


@dataclass(frozen=True)
class Stream:
    """How a dataset is read: its order, its position, its share.

    Attributes:
        seed: the seed of the order (a permutation per pass, or a shuffle buffer).
        shuffle: shuffle (seeded) every pass; False reads in order.
        repeat: an endless stream of passes; False: one pass.
        start_sample: with ``repeat``, the position in the stream to start at
            (a resumed run passes ``steps_done * batch_size * n_critic``).
        shard: one replica's share of the samples (all of them by default).
        cache: True keeps decoded samples in memory, a path on disk; False
            decodes every pass.
    """

    seed: int = 0
    shuffle: bool = True
    repeat: bool = False
    start_sample: int = 0
    shard: Shard = WHOLE
    cache: bool | str = False


def finish(ds: tf.data.Dataset, batch: int, shard: Shard) -> tf.data.Dataset:
    """Batches of ``batch / shard.count`` samples (``drop_remainder``), prefetched."""
    return ds.batch(batch // shard.count, drop_remainder=True, num_parallel_calls=AUTOTUNE).prefetch(AUTOTUNE)


def check_enough(count: int, batch: int) -> None:
    """Raises ``DatasetError`` when ``count`` samples do not make one batch of ``batch``."""
    if count < batch:
        raise DatasetError(
            f"The dataset has {count} images, fewer than one batch of {batch} "
            "(batch_size x n_critic); lower the batch size."
        )


def epoch_permutations(count: int, seed: int, shuffle: bool, start_sample: int) -> tf.data.Dataset:
    """Endless indices: a seeded permutation of range(count) per pass, starting at ``start_sample``."""
    first_epoch, skip = divmod(start_sample, count)

    def one_pass(k):
        if not shuffle:
            return tf.data.Dataset.range(count)
        keys = tf.random.stateless_uniform([count], seed=tf.stack([tf.constant(seed, tf.int64), k]))
        return tf.data.Dataset.from_tensor_slices(tf.cast(tf.argsort(keys), tf.int64))

    return tf.data.Dataset.counter(start=first_epoch).flat_map(one_pass).skip(skip)


def table_pipeline(
    table: tf.Tensor | np.ndarray,
    load: Callable[[tf.Tensor], tf.Tensor],
    batch: int,
    stream: Stream,
    labels: np.ndarray | None = None,
) -> tf.data.Dataset:
    """The batches of an indexable table of elements (file paths or decoded images), each through ``load``.

    Args:
        table: the elements.
        load: element -> sample (decode, preprocess).
        batch: samples per batch (of all shards together).
        stream: order, position and share.
        labels: one label per element (a class index or an attribute vector): the
            batches are then ``(samples, labels)``, in the same order, shards and
            positions as without them.

    Returns:
        A ``tf.data.Dataset`` of batches.
    """
    count = len(table)
    check_enough(count, batch)
    table = tf.constant(table)
    if labels is not None:
        label_table = tf.constant(labels)
        element, source = (
            lambda i: (load(tf.gather(table, i)), tf.gather(label_table, i)),
            tf.data.Dataset.from_tensor_slices((table, label_table)),
        )
        load_element = lambda x, y: (load(x), y)  # noqa: E731
    else:
        element, source, load_element = lambda i: load(tf.gather(table, i)), None, load
    if stream.repeat and not stream.cache:
        # Each pass is an explicit seeded permutation, so the stream can start anywhere
        # (resume) by skipping indices, without decoding what is skipped.
        idx = stream.shard.take(epoch_permutations(count, stream.seed, stream.shuffle, stream.start_sample))
        ds = idx.map(element, num_parallel_calls=AUTOTUNE).ignore_errors()
        return finish(ds, batch, stream.shard)
    source = tf.data.Dataset.from_tensor_slices(table) if source is None else source
    return sequential_pipeline(source, count, load_element, batch, stream)


def sequential_pipeline(
    source: tf.data.Dataset, count: int, load: Callable[[tf.Tensor], tf.Tensor], batch: int, stream: Stream
) -> tf.data.Dataset:
    """The batches of a source of ``count`` raw elements that can only be read in order.

    Args:
        source: one pass over the raw elements (or ``(element, label)`` pairs).
        count: elements in one pass.
        load: element -> sample (or ``(element, label) -> (sample, label)``).
        batch: samples per batch (of all shards together).
        stream: order (a shuffle buffer), position and share.

    Returns:
        A ``tf.data.Dataset`` of batches.
    """
    check_enough(count, batch)
    if stream.cache:
        ds = source.map(load, num_parallel_calls=AUTOTUNE).ignore_errors()
        ds = ds.cache("" if stream.cache is True else str(stream.cache))
        if stream.shuffle:
            ds = ds.shuffle(min(count, 20000), seed=stream.seed, reshuffle_each_iteration=True)
        if stream.repeat:
            ds = ds.repeat().skip(stream.start_sample)
        ds = stream.shard.take(ds)
    else:
        if stream.shuffle:
            source = source.shuffle(min(count, 200_000), seed=stream.seed, reshuffle_each_iteration=True)
        if stream.repeat:
            source = source.repeat().skip(stream.start_sample)
        ds = stream.shard.take(source).map(load, num_parallel_calls=AUTOTUNE).ignore_errors()
    return finish(ds, batch, stream.shard)

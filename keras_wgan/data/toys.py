"""The 2D toys of the WGAN-GP authors' toy script as endless, seeded ``tf.data`` streams.

``8gaussians``, ``25gaussians`` and ``swissroll``; their shapes (centres, noise,
scale) are the registry's (``keras_wgan.data.registry``). Batch ``k`` of a
stream depends only on ``(seed, k)``, so a resumed run starts at any batch.
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from keras_wgan.data import registry
from keras_wgan.data.streams import AUTOTUNE, WHOLE, Shard
from keras_wgan.errors import DatasetError


def _toy_batch(name: str, n: int, seed: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor | None]:
    """``n`` points of the stream's batch ``seed``, and the index of the mode each was drawn from (None: no modes)."""
    shape = registry.get(name).toy
    idx = None
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
    return (points + noise) / shape.divisor, idx


def toy_dataset(
    name: str, batch_size: int, seed: int = 0, start_batch: int = 0, shard: Shard = WHOLE, labels: bool = False
) -> tf.data.Dataset:
    """An endless, seeded stream of batches of a 2D toy distribution.

    Args:
        name: ``8gaussians``, ``25gaussians`` or ``swissroll``.
        batch_size: points per batch (of all shards together).
        seed: the stream's seed; batch ``k`` depends only on (seed, k).
        start_batch: index of the first batch (to resume a stream).
        shard: one replica's share: points ``shard.index, shard.index +
            shard.count, ...`` of each batch (all of them by default).
        labels: batches of ``(points, mode)``: the int32 index of the mixture
            component each point was drawn from (the same points as without labels).

    Returns:
        A dataset of float32 tensors ``(batch_size // shard.count, 2)`` (and their modes).
    """
    if not registry.is_toy(name):
        raise DatasetError(f"Unknown toy dataset {name!r}; choose one of {', '.join(registry.TOY_DATASETS)}.")
    if labels and registry.get(name).labels is None:
        raise DatasetError(f"{name} has no modes, so no labels; conditional toys are 8gaussians and 25gaussians.")

    def make(k):
        points, modes = _toy_batch(name, batch_size, tf.stack([tf.cast(seed, tf.int64), k]))
        part = slice(shard.index, None, shard.count)
        return (points[part], modes[part]) if labels else points[part]

    ds = tf.data.Dataset.counter(start=start_batch).map(make, num_parallel_calls=AUTOTUNE)
    return ds.prefetch(AUTOTUNE)

"""scikit-learn's bundled 8x8 handwritten digits (1797) as 32x32 images: the offline image dataset."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from keras_wgan.data.streams import WHOLE, Shard, Stream, table_pipeline


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
    shard: Shard = WHOLE,
    labels: bool = False,
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
        labels: batches of ``(images, digit)``, the digit an int32 in 0-9.

    Returns:
        A dataset of float32 ``(batch_size // shard.count, image_size, image_size, channels)``
        (and int32 ``(batch_size // shard.count,)`` labels).
    """
    images, digits = digits_images(image_size, channels)
    stream = Stream(seed, shuffle, repeat, start_sample, shard)
    return table_pipeline(images, lambda x: x, batch_size, stream, labels=digits if labels else None)

"""Image preprocessing shared by the image pipelines: decode, channels, central crop, resize, [-1, 1]."""

from __future__ import annotations

import tensorflow as tf


def to_channels(image: tf.Tensor, channels: int) -> tf.Tensor:
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
    image = to_channels(image, channels)
    h, w = tf.shape(image)[0], tf.shape(image)[1]
    side = tf.minimum(h, w) if crop is None else tf.minimum(tf.minimum(h, w), crop)
    top, left = (h - side) // 2, (w - side) // 2
    image = image[top : top + side, left : left + side]
    image = tf.image.resize(tf.cast(image, tf.float32), [image_size, image_size], method="bilinear", antialias=True)
    image = tf.clip_by_value(image / 127.5 - 1.0, -1.0, 1.0)
    image.set_shape((image_size, image_size, channels))
    return image


def decode_file(path: tf.Tensor) -> tf.Tensor:
    """The image file at ``path`` as a uint8 ``(H, W, C)`` tensor (the first frame of an animation)."""
    return tf.io.decode_image(tf.io.read_file(path), channels=0, expand_animations=False)

"""Feature extractors for the metrics, and their caches.

- ``InceptionFeatures``: Inception-v3 pool features and class probabilities
  (FID, KID, IS). FIDs computed with Keras' ImageNet InceptionV3 weights are not
  comparable to published numbers, which use the original TF FID Inception
  graph; pass that graph as a SavedModel (``InceptionFeatures(saved_model=...)``)
  to compare with papers.
- The digits classifier: a small CNN trained once on the bundled digits
  (cached) gives classes covered, the KL divergence of the predicted class
  histogram from uniform, a classifier score (the IS formula with its
  probabilities) and FID in its feature space (``digits_metrics``).
- ``cached_statistics``: arrays (e.g. real-image features) cached once per key
  in the cache folder (``keras_wgan.cache``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from keras_wgan.cache import cache_dir
from keras_wgan.errors import MetricUnavailable
from keras_wgan.io_utils import atomic_path, atomic_write_text
from keras_wgan.safe_load import load_npz


# ------------------------------------------------------------ features
def resize_for_inception(images: tf.Tensor, size: int = 299) -> tf.Tensor:
    """[-1, 1] images (any side, 1 or 3 channels) -> (n, size, size, 3), antialiased bilinear."""
    images = tf.convert_to_tensor(images, tf.float32)
    if images.shape[-1] == 1:
        images = tf.repeat(images, 3, axis=-1)
    return tf.image.resize(images, [size, size], method="bilinear", antialias=True)


class InceptionFeatures:
    """Inception-v3 pool features (2048-d) and class probabilities for FID, KID and IS.

    Sources, in order of preference for comparability with papers:
    ``saved_model``: a SavedModel of the original FID Inception graph (callable on
    uint8-range or [-1, 1] images, see ``saved_model_input``) returning pool features and
    logits; ``weights="imagenet"``: Keras' InceptionV3 (downloaded once by Keras);
    ``weights=PATH``: a local weights file for ``keras.applications.InceptionV3``;
    ``weights=None``: random weights (tests and timing only).

    Args:
        weights: ``"imagenet"``, a path, or None.
        saved_model: path of a SavedModel to use instead of Keras' network.
        saved_model_input: ``"uint8"`` (0..255) or ``"unit"`` ([-1, 1]) input range of the SavedModel.
        pool_key, logits_key: output names of the SavedModel's signature.
        image_size: input side (299).
    """

    def __init__(
        self,
        weights: str | None = "imagenet",
        saved_model: str | None = None,
        saved_model_input: str = "uint8",
        pool_key: str = "pool_3",
        logits_key: str = "logits",
        image_size: int = 299,
    ):
        self.image_size = image_size
        self.saved_model = saved_model
        self.saved_model_input = saved_model_input
        self.pool_key, self.logits_key = pool_key, logits_key
        if saved_model is not None:
            try:
                loaded = tf.saved_model.load(saved_model)
            except Exception as err:
                raise MetricUnavailable(f"Cannot load the Inception SavedModel at {saved_model}: {err}") from err
            self._fn = (
                loaded.signatures["serving_default"] if hasattr(loaded, "signatures") and loaded.signatures else loaded
            )
            self._loaded = loaded
            self.identity = f"savedmodel:{Path(saved_model).resolve()}"
            return
        import keras

        if weights not in (None, "imagenet") and not Path(weights).is_file():
            raise MetricUnavailable(f"Inception weights file not found: {weights}")
        try:
            net = keras.applications.InceptionV3(
                include_top=True, weights=weights, input_shape=(image_size, image_size, 3), classifier_activation=None
            )
        except Exception as err:
            raise MetricUnavailable(
                "Keras' ImageNet InceptionV3 weights are not available (they are downloaded on first use, "
                f"which failed: {type(err).__name__}). Pass --inception-weights PATH to a local "
                "inception_v3_weights_tf_dim_ordering_tf_kernels.h5, or --inception-savedmodel PATH, or choose "
                "metrics that need no download (swd, toy, digits)."
            ) from err
        pool = net.get_layer("avg_pool").output
        self._model = keras.Model(net.input, [pool, net.output])
        self.identity = "keras-inception-v3:" + ("random" if weights is None else str(weights))

    @property
    def network(self):
        """The Keras network from 299x299 images to ``[pool features, logits]`` (None for a SavedModel)."""
        return getattr(self, "_model", None)

    @tf.function(reduce_retracing=True)
    def _forward(self, images: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        # One compiled graph for resize + network + softmax (eager calls of a network
        # this size cost ~20% more on the CPU).
        x = resize_for_inception(images, self.image_size)
        if self.saved_model is not None:
            if self.saved_model_input == "uint8":
                x = (x + 1.0) * 127.5
            out = self._fn(x)
            pool, logits = out[self.pool_key], out[self.logits_key]
        else:
            pool, logits = self._model(x, training=False)
        return tf.reshape(pool, [tf.shape(pool)[0], -1]), tf.nn.softmax(logits)

    def __call__(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pool features ``(n, 2048)`` and class probabilities ``(n, classes)`` of a batch in [-1, 1]."""
        pool, probs = self._forward(tf.convert_to_tensor(images, tf.float32))
        return pool.numpy().astype(np.float64), probs.numpy().astype(np.float64)


def extract(
    fn: Callable[[np.ndarray], tuple[np.ndarray, ...]],
    images: Iterable[np.ndarray],
    total: int | None = None,
    progress: bool = True,
) -> tuple[np.ndarray, ...]:
    """Applies ``fn`` to batches and concatenates each of its outputs, with a progress bar.

    Args:
        fn: maps a batch to a tuple of arrays.
        images: an iterable of batches.
        total: number of samples, for the progress bar.
        progress: show a Keras progress bar.

    Returns:
        The concatenated outputs.
    """
    import keras

    bar = keras.utils.Progbar(total, unit_name="image") if progress else None
    outputs: list[list[np.ndarray]] = []
    seen = 0
    for batch in images:
        result = fn(np.asarray(batch))
        if not outputs:
            outputs = [[] for _ in result]
        for acc, r in zip(outputs, result, strict=True):
            acc.append(r)
        seen += len(batch)
        if bar is not None:
            bar.update(seen)
    return tuple(np.concatenate(acc) for acc in outputs)


def cached_statistics(key: dict[str, Any], compute: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Returns arrays cached under a JSON-able ``key`` in the cache folder, computing them once.

    Args:
        key: what identifies the arrays (dataset, split, size, count, extractor, ...).
        compute: produces the arrays when they are not cached.

    Returns:
        The arrays.
    """
    digest = hashlib.sha1(json.dumps(key, sort_keys=True).encode()).hexdigest()[:20]
    path = cache_dir("stats", f"{digest}.npz")
    if path.is_file():
        return load_npz(path)
    arrays = compute()
    with atomic_path(path) as tmp:
        np.savez(tmp, **arrays)
    atomic_write_text(path.with_suffix(".json"), json.dumps(key, indent=2, sort_keys=True))
    return arrays

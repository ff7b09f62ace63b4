"""The classifiers behind the classifier metrics: trained once, cached, with their held-out accuracy.

- ``digits_classifier``: a small CNN on scikit-learn's bundled digits (80% to
  train, 20% held out); the ``digits`` metrics.
- ``mnist_classifier``: a CNN on MNIST's 60,000 training digits, its accuracy on
  the 10,000 test digits (at least 99% on the real MNIST, or the Stacked MNIST
  mode counts would be made up by its mistakes); the ``mnist`` and ``modes``
  metrics.
- ``class_metrics``: classes covered, the KL divergence of the predicted class
  histogram from uniform, the classifier score (the Inception Score's formula
  with the classifier's probabilities), FID in the classifier's feature space.
- ``stacked_mnist_modes``: Stacked MNIST's mode count and KL as VEEGAN and
  PacGAN compute them (each channel classified; a mode is the triple of labels,
  1,000 in all), and the same among confidently classified samples.

A classifier is cached in the cache folder under what it was trained on (the
data's identity, the seed, the architecture), so later calls and later processes
load it.
"""

from __future__ import annotations

import hashlib
import json
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np

from keras_wgan.cache import cache_dir
from keras_wgan.evaluation.metrics import fid_from_features, inception_score
from keras_wgan.io_utils import atomic_path, atomic_write_text
from keras_wgan.safe_load import load_keras

#: The confidence above which Stacked MNIST counts a sample's three digits as recognized.
CONFIDENT = 0.9
#: The held-out accuracy the MNIST classifier must reach on the real MNIST test digits.
MNIST_TARGET_ACCURACY = 0.99


def small_cnn(input_shape: tuple[int, int, int], width: int = 16, features: int = 64, classes: int = 10) -> Any:
    """Two conv blocks (``width``, ``2 * width`` filters, ReLU, max pooling), a ``features`` layer, a softmax.

    The feature layer is named ``features`` and the output ``probs``: ``classifier_outputs`` reads both.
    """
    import keras

    inputs = keras.Input(input_shape)
    x = keras.layers.Conv2D(width, 3, padding="same", activation="relu")(inputs)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Conv2D(2 * width, 3, padding="same", activation="relu")(x)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Flatten()(x)
    feats = keras.layers.Dense(features, activation="relu", name="features")(x)
    out = keras.layers.Dense(classes, activation="softmax", name="probs")(feats)
    return keras.Model(inputs, out)


def cached_classifier(
    name: str,
    key: dict[str, Any],
    data: Callable[[], tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]],
    build: Callable[[], Any],
    epochs: int,
    target_accuracy: float | None = None,
    seed: int = 0,
    verbose: int = 0,
    check_every: int | None = None,
) -> tuple[Any, float]:
    """A classifier trained once on ``data()`` and cached under ``key``, and its held-out accuracy.

    Args:
        name: the cache file's prefix.
        key: what the classifier depends on (data identity, seed, architecture).
        data: ``() -> (train_images, train_labels, test_images, test_labels)``, called only to train.
        build: ``() -> keras.Model`` with a ``features`` layer and a softmax output.
        epochs: at most this many passes over the training images.
        target_accuracy: stop as soon as the held-out accuracy reaches it (measured every ``check_every``).
        seed: the initialization and shuffling seed.
        verbose: Keras verbosity while training.
        check_every: measure the held-out accuracy every this many training images (None: every epoch).

    Returns:
        ``(model, accuracy)``.
    """
    import keras

    settings = {**key, "epochs": epochs, "target_accuracy": target_accuracy, "check_every": check_every}
    digest = hashlib.sha1(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]
    path = cache_dir(f"{name}_{digest}.keras")
    meta = path.with_suffix(".json")
    if path.is_file() and meta.is_file():
        return load_keras(path), float(json.loads(meta.read_text())["accuracy"])
    x_train, y_train, x_test, y_test = data()
    keras.utils.set_random_seed(seed)
    model = build()
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    if check_every is None:  # whole epochs in one call (Keras shuffles each)
        model.fit(x_train, y_train, epochs=epochs, batch_size=64, verbose=verbose)
        accuracy, seen = float(model.evaluate(x_test, y_test, batch_size=256, verbose=0)[1]), epochs * len(x_train)
    else:  # chunks of check_every images, each pass in a new order, until the target is reached
        rng = np.random.default_rng(seed)
        accuracy, seen = 0.0, 0
        while seen < epochs * len(x_train) and (target_accuracy is None or accuracy < target_accuracy):
            start = seen % len(x_train)
            if start == 0:
                order = rng.permutation(len(x_train))
            part = order[start : start + check_every]
            model.fit(x_train[part], y_train[part], epochs=1, batch_size=64, shuffle=False, verbose=verbose)
            seen += len(part)
            accuracy = float(model.evaluate(x_test, y_test, batch_size=256, verbose=0)[1])
    with atomic_path(path) as tmp:
        model.save(tmp)
    atomic_write_text(meta, json.dumps({"accuracy": accuracy, "images_trained": seen, **settings}, sort_keys=True))
    return model, accuracy


#: classifier -> its (features, probabilities) model, built once (a new model per call retraces predict).
_TWO_OUTPUT_MODELS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def classifier_outputs(model: Any, images: np.ndarray, batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """``(features, probabilities)`` of a classifier (``small_cnn``) on images in [-1, 1]."""
    import keras

    both = _TWO_OUTPUT_MODELS.get(model)
    if both is None:
        both = keras.Model(model.input, [model.get_layer("features").output, model.output])
        _TWO_OUTPUT_MODELS[model] = both
    feats, probs = both.predict(np.asarray(images, np.float32), batch_size=batch_size, verbose=0)
    return feats.astype(np.float64), probs.astype(np.float64)


def histogram_kl(counts: np.ndarray) -> float:
    """KL(histogram || uniform) of bin counts: ``sum p log(p * bins)`` over the non-empty bins (nats).

    Example:
    >>> histogram_kl(np.array([5, 5, 0, 0]))  # half the bins, evenly: log 2
    0.6931471805599453
    """
    p = np.asarray(counts, dtype=np.float64)
    p = p / p.sum()
    nonzero = p > 0
    return float(np.sum(p[nonzero] * np.log(p[nonzero] * p.size)))


def class_metrics(
    fake: np.ndarray, classifier: Any, real_features: np.ndarray, accuracy: float, classes: int = 10
) -> dict[str, float]:
    """Classifier metrics of generated images.

    Args:
        fake: generated images in [-1, 1], the classifier's input shape.
        classifier: a ``small_cnn``.
        real_features: the classifier's features of real images (for the FID).
        accuracy: the classifier's held-out accuracy (reported as ``classifier_accuracy``).
        classes: the number of classes.

    Returns:
        ``classes_covered`` (classes predicted with probability > 0.5 at least
        once), ``class_kl`` (KL of the predicted class histogram from uniform),
        ``classifier_score`` (the IS formula with the classifier),
        ``classifier_fid`` (FID in the feature space), ``classifier_accuracy``.
    """
    f_feats, f_probs = classifier_outputs(classifier, fake)
    pred = f_probs.argmax(axis=1)
    confident = f_probs.max(axis=1) > 0.5
    score, _ = inception_score(f_probs, splits=1)
    return {
        "classes_covered": int(len(set(pred[confident].tolist()))),
        "class_kl": histogram_kl(np.bincount(pred, minlength=classes)),
        "classifier_score": score,
        "classifier_fid": fid_from_features(real_features, f_feats),
        "classifier_accuracy": accuracy,
    }


def conditional_class_metrics(
    fake: np.ndarray,
    asked: np.ndarray,
    classifier: Any,
    real_features: np.ndarray,
    real_labels: np.ndarray,
    names: list[str] | None = None,
) -> dict[str, Any]:
    """How well a conditional generator's samples are of the class they were asked for.

    Args:
        fake: generated images, the classifier's input shape.
        asked: the class index each was generated for.
        classifier: a ``small_cnn`` of the dataset.
        real_features: the classifier's features of real images.
        real_labels: those images' classes.
        names: the classes' names (default: their indices).

    Returns:
        ``asked_class_accuracy``: the share of samples the classifier assigns to
        the asked class; ``per_class_classifier_fid``: ``{class: FID}`` between
        the classifier features of the real images of a class and of the samples
        asked for it; ``per_class_classifier_fid_mean``: their mean.
    """
    f_feats, f_probs = classifier_outputs(classifier, fake)
    asked = np.asarray(asked, np.int64)
    names = names or [str(c) for c in range(f_probs.shape[1])]
    per_class = {}
    for c, name in enumerate(names):
        real_c, fake_c = real_features[real_labels == c], f_feats[asked == c]
        if len(real_c) >= 2 and len(fake_c) >= 2:
            per_class[name] = fid_from_features(real_c, fake_c)
    return {
        "asked_class_accuracy": float(np.mean(f_probs.argmax(axis=1) == asked)),
        "per_class_classifier_fid": per_class,
        "per_class_classifier_fid_mean": float(np.mean(list(per_class.values()))) if per_class else float("nan"),
    }


# --------------------------------------------------------------- digits
def digits_split(seed: int = 0, count: int = 1797) -> tuple[np.ndarray, np.ndarray]:
    """The digits classifier's split: indices of its 80% training digits and of the 20% held out."""
    order = np.random.default_rng(seed).permutation(count)
    cut = int(0.8 * count)
    return order[:cut], order[cut:]


def digits_classifier(seed: int = 0, epochs: int = 20, verbose: int = 0) -> tuple[Any, float]:
    """A small CNN for the bundled digits at 32x32 (trained once, cached), and its held-out accuracy.

    Trains on 80% of the digits (``digits_split``) and reports the accuracy on the other 20%.

    Args:
        seed: split and initialization seed.
        epochs: training epochs.
        verbose: Keras verbosity while training.

    Returns:
        ``(model, accuracy)``.
    """
    from keras_wgan.data import digits_images

    def data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        images, labels = digits_images(32, 1)
        train_idx, test_idx = digits_split(seed, len(images))
        return images[train_idx], labels[train_idx], images[test_idx], labels[test_idx]

    key = {"data": "sklearn-digits-32x32", "seed": seed, "net": "small_cnn-16-64"}
    return cached_classifier(
        "digits_classifier", key, data, lambda: small_cnn((32, 32, 1)), epochs, None, seed, verbose
    )


def digits_metrics(fake: np.ndarray, classifier: Any = None, real: np.ndarray | None = None) -> dict[str, float]:
    """Digits metrics (``class_metrics``) of generated 32x32 one-channel images in [-1, 1].

    Args:
        fake: generated images ``(n, 32, 32, 1)``.
        classifier: the digits classifier (``digits_classifier()`` when None; then its accuracy is reported).
        real: real images for the feature FID (all bundled digits when None).
    """
    from keras_wgan.data import digits_images

    accuracy = float("nan")
    if classifier is None:
        classifier, accuracy = digits_classifier()
    if real is None:
        real, _ = digits_images(32, 1)
    fake = np.asarray(fake, np.float32)
    if fake.shape[1:] != (32, 32, 1):
        raise ValueError(f"digits metrics need (n, 32, 32, 1) images. Received {fake.shape}")
    return class_metrics(fake, classifier, classifier_outputs(classifier, real)[0], accuracy)


# ---------------------------------------------------------------- MNIST
def mnist_classifier(data_dir: Any = None, seed: int = 0, epochs: int = 5, verbose: int = 0) -> tuple[Any, float]:
    """A CNN for MNIST at 32x32 (trained once per MNIST file, cached), and its accuracy on the test digits.

    Trains on the 60,000 training digits and measures the accuracy on the 10,000
    test digits after every 10,000 training images, until it reaches
    ``MNIST_TARGET_ACCURACY`` (99%; about two epochs on the real MNIST) or ``epochs`` passes have been made.

    Args:
        data_dir: where ``mnist.npz`` is (``keras_wgan.data.mnist.mnist_file``).
        seed: initialization seed.
        epochs: at most this many epochs.
        verbose: Keras verbosity while training.

    Returns:
        ``(model, accuracy)``.
    """
    from keras_wgan.data import mnist

    def data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        arrays = mnist.load_mnist(data_dir)
        train, test = (mnist.to_images(arrays[f"x_{s}"]).numpy() for s in ("train", "test"))
        return train, arrays["y_train"], test, arrays["y_test"]

    key = {"data": mnist.file_identity(data_dir), "seed": seed, "net": "small_cnn-32-128"}
    build = lambda: small_cnn((32, 32, 1), width=32, features=128)  # noqa: E731
    return cached_classifier(
        "mnist_classifier", key, data, build, epochs, MNIST_TARGET_ACCURACY, seed, verbose, check_every=10_000
    )


def stacked_mnist_modes(probs: np.ndarray, confident: float = CONFIDENT) -> dict[str, float]:
    """Stacked MNIST's mode metrics from the classifier's probabilities of each channel.

    A sample's mode is the triple of its channels' most probable digits
    (``100 * c0 + 10 * c1 + c2``). As in VEEGAN and PacGAN: ``modes``, the number
    of the 1,000 modes seen at least once, and ``kl``, KL(generated mode
    histogram || uniform over 1,000). Beside them: ``confident_share``, the share
    of samples whose three digits each have probability >= ``confident``, and
    ``confident_modes``, the modes among those samples (blurry samples that the
    classifier guesses at would otherwise count as covered modes).

    Args:
        probs: ``(n, 3, 10)`` class probabilities of the three channels.
        confident: the threshold.

    Returns:
        ``modes``, ``kl``, ``confident_share``, ``confident_modes``, ``samples``.

    Example:
    >>> p = np.full((2, 3, 10), 0.01)
    >>> p[0, :, 1] = p[1, :, 2] = 0.91  # modes 111 and 222, both confident
    >>> stacked_mnist_modes(p)["modes"], round(stacked_mnist_modes(p)["kl"], 4)  # KL = log(1000 / 2)
    (2, 6.2146)
    """
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 3 or probs.shape[1:] != (3, 10):
        raise ValueError(f"stacked_mnist_modes takes probabilities (n, 3, 10). Received {probs.shape}")
    labels = probs.argmax(axis=2)
    modes = 100 * labels[:, 0] + 10 * labels[:, 1] + labels[:, 2]
    sure = (probs.max(axis=2) >= confident).all(axis=1)
    return {
        "modes": int(np.unique(modes).size),
        "kl": histogram_kl(np.bincount(modes, minlength=1000)),
        "confident_share": float(sure.mean()),
        "confident_modes": int(np.unique(modes[sure]).size),
        "samples": int(len(modes)),
    }


def stacked_probabilities(classifier: Any, images: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """The classifier's probabilities of each channel of stacked images ``(n, h, w, 3)``: ``(n, 3, 10)``."""
    images = np.asarray(images, np.float32)
    channels = [classifier_outputs(classifier, images[..., c : c + 1], batch_size)[1] for c in range(3)]
    return np.stack(channels, axis=1)


def stacked_features(classifier: Any, images: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """The classifier's features of each channel of stacked images, concatenated: ``(n, 3 * features)``."""
    images = np.asarray(images, np.float32)
    return np.concatenate(
        [classifier_outputs(classifier, images[..., c : c + 1], batch_size)[0] for c in range(3)], axis=1
    )

"""``GeneratorEMA``: an exponential moving average of the generator's weights.

Also ``recompute_batch_norm_statistics``, which gives an averaged generator
batch-norm statistics of its own (Izmailov et al. 2018).
"""

from __future__ import annotations

import os
from pathlib import Path

import keras
import numpy as np

from keras_wgan import backend
from keras_wgan import labels as label_utils
from keras_wgan.io_utils import atomic_path
from keras_wgan.networks import sublayers
from keras_wgan.safe_load import load_keras
from keras_wgan.schedule import generator_step


def recompute_batch_norm_statistics(
    generator: keras.Model, num_batches: int = 4, batch_size: int = 512, seed: int = 0, labels: str = "classes"
) -> int:
    """Re-estimates a generator's batch-norm moving statistics from its own outputs.

    Averaging weights (``GeneratorEMA``, SWA) gives a network whose batch-norm
    layers' moving mean and variance belong to none of the averaged weights;
    sampling from it in inference mode then uses wrong statistics. This runs
    ``num_batches`` latent batches through ``generator`` in training mode with
    each layer's momentum set so that the moving statistics end as the plain
    average of the per-batch statistics (Izmailov et al. 2018, "Averaging Weights
    Leads to Wider Optima", the ``bn_update`` step). Momenta are restored after.

    Args:
        generator: a Keras generator with a ``(batch, latent_dim)`` input (and a
            ``(batch, num_labels)`` one: a conditional generator).
        num_batches, batch_size: how many standard-normal latent batches, of what size.
        seed: seed of the latent batches (the result is deterministic).
        labels: a conditional generator's labels, ``classes`` (every class in
            turn) or ``attributes`` (each on with probability 1/2).

    Returns:
        The number of batch-norm layers updated (0 leaves the model untouched).

    Example:
    >>> from keras_wgan.networks import build_generator
    >>> recompute_batch_norm_statistics(build_generator(8, 32, 1, width=4))  # its 3 batch-norm layers
    3
    """
    layers = [layer for layer in sublayers(generator) if isinstance(layer, keras.layers.BatchNormalization)]
    if not layers:
        return 0
    if num_batches < 1 or batch_size < 2:
        raise ValueError(f"need num_batches >= 1 and batch_size >= 2; got {num_batches}, {batch_size}")
    latent_dim = int(generator.inputs[0].shape[-1])
    num_labels = int(generator.inputs[1].shape[-1]) if len(generator.inputs) == 2 else None
    rng = np.random.default_rng(seed)
    momenta = [layer.momentum for layer in layers]
    try:
        for k in range(1, num_batches + 1):
            for layer in layers:  # moving = moving * (k-1)/k + batch / k: the running mean of batch statistics
                layer.momentum = (k - 1) / k
            z = rng.standard_normal((batch_size, latent_dim)).astype(np.float32)
            if num_labels is not None:
                z = [z, label_utils.sample_vectors(num_labels, labels, batch_size, seed=seed + k)]
            generator(z, training=True)
    finally:
        for layer, momentum in zip(layers, momenta, strict=True):
            layer.momentum = momentum
    return len(layers)


class GeneratorEMA(keras.callbacks.Callback):
    """Keeps an exponential moving average of the generator's weights.

    After every generator update (every training batch) the trainable weights
    are averaged, ``ema = d * ema + (1 - d) * weights``, with the decay warmed up
    as in ``tf.train.ExponentialMovingAverage``: ``d = min(decay, (1 + t) / (10 + t))``
    for the ``t``-th generator step after ``start_step``, so the copy's
    initialization does not linger in short runs. Batch-norm moving statistics
    are not averaged: before the average is used or saved they are recomputed
    from the averaged generator's own activations
    (``recompute_batch_norm_statistics``). The averaged generator often gives
    smoother, better samples (Yazici et al. 2019, "The Unusual Effectiveness of
    Averaging in GAN Training"). ``SampleGrid(generator=ema)`` renders it.

    Args:
        decay: averaging decay in [0, 1); 0 makes the copy the generator itself.
        start_step: generator step from which averaging starts (until then the
            copy follows the generator exactly, batch-norm statistics included).
        path: optional ``.keras`` file the averaged generator is saved to at
            the end of training; with a saved file present at the start of
            training (a resumed run) the average is loaded from it.
        warmup: use the warmed-up decay above (True) or ``decay`` from the first step.
        load_from: the ``.keras`` file to resume the average from (default:
            ``path``); one that does not exist starts a fresh copy.
        resume: load an existing average at the start (False: always start
            from a copy of the generator).
        stop_on_nonfinite: stop training (``model.stop_training``) the first
            time the generator's weights are not all finite. Turn it off only
            where something else stops every process of a job together
            (``keras_wgan.training`` does with several workers).

    A step whose generator weights are not all finite (a diverged update) is
    not averaged (``skipped_steps`` lists them), and a non-finite average is
    never saved.

    Example:
    >>> ema = GeneratorEMA(decay=0.999, path="runs/demo/ema_generator.keras")
    >>> # model.fit(ds, callbacks=[ema, SampleGrid("runs/demo/samples", generator=ema)])
    """

    def __init__(
        self,
        decay: float = 0.999,
        start_step: int = 0,
        path: str | os.PathLike | None = None,
        warmup: bool = True,
        load_from: str | os.PathLike | None = None,
        resume: bool = True,
        stop_on_nonfinite: bool = True,
    ):
        super().__init__()
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"`decay` must be in [0, 1). Received: decay={decay!r}")
        if start_step < 0:
            raise ValueError(f"`start_step` must be >= 0. Received: start_step={start_step!r}")
        self.decay = float(decay)
        self.start_step = int(start_step)
        self.path = None if path is None else Path(path)
        self.warmup = bool(warmup)
        self.load_from = None if load_from is None else Path(load_from)
        self.resume = bool(resume)
        self.stop_on_nonfinite = bool(stop_on_nonfinite)
        self.ema_generator: keras.Model | None = None
        self._average = None
        self._copy = None
        self._stale_statistics = False
        self._last_step: int | None = None
        #: Generator steps whose weights were not averaged because they were not finite.
        self.skipped_steps: list[int] = []

    def _ensure_copy(self) -> None:
        if self.ema_generator is not None:
            return
        generator = self.model.generator
        source = (self.load_from if self.load_from is not None else self.path) if self.resume else None
        if source is not None and source.is_file():
            self.ema_generator = load_keras(source, compile=False)
        else:
            self.ema_generator = keras.models.clone_model(generator)
            self.ema_generator.set_weights(generator.get_weights())
        trainable = list(zip(self.ema_generator.trainable_weights, generator.trainable_weights, strict=True))
        every = list(zip(self.ema_generator.weights, generator.weights, strict=True))

        def finite(pairs):
            return keras.ops.all(
                keras.ops.stack([keras.ops.all(keras.ops.isfinite(keras.ops.cast(w, "float32"))) for _, w in pairs])
            )

        # Both updates leave the average untouched when the generator holds a
        # non-finite value (a diverged step), and say so.
        def average(decay):
            ok = finite(trainable)
            if ok:
                for ema_w, w in trainable:
                    ema_w.assign(decay * ema_w + (1.0 - decay) * keras.ops.cast(w, ema_w.dtype))
            return ok

        def copy():
            ok = finite(every)
            if ok:
                for ema_w, w in every:
                    ema_w.assign(keras.ops.cast(w, ema_w.dtype))
            return ok

        # One graph each on TensorFlow; eager ops on JAX.
        self._average, self._copy = backend.graph_function(average), backend.graph_function(copy)

    def current_decay(self, step: int) -> float:
        """The decay applied after generator step ``step`` (0 up to ``start_step``: a plain copy)."""
        t = step - self.start_step
        if t <= 0 or self.decay == 0.0:
            return 0.0
        return min(self.decay, (1.0 + t) / (10.0 + t)) if self.warmup else self.decay

    def span_decay(self, previous: int, step: int) -> float:
        """The decay of the steps ``previous + 1 .. step`` together: the product of their decays.

        With ``steps_per_execution=k`` the callback sees the weights only every k
        steps; averaging them as k steps that all ended at these weights keeps
        the average's time scale (``ema = D * ema + (1 - D) * w`` with ``D`` the
        product of the k decays).
        """
        total = 1.0
        for t in range(previous + 1, step + 1):
            total *= self.current_decay(t)
            if total == 0.0:
                break
        return total

    def on_train_begin(self, logs=None):
        self._ensure_copy()
        self._last_step = generator_step(self.model)

    def on_train_batch_end(self, batch, logs=None):
        step = generator_step(self.model)
        previous = self._last_step if self._last_step is not None else step - 1
        self._last_step = step
        if step <= previous:
            return  # a skipped batch: the generator did not change
        decay = self.span_decay(previous, step)
        if decay == 0.0:
            ok = bool(self._copy())
            self._stale_statistics = self._stale_statistics and not ok
        else:
            ok = bool(self._average(keras.ops.convert_to_tensor(decay, "float32")))
            self._stale_statistics = self._stale_statistics or ok
        if not ok:
            self.skipped_steps.append(step)
            if self.stop_on_nonfinite:
                self.model.stop_training = True

    def on_train_end(self, logs=None):
        self.save()

    def _refresh_statistics(self) -> None:
        if self._stale_statistics:
            recompute_batch_norm_statistics(self.ema_generator, labels=getattr(self.model, "labels", None) or "classes")
            self._stale_statistics = False

    def save(self, path: str | os.PathLike | None = None) -> None:
        """Saves the averaged generator as ``.keras`` (to ``path`` or the constructor's)."""
        target = Path(path) if path is not None else self.path
        if target is None or self.ema_generator is None:
            return
        self._refresh_statistics()
        if not self.is_finite():
            raise ValueError(f"the averaged generator holds non-finite values; not saved to {target}")
        with atomic_path(target) as tmp:
            self.ema_generator.save(tmp)

    def is_finite(self) -> bool:
        """Whether every weight of the averaged generator is finite."""
        return all(np.isfinite(np.asarray(w, dtype=np.float64)).all() for w in self.ema_generator.get_weights())

    def __call__(self, z: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
        """Runs the averaged generator on latent vectors ``z`` (and label vectors, for a conditional model)."""
        self._ensure_copy()
        self._refresh_statistics()
        return np.asarray(self.ema_generator(z if labels is None else [z, labels], training=False))

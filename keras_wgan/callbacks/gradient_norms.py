"""``GradientNorms``: the critic's per-layer gradient norms over training (Gulrajani et al. 2017, Fig. 1b)."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Any

import keras
import numpy as np

from keras_wgan import backend
from keras_wgan.backend import Tensor
from keras_wgan.io_utils import atomic_write_bytes
from keras_wgan.networks import sublayers
from keras_wgan.pictures import colors, new_figure, save_figure
from keras_wgan.schedule import StepTrigger, check_every, generator_step


def _critic_layers(model: keras.Model) -> list[keras.layers.Layer]:
    return [layer for layer in sublayers(model.critic) if layer.trainable_weights]


def make_gradient_norm_fn(model: keras.Model):
    """A function ``(real, z) -> tensor of per-layer norms`` for ``model``'s critic (a tf.function on TensorFlow).

    Computes, in one graph, the gradient of the model's ``critic_objective`` (loss
    plus weighted penalty, training mode) on ``real`` (samples, or ``(samples,
    labels)`` for a conditional model) and ``generator(z)`` (for those labels) and the
    L2 norm over each critic layer's weights. It changes RNG state and batch-norm
    statistics: call it through ``critic_layer_gradient_norms`` or inside
    ``model.preserved_state()``.
    """
    layers = _critic_layers(model)
    sizes = [len(layer.trainable_weights) for layer in layers]
    variables = [v for layer in layers for v in layer.trainable_weights]

    def norms(data, z):
        real = model.real_batch(data)  # samples, or (samples, label vectors) for a conditional model
        fake = model.generator_output(z, model.split_labels(real)[1], training=False)
        grads = backend.gradients(lambda: model.critic_objective(real, fake, training=True)["d_loss"], variables)
        out, i = [], 0
        for n in sizes:
            squares = [
                keras.ops.sum(keras.ops.square(keras.ops.cast(g, "float32"))) for g in grads[i : i + n] if g is not None
            ]
            out.append(keras.ops.sqrt(sum(squares)) if squares else keras.ops.convert_to_tensor(0.0))
            i += n
        return keras.ops.stack(out)

    norms = backend.graph_function(norms, reduce_retracing=True)  # one graph on TensorFlow
    return norms


def critic_layer_gradient_norms(model: keras.Model, real: Tensor, z: Tensor, fn=None) -> dict[str, float]:
    """L2 norm of the critic objective's gradient for each critic layer (all its weights together).

    The objective is the model's own ``critic_objective`` (loss plus weighted
    penalty) on ``real`` and ``generator(z)``, evaluated in training mode; the
    model's RNG state and batch-norm statistics are restored afterwards, so the
    measurement does not change the training run.

    Args:
        model: a compiled ``keras_wgan`` GAN.
        real: a batch of real samples (``(samples, labels)`` for a conditional model).
        z: latent vectors, one per real sample.
        fn: a function from ``make_gradient_norm_fn(model)`` to reuse (compiled once).

    Returns:
        ``{layer_name: norm}`` for every critic layer with trainable weights, in layer order.
    """
    fn = fn or make_gradient_norm_fn(model)
    with model.preserved_state():
        data = keras.tree.map_structure(keras.ops.convert_to_tensor, real)
        values = keras.ops.convert_to_numpy(fn(data, keras.ops.convert_to_tensor(z)))
    return {layer.name: float(v) for layer, v in zip(_critic_layers(model), values, strict=True)}


class GradientNorms(keras.callbacks.Callback):
    """Records the critic's per-layer gradient norms and plots them on a log axis.

    Every ``every_n_steps`` generator steps, the gradient of the critic
    objective (the variant's loss plus its weighted penalty) is taken on a
    fixed real batch and fresh fakes, and the L2 norm over each layer's
    weights (kernel and bias together) is appended to ``csv_path``;
    ``plot_path`` shows one line per layer with a log y-axis. This reproduces
    the observation of Gulrajani et al. 2017 (Figure 1b): with weight
    clipping the norms explode or vanish from layer to layer, with the
    gradient penalty they stay stable.

    Args:
        real_batch: real samples to evaluate on (array or tensor; ``(samples,
            labels)`` for a conditional model).
        csv_path: CSV file (``step`` then one column per layer).
        plot_path: PNG file, or None.
        every_n_steps: measurement interval in generator steps.
        seed: seed of the fake batch's latents (fixed across measurements).
    """

    def __init__(
        self,
        real_batch: Any,
        csv_path: str | os.PathLike,
        plot_path: str | os.PathLike | None = None,
        every_n_steps: int = 50,
        seed: int = 0,
    ):
        super().__init__()
        if isinstance(real_batch, (tuple, list)):
            self.real = (np.asarray(real_batch[0], dtype=np.float32), np.asarray(real_batch[1]))
        else:
            self.real = np.asarray(real_batch, dtype=np.float32)
        self.csv_path = Path(csv_path)
        self.plot_path = None if plot_path is None else Path(plot_path)
        self.every_n_steps = check_every("every_n_steps", every_n_steps, allow_none=False)
        self._trigger = StepTrigger(self.every_n_steps)
        self.seed = seed
        self.records: dict[int, dict[str, float]] = {}
        self._z = None
        self._fn = None
        self._fn_model = None

    def on_train_begin(self, logs=None):
        n = int((self.real[0] if isinstance(self.real, tuple) else self.real).shape[0])
        self._z = np.random.default_rng(self.seed).standard_normal((n, self.model.latent_dim)).astype(np.float32)
        if self._fn is None or self._fn_model is not self.model:  # traced once, not per fit call
            self._fn, self._fn_model = make_gradient_norm_fn(self.model), self.model
        self.records = self._read()
        start = generator_step(self.model)
        self._trigger.reset(start)
        self.records = {s: r for s, r in self.records.items() if s <= start}
        if start == 0 and 0 not in self.records:
            self.measure()

    def _read(self) -> dict[int, dict[str, float]]:
        if not self.csv_path.is_file():
            return {}
        out = {}
        with self.csv_path.open(newline="") as f:
            for record in csv.DictReader(f):
                step = int(record.pop("step"))
                out[step] = {k: float(v) for k, v in record.items() if v not in ("", None)}
        return out

    def measure(self) -> dict[str, float]:
        """Measures now, records under the current generator step, rewrites the CSV."""
        norms = critic_layer_gradient_norms(self.model, self.real, self._z, self._fn)
        self.records[generator_step(self.model)] = norms
        layers = list(norms)
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(["step", *layers])
        for step in sorted(self.records):
            writer.writerow([step, *[repr(self.records[step].get(k, float("nan"))) for k in layers]])
        atomic_write_bytes(self.csv_path, buf.getvalue().encode())
        return norms

    def on_train_batch_end(self, batch, logs=None):
        if self._trigger(generator_step(self.model)):
            self.measure()

    def on_epoch_end(self, epoch, logs=None):
        if self.plot_path is not None:
            self.plot()

    def plot(self) -> None:
        """Draws the per-layer norms over steps on a log axis."""
        if not self.records:
            return
        steps = sorted(self.records)
        layers = list(self.records[steps[-1]])
        fig, ax = new_figure(7, 4.5)
        palette = colors(len(layers))
        for color, layer in zip(palette, layers, strict=True):
            values = np.array([self.records[s].get(layer, np.nan) for s in steps], dtype=float)
            values = np.where(values > 0, values, np.nan)
            ax.plot(steps, values, label=layer, color=color)
        ax.set_yscale("log")
        ax.set_xlabel("generator step")
        ax.set_ylabel("||grad of critic objective||_2")
        ax.set_title("Critic gradient norm per layer")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize="small", ncol=2 if len(layers) > 8 else 1)
        fig.tight_layout()
        save_figure(fig, self.plot_path)

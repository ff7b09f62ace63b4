"""Keras callbacks for watching a GAN train: samples, curves, gradients, landscapes.

Every callback writes only inside the folder it is given, is safe to use with
``model.fit`` in user code, and is resume-aware: step numbers come from the
generator optimizer's iteration counter (restored on resume), frames are named
by step, and tables are rewritten by key, so a resumed run neither loses nor
duplicates anything.

- ``SampleGrid``: fixed-noise sample grids (PNG) and ``progress.gif``.
- ``LossCurves``: ``losses.png`` (critic and generator loss in one panel,
  ``w_dist`` and ``gp`` in a second) and ``history.csv``.
- ``GradientNorms``: per-layer L2 norms of the critic-loss gradient
  (``grad_norms.csv``, ``grad_norms.png`` on a log axis).
- ``CriticLandscape``: the critic's value over the plane with real and
  generated points, for 2D data (``critic_XXXXXX.png``, ``critic.gif``).
- ``GANTensorBoard``: scalars, sample-grid images, optional weight histograms.
- ``GeneratorEMA``: an exponential moving average of the generator's weights.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from keras_wgan.io_utils import atomic_path, atomic_write_bytes
from keras_wgan.schedule import StepTrigger

# ------------------------------------------------------------------ helpers


def _check_every(name: str, value: int | None, allow_none: bool = True) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(
            f"`{name}` must be a positive integer{' or None' if allow_none else ''}. Received: {name}={value!r}"
        )
    return value


def _save_figure(fig: Any, path: Path) -> None:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    atomic_write_bytes(path, buf.getvalue())


def _new_figure(width: float, height: float, ncols: int = 1) -> tuple[Any, Any]:
    # The object-oriented API with the Agg canvas: no pyplot state, no display needed.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, ncols)
    return fig, axes


def generator_step(model: keras.Model) -> int:
    """Generator iterations a GAN has done (``model.generator_iterations``; restored on resume).

    Counted by the model, not by the optimizer: under mixed precision a
    loss-scale optimizer skips non-finite updates without counting them.
    """
    return int(model.generator_iterations.numpy())


def image_grid(images: np.ndarray, rows: int, cols: int, padding: int = 2, pad_value: float = 1.0) -> np.ndarray:
    """Tiles images in [-1, 1] into one uint8 grid with ``padding`` pixels between and around tiles.

    Args:
        images: ``(n, h, w, c)`` with ``n >= rows * cols``, values in [-1, 1].
        rows, cols: grid layout.
        padding: pixels between tiles and at the border.
        pad_value: padding value in [-1, 1] (1 is white).

    Returns:
        uint8 array ``(rows*h + (rows+1)*padding, cols*w + (cols+1)*padding, c)``.

    Example:
    >>> image_grid(np.zeros((64, 32, 32, 1)), 8, 8).shape
    (274, 274, 1)
    """
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4:
        raise ValueError(f"image_grid expects (n, h, w, c) images. Received shape {images.shape}")
    n, h, w, c = images.shape
    if n < rows * cols:
        raise ValueError(f"Need {rows * cols} images for a {rows}x{cols} grid. Received {n}")
    grid = np.full((rows * h + (rows + 1) * padding, cols * w + (cols + 1) * padding, c), pad_value, dtype=np.float32)
    for k in range(rows * cols):
        r, q = divmod(k, cols)
        top, left = padding + r * (h + padding), padding + q * (w + padding)
        grid[top : top + h, left : left + w] = images[k]
    return np.round((np.clip(grid, -1.0, 1.0) + 1.0) * 127.5).astype(np.uint8)


def _label_frame(frame: np.ndarray, text: str) -> np.ndarray:
    """Writes ``text`` in the top-left corner of a uint8 frame (RGB)."""
    from PIL import Image, ImageDraw

    if frame.shape[-1] == 1:
        frame = np.repeat(frame, 3, axis=-1)
    image = Image.fromarray(frame)
    draw = ImageDraw.Draw(image)
    box = draw.textbbox((2, 1), text)
    draw.rectangle((box[0] - 2, box[1] - 1, box[2] + 2, box[3] + 1), fill=(0, 0, 0))
    draw.text((2, 1), text, fill=(255, 255, 255))
    return np.asarray(image)


def write_gif(frames: Iterable[np.ndarray], path: Path, duration: float = 0.3) -> int:
    """Writes uint8 RGB frames as a looping GIF, atomically. Returns the frame count."""
    import imageio.v2 as imageio

    frames = list(frames)
    if not frames:
        return 0
    buf = io.BytesIO()
    imageio.mimsave(buf, frames, format="GIF", duration=duration, loop=0)
    atomic_write_bytes(path, buf.getvalue())
    return len(frames)


def _read_png(path: Path) -> np.ndarray:
    import imageio.v2 as imageio

    return np.asarray(imageio.imread(path))


class _StepSchedule:
    """Decides when to act: every N generator steps and/or at each epoch end."""

    def __init__(self, every_n_steps: int | None, every_n_epochs: int | None):
        self.every_n_steps = _check_every("every_n_steps", every_n_steps)
        self.every_n_epochs = _check_every("every_n_epochs", every_n_epochs)
        if self.every_n_steps is None and self.every_n_epochs is None:
            raise ValueError("Give every_n_steps or every_n_epochs (or both).")

        self.trigger = StepTrigger(self.every_n_steps)

    def begin(self, step: int) -> None:
        self.trigger.reset(step)

    def on_step(self, step: int) -> bool:
        return self.trigger(step)

    def on_epoch(self, epoch: int) -> bool:
        return self.every_n_epochs is not None and (epoch + 1) % self.every_n_epochs == 0


# ---------------------------------------------------------------- callbacks


def recompute_batch_norm_statistics(
    generator: keras.Model, num_batches: int = 4, batch_size: int = 512, seed: int = 0
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
        generator: a Keras generator with a single ``(batch, latent_dim)`` input.
        num_batches, batch_size: how many standard-normal latent batches, of what size.
        seed: seed of the latent batches (the result is deterministic).

    Returns:
        The number of batch-norm layers updated (0 leaves the model untouched).

    Example:
    >>> recompute_batch_norm_statistics(ema_generator)  # before sampling from it
    """
    layers = [layer for layer in generator._flatten_layers() if isinstance(layer, keras.layers.BatchNormalization)]
    if not layers:
        return 0
    if num_batches < 1 or batch_size < 2:
        raise ValueError(f"need num_batches >= 1 and batch_size >= 2; got {num_batches}, {batch_size}")
    latent_dim = int(generator.inputs[0].shape[-1])
    rng = np.random.default_rng(seed)
    momenta = [layer.momentum for layer in layers]
    try:
        for k in range(1, num_batches + 1):
            for layer in layers:  # moving = moving * (k-1)/k + batch / k: the running mean of batch statistics
                layer.momentum = (k - 1) / k
            generator(rng.standard_normal((batch_size, latent_dim)).astype(np.float32), training=True)
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
            self.ema_generator = keras.saving.load_model(source, compile=False)
        else:
            self.ema_generator = keras.models.clone_model(generator)
            self.ema_generator.set_weights(generator.get_weights())
        trainable = list(zip(self.ema_generator.trainable_weights, generator.trainable_weights, strict=True))
        every = list(zip(self.ema_generator.weights, generator.weights, strict=True))

        def finite(pairs):
            return tf.reduce_all([tf.reduce_all(tf.math.is_finite(tf.cast(w, tf.float32))) for _, w in pairs])

        # Both updates leave the average untouched when the generator holds a
        # non-finite value (a diverged step), and say so.
        @tf.function
        def average(decay):
            ok = finite(trainable)
            if ok:
                for ema_w, w in trainable:
                    ema_w.assign(decay * ema_w + (1.0 - decay) * tf.cast(w, ema_w.dtype))
            return ok

        @tf.function
        def copy():
            ok = finite(every)
            if ok:
                for ema_w, w in every:
                    ema_w.assign(tf.cast(w, ema_w.dtype))
            return ok

        self._average, self._copy = average, copy

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
            ok = bool(self._average(tf.constant(decay, tf.float32)))
            self._stale_statistics = self._stale_statistics or ok
        if not ok:
            self.skipped_steps.append(step)

    def on_train_end(self, logs=None):
        self.save()

    def _refresh_statistics(self) -> None:
        if self._stale_statistics:
            recompute_batch_norm_statistics(self.ema_generator)
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

    def __call__(self, z: np.ndarray) -> np.ndarray:
        """Runs the averaged generator on latent vectors ``z``."""
        self._ensure_copy()
        self._refresh_statistics()
        return np.asarray(self.ema_generator(z, training=False))


class SampleGrid(keras.callbacks.Callback):
    """Renders a fixed latent batch as a grid PNG and assembles ``progress.gif``.

    The fixed latent vectors are drawn once from ``seed`` and saved as
    ``fixed_latent.npy`` in ``out_dir``; when that file exists (a resumed run)
    it is loaded instead, so every frame of a run shows the same noise. Frames
    are ``step_XXXXXXXX.png`` (generator step); the GIF holds every frame in
    ``out_dir`` in step order with the step written on it.

    Args:
        out_dir: the samples folder (e.g. ``runs/NAME/samples``).
        rows, cols: grid layout (8x8).
        every_n_steps: render every N generator steps (None: off).
        every_n_epochs: render at the end of every N-th epoch (default 1).
        seed: seed of the fixed latent batch.
        padding: pixels between tiles.
        make_gif: keep ``progress.gif`` up to date.
        generator: what renders the latents: None for the model's generator,
            or a callable such as a ``GeneratorEMA``.
        best_metric: a log key (e.g. ``val_fid`` or ``w_dist``); the grid of the
            epoch with the best value is also kept as ``best.png``.
        best_mode: ``min`` or ``max`` for ``best_metric``.

    Example:
    >>> cb = SampleGrid("runs/demo/samples", every_n_epochs=1)
    >>> # model.fit(ds, epochs=10, callbacks=[cb])
    """

    def __init__(
        self,
        out_dir: str | os.PathLike,
        rows: int = 8,
        cols: int | None = None,
        every_n_steps: int | None = None,
        every_n_epochs: int | None = 1,
        seed: int = 0,
        padding: int = 2,
        make_gif: bool = True,
        generator: Any = None,
        best_metric: str | None = None,
        best_mode: str = "min",
    ):
        super().__init__()
        self.out_dir = Path(out_dir)
        self.rows = _check_every("rows", rows, allow_none=False)
        self.cols = _check_every("cols", cols if cols is not None else rows, allow_none=False)
        self.schedule = _StepSchedule(every_n_steps, every_n_epochs)
        if padding < 0:
            raise ValueError(f"`padding` must be >= 0. Received: padding={padding!r}")
        if best_mode not in ("min", "max"):
            raise ValueError(f"`best_mode` must be 'min' or 'max'. Received: best_mode={best_mode!r}")
        self.seed = seed
        self.padding = padding
        self.make_gif = make_gif
        self.render_with = generator
        self.best_metric = best_metric
        self.best_mode = best_mode
        self.latent: np.ndarray | None = None
        self._last_rendered_step = -1

    @property
    def latent_path(self) -> Path:
        return self.out_dir / "fixed_latent.npy"

    @property
    def gif_path(self) -> Path:
        return self.out_dir / "progress.gif"

    def on_train_begin(self, logs=None):
        shape = self.model.generator.output_shape
        if len(shape) != 4:
            raise ValueError(
                f"SampleGrid renders image generators (output (n, h, w, c)); this generator outputs {shape}. "
                "Use CriticLandscape for 2D data."
            )
        self.out_dir.mkdir(parents=True, exist_ok=True)
        n = self.rows * self.cols
        if self.latent_path.is_file():
            latent = np.load(self.latent_path)
            if latent.shape != (n, self.model.latent_dim):
                raise ValueError(
                    f"{self.latent_path} holds latents of shape {latent.shape}, expected "
                    f"{(n, self.model.latent_dim)}; remove it or use another folder."
                )
            self.latent = latent
        else:
            self.latent = (
                np.random.default_rng(self.seed).standard_normal((n, self.model.latent_dim)).astype(np.float32)
            )
            with atomic_path(self.latent_path) as tmp:
                np.save(tmp, self.latent)
        self._best_value = self._read_best()
        self.schedule.begin(generator_step(self.model))

    def _read_best(self) -> float | None:
        path = self.out_dir / "best.txt"
        try:
            return float(path.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def render(self) -> np.ndarray:
        """Renders the fixed latents with the current weights; returns the uint8 grid."""
        if self.latent is None:
            raise RuntimeError("SampleGrid.render() needs the fixed latents: call it during training.")
        if self.render_with is None:
            images = self.model.generate(self.latent)
        else:
            images = np.asarray(self.render_with(self.latent))
        return image_grid(images, self.rows, self.cols, self.padding)

    def frame_path(self, step: int) -> Path:
        return self.out_dir / f"step_{step:08d}.png"

    def _render_and_save(self) -> Path:
        import imageio.v2 as imageio

        step = generator_step(self.model)
        path = self.frame_path(step)
        if step != self._last_rendered_step:
            grid = self.render()
            buf = io.BytesIO()
            imageio.imwrite(buf, grid if grid.shape[-1] == 3 else grid[..., 0], format="PNG")
            atomic_write_bytes(path, buf.getvalue())
            self._last_rendered_step = step
            if self.make_gif:
                self.write_gif()
        return path

    def frames(self) -> list[Path]:
        """The rendered frames in step order."""
        return sorted(self.out_dir.glob("step_*.png"))

    def write_gif(self) -> int:
        """(Re)assembles ``progress.gif`` from all frames; returns the frame count."""
        labelled = []
        for path in self.frames():
            frame = _read_png(path)
            if frame.ndim == 2:
                frame = frame[..., None]
            labelled.append(_label_frame(frame[..., :3], f"step {int(path.stem.split('_')[1])}"))
        return write_gif(labelled, self.gif_path)

    def on_train_batch_end(self, batch, logs=None):
        if self.schedule.on_step(generator_step(self.model)):
            self._render_and_save()

    def on_epoch_end(self, epoch, logs=None):
        if not self.schedule.on_epoch(epoch):
            return
        path = self._render_and_save()
        if self.best_metric and logs and self.best_metric in logs:
            value = float(logs[self.best_metric])
            better = self._best_value is None or (
                value < self._best_value if self.best_mode == "min" else value > self._best_value
            )
            if math.isfinite(value) and better:
                self._best_value = value
                atomic_write_bytes(self.out_dir / "best.png", path.read_bytes())
                atomic_write_bytes(
                    self.out_dir / "best.txt",
                    f"{value} {self.best_metric} epoch {epoch + 1} step {path.stem}\n".encode(),
                )


class LossCurves(keras.callbacks.Callback):
    """Per-epoch metrics in ``history.csv`` and ``losses.png``.

    ``losses.png`` has two panels: the critic loss ``d_loss`` and the
    generator loss ``g_loss`` together, and ``w_dist`` (raw and smoothed by an
    exponential moving average) with ``gp`` where present. Both files are
    rewritten atomically at each epoch end, so they can be read while the run
    is in progress. Rows are keyed by epoch: a resumed run replaces the rows
    from its first epoch on and keeps the earlier ones.

    Args:
        csv_path: the CSV file (e.g. ``runs/NAME/history.csv``).
        plot_path: the PNG file (e.g. ``runs/NAME/plots/losses.png``); None: no plot.
        smoothing: EMA factor in [0, 1) for the smoothed ``w_dist`` line.
    """

    def __init__(self, csv_path: str | os.PathLike, plot_path: str | os.PathLike | None = None, smoothing: float = 0.6):
        super().__init__()
        if not 0.0 <= smoothing < 1.0:
            raise ValueError(f"`smoothing` must be in [0, 1). Received: smoothing={smoothing!r}")
        self.csv_path = Path(csv_path)
        self.plot_path = None if plot_path is None else Path(plot_path)
        self.smoothing = smoothing
        self.rows: dict[int, dict[str, float]] = {}

    def on_train_begin(self, logs=None):
        self.rows = read_history(self.csv_path)

    def on_epoch_begin(self, epoch, logs=None):
        # A resumed run restarts at `epoch`: rows from there on are recomputed.
        self.rows = {e: r for e, r in self.rows.items() if e < epoch + 1}

    def on_epoch_end(self, epoch, logs=None):
        row = {k: float(v) for k, v in (logs or {}).items() if np.ndim(v) == 0}
        row["step"] = float(generator_step(self.model))
        self.rows[epoch + 1] = row
        self._write_csv()
        if self.plot_path is not None:
            self.plot()

    def _write_csv(self) -> None:
        keys = sorted({k for r in self.rows.values() for k in r} - {"step"})
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(["epoch", "step", *keys])
        for epoch in sorted(self.rows):
            r = self.rows[epoch]
            writer.writerow([epoch, int(r.get("step", 0)), *[repr(r[k]) if k in r else "" for k in keys]])
        atomic_write_bytes(self.csv_path, buf.getvalue().encode())

    def plot(self) -> None:
        """Draws ``losses.png`` from the rows so far."""
        epochs = sorted(self.rows)
        if not epochs:
            return
        series = {k: [self.rows[e].get(k, np.nan) for e in epochs] for k in ("d_loss", "g_loss", "w_dist", "gp")}
        from matplotlib.ticker import MaxNLocator

        fig, (ax1, ax2) = _new_figure(11, 4, ncols=2)
        marker = "o" if len(epochs) <= 30 else None
        for ax in (ax1, ax2):
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax1.plot(epochs, series["d_loss"], label="critic / discriminator (d_loss)", color="tab:red", marker=marker)
        ax1.plot(epochs, series["g_loss"], label="generator (g_loss)", color="tab:blue", marker=marker)
        ax1.set_xlabel("epoch")
        ax1.set_title("Losses")
        ax1.legend()
        ax1.grid(alpha=0.3)
        w = np.asarray(series["w_dist"], dtype=float)
        ax2.plot(epochs, w, color="tab:green", alpha=0.35, label="w_dist")
        smooth, acc = [], None
        for value in w:
            acc = value if acc is None or not np.isfinite(acc) else self.smoothing * acc + (1 - self.smoothing) * value
            smooth.append(acc)
        ax2.plot(epochs, smooth, color="tab:green", label="w_dist (smoothed)", marker=marker)
        ax2.set_xlabel("epoch")
        ax2.set_title("Critic's Wasserstein estimate")
        if np.isfinite(np.asarray(series["gp"], dtype=float)).any():
            ax3 = ax2.twinx()
            ax3.plot(epochs, series["gp"], color="tab:purple", label="gp (right axis)")
            ax3.set_ylabel("gp")
            ax3.legend(loc="lower right")
        ax2.legend(loc="upper right")
        ax2.grid(alpha=0.3)
        fig.tight_layout()
        _save_figure(fig, self.plot_path)


def read_history(path: str | os.PathLike) -> dict[int, dict[str, float]]:
    """Reads a ``history.csv`` written by ``LossCurves`` into ``{epoch: {metric: value}}``."""
    path = Path(path)
    if not path.is_file():
        return {}
    rows = {}
    with path.open(newline="") as f:
        for record in csv.DictReader(f):
            epoch = int(record.pop("epoch"))
            rows[epoch] = {k: float(v) for k, v in record.items() if v not in ("", None)}
    return rows


def _critic_layers(model: keras.Model) -> list[keras.layers.Layer]:
    return [layer for layer in model.critic._flatten_layers(include_self=False) if layer.trainable_weights]


def make_gradient_norm_fn(model: keras.Model):
    """A compiled function ``(real, z) -> tensor of per-layer norms`` for ``model``'s critic.

    Computes, in one graph, the gradient of the model's ``critic_objective`` (loss
    plus weighted penalty, training mode) on ``real`` and ``generator(z)`` and the
    L2 norm over each critic layer's weights. It changes RNG state and batch-norm
    statistics: call it through ``critic_layer_gradient_norms`` or inside
    ``model.preserved_state()``.
    """
    layers = _critic_layers(model)
    sizes = [len(layer.trainable_weights) for layer in layers]
    variables = [v for layer in layers for v in layer.trainable_weights]

    @tf.function(reduce_retracing=True)
    def norms(real, z):
        fake = model.generator(z, training=False)
        with tf.GradientTape() as tape:
            loss = model.critic_objective(tf.cast(real, tf.float32), fake, training=True)["d_loss"]
        grads = tape.gradient(loss, variables)
        out, i = [], 0
        for n in sizes:
            squares = [tf.reduce_sum(tf.square(tf.cast(g, tf.float32))) for g in grads[i : i + n] if g is not None]
            out.append(tf.sqrt(tf.add_n(squares)) if squares else tf.constant(0.0))
            i += n
        return tf.stack(out)

    return norms


def critic_layer_gradient_norms(model: keras.Model, real: tf.Tensor, z: tf.Tensor, fn=None) -> dict[str, float]:
    """L2 norm of the critic objective's gradient for each critic layer (all its weights together).

    The objective is the model's own ``critic_objective`` (loss plus weighted
    penalty) on ``real`` and ``generator(z)``, evaluated in training mode; the
    model's RNG state and batch-norm statistics are restored afterwards, so the
    measurement does not change the training run.

    Args:
        model: a compiled ``keras_wgan`` GAN.
        real: a batch of real samples.
        z: latent vectors, one per real sample.
        fn: a function from ``make_gradient_norm_fn(model)`` to reuse (compiled once).

    Returns:
        ``{layer_name: norm}`` for every critic layer with trainable weights, in layer order.
    """
    fn = fn or make_gradient_norm_fn(model)
    with model.preserved_state():
        values = fn(tf.convert_to_tensor(real), tf.convert_to_tensor(z)).numpy()
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
        real_batch: real samples to evaluate on (array or tensor).
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
        self.real = tf.convert_to_tensor(np.asarray(real_batch, dtype=np.float32))
        self.csv_path = Path(csv_path)
        self.plot_path = None if plot_path is None else Path(plot_path)
        self.every_n_steps = _check_every("every_n_steps", every_n_steps, allow_none=False)
        self._trigger = StepTrigger(self.every_n_steps)
        self.seed = seed
        self.records: dict[int, dict[str, float]] = {}
        self._z = None
        self._fn = None
        self._fn_model = None

    def on_train_begin(self, logs=None):
        n = int(self.real.shape[0])
        self._z = tf.constant(np.random.default_rng(self.seed).standard_normal((n, self.model.latent_dim)), tf.float32)
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
        fig, ax = _new_figure(7, 4.5)
        colors = _colors(len(layers))
        for color, layer in zip(colors, layers, strict=True):
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
        _save_figure(fig, self.plot_path)


def _colors(n: int) -> list:
    from matplotlib import colormaps

    cmap = colormaps["viridis"]
    return [cmap(i / max(1, n - 1)) for i in range(n)]


class CriticLandscape(keras.callbacks.Callback):
    """Contour plot of the critic over the plane, with real and generated points (2D data).

    Every ``every_n_steps`` generator steps, writes ``critic_XXXXXXXX.png`` in
    ``out_dir`` (the critic's value on a grid over ``extent``, real points in
    orange, generated points in green, as in the WGAN-GP paper's toy figures)
    and reassembles ``critic.gif`` from all of them.

    Args:
        real_points: ``(n, 2)`` real samples to draw (a few hundred).
        out_dir: folder for the images (e.g. ``runs/NAME/plots``).
        every_n_steps: interval in generator steps.
        extent: ``(xmin, xmax, ymin, ymax)``; from the real points (with a
            margin) when None.
        resolution: grid points per axis.
        n_fake: generated points per picture.
        seed: seed of the generated points' latents (fixed across pictures).
        make_gif: keep ``critic.gif`` up to date.
    """

    def __init__(
        self,
        real_points: Any,
        out_dir: str | os.PathLike,
        every_n_steps: int = 1000,
        extent: tuple[float, float, float, float] | None = None,
        resolution: int = 96,
        n_fake: int = 512,
        seed: int = 0,
        make_gif: bool = True,
    ):
        super().__init__()
        real = np.asarray(real_points, dtype=np.float32)
        if real.ndim != 2 or real.shape[1] != 2:
            raise ValueError(
                f"CriticLandscape draws 2D data: real_points must have shape (n, 2). "
                f"Received shape {real.shape}; for images use SampleGrid."
            )
        self.real = real
        self.out_dir = Path(out_dir)
        self.every_n_steps = _check_every("every_n_steps", every_n_steps, allow_none=False)
        self._trigger = StepTrigger(self.every_n_steps)
        if extent is None:
            lo, hi = real.min(axis=0), real.max(axis=0)
            margin = 0.25 * (hi - lo) + 0.1
            extent = (lo[0] - margin[0], hi[0] + margin[0], lo[1] - margin[1], hi[1] + margin[1])
        self.extent = tuple(float(e) for e in extent)
        self.resolution = _check_every("resolution", resolution, allow_none=False)
        self.n_fake = n_fake
        self.seed = seed
        self.make_gif = make_gif
        self._z = None

    def on_train_begin(self, logs=None):
        shape = self.model.generator.output_shape
        if len(shape) != 2 or shape[-1] != 2:
            raise ValueError(
                f"CriticLandscape needs a generator of 2D points; this one outputs {shape}. Use SampleGrid for images."
            )
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self._z = (
            np.random.default_rng(self.seed).standard_normal((self.n_fake, self.model.latent_dim)).astype(np.float32)
        )
        self._trigger.reset(generator_step(self.model))
        if generator_step(self.model) == 0:
            self.draw()

    def frame_path(self, step: int) -> Path:
        return self.out_dir / f"critic_{step:08d}.png"

    def draw(self) -> Path:
        """Draws the landscape at the current step; returns the PNG path."""
        step = generator_step(self.model)
        x0, x1, y0, y1 = self.extent
        xs, ys = np.linspace(x0, x1, self.resolution), np.linspace(y0, y1, self.resolution)
        grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2).astype(np.float32)
        values = np.asarray(self.model.critic(grid, training=False)).reshape(self.resolution, self.resolution)
        fake = self.model.generate(self._z)
        fig, ax = _new_figure(5.5, 5)
        contour = ax.contourf(xs, ys, values, levels=20, cmap="coolwarm")
        fig.colorbar(contour, ax=ax, label="critic value")
        ax.scatter(self.real[:, 0], self.real[:, 1], s=4, c="orange", label="real")
        ax.scatter(fake[:, 0], fake[:, 1], s=4, c="green", label="generated")
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.set_title(f"critic landscape, generator step {step}")
        ax.legend(loc="upper right", fontsize="small")
        fig.tight_layout()
        path = self.frame_path(step)
        _save_figure(fig, path)
        if self.make_gif:
            write_gif(
                [_read_png(p)[..., :3] for p in sorted(self.out_dir.glob("critic_*.png"))],
                self.out_dir / "critic.gif",
                duration=0.4,
            )
        return path

    def on_train_batch_end(self, batch, logs=None):
        if self._trigger(generator_step(self.model)):
            self.draw()


def drop_events_after(log_dir: str | os.PathLike, step: int) -> int:
    """Removes the summaries of steps after ``step`` from the event files in ``log_dir``.

    A run resumed from its checkpoint at ``step`` repeats the steps the killed
    process had logged after it; TensorBoard would show both. Each event file
    is rewritten (atomically) without those events.

    Returns:
        The number of events removed.
    """
    from tensorboard.compat.proto import event_pb2

    removed = 0
    for path in sorted(Path(log_dir).glob("events.out.tfevents.*")):
        kept, dropped = [], 0
        for record in tf.data.TFRecordDataset(str(path)):
            raw = record.numpy()
            if event_pb2.Event.FromString(raw).step > step:
                dropped += 1
            else:
                kept.append(raw)
        if dropped:
            with atomic_path(path) as tmp:
                with tf.io.TFRecordWriter(str(tmp)) as writer:
                    for raw in kept:
                        writer.write(raw)
            removed += dropped
    return removed


class GANTensorBoard(keras.callbacks.Callback):
    """TensorBoard summaries for a GAN: scalars, fixed-noise sample grids, weight histograms.

    Writes to ``log_dir/gan`` so it can run side by side with
    ``keras.callbacks.TensorBoard(log_dir)`` (which uses ``train/`` and
    ``validation/``). Steps are generator steps. A resumed run first removes
    what the interrupted process logged after its checkpoint
    (``drop_events_after``), so every step appears once.

    Args:
        log_dir: the run's TensorBoard folder (e.g. ``runs/NAME/logs``).
        every_n_steps: also write the running scalars every N steps (None:
            epoch ends only).
        image_every_n_epochs: sample grid every N epochs (None: never);
            image generators only.
        rows: the grid is ``rows x rows``.
        histograms: write critic weight histograms at epoch ends.
        seed: seed of the fixed latents of the grid.
    """

    def __init__(
        self,
        log_dir: str | os.PathLike,
        every_n_steps: int | None = None,
        image_every_n_epochs: int | None = 1,
        rows: int = 8,
        histograms: bool = False,
        seed: int = 0,
    ):
        super().__init__()
        self.log_dir = Path(log_dir) / "gan"
        self.every_n_steps = _check_every("every_n_steps", every_n_steps)
        self._trigger = StepTrigger(self.every_n_steps)
        self.image_every_n_epochs = _check_every("image_every_n_epochs", image_every_n_epochs)
        self.rows = _check_every("rows", rows, allow_none=False)
        self.histograms = histograms
        self.seed = seed
        self._writer = None
        self._latent = None

    def on_train_begin(self, logs=None):
        step = generator_step(self.model)
        self._trigger.reset(step)
        # A resumed run logs again what a killed one logged after its checkpoint (or, killed
        # before its first checkpoint, after step 0).
        drop_events_after(self.log_dir, step)
        self._writer = tf.summary.create_file_writer(str(self.log_dir))
        self._latent = (
            np.random.default_rng(self.seed)
            .standard_normal((self.rows * self.rows, self.model.latent_dim))
            .astype(np.float32)
        )

    def _scalars(self, logs: dict, prefix: str) -> None:
        step = generator_step(self.model)
        with self._writer.as_default(step=step):
            for key, value in (logs or {}).items():
                if np.ndim(value) == 0:
                    tf.summary.scalar(prefix + key, float(value))

    def on_train_batch_end(self, batch, logs=None):
        if self._trigger(generator_step(self.model)):
            self._scalars(logs, "batch_")

    def on_epoch_end(self, epoch, logs=None):
        self._scalars(logs, "epoch_")
        step = generator_step(self.model)
        with self._writer.as_default(step=step):
            is_image = len(self.model.generator.output_shape) == 4
            if is_image and self.image_every_n_epochs and (epoch + 1) % self.image_every_n_epochs == 0:
                grid = image_grid(self.model.generate(self._latent), self.rows, self.rows)
                tf.summary.image("samples", grid[None], step=step)
            if self.histograms:
                for v in self.model.critic.trainable_variables:
                    tf.summary.histogram(f"critic/{v.path}", v, step=step)
        self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()

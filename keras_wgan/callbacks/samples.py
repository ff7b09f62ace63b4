"""``SampleGrid``: fixed-noise sample grids (PNG) of an image generator and ``progress.gif``."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import keras
import numpy as np

from keras_wgan import labels as label_utils
from keras_wgan.io_utils import atomic_path, atomic_write_bytes
from keras_wgan.pictures import image_grid, label_frame, read_png, write_gif, write_png
from keras_wgan.safe_load import load_npy
from keras_wgan.schedule import StepOrEpochSchedule, check_every, generator_step


def render_grid(
    model: Any, latent: np.ndarray, rows: int, cols: int, padding: int = 2, render_with: Any = None
) -> np.ndarray:
    """A uint8 grid of ``model``'s samples of ``latent`` (``rows * cols`` of them).

    A conditional model's grid has one row per label row (``keras_wgan.labels.grid_rows``)
    and the first ``cols`` latents in every row.

    Args:
        model: a ``keras_wgan`` GAN.
        latent: the latent vectors.
        rows, cols: the layout (``rows`` is replaced by the label rows of a conditional model).
        padding: pixels between tiles.
        render_with: a callable ``(z[, labels]) -> images`` in place of the
            model's generator (a ``GeneratorEMA``).
    """
    labels = None
    if getattr(model, "conditional", False):
        vectors, _ = label_utils.grid_rows(model.num_labels, model.labels)
        rows = len(vectors)
        latent = np.tile(latent[:cols], (rows, 1))
        labels = np.repeat(vectors, cols, axis=0)
    if render_with is None:
        images = model.generate(latent) if labels is None else model.generate(latent, labels=labels)
    else:
        images = np.asarray(render_with(latent) if labels is None else render_with(latent, labels))
    return image_grid(images, rows, cols, padding)


class SampleGrid(keras.callbacks.Callback):
    """Renders a fixed latent batch as a grid PNG and assembles ``progress.gif``.

    The fixed latent vectors are drawn once from ``seed`` and saved as
    ``fixed_latent.npy`` in ``out_dir``; when that file exists (a resumed run)
    it is loaded instead, so every frame of a run shows the same noise. Frames
    are ``step_XXXXXXXX.png`` (generator step); the GIF holds every frame in
    ``out_dir`` in step order with the step written on it.

    For a conditional model the grid has one row per class (or per attribute
    combination, ``keras_wgan.labels.grid_rows``) and the same ``cols`` latents
    in every row, so a column shows one latent across the labels;
    ``grid_rows.txt`` names the rows, top to bottom.

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
        label_names: a conditional model's label names, for ``grid_rows.txt``.

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
        label_names: list[str] | None = None,
    ):
        super().__init__()
        self.label_names = label_names
        self.out_dir = Path(out_dir)
        self.rows = check_every("rows", rows, allow_none=False)
        self.cols = check_every("cols", cols if cols is not None else rows, allow_none=False)
        self.schedule = StepOrEpochSchedule(every_n_steps, every_n_epochs)
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
            latent = load_npy(self.latent_path)
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
        if getattr(self.model, "conditional", False):
            atomic_write_bytes(self.out_dir / "grid_rows.txt", ("\n".join(self.label_rows()[1]) + "\n").encode())
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
        return render_grid(self.model, self.latent, self.rows, self.cols, self.padding, self.render_with)

    def label_rows(self) -> tuple[np.ndarray, list[str]]:
        """A conditional model's grid rows: their label vectors and names."""
        return label_utils.grid_rows(self.model.num_labels, self.model.labels, self.label_names)

    def frame_path(self, step: int) -> Path:
        return self.out_dir / f"step_{step:08d}.png"

    def _render_and_save(self) -> Path:
        step = generator_step(self.model)
        path = self.frame_path(step)
        if step != self._last_rendered_step:
            write_png(self.render(), path)
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
            frame = read_png(path)
            if frame.ndim == 2:
                frame = frame[..., None]
            labelled.append(label_frame(frame[..., :3], f"step {int(path.stem.split('_')[1])}"))
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

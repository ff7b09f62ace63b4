"""``GANTensorBoard``: scalars, sample grids and histograms; ``drop_events_after`` for resumed runs."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from keras_wgan.callbacks.samples import render_grid
from keras_wgan.io_utils import atomic_path
from keras_wgan.schedule import StepTrigger, check_every, generator_step


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
    """TensorBoard summaries for a GAN: scalars, pictures (sample grids or critic landscapes), histograms.

    Writes to ``log_dir/gan`` so it can run side by side with
    ``keras.callbacks.TensorBoard(log_dir)`` (which uses ``train/`` and
    ``validation/``). Steps are generator steps. A resumed run first removes
    what the interrupted process logged after its checkpoint
    (``drop_events_after``), so every step appears once.

    Args:
        log_dir: the run's TensorBoard folder (e.g. ``runs/NAME/logs``).
        every_n_steps: also write the running scalars every N steps (None:
            epoch ends only).
        image_every_n_epochs: a picture every N epochs (None: never): the
            fixed-noise sample grid of an image generator, or what ``image_fn``
            draws.
        rows: the grid is ``rows x rows``.
        histograms: write critic weight histograms at epoch ends.
        seed: seed of the fixed latents of the grid.
        image_fn: draws the picture instead of the sample grid: a function of no
            arguments returning a uint8 RGB image, logged under ``image_tag``
            (``CriticLandscape.render`` for 2D data).
        image_tag: the tag of ``image_fn``'s pictures.
        keep_open: keep one event file open across ``fit`` calls (call ``close()``
            after the last), so that a run trained in several calls has one
            file; by default the file is closed at the end of each ``fit``, as
            Keras' own ``TensorBoard`` callback does.
    """

    def __init__(
        self,
        log_dir: str | os.PathLike,
        every_n_steps: int | None = None,
        image_every_n_epochs: int | None = 1,
        rows: int = 8,
        histograms: bool = False,
        seed: int = 0,
        image_fn: Callable[[], np.ndarray] | None = None,
        image_tag: str = "critic_landscape",
        keep_open: bool = False,
    ):
        super().__init__()
        self.log_dir = Path(log_dir) / "gan"
        self.every_n_steps = check_every("every_n_steps", every_n_steps)
        self._trigger = StepTrigger(self.every_n_steps)
        self.image_every_n_epochs = check_every("image_every_n_epochs", image_every_n_epochs)
        self.rows = check_every("rows", rows, allow_none=False)
        self.histograms = histograms
        self.seed = seed
        self.image_fn = image_fn
        self.image_tag = image_tag
        self.keep_open = keep_open
        self._writer = None
        self._latent = None

    def on_train_begin(self, logs=None):
        step = generator_step(self.model)
        self._trigger.reset(step)
        if self._writer is None:
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
            if self.image_every_n_epochs and (epoch + 1) % self.image_every_n_epochs == 0:
                if self.image_fn is not None:
                    tf.summary.image(self.image_tag, self.image_fn()[None], step=step)
                elif len(self.model.generator.output_shape) == 4:
                    grid = render_grid(self.model, self._latent, self.rows, self.rows)
                    tf.summary.image("samples", grid[None], step=step)
            if self.histograms:
                for v in self.model.critic.trainable_variables:
                    tf.summary.histogram(f"critic/{v.path}", v, step=step)
        self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.flush()
            if not self.keep_open:
                self.close()

    def close(self) -> None:
        """Closes the event file (a later ``fit`` opens a new one)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None

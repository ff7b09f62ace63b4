"""The callbacks of a training run: its checkpoint, its stops and its one line per epoch.

- ``RunCheckpoint``: atomic resume checkpoints of the whole GAN state, finite weights only.
- ``StopOnNonFinite``: stops when a logged metric becomes NaN or infinite.
- ``StopAtStep``: stops at a total number of generator steps.
- ``EpochSummary``: one printed line per epoch.
- ``InjectNaN``: fault injection for the fault battery (``KERAS_WGAN_FAULT_NAN_AT_STEP``).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import keras
import numpy as np

from keras_wgan.callbacks.ema import GeneratorEMA
from keras_wgan.io_utils import atomic_path, atomic_write_text
from keras_wgan.schedule import StepTrigger, generator_step

#: The checkpoint's weights file inside the backup folder.
STATE_FILE = "state.weights.h5"


class RunCheckpoint(keras.callbacks.Callback):
    """Atomic resume checkpoints of the whole GAN state, of finite weights only.

    A checkpoint is three writes, each through a temporary file and a rename:
    the run's averaged generator if it keeps one (``backup/ema_XXXXXXXX.keras``,
    named by its step), then ``backup/state.weights.h5`` (networks, optimizers,
    RNG, the model's generator-step counter), then ``backup/state.json``, the
    commit point, which names the step and the averaged generator of that same
    step. A kill at any moment leaves the previous checkpoint whole and
    consistent; averages of older steps are removed after the commit. Nothing
    is written while any weight or optimizer variable is non-finite (the logged
    losses are computed before the update, so they cannot tell).

    Args:
        backup_dir: the folder.
        every_n_steps: also checkpoint every N generator steps (None: epoch ends only).
        ema: the run's ``GeneratorEMA``, saved with every checkpoint.
    """

    def __init__(
        self, backup_dir: str | os.PathLike, every_n_steps: int | None = None, ema: GeneratorEMA | None = None
    ):
        super().__init__()
        self.backup_dir = Path(backup_dir)
        self.every_n_steps = every_n_steps
        self.ema = ema
        self.last_step = -1
        self.refused_steps: list[int] = []
        self._trigger = StepTrigger(every_n_steps)

    @property
    def path(self) -> Path:
        return self.backup_dir / STATE_FILE

    def ema_path(self, step: int) -> Path:
        """Where the averaged generator of the checkpoint at ``step`` lives."""
        return self.backup_dir / f"ema_{step:08d}.keras"

    def read_state(self) -> dict:
        """The committed ``state.json`` ({} when there is none or it is unreadable)."""
        try:
            return json.loads((self.backup_dir / "state.json").read_text())
        except (OSError, ValueError):
            return {}

    def save(self, logs: dict | None = None) -> None:
        step = generator_step(self.model)
        if step == self.last_step:
            return
        if not self.model.state_is_finite():
            self.refused_steps.append(step)
            return
        info = {"step": step, "critic_step": step * self.model.n_critic, "time": time.time()}
        if self.ema is not None and self.ema.ema_generator is not None:
            self.ema.save(self.ema_path(step))
            info["ema"] = self.ema_path(step).name
        with atomic_path(self.path) as tmp:
            self.model.save_weights(tmp)
        atomic_write_text(self.backup_dir / "state.json", json.dumps(info) + "\n")
        for old in self.backup_dir.glob("ema_*.keras"):
            if old.name != info.get("ema"):
                old.unlink(missing_ok=True)
        self.last_step = step

    def on_train_begin(self, logs=None):
        self._trigger.reset(generator_step(self.model))

    def on_train_batch_end(self, batch, logs=None):
        due = self._trigger(generator_step(self.model))
        steps = (self.params or {}).get("steps")
        if steps and batch + 1 >= steps:
            # The epoch's last batch: on_epoch_end checkpoints after the other callbacks
            # have written the epoch's history row, so a kill in between loses nothing.
            return
        if due:
            self.save(logs)

    def on_epoch_end(self, epoch, logs=None):
        self.save(logs)


class StopOnNonFinite(keras.callbacks.Callback):
    """Stops training when a logged metric becomes NaN or infinite and remembers which and when."""

    def __init__(self):
        super().__init__()
        self.failure: tuple[str, int, float] | None = None

    def on_train_batch_end(self, batch, logs=None):
        for key, value in (logs or {}).items():
            if np.ndim(value) == 0 and not np.isfinite(float(value)):
                self.failure = (key, generator_step(self.model), float(value))
                self.model.stop_training = True
                return


class InjectNaN(keras.callbacks.Callback):
    """Fault injection (``KERAS_WGAN_FAULT_NAN_AT_STEP``): NaN in the generator after a given step."""

    def __init__(self, step: int):
        super().__init__()
        self.step = step

    def on_train_batch_end(self, batch, logs=None):
        if generator_step(self.model) >= self.step:
            weight = self.model.generator.trainable_weights[0]
            weight.assign(np.full(weight.shape, np.nan, dtype=weight.dtype))
            self.step = 2**62  # once


class StopAtStep(keras.callbacks.Callback):
    """Stops training once the generator has made ``total_steps`` updates."""

    def __init__(self, total_steps: int):
        super().__init__()
        self.total_steps = total_steps

    def on_train_batch_end(self, batch, logs=None):
        if generator_step(self.model) >= self.total_steps:
            self.model.stop_training = True


class EpochSummary(keras.callbacks.Callback):
    """Prints one line per epoch: epoch, step, metrics, time."""

    def __init__(self, total_epochs: int, stream=None):
        super().__init__()
        self.total_epochs = total_epochs
        self.stream = stream or sys.stdout
        self._t0 = time.perf_counter()

    def on_epoch_begin(self, epoch, logs=None):
        self._t0 = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        metrics = " ".join(f"{k}={float(v):.4g}" for k, v in sorted((logs or {}).items()) if np.ndim(v) == 0)
        print(
            f"[keras_wgan] epoch {epoch + 1}/{self.total_epochs} step {generator_step(self.model)} "
            f"{metrics} ({time.perf_counter() - self._t0:.1f}s)",
            file=self.stream,
            flush=True,
        )

"""The callbacks of a training run: its checkpoint, its stops and its one line per epoch.

- ``RunCheckpoint``: atomic resume checkpoints of the whole GAN state, finite weights only.
- ``StopOnNonFinite``: stops when a logged metric, or any weight or optimizer variable,
  becomes NaN or infinite.
- ``StopAtStep``: stops at a total number of generator steps.
- ``EpochSummary``: one printed line per epoch.
- ``InjectNaN``: fault injection for the fault battery (``KERAS_WGAN_FAULT_NAN_AT_STEP``).

A divergence is described by a ``Divergence`` (the step, what became non-finite,
and whether the logged losses showed it); ``keras_wgan.training`` turns the
first one into the exit-3 message.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from keras_wgan.callbacks.ema import GeneratorEMA
from keras_wgan.io_utils import atomic_path, atomic_write_text
from keras_wgan.schedule import StepTrigger, check_every, generator_step

#: The checkpoint's weights file inside the backup folder.
STATE_FILE = "state.weights.h5"


@dataclass(frozen=True)
class Divergence:
    """What became non-finite, and when.

    Attributes:
        step: the generator step after which it was found.
        what: a logged metric (``"d_loss"``) or a variable (``"generator dense_0/kernel"``).
        value: the metric's value (NaN or an infinity); None for a variable.
        found_by: what found it (``"the logged losses"``, ``"the state check"``,
            ``"the checkpoint"``, ``"the averaged generator"``, ``"the final save"``).
    """

    step: int
    what: str
    value: float | None = None
    found_by: str = "the logged losses"

    def describe(self) -> str:
        """E.g. ``"d_loss became nan at generator step 7"`` or, for a variable,
        ``"generator dense_0/kernel holds NaN or infinite values after generator step 6
        (found by the state check; the logged losses stayed finite)"``."""
        if self.value is not None:
            return f"{self.what} became {self.value} at generator step {self.step}"
        return (
            f"{self.what} holds NaN or infinite values after generator step {self.step} (found by "
            f"{self.found_by}; the logged losses stayed finite)"
        )


def state_divergence(model, found_by: str) -> Divergence | None:
    """A ``Divergence`` naming the first non-finite variable of ``model``'s state, or None when all are finite."""
    bad = model.first_nonfinite_variable()
    return None if bad is None else Divergence(generator_step(model), bad, None, found_by)


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
    losses are computed before the update, so they cannot tell): the first
    time that happens the checkpoint records it in ``failure`` and stops
    training, because every later checkpoint would be refused too.

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
        #: Steps whose checkpoint was refused because the state was not finite.
        self.refused_steps: list[int] = []
        #: The first refusal, as a ``Divergence`` (None while every checkpoint was written).
        self.failure: Divergence | None = None
        self._trigger = StepTrigger(every_n_steps)

    @property
    def path(self) -> Path:
        return self.backup_dir / STATE_FILE

    def ema_path(self, step: int) -> Path:
        """Where the averaged generator of the checkpoint at ``step`` lives."""
        return self.backup_dir / f"ema_{step:08d}.keras"

    @property
    def committed_step(self) -> int | None:
        """The step of the checkpoint on disk (``state.json``), or None when there is none."""
        step = self.read_state().get("step")
        return step if isinstance(step, int) else None

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
        divergence = state_divergence(self.model, "the checkpoint")
        if divergence is not None:
            self.refused_steps.append(step)
            self.failure = self.failure or divergence
            self.model.stop_training = True
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
    """Stops training when a logged metric, or the model's state, becomes NaN or infinite.

    The logged metrics are checked after every step. The state (every weight of
    both networks and every optimizer variable, ``GAN.first_nonfinite_variable``)
    is checked every ``state_every_n_steps`` generator steps and at every epoch
    end, because the losses do not always show a non-finite weight: a fused
    ``MatMul + BiasAdd + Relu`` kernel (oneDNN on AVX-512 CPUs) can turn NaN
    inputs into zeros, so a generator with a NaN kernel can still produce
    finite samples and finite losses. The first finding is kept in ``failure``.

    Args:
        state_every_n_steps: interval of the state check in generator steps (None: epoch ends only).
            A compiled reduction over all variables; measured in
            ``benchmarks/finite_check.py``.
    """

    def __init__(self, state_every_n_steps: int | None = 10):
        super().__init__()
        self.state_every_n_steps = check_every("state_every_n_steps", state_every_n_steps)
        self._trigger = StepTrigger(self.state_every_n_steps)
        self.failure: Divergence | None = None

    def on_train_begin(self, logs=None):
        self._trigger.reset(generator_step(self.model))

    def _stop(self, failure: Divergence) -> None:
        self.failure = self.failure or failure
        self.model.stop_training = True

    def on_train_batch_end(self, batch, logs=None):
        step = generator_step(self.model)
        for key, value in (logs or {}).items():
            if np.ndim(value) == 0 and not np.isfinite(float(value)):
                self._stop(Divergence(step, key, float(value)))
                return
        if self._trigger(step):
            self.check_state()

    def on_epoch_end(self, epoch, logs=None):
        if self.failure is None:
            self.check_state()

    def check_state(self) -> Divergence | None:
        """Checks the model's state now; stops training if it is not finite."""
        divergence = state_divergence(self.model, "the state check")
        if divergence is not None:
            self._stop(divergence)
        return divergence


class InjectNaN(keras.callbacks.Callback):
    """Fault injection (``KERAS_WGAN_FAULT_NAN_AT_STEP``, ``KERAS_WGAN_FAULT_NAN_MODE``).

    Two ways to diverge, the same on every CPU:

    - ``weights``: after generator step ``step``, NaN fills the generator's first
      kernel. The NaN is in the weights; whether a later step's losses show it
      depends on the CPU's kernels (see ``StopOnNonFinite``), so put the
      injection on a step where the state is checked to find it there, before
      any loss could.
    - ``loss``: before generator step ``step + 1``, NaN fills the bias of the
      critic's output layer, so that step's critic scores, and with them
      its losses, are NaN whatever the kernels do (nothing after the last
      layer can drop a NaN).

    Args:
        step: the generator step after which the NaN is injected.
        mode: ``weights`` or ``loss``.
    """

    MODES = ("weights", "loss")

    def __init__(self, step: int, mode: str = "weights"):
        super().__init__()
        if mode not in self.MODES:
            raise ValueError(f"`mode` must be one of {', '.join(self.MODES)}. Received: mode={mode!r}")
        self.step = step
        self.mode = mode
        self.done = False

    @staticmethod
    def _fill(variable) -> None:
        variable.assign(np.full(variable.shape, np.nan, dtype=variable.dtype))

    def on_train_batch_begin(self, batch, logs=None):
        if self.mode == "loss" and not self.done and generator_step(self.model) >= self.step:
            self._fill(self.model.critic.layers[-1].trainable_weights[-1])  # the output layer's bias
            self.done = True

    def on_train_batch_end(self, batch, logs=None):
        if self.mode == "weights" and not self.done and generator_step(self.model) >= self.step:
            self._fill(self.model.generator.trainable_weights[0])
            self.done = True


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

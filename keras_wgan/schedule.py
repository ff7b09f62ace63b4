"""When step-scheduled work is due, and the generator step it is counted in.

Every step-scheduled callback asks ``generator_step(model)`` and a ``StepTrigger``.
A trigger fires by crossing a multiple, not by landing on it.

With ``compile(steps_per_execution=k)`` Keras calls ``on_train_batch_end``
once per k steps, so the generator step seen by callbacks jumps by k; work
scheduled "every N steps" must fire whenever a multiple of N was passed since
the last call, not only when the step happens to be a multiple of both.

Example:
>>> trigger = StepTrigger(every=5)
>>> trigger.reset(0)
>>> [step for step in (2, 4, 6, 8, 10, 12) if trigger(step)]
[6, 10]
"""

from __future__ import annotations

from typing import Any

from keras_wgan.errors import positive_int


def generator_step(model: Any) -> int:
    """Generator iterations a GAN has done (``model.generator_iterations``; restored on resume).

    Counted by the model, not by the optimizer: under mixed precision a
    loss-scale optimizer skips non-finite updates without counting them.
    """
    return int(model.generator_iterations.numpy())


def check_every(name: str, value: int | None, allow_none: bool = True) -> int | None:
    """``value`` if it is a positive int (or None when allowed); a ValueError naming ``name`` otherwise."""
    if value is None and allow_none:
        return None
    return positive_int(name, value)


def crossed(previous: int, current: int, every: int | None) -> bool:
    """Whether a multiple of ``every`` lies in ``(previous, current]`` (False when ``every`` is None)."""
    return bool(every) and current // every > previous // every


class StepTrigger:
    """Fires when the step passes a multiple of ``every`` since the last call.

    Args:
        every: the interval in generator steps; None never fires.
    """

    def __init__(self, every: int | None):
        self.every = every
        self.last: int | None = None

    def reset(self, step: int) -> None:
        """Starts counting from ``step`` (call it in ``on_train_begin``)."""
        self.last = step

    def __call__(self, step: int) -> bool:
        """True if a multiple of ``every`` lies in ``(last, step]``; remembers ``step``."""
        previous = self.last if self.last is not None else step - 1
        self.last = step
        return crossed(previous, step, self.every)


class StepOrEpochSchedule:
    """Every N generator steps and/or at the end of every M-th epoch.

    Args:
        every_n_steps: step interval (None: not by steps).
        every_n_epochs: epoch interval (None: not by epochs). At least one is needed.
    """

    def __init__(self, every_n_steps: int | None, every_n_epochs: int | None):
        self.every_n_steps = check_every("every_n_steps", every_n_steps)
        self.every_n_epochs = check_every("every_n_epochs", every_n_epochs)
        if self.every_n_steps is None and self.every_n_epochs is None:
            raise ValueError("Give every_n_steps or every_n_epochs (or both).")
        self.trigger = StepTrigger(self.every_n_steps)

    def begin(self, step: int) -> None:
        """Starts counting steps from ``step``."""
        self.trigger.reset(step)

    def on_step(self, step: int) -> bool:
        """Whether the work is due after generator step ``step``."""
        return self.trigger(step)

    def on_epoch(self, epoch: int) -> bool:
        """Whether the work is due at the end of (0-based) ``epoch``."""
        return self.every_n_epochs is not None and (epoch + 1) % self.every_n_epochs == 0

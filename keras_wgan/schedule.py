"""When step-scheduled work is due: by crossing a multiple, not by landing on it.

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

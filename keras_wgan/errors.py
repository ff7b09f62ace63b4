"""The exceptions the command lines turn into one line and an exit code, and the one positive-integer check.

A user error (``ConfigError``, ``DatasetError``, ``MetricUnavailable``, ``NonFiniteModel``,
``UnsafeFile``) is exit 2;
``TrainingDiverged`` exit 3; ``WorkerLost`` exit 4. Each message names the cause
and what to do. A ``ConfigError`` about one field of a ``TrainConfig`` names the
field (``g_lr must be > 0``) and carries it in ``field``, so that a command line
can name its own flag for it instead (``--g-lr``).
"""

from __future__ import annotations

from typing import Any


class DatasetError(ValueError):
    """A dataset cannot be loaded; the message says why and what to do."""


class ConfigError(ValueError):
    """A configuration value is invalid; the message names it.

    Args:
        message: the one-line message.
        field: the ``TrainConfig`` field it is about, when it is about one (None otherwise).
    """

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class MetricUnavailable(RuntimeError):
    """A metric needs something that is not available here (e.g. pretrained weights)."""


class TrainingDiverged(RuntimeError):
    """A loss, a weight or an optimizer variable became NaN or infinite; the last good checkpoint is kept."""


class WorkerLost(RuntimeError):
    """Multi-worker training stopped because a worker or its connection was lost."""


class NonFiniteModel(ValueError):
    """A model to be evaluated or sampled holds NaN or infinite weights (its run diverged)."""


def positive_int(name: str, value: Any, error: type[Exception] = ValueError) -> int:
    """``value`` if it is an ``int`` >= 1 (not a bool); otherwise raises ``error`` naming ``name``.

    The message is Keras' style, ``"`n_critic` must be a positive integer. Received:
    n_critic=0"``; a ``ConfigError`` also carries ``field=name``.

    Args:
        name: the argument's or field's name.
        value: the value to check.
        error: the exception type to raise.

    Returns:
        ``value``.

    Example:
    >>> positive_int("n_critic", 5)
    5
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        message = f"`{name}` must be a positive integer. Received: {name}={value!r}"
        raise ConfigError(message, field=name) if issubclass(error, ConfigError) else error(message)
    return value


class UnsafeFile(ValueError):
    """A file holds something that loading it would run as code (pickled objects, a Lambda layer,
    an op the FID Inception graph does not have); it is refused."""

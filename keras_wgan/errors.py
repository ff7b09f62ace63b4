"""The exceptions the command lines turn into one line and an exit code.

A user error (``ConfigError``, ``DatasetError``, ``MetricUnavailable``, ``NonFiniteModel``) is exit 2;
``TrainingDiverged`` exit 3; ``WorkerLost`` exit 4. Each message names the cause
and what to do.
"""


class DatasetError(ValueError):
    """A dataset cannot be loaded; the message says why and what to do."""


class ConfigError(ValueError):
    """A configuration value is invalid; the message names it."""


class MetricUnavailable(RuntimeError):
    """A metric needs something that is not available here (e.g. pretrained weights)."""


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the last good checkpoint is kept."""


class WorkerLost(RuntimeError):
    """Multi-worker training stopped because a worker or its connection was lost."""


class NonFiniteModel(ValueError):
    """A model to be evaluated or sampled holds NaN or infinite weights (its run diverged)."""

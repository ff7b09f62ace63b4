"""Exceptions for user errors: the message names the cause and what to do."""


class DatasetError(ValueError):
    """A dataset cannot be loaded; the message says why and what to do."""


class ConfigError(ValueError):
    """A configuration value is invalid; the message names it."""

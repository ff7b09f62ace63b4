"""Exceptions shared by the data modules."""


class DatasetError(ValueError):
    """A dataset cannot be loaded; the message says why and what to do."""

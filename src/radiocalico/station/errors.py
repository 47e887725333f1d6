"""Errors of the station."""


class StationError(RuntimeError):
    """A problem the operator must fix (empty library, unwritable output...); the message says what."""

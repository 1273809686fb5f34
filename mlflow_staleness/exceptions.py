"""One error hierarchy for the whole package.

Every error raised on purpose derives from :class:`StalenessError`, and each narrow subclass
also derives from the built-in a caller would naturally catch (``ValueError``, ``LookupError``).
Messages say what was expected, what came, and what is allowed.
"""

from __future__ import annotations

__all__ = [
    "FutureAccessError",
    "InvalidCostError",
    "InvalidInputError",
    "NoPermissionError",
    "RegistryError",
    "SchemaMismatchError",
    "ServerError",
    "StalenessError",
]


class StalenessError(Exception):
    """Root of every error this package raises on purpose."""


class InvalidInputError(StalenessError, ValueError):
    """A value, array or frame handed to the package is not usable."""


class InvalidCostError(InvalidInputError):
    """A cost, price or traffic figure is negative, not finite, or makes the question moot."""


class SchemaMismatchError(InvalidInputError):
    """Two datasets (or a dataset and a fingerprint) do not share a schema.

    The offending columns are listed by name in the message and in :attr:`columns`.
    """

    def __init__(self, message: str, columns: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.columns = dict(columns or {})


class FutureAccessError(StalenessError, LookupError):
    """A policy asked for a loss or a window that is not observable yet."""


class RegistryError(StalenessError, LookupError):
    """The registry does not hold what the advice needs: an unknown model, alias or version."""


class ServerError(StalenessError, ConnectionError):
    """The tracking server could not be reached in time, or refused the request."""


class NoPermissionError(StalenessError, PermissionError):
    """The tracking server's permissions do not let this user write the advice."""

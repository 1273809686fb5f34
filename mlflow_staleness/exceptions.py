"""One error hierarchy for the whole package.

Every error raised on purpose derives from :class:`StalenessError`, and each narrow subclass
also derives from the built-in a caller would naturally catch (``ValueError``, ``LookupError``).
Messages say what was expected, what came, and what is allowed.
"""

from __future__ import annotations

__all__ = [
    "ActionError",
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
    """Root of every error this package raises on purpose.

    Its message goes through :func:`~mlflow_staleness.redaction.redact`: an error built from
    MLflow's message, which may quote ``http://user:password@host``, carries no credentials.
    """

    def __init__(self, *args: object) -> None:
        from mlflow_staleness.redaction import redact

        super().__init__(*(redact(a) if isinstance(a, str) else a for a in args))


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


class ActionError(StalenessError, RuntimeError):
    """The advice was written and is complete, but a move it asked for (an alias, a stage) failed.

    The moves are the last writes of an advice, so the registry holds the complete advice, and
    each alias or stage is where it was or where that advice says. Running the same command
    again completes the move. :attr:`advice_id` is the complete advice's id, :attr:`done` the
    moves made before the failure, :attr:`pending` those not made.
    """

    def __init__(
        self,
        message: str,
        advice_id: str = "",
        done: tuple[str, ...] = (),
        pending: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message)
        self.advice_id = advice_id
        self.done = tuple(done)
        self.pending = tuple(pending)

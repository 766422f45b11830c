"""Errors raised for bad input and exhausted budgets.

The root, :class:`AdvisorError`, lives in the lowest package so that every layer (``probes``,
``advisor``, ``api``) raises and catches the same types. Each subclass also inherits the matching
built-in (``ValueError``, ``FileNotFoundError``, ...) so generic handlers keep working, the way
scikit-learn and optuna do it. Every error carries a stable machine-readable ``code`` (the API
returns it as ``{"code", "message", "details"}``) and a message that says what was expected, what
was found and how to fix it.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AdvisorError",
    "BudgetExhausted",
    "Cancelled",
    "ColumnNotFoundError",
    "ConstantTargetError",
    "DataError",
    "DataFileNotFoundError",
    "DuplicateColumnError",
    "EmptyDataError",
    "EmptyTargetError",
    "EncodingError",
    "FileTooLargeError",
    "InvalidSpecError",
    "MalformedFileError",
    "NoFeaturesError",
    "ProbesFailedError",
    "TaskNotFoundError",
    "TaskTooSmallError",
    "TooFewTasksError",
    "TooManyColumnsError",
    "UnreadableFileError",
    "UnsupportedFormatError",
]


class AdvisorError(Exception):
    """Root of every error this project raises on purpose.

    Parameters
    ----------
    message:
        One human sentence or two: what was expected, what was found, how to fix it.
    details:
        Machine-readable context (column names, limits, ...), JSON-serialisable.
    """

    code: str = "advisor_error"
    #: HTTP status the API answers with when this error reaches it.
    http_status: int = 400

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = dict(details or {})

    def __str__(self) -> str:  # KeyError would otherwise print the repr of the message
        return self.message

    def to_dict(self) -> dict[str, Any]:
        """The error as the API's ``{code, message, details}`` body."""
        return {"code": self.code, "message": self.message, "details": self.details}


class InvalidSpecError(AdvisorError, ValueError):
    """The dataset spec is inconsistent on its own (before looking at any data)."""

    code = "invalid_spec"
    http_status = 422


class DataError(AdvisorError, ValueError):
    """The data cannot serve the spec (wrong columns, too few rows, degenerate targets...)."""

    code = "invalid_data"
    http_status = 422


class ColumnNotFoundError(DataError, KeyError):
    """A column named in the spec is not in the data."""

    code = "column_not_found"


class DuplicateColumnError(DataError):
    """The header names a column twice (pandas would silently rename the second one)."""

    code = "duplicate_columns"


class EmptyDataError(DataError):
    """The file or frame has no data rows."""

    code = "empty_data"


class EmptyTargetError(DataError):
    """A target column has no values at all."""

    code = "empty_target"


class ConstantTargetError(DataError):
    """A target has a single value, so there is nothing to predict."""

    code = "constant_target"


class NoFeaturesError(DataError):
    """No feature columns are left once targets, task column and ignored columns are removed."""

    code = "no_features"


class TaskNotFoundError(DataError, KeyError):
    """A task named in the spec (``target_task``) is not among the tasks found in the data."""

    code = "task_not_found"


class TaskTooSmallError(DataError):
    """A task has fewer rows than the evaluation protocol needs."""

    code = "task_too_small"


class TooFewTasksError(DataError):
    """The goal needs more tasks than the data has."""

    code = "too_few_tasks"


class TooManyColumnsError(DataError):
    """The data has more columns than the configured limit."""

    code = "too_many_columns"
    http_status = 413


class DataFileNotFoundError(AdvisorError, FileNotFoundError):
    """The data path does not exist."""

    code = "file_not_found"
    http_status = 404


class UnreadableFileError(AdvisorError, OSError):
    """The file exists but cannot be read as data (a directory, binary garbage, corrupt)."""

    code = "unreadable_file"


class MalformedFileError(UnreadableFileError, ValueError):
    """The file parses partly but breaks its format (ragged CSV rows, bad JSON line)."""

    code = "malformed_file"


class EncodingError(UnreadableFileError, ValueError):
    """The text is in an encoding we could not detect with confidence."""

    code = "bad_encoding"


class UnsupportedFormatError(AdvisorError, ValueError):
    """The file type is not one we read."""

    code = "unsupported_format"
    http_status = 415


class FileTooLargeError(AdvisorError, ValueError):
    """The file is over the configured size limit."""

    code = "file_too_large"
    http_status = 413


class BudgetExhausted(AdvisorError, TimeoutError):
    """The time budget ran out; raised cooperatively between epochs and trials.

    Code that catches it keeps what it finished and flags the result as partial, in the spirit
    of optuna's ``TrialPruned``.
    """

    code = "budget_exhausted"
    http_status = 408


class ProbesFailedError(AdvisorError, RuntimeError):
    """Every paradigm's probe failed with an error (not the time limit), so there is nothing to compare.

    The message quotes the first failure; each failed step is also in the report's warnings.
    """

    code = "probes_failed"
    http_status = 422


class Cancelled(AdvisorError):
    """The work was cancelled on request; raised cooperatively at the next budget check.

    Unlike :class:`BudgetExhausted` it is not caught to keep partial results: a cancelled run
    stops and returns nothing (the service marks its job ``cancelled``).
    """

    code = "cancelled"
    http_status = 409

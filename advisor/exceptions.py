"""Errors of the SDK: the hierarchy of :mod:`probes.exceptions`, plus the remote service's own.

Catch :class:`AdvisorError` for anything the advisor rejects on purpose; each subclass is also
a built-in (``ValueError``, ``FileNotFoundError``, ...) and carries a stable ``code``. The HTTP
service answers every error as ``{code, message, details}``; :class:`~advisor.AdvisorClient`
raises the class registered for that ``code`` here (:func:`error_for_code`), so remote and local
calls fail the same way.
"""

from __future__ import annotations

from typing import Any

from probes.exceptions import (
    AdvisorError,
    BudgetExhausted,
    Cancelled,
    ColumnNotFoundError,
    ConstantTargetError,
    DataError,
    DataFileNotFoundError,
    DuplicateColumnError,
    EmptyDataError,
    EmptyTargetError,
    EncodingError,
    FileTooLargeError,
    InvalidSpecError,
    MalformedFileError,
    NoFeaturesError,
    ProbesFailedError,
    TaskNotFoundError,
    TaskTooSmallError,
    TooFewTasksError,
    TooManyColumnsError,
    UnreadableFileError,
    UnsupportedFormatError,
)

__all__ = [
    "AdvisorError",
    "AuthenticationError",
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
    "InvalidRequestError",
    "InvalidSpecError",
    "JobFailedError",
    "JobFinishedError",
    "JobNotFoundError",
    "JobNotReadyError",
    "LimitExceededError",
    "MalformedFileError",
    "NoFeaturesError",
    "ProbesFailedError",
    "QueueFullError",
    "ServiceError",
    "ServiceTimeoutError",
    "TaskNotFoundError",
    "TaskTooSmallError",
    "TooFewTasksError",
    "TooManyColumnsError",
    "UnreadableFileError",
    "UnsupportedFormatError",
    "WaitTimeoutError",
    "error_for_code",
]


class ServiceError(AdvisorError, RuntimeError):
    """The service failed in a way no more specific class describes (also: an unknown error code)."""

    code = "service_error"
    http_status = 500


class ServiceTimeoutError(ServiceError, TimeoutError):
    """The service did not answer one request in time (the client's ``timeout``); it may still be working on it."""

    code = "service_timeout"
    http_status = 504


class AuthenticationError(AdvisorError, PermissionError):
    """No API key, or one the service does not know: send ``Authorization: Bearer KEY``."""

    code = "unauthorized"
    http_status = 401


class InvalidRequestError(AdvisorError, ValueError):
    """The request itself is malformed (a missing field, a wrong type, JSON that does not parse)."""

    code = "invalid_request"
    http_status = 422


class LimitExceededError(AdvisorError, ValueError):
    """The request asks for more than the service allows (tasks, budget, time limit)."""

    code = "limit_exceeded"
    http_status = 422


class QueueFullError(AdvisorError, RuntimeError):
    """Too many jobs are waiting; retry later."""

    code = "queue_full"
    http_status = 429


class JobNotFoundError(AdvisorError, LookupError):
    """No job with this id belongs to the caller's key."""

    code = "job_not_found"
    http_status = 404


class JobNotReadyError(AdvisorError, RuntimeError):
    """The job has no result yet (queued or running)."""

    code = "job_not_ready"
    http_status = 409


class JobFinishedError(AdvisorError, RuntimeError):
    """The job already finished, so it cannot be cancelled."""

    code = "job_finished"
    http_status = 409


class JobFailedError(AdvisorError, RuntimeError):
    """The job failed; ``details["error"]`` holds its own ``{code, message, details}``."""

    code = "job_failed"
    http_status = 409


class WaitTimeoutError(AdvisorError, TimeoutError):
    """The client stopped waiting for a job that is still queued or running."""

    code = "wait_timeout"
    http_status = 408


def _registry() -> dict[str, type[AdvisorError]]:
    found: dict[str, type[AdvisorError]] = {}
    pending: list[type[AdvisorError]] = [AdvisorError]
    while pending:
        cls = pending.pop(0)
        found.setdefault(cls.code, cls)
        pending.extend(cls.__subclasses__())
    return found


def error_for_code(code: str, message: str, details: dict[str, Any] | None = None) -> AdvisorError:
    """The error an API body ``{code, message, details}`` stands for (a :class:`ServiceError` for unknown codes)."""
    cls = _registry().get(code)
    if cls is None or cls is AdvisorError:
        error: AdvisorError = ServiceError(message, details=details)
        error.code = code  # keep the service's code visible on the unknown error
        return error
    return cls(message, details=details)

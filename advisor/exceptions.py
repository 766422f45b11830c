"""Errors of the SDK: the same hierarchy as :mod:`probes.exceptions`, re-exported for users.

Catch :class:`AdvisorError` for anything the advisor rejects on purpose; each subclass is also
a built-in (``ValueError``, ``FileNotFoundError``, ...) and carries a stable ``code``.
"""

from probes.exceptions import (
    AdvisorError,
    BudgetExhausted,
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
    TaskNotFoundError,
    TaskTooSmallError,
    TooFewTasksError,
    TooManyColumnsError,
    UnreadableFileError,
    UnsupportedFormatError,
)

__all__ = [
    "AdvisorError",
    "BudgetExhausted",
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
    "TaskNotFoundError",
    "TaskTooSmallError",
    "TooFewTasksError",
    "TooManyColumnsError",
    "UnreadableFileError",
    "UnsupportedFormatError",
]

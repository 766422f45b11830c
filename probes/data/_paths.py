"""What a data path must be before it is read: a supported suffix and an existing, readable,
non-empty file within the limits. Light on purpose (no pandas or numpy): the command line checks
a path with these before it imports anything heavy, so a typo is refused at once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from probes.exceptions import (
    DataFileNotFoundError,
    EmptyDataError,
    FileTooLargeError,
    TooManyColumnsError,
    UnreadableFileError,
    UnsupportedFormatError,
)

__all__ = ["FORMATS", "Limits", "check_path", "format_of"]

#: File suffix -> format. Each may also end in ``.gz``.
FORMATS: dict[str, str] = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}


@dataclass(frozen=True)
class Limits:
    """Caps on what we agree to read. The service sets tighter ones from its settings."""

    max_file_mb: float = 2048.0
    max_rows: int = 20_000_000
    max_columns: int = 20_000
    max_cells: int = 1_000_000_000
    """Rows × columns: what the table will hold in memory (a few bytes of file can describe
    many empty cells), checked before the table is built."""

    def rows_allowed(self, n_columns: int) -> int:
        """The most rows a table of ``n_columns`` columns may have under both the row and the cell limit."""
        return min(self.max_rows, self.max_cells // max(n_columns, 1))

    def check_cells(self, n_rows: int, n_columns: int, where: str) -> None:
        if n_rows * n_columns > self.max_cells:
            raise FileTooLargeError(
                f"{where} has {n_rows:,} rows × {n_columns:,} columns = {n_rows * n_columns:,} cells; the limit is "
                f"{self.max_cells:,}. Subsample the rows, drop columns you do not need, or raise the limit "
                "(SDK: Advisor(limits=Limits(max_cells=...)); service: ADVISOR_MAX_CELLS).",
                details={"rows": n_rows, "columns": n_columns, "cells": n_rows * n_columns, "limit": self.max_cells},
            )

    def check_columns(self, n_columns: int, where: str) -> None:
        if n_columns > self.max_columns:
            raise TooManyColumnsError(
                f"{where} has {n_columns:,} columns; the limit is {self.max_columns:,}. "
                "Drop the columns you do not need from the data (the limit applies before features are chosen), "
                "or raise the limit (SDK: Advisor(limits=Limits(max_columns=...)); service: ADVISOR_MAX_COLUMNS).",
                details={"columns": n_columns, "limit": self.max_columns},
            )

    def check_rows(self, n_rows: int, where: str) -> None:
        if n_rows > self.max_rows:
            raise FileTooLargeError(
                f"{where} has {n_rows:,} rows; the limit is {self.max_rows:,}. Subsample the data or raise the limit "
                "(SDK: Advisor(limits=Limits(max_rows=...)); service: ADVISOR_MAX_ROWS).",
                details={"rows": n_rows, "limit": self.max_rows},
            )


def format_of(path: str | os.PathLike[str]) -> tuple[str, bool]:
    """``(format, gzipped)`` from the file name; :class:`UnsupportedFormatError` for an unknown suffix."""
    path = Path(path)
    suffixes = [s.lower() for s in path.suffixes]
    compressed = bool(suffixes) and suffixes[-1] == ".gz"
    if compressed:
        suffixes = suffixes[:-1]
    fmt = FORMATS.get(suffixes[-1]) if suffixes else None
    if fmt is None:
        known = ", ".join(sorted(FORMATS))
        raise UnsupportedFormatError(
            f"'{path.name}' is not a supported file type. Use one of {known} (optionally gzipped, '.gz'), "
            "or pass a pandas DataFrame.",
            details={"path": str(path), "supported": sorted(FORMATS)},
        )
    return fmt, compressed


def check_path(path: str | os.PathLike[str], limits: Limits | None = None) -> int:
    """The checks a data file passes before it is read (exists, a regular readable file, within
    ``limits``, not empty); returns its size in bytes."""
    path, limits = Path(path), limits or Limits()
    if not path.exists():
        close = similar_files(path)
        hint = f" Did you mean {' or '.join(repr(str(c)) for c in close)}?" if close else " Check the path."
        raise DataFileNotFoundError(
            f"No such file: '{path}'.{hint}", details={"path": str(path), "similar": [str(c) for c in close]}
        )
    if path.is_dir():
        raise UnreadableFileError(
            f"'{path}' is a directory; pass a data file inside it (CSV, TSV, Parquet or JSON Lines).",
            details={"path": str(path)},
        )
    if not path.is_file():  # opening a pipe with no writer would wait forever; a device never ends
        raise UnreadableFileError(
            f"'{path}' is not a regular file (a pipe, socket or device); save the data to a file and pass its path.",
            details={"path": str(path)},
        )
    try:
        n_bytes = path.stat().st_size
        with path.open("rb"):
            pass
    except OSError as exc:
        raise UnreadableFileError(
            f"Cannot open '{path}': {exc.strerror or exc}.", details={"path": str(path)}
        ) from None
    limit = limits.max_file_mb * 1024 * 1024
    if n_bytes > limit:
        raise FileTooLargeError(
            f"'{path.name}' is {n_bytes / 1024 / 1024:,.1f} MB; the limit is {limits.max_file_mb:,.0f} MB. "
            "Subsample the data, or raise the limit (max_file_mb; CLI: --max-file-mb).",
            details={"bytes": n_bytes, "limit_mb": limits.max_file_mb},
        )
    if n_bytes == 0:
        raise EmptyDataError(f"'{path.name}' is empty (0 bytes); it needs a header and data rows.")
    return n_bytes


def similar_files(path: Path, limit: int = 3) -> list[Path]:
    """Data files next to a missing ``path`` with the same name but another data suffix or gzip:
    ``x.csv.gz`` for ``x.csv``, ``x.csv`` for ``x.csv.gz``, ``x.parquet`` for either."""
    name = path.name
    stem = name[:-3] if name.lower().endswith(".gz") else name
    for suffix in FORMATS:
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    folder = path.parent
    try:
        if not stem or not folder.is_dir():
            return []
        found = []
        for suffix in FORMATS:
            for gz in ("", ".gz"):
                candidate = folder / f"{stem}{suffix}{gz}"
                if candidate.name != name and candidate.is_file():
                    found.append(candidate)
        return found[:limit]
    except OSError:
        return []

"""Read a user's table (CSV, TSV, Parquet, JSON Lines, optionally gzipped, or a DataFrame).

Every way a file can be wrong becomes a specific :mod:`probes.exceptions` error whose message
names the file, what was found and what to do. Checks that pandas would paper over are done on
the raw bytes: duplicate header names (pandas renames the second ``a`` to ``a.1``), ragged rows
(pandas pads short rows with NaN), binary content and unknown encodings. The user's file and
DataFrame are never modified.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import os
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from probes.data._paths import FORMATS, Limits, check_path, format_of
from probes.exceptions import (
    DataError,
    DuplicateColumnError,
    EmptyDataError,
    EncodingError,
    FileTooLargeError,
    MalformedFileError,
    UnreadableFileError,
    UnsupportedFormatError,
)

__all__ = ["FORMATS", "Limits", "SourceInfo", "check_frame", "check_path", "read_table"]

_SAMPLE_BYTES = 1 << 20
_SAMPLE_RECORDS = 5_000
#: Integers at least this large lose digits as float64 (and pandas makes a numeric column with gaps float64).
_EXACT_INTEGERS = 2**53
_GZIP_MAGIC = b"\x1f\x8b"
#: A gzipped file may expand to at most this many times the file-size limit (a decompression bomb does not).
_MAX_GZIP_EXPANSION = 100
_PARQUET_MAGIC = b"PAR1"


@dataclass(frozen=True)
class SourceInfo:
    """Where a table came from and how it was decoded (shown by ``advisor inspect``)."""

    name: str
    format: str
    compressed: bool = False
    encoding: str | None = None
    n_bytes: int | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)


def read_table(source: str | os.PathLike[str] | pd.DataFrame, *, limits: Limits | None = None) -> pd.DataFrame:
    """Read ``source`` into a DataFrame, with every check of :func:`read_source`.

    Examples
    --------
    >>> frame = read_table("data.csv.gz")  # doctest: +SKIP
    """
    return read_source(source, limits=limits)[0]


def read_source(
    source: str | os.PathLike[str] | pd.DataFrame,
    *,
    limits: Limits | None = None,
    name_columns: tuple[str, ...] = (),
) -> tuple[pd.DataFrame, SourceInfo]:
    """Read ``source`` and say how it was read.

    ``name_columns`` hold names (a task column): in a delimited file their values are read as
    written before becoming numbers, so that two spellings of one number (``1`` and ``1.0``)
    raise :class:`~probes.exceptions.DataError` instead of silently naming one task.
    """
    limits = limits or Limits()
    if isinstance(source, pd.DataFrame):
        return _check_frame(source, limits), SourceInfo(name="<DataFrame>", format="dataframe")
    if not isinstance(source, (str, os.PathLike)):
        raise UnsupportedFormatError(
            f"Data must be a file path or a pandas DataFrame, got {type(source).__name__}.",
        )
    path = Path(source)
    fmt, compressed = _format_of(path)
    n_bytes = _check_path(path, limits)
    if compressed:
        _check_gzip_magic(path)
        if fmt not in ("csv", "tsv"):  # delimited files are checked once their delimiter is known
            _check_gzip_expansion(path, limits=limits)
    if fmt in ("csv", "tsv"):
        frame, encoding, notes = _read_delimited(
            path, fmt=fmt, compressed=compressed, limits=limits, name_columns=name_columns
        )
    else:
        reader = {"parquet": _read_parquet, "jsonl": _read_jsonl}[fmt]
        frame, encoding, notes = reader(path, fmt=fmt, compressed=compressed, limits=limits)
    limits.check_rows(len(frame), f"'{path.name}'")
    if encoding not in (None, "utf-8", "utf-8-sig"):
        notes = (f"read as {encoding} text (not UTF-8)", *notes)
    return frame, SourceInfo(
        name=path.name, format=fmt, compressed=compressed, encoding=encoding, n_bytes=n_bytes, notes=notes
    )


# --------------------------------------------------------------------------------------------- paths


def _format_of(path: Path) -> tuple[str, bool]:
    return format_of(path)


def _check_path(path: Path, limits: Limits) -> int:
    return check_path(path, limits)


def _check_gzip_magic(path: Path) -> None:
    with path.open("rb") as fh:
        if fh.read(2) != _GZIP_MAGIC:
            raise UnreadableFileError(
                f"'{path.name}' ends in .gz but is not gzip-compressed; rename it without '.gz' or compress it.",
            )


def _check_gzip_expansion(
    path: Path,
    *,
    limits: Limits,
    delimiter: str | None = None,
    encoding: str = "utf-8",
    first_column: str = "",
    n_columns: int = 1,
) -> None:
    """Refuse a gzipped file that decompresses past the limits, streaming, before any parser holds it in memory.

    The size limit applies to the file as sent; a small file may still expand enormously (a gzip
    bomb). Bytes are capped at :data:`_MAX_GZIP_EXPANSION` times the size limit. A delimited file
    (``delimiter`` given) is also held to the row limit: its newlines are counted first, an upper
    bound on its records; only if they pass the limit are the records counted exactly, by
    pyarrow's streaming reader with the real parse's options, stopping one past it. The row limit
    of a table of ``n_columns`` columns is also bounded by the cell limit. JSON Lines stops at
    the row limit as it reads.
    """
    cap = _MAX_GZIP_EXPANSION * limits.max_file_mb * 1024 * 1024
    allowed = limits.rows_allowed(n_columns)
    n_bytes = n_lines = 0
    rows_checked = delimiter is None
    try:
        with gzip.open(path, "rb") as fh:
            while chunk := fh.read(_SAMPLE_BYTES):
                n_bytes += len(chunk)
                n_lines += chunk.count(b"\n")
                if n_bytes > cap:
                    raise FileTooLargeError(
                        f"'{path.name}' decompresses to more than {cap / 1024 / 1024:,.0f} MB "
                        f"({_MAX_GZIP_EXPANSION}x the {limits.max_file_mb:,.0f} MB limit). Subsample the data.",
                        details={"expanded_bytes_over": int(cap), "limit_mb": limits.max_file_mb},
                    )
                if not rows_checked and n_lines > allowed + 1:
                    rows_checked = True  # counted to the end or one past the limit: decided for the whole file
                    if _rows_over(path, allowed, delimiter or ",", encoding, first_column, compressed=True):
                        _refuse_rows(path.name, allowed, n_columns, limits)
    except (EOFError, zlib.error, gzip.BadGzipFile, OSError) as exc:
        raise UnreadableFileError(f"'{path.name}' is a corrupt or truncated gzip file ({exc}).") from None


def _refuse_rows(name: str, allowed: int, n_columns: int, limits: Limits) -> None:
    """The 413 of a delimited file with more than ``allowed`` rows: over the row limit, or the cell limit."""
    if allowed >= limits.max_rows:
        raise FileTooLargeError(
            f"'{name}' has more than {limits.max_rows:,} rows, the limit. Subsample the data or raise the limit.",
            details={"limit": limits.max_rows},
        )
    limits.check_cells(allowed + 1, n_columns, f"'{name}' (at least)")


def _check_plain_rows(
    path: Path, *, limits: Limits, delimiter: str, encoding: str, first_column: str, n_columns: int
) -> None:
    """The same row and cell bound for an uncompressed delimited file, streaming, before it is parsed."""
    allowed = limits.rows_allowed(n_columns)
    n_lines = 0
    with path.open("rb") as fh:
        while chunk := fh.read(_SAMPLE_BYTES):
            n_lines += chunk.count(b"\n")
            if n_lines > allowed + 1:
                if _rows_over(path, allowed, delimiter, encoding, first_column, compressed=False):
                    _refuse_rows(path.name, allowed, n_columns, limits)
                return


def _rows_over(
    path: Path, limit: int, delimiter: str, encoding: str, first_column: str, *, compressed: bool = True
) -> bool:
    """Whether a delimited file has more than ``limit`` data rows, as the real parse counts them
    (quoted newlines, blank lines), reading one column as text in constant memory.

    ``False`` when pyarrow cannot parse it: the real parse then reports the error with its context.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    try:
        reader = pacsv.open_csv(
            pa.input_stream(str(path), compression="gzip" if compressed else None),
            read_options=pacsv.ReadOptions(encoding=encoding),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                include_columns=[first_column], column_types={first_column: pa.string()}
            ),
        )
        rows = 0
        for batch in reader:
            rows += batch.num_rows
            if rows > limit:
                return True
    except (pa.ArrowException, OSError, EOFError, zlib.error, UnicodeDecodeError):
        return False
    return False


def _open_binary(path: Path, compressed: bool) -> io.BufferedIOBase:
    return gzip.open(path, "rb") if compressed else path.open("rb")  # type: ignore[return-value]


def _read_sample(path: Path, compressed: bool) -> bytes:
    try:
        with _open_binary(path, compressed) as fh:
            return fh.read(_SAMPLE_BYTES)
    except (EOFError, zlib.error, gzip.BadGzipFile, OSError) as exc:
        raise UnreadableFileError(f"'{path.name}' is a corrupt or truncated gzip file ({exc}).") from None


# ---------------------------------------------------------------------------------------- encodings

_GZIP_MAGIC = b"\x1f\x8b"


def _binary_message(sample: bytes, name: str) -> str:
    """Why a file read as text is binary, naming what it looks like when its first bytes say."""
    if sample.startswith(_GZIP_MAGIC):
        return f"'{name}' is gzip-compressed but its name does not end in .gz; rename it to '{name}.gz'."
    if sample.startswith(b"PK\x03\x04"):
        return (
            f"'{name}' is a zip archive (an Excel .xlsx file is one too); extract the table and save it as "
            "CSV, TSV, Parquet or JSON Lines (gzip, '.gz', is read as it is)."
        )
    if sample.startswith(b"PAR1"):
        return f"'{name}' is a Parquet file; give it the '.parquet' extension."
    return (
        f"'{name}' does not look like a text file (it contains NUL bytes); is it binary, or saved with a "
        "different extension?"
    )


def _detect_encoding(sample: bytes, name: str) -> str:
    """Pick the text encoding of ``sample``: BOM, then strict UTF-8, then charset-normalizer."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in sample or sample.startswith(_GZIP_MAGIC):
        raise UnreadableFileError(_binary_message(sample, name))
    try:
        # A sample may end inside a multi-byte character: an incremental decoder tolerates that.
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=len(sample) < _SAMPLE_BYTES)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    _refuse_stray_bytes(sample, name)
    from charset_normalizer import from_bytes

    matches = list(from_bytes(sample))
    if len(sample) < _SHORT_TEXT_BYTES:
        guess = _short_text_encoding(sample, matches[0].encoding if matches else None)
        if guess is not None:
            return guess
    if not matches:
        raise EncodingError(
            f"'{name}' is not UTF-8 and its encoding could not be detected; re-save it as UTF-8.",
        )
    # Short Western text fits several code pages equally well; among the least chaotic
    # candidates prefer Windows-1252, by far the most common legacy encoding of CSV exports.
    least = min(m.chaos for m in matches)
    for match in matches:
        if match.chaos <= least + 1e-9 and "cp1252" in match.could_be_from_charset:
            return "cp1252"
    return matches[0].encoding


#: Below this many bytes, statistical detection has too little text; the code-page check below decides.
_SHORT_TEXT_BYTES = 64 * 1024
#: Code pages tried on short text, most common first (a tie goes to the earlier one).
_SHORT_TEXT_CODE_PAGES = ("cp1252", "cp1250", "cp1251", "cp1253", "cp1254", "cp1257", "koi8_r", "iso8859_5", "cp866")
#: Multi-byte East Asian encodings, which the code-page check cannot judge.
_MULTI_BYTE = ("big5", "gb", "cp932", "cp936", "cp949", "cp950", "shift_jis", "euc", "johab", "hz", "iso2022")
#: Cyrillic code pages whose text, all in lower (or upper) case, also reads as Cyrillic in Windows-1251:
#: when charset-normalizer names one of them and it reads as well, it stands.
_CYRILLIC = ("koi8", "iso8859_5", "mac_cyrillic")
_SYMBOLS = frozenset("°€£¥©®±²³µ·×÷«»–—‘’‚“”„…§¶¢¤¦¨¬¯´¸¹º¼½¾¿¡ª†‡‰•™\u00a0")
_UNITS = frozenset("°²³µ‰")  # may touch a letter: 25°C, m², µg


def _short_text_encoding(sample: bytes, detected: str | None) -> str | None:
    """The common single-byte code page in which short ``sample`` reads most like text, or ``None``.

    On a few hundred bytes charset-normalizer ties many code pages and picks among them almost at
    random (Cyrillic read as Urdu cp1006, "Côte" as Chinese Big5). Its detection stands when it is
    a multi-byte East Asian encoding that reads better, or a KOI8/ISO Cyrillic one that reads as well.
    """
    best, score = None, 0.0
    for encoding in _SHORT_TEXT_CODE_PAGES:
        try:
            value = _text_plausibility(sample.decode(encoding))
        except UnicodeDecodeError:
            continue
        if value > score + 1e-9:
            best, score = encoding, value
    if best is None or score < 0.9:
        return None
    name = (detected or "").lower().replace("-", "_")
    if name.startswith(_MULTI_BYTE) and _text_plausibility(sample.decode(name, errors="replace")) > score:
        return None
    if name.startswith(_CYRILLIC) and _text_plausibility(sample.decode(name, errors="replace")) >= score:
        return None
    return best


def _text_plausibility(text: str) -> float:
    """How much ``text``'s non-ASCII characters read like real text, from 0 to 1.

    Units: each word holding non-ASCII letters, and each non-ASCII character outside words. A word
    reads well in one script and, in Latin script, with ASCII letters too (accented letters alone
    are Cyrillic or Greek read in a Latin code page), elsewhere with none (a Latin word read in a
    Cyrillic code page), and with no capital after its first letter unless all are (``нОСКВА`` is
    KOI8-R read in Windows-1251); a character outside words when it is a common symbol (€, «)
    that does not touch a letter (``£ódŸ`` is Polish read in Windows-1252) or a unit sign (°C, m²).
    """
    import unicodedata

    units = good = 0
    i, n = 0, len(text)
    while i < n:
        if text[i].isalpha():
            j = i
            while j < n and text[j].isalpha():
                j += 1
            word = text[i:j]
            accented = [c for c in word if ord(c) > 127]
            if accented:
                units += 1
                scripts = {unicodedata.name(c, "?").split(" ", 1)[0] for c in accented}
                plain = len(word) - len(accented)
                latin = scripts == {"LATIN"}
                one_script = (latin and (plain > 0 or len(word) <= 2)) or (not latin and plain == 0)
                cased = word.isupper() or not any(c.isupper() for c in word[1:])  # not "нОСКВА" (KOI8 as 1251)
                good += len(scripts) == 1 and one_script and cased
            i = j
            continue
        if ord(text[i]) > 127 and not text[i].isspace():
            units += 1
            touching = (i > 0 and text[i - 1].isalpha()) or (i + 1 < n and text[i + 1].isalpha())
            good += text[i] in _UNITS or (text[i] in _SYMBOLS and not touching)
        i += 1
    return good / units if units else 1.0


def _refuse_stray_bytes(sample: bytes, name: str) -> None:
    """Refuse UTF-8 text with a few bytes that are not UTF-8 (a damaged file, or two files joined).

    Read in a legacy code page, such a file would turn every accented letter into another one and
    fail, if at all, far from the cause; so when the sample's valid multi-byte characters
    outnumber its bad bytes two to one, the error names the first bad byte and its line.
    """
    decoder = codecs.getincrementaldecoder("utf-8")(errors="surrogateescape")  # a bad byte -> U+DC80..U+DCFF
    text = decoder.decode(sample, final=len(sample) < _SAMPLE_BYTES)
    bad = [i for i, char in enumerate(text) if "\udc80" <= char <= "\udcff"]
    valid = sum(char > "\x7f" for char in text) - len(bad)
    if not bad or valid < 2 * len(bad):
        return
    first = text[: bad[0]].encode("utf-8", errors="surrogateescape")
    line = first.count(b"\n") + 1
    byte = sample[len(first)]
    where = "" if len(sample) < _SAMPLE_BYTES else f" in its first {_SAMPLE_BYTES // 1024:,} kB"
    raise EncodingError(
        f"'{name}' is UTF-8 text except for {len(bad)} byte(s){where} that are not (the first, 0x{byte:02x}, "
        f"on line {line:,}); fix or remove them, or re-save the file as UTF-8.",
        details={"encoding": "utf-8", "invalid_bytes": len(bad), "line": line, "byte": f"0x{byte:02x}"},
    )


# -------------------------------------------------------------------------------------- delimited


def _read_delimited(
    path: Path, *, fmt: str, compressed: bool, limits: Limits, name_columns: tuple[str, ...] = ()
) -> tuple[pd.DataFrame, str, tuple[str, ...]]:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    sample = _read_sample(path, compressed)
    encoding = _detect_encoding(sample, path.name)
    text = sample.decode(encoding, errors="replace")
    if not text.strip():
        raise EmptyDataError(f"'{path.name}' has no content; it needs a header line and data rows.")
    body = text.lstrip("\ufeff")
    first_line = next((line for line in body.splitlines() if line.strip()), "")
    delimiter = "\t" if fmt == "tsv" else _sniff_delimiter(first_line)
    names, rows, has_rows = _header_and_rows(body, delimiter, path.name, truncated=len(sample) >= _SAMPLE_BYTES)
    header = [name.strip() for name in names]
    _check_header(header, path.name, written=names)
    limits.check_columns(len(header), f"'{path.name}'")
    if not has_rows:
        raise EmptyDataError(f"'{path.name}' has a header but no data rows.")
    if compressed:
        _check_gzip_expansion(
            path, limits=limits, delimiter=delimiter, encoding=encoding, first_column=names[0], n_columns=len(header)
        )
    else:
        _check_plain_rows(
            path, limits=limits, delimiter=delimiter, encoding=encoding, first_column=names[0], n_columns=len(header)
        )
    decimal_comma = delimiter != "," and _uses_decimal_commas(rows)
    as_text = _huge_integer_columns(len(names), rows)
    padded = [i for i in _zero_padded_columns(len(names), rows) if i not in as_text]
    named = [i for i, n in enumerate(header) if n in name_columns and i not in as_text and i not in padded]

    try:
        table = pacsv.read_csv(
            pa.input_stream(str(path), compression="gzip" if compressed else None),  # '.GZ' too
            read_options=pacsv.ReadOptions(encoding=encoding, column_names=None, use_threads=True),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                strings_can_be_null=True,
                decimal_point="," if decimal_comma else ".",
                column_types={names[i]: pa.string() for i in [*as_text, *padded, *named]},  # names as written
            ),
        )
    except pa.ArrowInvalid as exc:
        message = str(exc)
        if "Expected" in message and "columns" in message:
            where = _first_ragged_row(path, compressed, encoding, delimiter, len(header))
            raise MalformedFileError(
                f"'{path.name}' has rows with a different number of fields than its header "
                f"({len(header)} columns){where}. Fix or remove those rows (check quoting of values that "
                "contain the delimiter).",
                details={"columns": len(header)},
            ) from None
        raise MalformedFileError(f"'{path.name}' could not be parsed as {fmt.upper()}: {message}") from None
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise UnreadableFileError(f"'{path.name}' is a corrupt or truncated gzip file ({exc}).") from None
    except (UnicodeDecodeError, pa.ArrowException, OSError) as exc:
        raise UnreadableFileError(f"'{path.name}' could not be read: {exc}") from None
    if table.num_columns != len(header):
        raise MalformedFileError(
            f"'{path.name}' has a header of {len(header)} columns but its rows parse into {table.num_columns}; "
            "check the header line and the quoting of its names.",
            details={"columns": len(header)},
        )
    # Only the first MiB decided the encoding: pyarrow reads a column with invalid text after it as bytes.
    undecoded = [header[i] for i, f in enumerate(table.schema) if pa.types.is_binary(f.type)]
    if undecoded:
        raise EncodingError(
            f"'{path.name}' is not valid {encoding} text past its first megabyte (in column(s) "
            f"{', '.join(repr(c) for c in undecoded[:5])}); re-save it as UTF-8.",
            details={"columns": undecoded, "encoding": encoding},
        )
    for i in named:
        values = _names_as_numbers(table.column(i), path.name, header[i])
        table = table.set_column(i, table.schema.field(i).with_type(values.type), values)
    frame = table.to_pandas()
    frame.columns = header
    notes = []
    if decimal_comma:
        notes.append("decimal commas read as numbers (1,5 = 1.5)")
    kept = [header[i] for i in as_text if pa.types.is_string(table.schema.field(i).type)]
    if kept:
        notes.append(_huge_integers_note(kept))
    if padded:
        shown = ", ".join(repr(header[i]) for i in padded[:5])
        notes.append(f"integers written with leading zeros (007) kept as text in {shown}")
    ambiguous = [] if delimiter == "," or decimal_comma else _thousands_or_decimals_columns(len(names), rows)
    if ambiguous:
        shown = ", ".join(repr(header[i]) for i in ambiguous[:5])
        notes.append(
            f"numbers written 1,234 (a thousands separator, or three decimals?) kept as text in {shown}; "
            "re-save with 1234 or 1.234 to have them read as numbers"
        )
    return frame, encoding, tuple(notes)


def _names_as_numbers(column: Any, file_name: str, column_name: str) -> Any:
    """A column of names read as text, as numbers when every value is one (as pyarrow would infer).

    Two different spellings of one number (``1`` and ``1.0``, ``+2`` and ``2``) are refused:
    read as numbers they would silently become one task, read as text two tasks, and only the
    user knows which was meant.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    written = pc.utf8_trim_whitespace(column)
    if pc.any(pc.match_substring_regex(written, r"^[+-]?0[0-9]")).as_py():
        return column  # ids written with leading zeros (007) are names, not numbers
    for kind in (pa.int64(), pa.float64()):
        try:
            numbers = pc.cast(written, kind)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
        distinct = pc.unique(written).drop_null()
        seen: dict[Any, str] = {}
        for text, number in zip(distinct.to_pylist(), pc.cast(distinct, kind).to_pylist(), strict=True):
            if number in seen:
                raise DataError(
                    f"Column {column_name!r} of '{file_name}' names tasks both {seen[number]!r} and {text!r}, which "
                    f"read as the same number; write each task's name one way (both as {seen[number]!r}, say).",
                    details={"column": column_name, "values": [seen[number], text]},
                )
            seen[number] = text
        return numbers
    return column


def _header_and_rows(
    body: str, delimiter: str, name: str, *, truncated: bool
) -> tuple[list[str], list[list[str]], bool]:
    """The header's names as written (the first non-blank record, quoted newlines and any line ending allowed), up to
    :data:`_SAMPLE_RECORDS` whole data records of ``body`` (the sample) and whether any data record follows
    the header. ``truncated``: the sample stops inside the file, so its last record may be cut short."""
    records = csv.reader(io.StringIO(body, newline=""), delimiter=delimiter)
    filled = (r for r in records if any(field.strip() for field in r))
    try:
        header = next(filled, None)
    except csv.Error as exc:
        raise MalformedFileError(f"'{name}' could not be parsed: its header {exc}.") from None
    if header is None:
        raise EmptyDataError(f"'{name}' has no content; it needs a header line and data rows.")
    rows: list[list[str]] = []
    has_rows = False
    try:
        for row in filled:
            has_rows = True
            rows.append(row)
            if len(rows) >= _SAMPLE_RECORDS:
                truncated = False
                break
    except csv.Error:
        has_rows = True  # a bad record: the full parse reports it with its line number
    if truncated and rows:
        rows.pop()
    return header, rows, has_rows


_DECIMAL_COMMA = re.compile(r"^\s*[+-]?\d+,(\d+)\s*$")
_DECIMAL_POINT = re.compile(r"^\s*[+-]?\d*\.\d+([eE][+-]?\d+)?\s*$")
_INTEGER = re.compile(r"^\s*[+-]?\d{16,}\s*$")


def _uses_decimal_commas(rows: list[list[str]]) -> bool:
    """Whether a sample of a ``;``/tab/``|``-delimited file writes numbers as ``1,5`` and never as ``1.5``
    (European spreadsheet exports). Only three digits after every comma (``1,234``) may be a thousands
    separator instead, so that alone does not count."""
    fields = [f for row in rows for f in row]
    if any(_DECIMAL_POINT.match(f) for f in fields):
        return False
    decimals = [m.group(1) for f in fields if (m := _DECIMAL_COMMA.match(f))]
    return any(len(d) != 3 for d in decimals)


def _thousands_or_decimals_columns(n_columns: int, rows: list[list[str]]) -> list[int]:
    """Columns (indices) with numbers written ``1,234``, which :func:`_uses_decimal_commas` leaves as text."""
    return [i for i in range(n_columns) if any(i < len(row) and _DECIMAL_COMMA.match(row[i]) for row in rows)]


def _huge_integer_columns(n_columns: int, rows: list[list[str]]) -> list[int]:
    """Columns (indices) holding integers of magnitude 2^53 or more (account numbers, hashes): as numbers
    they would lose their last digits (or be read as floats), so distinct ids could merge; read them as text."""
    return [
        i
        for i in range(n_columns)
        if any(i < len(row) and _INTEGER.match(row[i]) and abs(int(row[i])) >= _EXACT_INTEGERS for row in rows)
    ]


_ZERO_PADDED = re.compile(r"^\s*[+-]?0\d+\s*$")
_WHOLE = re.compile(r"^\s*[+-]?\d+\s*$")


def _zero_padded_columns(n_columns: int, rows: list[list[str]]) -> list[int]:
    """Columns (indices) of whole numbers only, some written with leading zeros (``007``, zip codes, padded
    ids): as numbers ``01`` and ``1`` would become one value, so two tasks (or classes) could merge; read
    them as text, as written. A column that also holds other values (``1,5``, ``2.5``) is left to the parser.
    Features stay numeric: text that parses as numbers is typed numeric (:func:`infer_feature_type`)."""
    padded = []
    for i in range(n_columns):
        values = [row[i] for row in rows if i < len(row) and row[i].strip()]
        if any(_ZERO_PADDED.match(v) for v in values) and all(_WHOLE.match(v) for v in values):
            padded.append(i)
    return padded


def _huge_integers_note(columns: list[str]) -> str:
    return f"integers beyond 2^53 kept as text in {', '.join(repr(c) for c in columns[:5])}"


def _sniff_delimiter(header_line: str) -> str:
    """The delimiter of a header line: the most frequent of , ; tab | outside double quotes (ties: comma)."""
    counts = dict.fromkeys([",", ";", "\t", "|"], 0)
    quoted = False
    for char in header_line:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > counts[","] else ","


def _first_ragged_row(path: Path, compressed: bool, encoding: str, delimiter: str, n_columns: int) -> str:
    """Locate the first row whose field count differs from the header (error path only)."""
    try:
        with _open_binary(path, compressed) as raw:
            reader = csv.reader(
                io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline=""), delimiter=delimiter
            )
            next(reader, None)
            for line_no, row in enumerate(reader, start=2):
                if row and len(row) != n_columns:
                    return f"; line {line_no} has {len(row)} fields"
    except (OSError, EOFError, csv.Error):
        pass
    return ""


def _check_header(names: list[str], name: str, written: list[str] | None = None) -> None:
    """Refuse duplicate names. ``written``: the names as in the file, before stripping spaces, so that
    ``y`` and `` y`` are shown as the user wrote them."""
    seen: dict[str, int] = {}
    duplicates: list[str] = []
    for col in names:
        seen[col] = seen.get(col, 0) + 1
        if seen[col] == 2:
            duplicates.append(col)
    if duplicates:
        spellings = {d: sorted({w for n, w in zip(names, written or names, strict=True) if n == d}) for d in duplicates}
        shown = ", ".join(
            repr(d) + (f" (written {' and '.join(repr(w) for w in spellings[d])})" if len(spellings[d]) > 1 else "")
            for d in duplicates[:10]
        )
        raise DuplicateColumnError(
            f"'{name}' has duplicate column names: {shown}. Rename them so every column is unique.",
            details={"duplicates": duplicates},
        )


# ---------------------------------------------------------------------------------------- parquet


def _read_parquet(
    path: Path, *, fmt: str, compressed: bool, limits: Limits
) -> tuple[pd.DataFrame, None, tuple[str, ...]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        if compressed:
            with gzip.open(path, "rb") as fh:
                buffer = pa.BufferReader(fh.read())
            pfile = pq.ParquetFile(buffer)
        else:
            with path.open("rb") as fh:
                head = fh.read(4)
            if head != _PARQUET_MAGIC:
                raise UnreadableFileError(
                    f"'{path.name}' is not a Parquet file (it does not start with the Parquet magic bytes); "
                    "check the file type.",
                )
            pfile = pq.ParquetFile(path)
        names = list(pfile.schema_arrow.names)
        _check_header(names, path.name)
        limits.check_columns(len(names), f"'{path.name}'")
        rows = pfile.metadata.num_rows  # from the footer: refused before a row is decoded
        limits.check_rows(rows, f"'{path.name}'")
        limits.check_cells(rows, len(names), f"'{path.name}'")
        table = pfile.read()
    except UnreadableFileError:
        raise
    except (pa.ArrowException, OSError, EOFError, zlib.error) as exc:
        raise UnreadableFileError(
            f"'{path.name}' is not a valid Parquet file (corrupt or truncated: {exc}). Re-export it.",
        ) from None
    if table.num_rows == 0:
        raise EmptyDataError(f"'{path.name}' has columns but no data rows.")
    frame = table.to_pandas()
    named = [n for n in frame.index.names if n is not None]
    if named:  # a pandas index saved with the file (df.set_index("school").to_parquet()) is a column again
        frame = frame.reset_index(level=named)
    return frame, None, ()


# ---------------------------------------------------------------------------------------- jsonl


class _DuplicateKey(ValueError):
    pass


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def _read_jsonl(path: Path, *, fmt: str, compressed: bool, limits: Limits) -> tuple[pd.DataFrame, str, tuple[str, ...]]:
    sample = _read_sample(path, compressed)
    encoding = _detect_encoding(sample, path.name)
    records: list[dict[str, Any]] = []
    columns: dict[str, None] = {}
    huge: set[str] = set()  # keys holding integers of 2^53 or more (see _EXACT_INTEGERS)
    try:
        with _open_binary(path, compressed) as raw:
            text = io.TextIOWrapper(raw, encoding=encoding)
            for line_no, line in enumerate(text, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line, object_pairs_hook=_no_duplicate_keys)
                except _DuplicateKey as exc:
                    raise DuplicateColumnError(
                        f"'{path.name}' line {line_no} names the key '{exc}' twice; keys must be unique.",
                        details={"line": line_no, "duplicates": [str(exc)]},
                    ) from None
                except json.JSONDecodeError as exc:
                    raise MalformedFileError(
                        f"'{path.name}' line {line_no} is not valid JSON ({exc.msg}); "
                        "JSON Lines needs one JSON object per line.",
                        details={"line": line_no},
                    ) from None
                if not isinstance(record, dict):
                    raise MalformedFileError(
                        f"'{path.name}' line {line_no} is a JSON {type(record).__name__}, not an object; "
                        "JSON Lines needs one object per line.",
                        details={"line": line_no},
                    )
                for key, value in record.items():
                    if key not in columns:
                        columns[key] = None
                        limits.check_columns(len(columns), f"'{path.name}'")
                    if type(value) is int and abs(value) >= _EXACT_INTEGERS:
                        huge.add(key)
                records.append(record)
                limits.check_rows(len(records), f"'{path.name}'")
                limits.check_cells(len(records), len(columns), f"'{path.name}'")
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise UnreadableFileError(f"'{path.name}' is a corrupt or truncated gzip file ({exc}).") from None
    except UnicodeDecodeError as exc:
        raise EncodingError(
            f"'{path.name}' is not valid {encoding} text ({exc.reason}); re-save it as UTF-8."
        ) from None
    if not records:
        raise EmptyDataError(f"'{path.name}' has no JSON records.")
    frame = pd.DataFrame.from_records(records, columns=list(columns))
    kept = [c for c in columns if c in huge]
    for c in kept:
        frame[c] = pd.Series([None if (v := r.get(c)) is None else str(v) for r in records], dtype=object)
    notes = (_huge_integers_note(kept),) if kept else ()
    return frame, encoding, notes


# ---------------------------------------------------------------------------------------- frames


def check_frame(frame: pd.DataFrame, limits: Limits | None = None) -> pd.DataFrame:
    """The checks a DataFrame passes before it is read (flat, unique column names, no complex numbers,
    within ``limits``, not empty); returns it with text column labels, as a new frame when it renames."""
    return _check_frame(frame, limits or Limits())


def _check_frame(frame: pd.DataFrame, limits: Limits) -> pd.DataFrame:
    if isinstance(frame.columns, pd.MultiIndex):
        raise UnsupportedFormatError(
            f"The DataFrame has {frame.columns.nlevels}-level column labels; flatten them first, e.g. "
            "frame.columns = ['_'.join(map(str, c)) for c in frame.columns].",
            details={"levels": frame.columns.nlevels},
        )
    names = [str(c) for c in frame.columns]
    _check_header(names, "the DataFrame")
    complex_columns = [str(c) for c, dtype in frame.dtypes.items() if pd.api.types.is_complex_dtype(dtype)]
    if complex_columns:
        raise UnsupportedFormatError(
            f"Column(s) {', '.join(repr(c) for c in complex_columns[:5])} hold complex numbers; split each into "
            "its real and imaginary parts (two columns).",
            details={"columns": complex_columns},
        )
    limits.check_columns(len(names), "The DataFrame")
    limits.check_rows(len(frame), "The DataFrame")
    limits.check_cells(len(frame), len(names), "The DataFrame")
    if len(frame) == 0:
        raise EmptyDataError("The DataFrame has no rows.")
    if any(not isinstance(c, str) for c in frame.columns):
        frame = frame.rename(columns=str)  # a new frame; the caller's keeps its labels
    return frame

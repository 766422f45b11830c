"""``Advisor(progress=...)``: a progress display on stderr for ``True``, the user's callable, or nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from advisor import Advisor
from advisor.exceptions import InvalidRequestError

SPEC = {"targets": "y", "task_column": "task"}


def _advisor(progress: object) -> Advisor:
    return Advisor(budget="fast", seed=0, time_limit=60, progress=progress)


def test_progress_true_writes_progress_to_stderr(data_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rec = _advisor(True).recommend(data_file, **SPEC)
    out, err = capsys.readouterr()
    assert out == ""  # progress never goes to stdout
    lines = err.splitlines()
    assert lines and all(line.startswith("advisor: ") for line in lines)  # stderr is no terminal here: plain lines
    assert lines[0].startswith("advisor: data read: 3 task(s), 180 labelled rows (0%")
    assert any("probing" in line for line in lines)
    assert rec.paradigm in {"stl", "mtl", "transfer", "meta"}


def test_progress_false_writes_nothing(data_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _advisor(False).recommend(data_file, **SPEC)
    assert capsys.readouterr() == ("", "")


def test_progress_callable_is_called_and_nothing_is_written(data_file: Path, capsys) -> None:
    calls: list[tuple[str, float, str]] = []
    _advisor(lambda phase, fraction, message: calls.append((phase, fraction, message))).recommend(data_file, **SPEC)
    assert calls[0] == ("prepare", 0.0, "data read: 3 task(s), 180 labelled rows") and len(calls) > 2
    assert all(0.0 <= fraction <= 1.0 for _, fraction, _ in calls)
    assert capsys.readouterr() == ("", "")


def test_bad_input_is_refused_before_any_progress(data_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from advisor.exceptions import ColumnNotFoundError

    with pytest.raises(ColumnNotFoundError):
        _advisor(True).recommend(data_file, targets="nope", task_column="task")
    assert capsys.readouterr() == ("", "")  # the error alone: the command line prints it as its one line


def test_a_progress_that_is_neither_a_flag_nor_a_callable_is_refused() -> None:
    with pytest.raises(InvalidRequestError, match=r"progress must be True .* got str"):
        Advisor(progress="yes")

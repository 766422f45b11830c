"""Fixtures shared by the CLI tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.scenarios import make_scenario


@pytest.fixture(scope="module")
def data_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small task-column CSV (3 related tasks of 60 rows) for commands that read a file."""
    s = make_scenario(n_tasks=3, rows_per_task=60, relatedness=0.9, seed=6)
    path = tmp_path_factory.mktemp("cli") / "tasks.csv"
    s.frame.to_csv(path, index=False)
    return path

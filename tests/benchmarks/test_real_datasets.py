"""Every dataset in ../shared/data loads with the spec its README describes (skips without the data)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchmarks.datasets import REAL_CASES, RealCase
from probes.data import load_taskset


@pytest.mark.parametrize("case", REAL_CASES, ids=[c.name for c in REAL_CASES])
def test_real_dataset_loads_with_readme_counts(case: RealCase, shared_data: Path) -> None:
    ts = load_taskset(case.file(shared_data), **case.spec)
    assert ts.n_tasks + len(ts.dropped_tasks) == case.expected_tasks
    sizes = np.array([t.n_rows for t in ts.tasks])
    if case.expected_rows is not None:
        assert not ts.dropped_tasks or all("constant" in r or "single class" in r for r in ts.dropped_tasks.values())
        low, median, high = case.expected_rows
        if not ts.dropped_tasks:
            assert (sizes.min(), float(np.median(sizes)), sizes.max()) == (low, median, high)
        else:
            assert low <= sizes.min() and sizes.max() <= high


def test_headline_task_counts(shared_data: Path) -> None:
    by_name = {c.name: c for c in REAL_CASES}
    counts = {
        name: load_taskset(by_name[name].file(shared_data), **by_name[name].spec).n_tasks
        for name in ("school/all_tasks", "landmine/all_tasks", "parkinsons/multi_target")
    }
    assert counts == {"school/all_tasks": 139, "landmine/all_tasks": 29, "parkinsons/multi_target": 2}


def test_radon_drops_only_counties_too_small_for_the_protocol(shared_data: Path) -> None:
    case = next(c for c in REAL_CASES if c.name == "radon/new_tasks")
    ts = load_taskset(case.file(shared_data), **case.spec)
    need = case.spec["shots"] + 2
    assert all(t.n_rows >= need for t in ts.tasks)
    assert all("fewer than" in reason or "constant" in reason for reason in ts.dropped_tasks.values())
    assert ts.n_tasks > 300

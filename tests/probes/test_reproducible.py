"""A probe run is a fixed amount of work: the same data, spec, seed and budget give bit-for-bit the
same results whatever the machine's load and however many processes run the units."""

from __future__ import annotations

import dataclasses
import multiprocessing
from importlib import resources
from typing import Any

import numpy as np
import pytest

from probes._units import default_jobs
from probes.budget import BUDGETS
from probes.data import load_taskset
from probes.runner import ProbeReport, run_probes


def exact(value: Any) -> Any:
    """``value`` as plain data that compares bit for bit: floats as hex, arrays as bytes, no wall times."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: exact(getattr(value, f.name)) for f in dataclasses.fields(value) if not f.name.startswith("seconds")
        }
    if isinstance(value, np.ndarray):
        return (str(value.dtype), value.shape, value.tobytes() if value.dtype != object else exact(value.tolist()))
    if isinstance(value, (float, np.floating)):
        return float(value).hex()
    if isinstance(value, dict):
        return {str(k): exact(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [exact(v) for v in value]
    if isinstance(value, (np.integer, np.bool_)):
        return value.item()
    return value


def fingerprint(report: ProbeReport) -> dict[str, Any]:
    """Everything a probe run measured, without its wall times."""
    return {
        "results": exact(report.results),
        "signals": exact({k: v for k, v in report.signals.items() if k != "errors"}),
        "errors": [e["step"] for e in report.signals.get("errors", [])],
        "groups": report.groups,
        "group_check": exact(report.group_check),
        "phases": [(p.name, p.status, p.note) for p in report.phases],
        "warnings": report.warnings,
        "partial": report.partial,
    }


def _spin(stop: Any) -> None:
    x = 0
    while not stop.is_set():
        for _ in range(100_000):
            x += 1


@pytest.fixture(scope="module")
def demo():
    with resources.as_file(resources.files("advisor.examples") / "related_tasks.csv.gz") as path:
        return load_taskset(path, targets="y", task_column="task")


@pytest.fixture(scope="module")
def in_process(demo) -> dict[str, Any]:
    report = run_probes(demo, budget="fast", seed=0, n_jobs=1)
    assert not report.partial and report.time_limit is None
    return fingerprint(report)


def test_built_in_budgets_have_no_clock() -> None:
    assert all(preset.seconds is None for preset in BUDGETS.values())


def test_two_processes_give_the_in_process_results(demo, in_process) -> None:
    pooled = fingerprint(run_probes(demo, budget="fast", seed=0, n_jobs=2))
    assert pooled == in_process


def test_a_saturated_machine_gives_the_same_results(demo, in_process) -> None:
    stop = multiprocessing.Event()
    spinners = [multiprocessing.Process(target=_spin, args=(stop,), daemon=True) for _ in range(default_jobs())]
    for p in spinners:
        p.start()
    try:
        busy = fingerprint(run_probes(demo, budget="fast", seed=0, n_jobs=2))
    finally:
        stop.set()
        for p in spinners:
            p.join(timeout=5)
    assert busy == in_process


def test_a_searched_budget_gives_the_same_results_in_one_process_or_two() -> None:
    # Every fold runs its own search; the group check then runs as one unit (search and folds);
    # standard and thorough presets take this path.
    from benchmarks.scenarios import make_scenario
    from probes.budget import BudgetPreset

    searched = BudgetPreset(
        "searched", n_folds=2, n_repeats=1, max_epochs=4, patience=2, n_trials=2, max_rows_per_task=60
    )
    s = make_scenario(n_tasks=4, rows_per_task=80, seed=7)
    ts = load_taskset(s.frame, s.spec)
    one = run_probes(ts, budget=searched, seed=1, n_jobs=1)
    assert any(r.trials == 2 * 2 for r in one.results.values())  # two trials in each of two folds
    assert fingerprint(run_probes(ts, budget=searched, seed=1, n_jobs=2)) == fingerprint(one)

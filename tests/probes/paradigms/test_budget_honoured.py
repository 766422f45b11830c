"""Every paradigm honours a time budget: on a 20-task dataset given 5 s it returns within 5 s plus
one epoch (the longest stretch between two budget checks, measured), keeping the folds it finished."""

from __future__ import annotations

import time

import pytest

from benchmarks.scenarios import make_scenario
from probes.budget import Budget, budget_preset
from probes.data import load_taskset
from probes.paradigms import DEFAULT_VARIANTS, VARIANTS, prepare_folds, run_variant


class RecordingBudget(Budget):
    """A budget that remembers when it was checked, to measure the longest gap between checks."""

    def __init__(self, seconds: float) -> None:
        super().__init__(seconds)
        self.checks: list[float] = [self._clock()]

    def check(self, where: str = "") -> None:
        self.checks.append(self._clock())
        super().check(where)

    def sub(self, fraction: float = 1.0, *, seconds: float | None = None) -> Budget:
        return self  # the search shares the deadline; checks stay recorded


@pytest.fixture(scope="module")
def twenty_tasks():
    """20-task datasets, regression and classification (for variants that need classes)."""
    out = {}
    for kind in ("regression", "classification"):
        s = make_scenario(n_tasks=20, rows_per_task=300, task_kind=kind, seed=5)
        ts = load_taskset(s.frame, s.spec)
        out[kind] = (ts, prepare_folds(ts, "thorough"))
    return out


DEFAULTS = sorted({v for variants in DEFAULT_VARIANTS.values() for v in variants})


@pytest.mark.parametrize("name", DEFAULTS)
def test_variant_stops_within_budget_plus_one_epoch(name: str, twenty_tasks) -> None:
    ts, folds = twenty_tasks["regression"]
    if VARIANTS[name].why_not(ts) is not None:
        ts, folds = twenty_tasks["classification"]
    budget = RecordingBudget(5.0)
    started = time.monotonic()
    result = run_variant(ts, VARIANTS[name], folds, budget=budget, preset=budget_preset("thorough"), n_trials=0)
    elapsed = time.monotonic() - started
    gaps = [b - a for a, b in zip(budget.checks, budget.checks[1:], strict=False)]
    longest = max(gaps, default=0.0)
    assert elapsed <= 5.0 + longest + 0.5, (elapsed, longest)
    assert len(result.folds) <= result.n_folds_planned
    if len(result.folds) < result.n_folds_planned:
        assert result.budget_exhausted and not result.complete
        assert "stopped by the time budget" in result.notes[-1]
    assert all(f.aggregate == f.aggregate for f in result.folds)  # finished folds are scored, not NaN

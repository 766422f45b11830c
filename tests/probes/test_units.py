"""The unit scheduler: outcomes by key whatever the order units end, dependencies, limits, errors."""

from __future__ import annotations

import time

import pytest
import torch  # imported up front: the first unit must not pay for it inside a timed test

from probes._units import Outcome, Unit, run_units
from probes.budget import Budget
from probes.exceptions import BudgetExhausted, Cancelled


def nap(budget: Budget, seconds: float, value: int) -> int:
    time.sleep(seconds)
    return value


def add(budget: Budget, a: int, b: int) -> int:
    return a + b


def fails(budget: Budget) -> None:
    raise RuntimeError("no luck")


def runs_out(budget: Budget) -> None:
    raise BudgetExhausted("cut")


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_outcomes_come_by_key_and_wait_for_what_they_need(n_jobs: int) -> None:
    units = [
        Unit("slow", nap, (0.6, 1)),
        Unit("quick", nap, (0.0, 2)),
        Unit("sum", add, needs=("slow", "quick"), build=lambda o: (o["slow"].value, o["quick"].value)),
        Unit("unneeded", add, needs=("sum",), build=lambda o: None),
        Unit("error", fails),
        Unit("cut", runs_out),
    ]
    ended: list[str] = []
    outcomes = run_units(units, n_jobs=n_jobs, on_done=lambda key, outcome: ended.append(key))
    assert set(outcomes) == {u.key for u in units} == set(ended)
    assert outcomes["sum"] == Outcome("done", 3, outcomes["sum"].seconds)
    assert outcomes["unneeded"].status == "skipped" and outcomes["unneeded"].error == "not needed"
    assert outcomes["error"].status == "error" and outcomes["error"].error == "RuntimeError: no luck"
    assert outcomes["cut"].status == "exhausted"
    assert ended.index("sum") > max(ended.index("slow"), ended.index("quick"))


def test_units_not_started_by_the_deadline_are_skipped() -> None:
    outcomes = run_units([Unit(i, nap, (0.3, i)) for i in range(4)], n_jobs=1, budget=Budget(0.5))
    assert [outcomes[i].status for i in range(4)] == ["done", "done", "skipped", "skipped"]
    assert outcomes[3].error == "time limit reached"


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_cancellation_stops_between_units(n_jobs: int) -> None:
    asked = []
    units = [Unit(i, nap, (0.2, i)) for i in range(6)]
    with pytest.raises(Cancelled):
        run_units(
            units, n_jobs=n_jobs, budget=Budget(cancelled=lambda: bool(asked)), on_done=lambda k, o: asked.append(k)
        )
    assert len(asked) < 6


def test_a_dependency_no_unit_provides_is_refused() -> None:
    with pytest.raises(ValueError, match="no unit provides"):
        run_units([Unit("a", add, needs=("missing",), build=lambda o: (1, 2))])
    with pytest.raises(ValueError, match="unique"):
        run_units([Unit("a", add, (1, 2)), Unit("a", add, (3, 4))])


def threads(budget: Budget) -> tuple[int, list[int]]:
    from threadpoolctl import threadpool_info

    return torch.get_num_threads(), sorted({pool["num_threads"] for pool in threadpool_info()})


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_every_unit_runs_on_one_thread_wherever_it_runs(n_jobs: int) -> None:
    outcomes = run_units([Unit(i, threads) for i in range(3)], n_jobs=n_jobs)
    assert all(outcomes[i].value == (1, [1]) for i in range(3)), outcomes

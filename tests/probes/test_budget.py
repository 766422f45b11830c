"""Budgets are deadlines checked cooperatively; presets are looked up by name."""

from __future__ import annotations

import pytest

from probes.budget import BUDGETS, Budget, budget_preset
from probes.exceptions import BudgetExhausted


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_check_raises_after_the_deadline() -> None:
    clock = FakeClock()
    budget = Budget(5.0, clock=clock)
    budget.check("start")
    clock.now += 4.9
    assert budget.remaining() == pytest.approx(0.1)
    clock.now += 0.2
    with pytest.raises(BudgetExhausted, match="during epoch 3") as info:
        budget.check("epoch 3")
    assert isinstance(info.value, TimeoutError) and info.value.code == "budget_exhausted"


def test_child_budgets_never_outlive_the_parent() -> None:
    clock = FakeClock()
    parent = Budget(10.0, clock=clock)
    half = parent.sub(0.5)
    assert half.remaining() == pytest.approx(5.0)
    capped = parent.sub(seconds=30.0)
    assert capped.remaining() == pytest.approx(10.0)
    unlimited = Budget(None, clock=clock)
    assert not unlimited.limited and unlimited.sub(0.5).remaining() == float("inf")
    assert unlimited.sub(seconds=3.0).remaining() == pytest.approx(3.0)


def test_presets() -> None:
    assert budget_preset("fast") is BUDGETS["fast"]
    assert BUDGETS["fast"].n_folds < BUDGETS["thorough"].n_folds * BUDGETS["thorough"].n_repeats
    with pytest.raises(ValueError, match="unknown budget 'quick'"):
        budget_preset("quick")
    with pytest.raises(ValueError):
        Budget(-1)

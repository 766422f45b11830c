"""Time budgets and budget presets.

A :class:`Budget` is a deadline checked cooperatively — between epochs, trials and folds —
never by interrupting a computation; running out raises :class:`~probes.exceptions.BudgetExhausted`
(in the spirit of optuna's ``TrialPruned``), and a cancellation request raises
:class:`~probes.exceptions.Cancelled` at the same checks. A :class:`BudgetPreset` fixes how much work a
probe does: folds, repeats, epochs, patience, rows and search trials. The user presets carry no
wall-clock limit, so the same data, spec, seed and preset give the same probes however busy the
machine is; only a limit the user sets (``time_limit``) makes the clock cut work.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from probes.exceptions import BudgetExhausted, Cancelled

__all__ = ["BUDGETS", "USER_BUDGETS", "Budget", "BudgetPreset", "budget_preset"]


class Budget:
    """A deadline shared by everything that runs under it.

    Parameters
    ----------
    seconds:
        Time allowed from now; ``None`` means no limit.
    clock:
        Monotonic clock (tests pass a fake one).
    cancelled:
        Optional ``() -> bool`` (e.g. ``threading.Event().is_set``); once it returns true, the
        next :meth:`check` raises :class:`~probes.exceptions.Cancelled`. Child budgets share it.

    Examples
    --------
    >>> budget = Budget(5.0)
    >>> budget.check("epoch 3")  # raises BudgetExhausted once 5 s have passed
    >>> child = budget.sub(0.5)  # at most half of what is left, never past the parent
    """

    def __init__(
        self,
        seconds: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        cancelled: Callable[[], bool] | None = None,
    ) -> None:
        if seconds is not None and seconds < 0:
            raise ValueError(f"budget seconds must be >= 0, got {seconds}")
        self._clock = clock
        self._cancelled = cancelled
        self.started = clock()
        self.deadline = math.inf if seconds is None else self.started + seconds

    @property
    def limited(self) -> bool:
        return math.isfinite(self.deadline)

    def elapsed(self) -> float:
        return self._clock() - self.started

    def remaining(self) -> float:
        return max(0.0, self.deadline - self._clock())

    def exhausted(self) -> bool:
        return self._clock() >= self.deadline

    def cancelled(self) -> bool:
        """Whether cancellation was requested."""
        return self._cancelled is not None and bool(self._cancelled())

    def check_cancelled(self, where: str = "") -> None:
        """Raise :class:`Cancelled` if cancellation was requested."""
        if self.cancelled():
            suffix = f" during {where}" if where else ""
            raise Cancelled(f"Cancelled on request{suffix} after {self.elapsed():.1f} s.")

    def check(self, where: str = "") -> None:
        """Raise :class:`Cancelled` if cancellation was requested, :class:`BudgetExhausted` if the deadline passed."""
        self.check_cancelled(where)
        if self.exhausted():
            suffix = f" during {where}" if where else ""
            raise BudgetExhausted(
                f"Time budget exhausted{suffix} after {self.elapsed():.1f} s.",
                details={"elapsed_s": round(self.elapsed(), 3)},
            )

    def sub(self, fraction: float = 1.0, *, seconds: float | None = None) -> Budget:
        """A child budget: ``fraction`` of the remaining time (or ``seconds``), capped by this deadline."""
        child = Budget(None, clock=self._clock, cancelled=self._cancelled)
        if self.limited or seconds is not None:
            allowed = self.remaining() * fraction if self.limited else math.inf
            if seconds is not None:
                allowed = min(allowed, seconds)
            child.deadline = child.started + allowed
        return child


@dataclass(frozen=True)
class BudgetPreset:
    """How much work a probe or the oracle does."""

    name: str
    n_folds: int
    n_repeats: int
    max_epochs: int
    patience: int
    n_trials: int
    episodes_per_task: int = 1
    max_rows_per_task: int | None = None
    """Subsample tasks larger than this (probe runner); ``None`` keeps every row."""
    seconds: float | None = None
    """Default wall-time limit of a whole run; ``None`` (every built-in preset): the work decides."""
    sweep_stop: bool = True
    """Stop a validation sweep over adaptation step counts once it stops improving (every built-in
    preset, the oracle's included); ``False`` sweeps every checkpoint. A fixed property of the
    preset, never of the clock."""
    selection_split: bool = False
    """Choose trials and variants on half of each task's validation rows and stop training on the
    other half (the oracle); ``False`` uses the whole validation part for both (the probes: their
    capped tasks have too few validation rows to halve)."""
    pruner: str = "median"
    """How a search stops unpromising trials early: ``median`` or ``halving`` (asynchronous
    successive halving). ``n_trials`` is per fold: every fold runs its own search."""

    def with_seconds(self, seconds: float | None) -> BudgetPreset:
        return replace(self, seconds=seconds)


BUDGETS: dict[str, BudgetPreset] = {
    "fast": BudgetPreset("fast", n_folds=3, n_repeats=1, max_epochs=60, patience=8, n_trials=0, max_rows_per_task=400),
    "standard": BudgetPreset("standard", n_folds=5, n_repeats=1, max_epochs=150, patience=15, n_trials=2, max_rows_per_task=1500),
    "thorough": BudgetPreset("thorough", n_folds=5, n_repeats=2, max_epochs=300, patience=25, n_trials=3, episodes_per_task=2),
    "oracle": BudgetPreset("oracle", n_folds=5, n_repeats=1, max_epochs=400, patience=30, n_trials=2, episodes_per_task=3, pruner="halving", selection_split=True),
}  # fmt: skip

#: The presets a user may ask for (SDK, CLI, service); ``oracle`` is the benchmark suite's full budget.
USER_BUDGETS: tuple[str, ...] = ("fast", "standard", "thorough")


def budget_preset(name: str | BudgetPreset) -> BudgetPreset:
    """The preset called ``name`` (``fast``, ``standard``, ``thorough``, ``oracle``)."""
    if isinstance(name, BudgetPreset):
        return name
    try:
        return BUDGETS[name]
    except KeyError:
        raise ValueError(f"unknown budget {name!r}; choose one of {', '.join(BUDGETS)}") from None

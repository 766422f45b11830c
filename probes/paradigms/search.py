"""Hyper-parameter search: one helper that runs an optuna study under a time budget.

TPE sampling (seeded), median pruning or asynchronous successive halving (Li et al. 2020, "A
system for massively parallel hyperparameter tuning") on the intermediate validation scores a
training loop reports each epoch, and in-memory storage unless an RDB URL (``sqlite:///studies.db``,
``postgresql://...``) is given — then studies can be inspected or shared between workers.
The caller's objective runs its first trial with the default hyper-parameters, so a search is
never worse on validation than no search at all.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from probes.budget import Budget
from probes.exceptions import BudgetExhausted

__all__ = ["PRUNERS", "run_study"]

#: The pruners a budget preset may name.
PRUNERS = ("median", "halving")


def _pruner(name: str) -> Any:
    import optuna

    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=5)
    if name == "halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=5, reduction_factor=3)
    raise ValueError(f"unknown pruner {name!r}; choose one of {', '.join(PRUNERS)}")


def run_study(
    objective: Callable[[Any], float],
    *,
    n_trials: int,
    budget: Budget,
    seed: int = 0,
    pruner: str = "median",
    storage: str | None = None,
    study_name: str | None = None,
) -> Any:
    """Maximise ``objective(trial)`` for up to ``n_trials`` trials or until ``budget`` runs out.

    A trial stopped by the budget is recorded as pruned and ends the study. Returns the
    ``optuna.Study`` (``study.best_params``, ``len(study.trials)``). In a ``storage``, a study
    of the same ``study_name`` is replaced: a run again searches from scratch, as in memory.
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if storage is not None and study_name is not None:
        with contextlib.suppress(KeyError):  # KeyError: no such study yet
            optuna.delete_study(study_name=study_name, storage=storage)
    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=_pruner(pruner),
        storage=storage,
        study_name=study_name,
    )

    def guarded(trial: optuna.Trial) -> float:
        try:
            return objective(trial)
        except BudgetExhausted:
            trial.study.stop()
            raise optuna.TrialPruned("time budget exhausted") from None

    for _ in range(n_trials):
        if budget.exhausted():
            break
        study.optimize(guarded, n_trials=1, catch=(ValueError, RuntimeError, FloatingPointError))
        if study.trials and study.trials[-1].state == optuna.trial.TrialState.PRUNED and budget.exhausted():
            break
    return study

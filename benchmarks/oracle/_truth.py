"""The truth rule's own measures: how reproducible it is, and what random or fixed choices score against it.

The rule itself is :mod:`probes.truth` (``advisor verify`` applies it too); its names are re-exported here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from probes.truth import ALPHA, DELTA, RULE, RUNS_PER_REAL_CASE, TESTS, Truth, fold_scores, truth

__all__ = [
    "ALPHA",
    "DELTA",
    "RULE",
    "RUNS_PER_REAL_CASE",
    "TESTS",
    "Truth",
    "always_accuracy",
    "fold_scores",
    "leave_one_run_out",
    "random_accuracy",
    "truth",
]


def leave_one_run_out(cases: Sequence[Sequence[dict[str, Any]]], **rule: Any) -> dict[str, Any]:
    """How reproducible the rule is: its choice on ``R-1`` runs against its co-winners on all ``R``.

    ``cases``: per case, its runs (each case needs two or more). Returns the overall ``agreement``
    (over every case × left-out run), the per-case hit counts and the comparisons made.
    """
    hits, per_case = [], []
    for runs in cases:
        if len(runs) < 2:
            raise ValueError("leaving one run out needs two runs or more per case")
        full = truth(runs, **rule)
        mine = [truth([r for k, r in enumerate(runs) if k != i], **rule).choice in full.co_winners
                for i in range(len(runs))]  # fmt: skip
        hits += mine
        per_case.append(sum(mine))
    return {"agreement": float(np.mean(hits)) if hits else None, "comparisons": len(hits), "per_case": per_case}


def random_accuracy(truths: Sequence[Truth]) -> float:
    """Expected accuracy of a uniformly random choice among the paradigms the truth scored."""
    return float(np.mean([len(t.co_winners) / len(t.scores) for t in truths]))


def always_accuracy(truths: Sequence[Truth], paradigm: str) -> float:
    """Share of cases where ``paradigm`` is a co-winner (a paradigm not scored counts as a miss)."""
    return float(np.mean([paradigm in t.co_winners for t in truths]))

"""Meta-features of a probe run, read off the rules' :class:`Recommendation`.

The learned recommender (DESIGN.md §6) sees the same numbers the rules see: each paradigm's
probe delta against STL with its interval, its bootstrap probability of being best, its
negative-transfer risk, the learning-curve extrapolation, and the data profile and relatedness
signals. Computing them from the recommendation (not from the probe internals) means the
benchmark's cached recommendations give exactly the features the shipped model sees at run time.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from advisor._recommendation import Recommendation

__all__ = ["meta_features"]

SHARING = ("mtl", "transfer", "meta")


def _f(x: Any) -> float:
    """A finite float, or NaN."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return math.nan
    return v if math.isfinite(v) else math.nan


def _offdiag_mean(matrix: list[list[float | None]] | None) -> float:
    if not matrix:
        return math.nan
    values = [_f(v) for i, row in enumerate(matrix) for j, v in enumerate(row) if i != j]
    finite = [v for v in values if not math.isnan(v)]
    return float(np.mean(finite)) if finite else math.nan


def share_subsampled(goal: str, rows: list[int], cap: int | None) -> float:
    """Share of the tasks the advice is about (their full ``rows``) that a probe cap of ``cap`` rows cut.

    Under ``new_tasks`` the advice is about unseen tasks with ``shots`` rows each, which are never
    cut, so this is 0. It separates "the probes saw less of the tasks that will be scored" (a probe
    gain then tends to shrink at full budget, R6) from "only the sources were cut".
    """
    if goal == "new_tasks" or cap is None or not rows:
        return 0.0
    return float(np.mean([n > cap for n in rows]))


def decision_subsampled(rec: Recommendation) -> float:
    """:func:`share_subsampled` of the tasks ``rec`` reports on (the target, or every task)."""
    return share_subsampled(rec.goal, [t.n_rows for t in rec.tasks], rec.budget.max_rows_per_task)


def meta_features(rec: Recommendation) -> dict[str, float]:
    """Numbers describing the probe run behind ``rec`` (NaN where not measured)."""
    out: dict[str, float] = {}
    for goal in ("all_tasks", "target_task", "new_tasks"):
        out[f"goal_{goal}"] = float(rec.goal == goal)
    out["multi_target"] = float(rec.layout == "multi_target")
    kinds = [t.kind for t in rec.data.tasks] if rec.data.tasks else []
    out["classification"] = float(np.mean([k == "classification" for k in kinds])) if kinds else 0.0
    out["log_tasks"] = math.log(max(1, rec.data.n_tasks))
    rows = [t.n_rows for t in rec.data.tasks] if rec.data.tasks else [rec.data.n_rows]
    out["log_rows_per_task"] = math.log(max(1.0, float(np.median(rows))))
    out["log_features"] = math.log(max(1, rec.data.n_features))
    out["subsampled"] = float(rec.budget.subsampled)
    out["decision_subsampled"] = decision_subsampled(rec)
    out["partial"] = float(rec.budget.partial)
    rel = rec.relatedness
    out["affinity_mean"] = _offdiag_mean(rel.affinity)
    out["conflict_mean"] = _offdiag_mean(rel.conflict_share)
    out["shift_mean"] = _offdiag_mean(rel.input_shift)
    corr = rel.label_correlation
    out["label_corr_mean"] = (
        _offdiag_mean([[abs(v) if v is not None else None for v in row] for row in corr]) if corr else math.nan
    )
    # LogME of source-trained features minus LogME of random features (You et al. 2021).
    out["transferability_gain"] = _f((rel.transferability or {}).get("logme_gain"))

    ranking = {e.paradigm: e for e in rec.ranking}
    stl = ranking.get("stl")
    stl_curve = _f(stl.predicted_score) if stl is not None else math.nan
    for p in SHARING:
        e = ranking.get(p)
        scored = e is not None and e.applicable and e.probe_score is not None
        out[f"{p}_applicable"] = float(e is not None and e.applicable)
        out[f"{p}_scored"] = float(scored)
        delta, low, high = (_f(e.delta_vs_stl), _f(e.delta_ci_low), _f(e.delta_ci_high)) if scored else (math.nan,) * 3
        out[f"{p}_delta"], out[f"{p}_delta_low"], out[f"{p}_delta_high"] = delta, low, high
        half = (high - low) / 2 if not (math.isnan(high) or math.isnan(low)) else math.nan
        out[f"{p}_delta_z"] = delta / half if half and half > 0 and not math.isnan(delta) else math.nan
        out[f"{p}_p_best"] = _f(e.p_best) if scored else 0.0
        out[f"{p}_probe_cowinner"] = float(bool(scored and e.co_winner))
        out[f"{p}_rules_choice"] = float(rec.paradigm == p)
        risks = [_f(t.risk_by_paradigm.get(p)) for t in rec.tasks]
        risks = [r for r in risks if not math.isnan(r)]
        out[f"{p}_risk_mean"] = float(np.mean(risks)) if risks else math.nan
        out[f"{p}_risk_high_share"] = float(np.mean([r > 0.8 for r in risks])) if risks else math.nan
        curve = _f(e.predicted_score) if scored else math.nan
        out[f"{p}_curve_delta"] = curve - stl_curve if not (math.isnan(curve) or math.isnan(stl_curve)) else math.nan
    out["stl_p_best"] = _f(stl.p_best) if stl is not None else math.nan
    out["stl_probe_cowinner"] = float(bool(stl is not None and stl.co_winner))
    out["stl_rules_choice"] = float(rec.paradigm == "stl")
    return {k: (round(v, 6) if not math.isnan(v) else math.nan) for k, v in out.items()}

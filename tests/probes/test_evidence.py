"""The probe evidence: which variant represents a paradigm, and whether anything beats a constant."""

from __future__ import annotations

import numpy as np

from probes.budget import budget_preset
from probes.evidence import gather_evidence, representatives
from probes.paradigms import ParadigmResult
from probes.protocol import FoldResult
from probes.runner import ProbeReport


def _fold(i: int, score: float, task_scores: dict[str, float]) -> FoldResult:
    # validation scores track the test scores here; tests/probes/test_protocol.py checks they alone choose
    return FoldResult(repeat=0, index=i, task_scores=task_scores, aggregate=score, n_train=100, n_test=20,
                      valid_aggregate=score)  # fmt: skip


def _result(variant: str, scores: list[float], tasks: tuple[str, ...] = ("a", "b")) -> ParadigmResult:
    folds = [_fold(i, s, {t: s for t in tasks}) for i, s in enumerate(scores)]
    return ParadigmResult(variant=variant, folds=folds, n_folds_planned=len(folds))


def _report(results: list[ParadigmResult], group_check: dict | None = None, metric: str = "r2") -> ProbeReport:
    from types import SimpleNamespace

    tasks = tuple(SimpleNamespace(name=n, metric=metric, n_rows=100) for n in ("a", "b"))
    ts = SimpleNamespace(tasks=tasks, target_index=None, goal=SimpleNamespace(value="all_tasks"))
    return ProbeReport(
        ts, {"a": 100, "b": 100}, budget_preset("fast"), 0, None,  # type: ignore[arg-type]
        results={r.variant: r for r in results}, group_check=group_check,
    )  # fmt: skip


def test_task_groups_represent_mtl_only_when_their_check_found_them_better() -> None:
    results = [_result("stl/mlp", [0.5, 0.6, 0.55]), _result("mtl/hard", [0.6, 0.7, 0.65]),
               _result("mtl/groups", [0.62, 0.71, 0.66])]  # fmt: skip
    not_better = {"better": False, "difference": 0.012, "ci_low": -0.019, "ci_high": 0.040}
    assert representatives(_report(results, not_better))["mtl"].variant == "mtl/hard"
    assert representatives(_report(results, {**not_better, "better": True}))["mtl"].variant == "mtl/groups"


def test_nothing_learned_when_every_paradigm_is_at_or_below_a_constant_predictor() -> None:
    results = [_result("stl/mlp", [-0.2, -0.1, -0.3]), _result("mtl/hard", [-0.05, 0.0, -0.1])]
    ev = gather_evidence(_report(results))
    assert ev.constant_score == 0.0 and ev.learns_nothing and sorted(ev.unlearned_tasks) == ["a", "b"]
    results[1] = _result("mtl/hard", [0.05, 0.1, 0.02])
    ev = gather_evidence(_report(results))
    assert not ev.learns_nothing and ev.unlearned_tasks == []
    # A metric without a chance level (RMSE) never says "learns nothing".
    assert gather_evidence(_report(results, metric="neg_rmse")).constant_score is None


def test_deltas_are_against_stl_on_paired_folds() -> None:
    results = [_result("stl/mlp", [0.5, 0.6, 0.55]), _result("mtl/hard", [0.6, 0.7, 0.65])]
    ev = gather_evidence(_report(results))
    assert set(ev.deltas) == {"mtl"} and np.isclose(ev.deltas["mtl"].mean_difference, 0.1)
    assert ev.noise.best == "mtl"

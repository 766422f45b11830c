"""From cached probe and oracle results to the meta-dataset, the learned model and the suite's metrics.

The **meta-dataset** (``benchmarks/meta_dataset.csv``, one row per case) holds every probe
meta-feature, the rules' choice and confidence, the probe scores, the oracle's scores and
co-winners and both wall times: the model is retrained and every metric recomputed from it alone.

Methods compared (DESIGN.md §7): ``advisor`` (rules veto, learned model ranks and gives the
confidence; out-of-fold on generated cases, the shipped model on real ones), ``always_stl``,
``always_mtl``, ``rules_only`` (v1), ``probe_argmax``, ``transferability_only`` (LogME gain of
source features for a target task — You et al. 2021; TAG affinity otherwise — Fifty et al.
2021: share when it is positive), and ``random`` (expected values of a uniform choice).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from advisor._decision import Settled, decide
from advisor._learned import ALL_PARADIGMS, LearnedModel, feature_names, row_features

__all__ = [
    "METHODS",
    "PROBE_METHODS",
    "Record",
    "case_folds",
    "constant_brier",
    "evaluate",
    "fit_model",
    "load_records",
    "meta_dataset",
    "records_from_meta",
]

METHODS = ("advisor", "always_stl", "always_mtl", "rules_only", "probe_argmax", "transferability_only", "random")
#: Methods that run the probes, so pay their wall time in the cost ratio.
PROBE_METHODS = frozenset({"advisor", "rules_only", "probe_argmax", "transferability_only"})
_GOAL_SHARING = {"all_tasks": "mtl", "target_task": "transfer", "new_tasks": "meta"}


@dataclass
class Record:
    """One case with both its probe run and its oracle."""

    case: str
    kind: str
    goal: str
    features: dict[str, float]
    rules_choice: str
    rules_confidence: float
    applicable: list[str]
    probe_score: dict[str, float]
    probe_p_best: dict[str, float]
    oracle_score: dict[str, float]
    co_winners: list[str]
    probe_seconds: float
    oracle_seconds: float
    extra: dict[str, Any] = field(default_factory=dict)
    truth_runs: int = 1
    """Oracle runs behind ``oracle_score`` and ``co_winners`` (the truth rule, docs/truth.md)."""
    first_rule_co_winners: list[str] | None = None
    """Co-winners under the truth rule as first written (test over every run-fold), for comparison."""
    oracle_version: str = "2"
    """The oracle protocol the runs followed (meta-datasets before version 3 do not say: 2)."""

    @property
    def family(self) -> str:
        return self.case.split("/")[1] if self.kind == "generated" else self.case.split("/")[0]

    @property
    def group(self) -> str:
        """What cross-validation keeps together: a corpus case's source dataset, else the case itself."""
        return "/".join(self.case.split("/")[:2]) if self.kind == "corpus" else self.case

    @property
    def best_score(self) -> float:
        return max(self.oracle_score.values())

    @property
    def decisive(self) -> bool:
        return len(self.co_winners) == 1


def load_records(kind: str = "all") -> list[Record]:
    """Cases of ``kind`` whose probes and at least one oracle run are cached (and valid).

    The oracle side is the truth over every cached run of the case (docs/truth.md): mean scores
    and co-winners; ``oracle_seconds`` is one run's cost (seed 0's, else the first run's).
    """
    from benchmarks.oracle._cases import suite_cases
    from benchmarks.oracle._run import load_cached, oracle_runs
    from benchmarks.oracle._truth import truth

    records = []
    for case in suite_cases(kind):
        probes = load_cached("probes", case)
        runs = [r for r in oracle_runs(case) if r.get("paradigms")]
        if probes is None or not runs:
            continue
        rule, first = truth(runs), truth(runs, test="run_folds")
        rec = probes["recommendation"]
        ranking = {e["paradigm"]: e for e in rec["ranking"]}
        applicable = [
            p
            for p in ALL_PARADIGMS
            if ranking.get(p, {}).get("applicable") and ranking[p].get("probe_score") is not None
        ]
        records.append(
            Record(
                case=case.id,
                kind=case.kind,
                goal=rec["goal"],
                features=probes["features"],
                rules_choice=rec["paradigm"],
                rules_confidence=float(rec["confidence"]),
                applicable=applicable,
                probe_score={p: float(ranking[p]["probe_score"]) for p in applicable},
                probe_p_best={p: float(ranking[p].get("p_best") or 0.0) for p in applicable},
                oracle_score=dict(rule.scores),
                co_winners=list(rule.co_winners),
                probe_seconds=float(probes["seconds"]),
                oracle_seconds=float(runs[0]["seconds"]),
                extra=_machine_extra(runs[0].get("machine")),
                truth_runs=len(runs),
                first_rule_co_winners=list(first.co_winners),
                oracle_version=str(runs[0].get("version", "2")),
            )
        )
    return records


# -------------------------------------------------------------------------------- meta-dataset


def meta_dataset(records: Iterable[Record]) -> pd.DataFrame:
    """One row per case: features, the rules' output, probe and oracle scores, co-winners, times."""
    rows = []
    for r in records:
        row: dict[str, Any] = {"case": r.case, "kind": r.kind, "goal": r.goal}
        row.update({f"f_{k}": v for k, v in sorted(r.features.items())})
        row["rules_choice"], row["rules_confidence"] = r.rules_choice, r.rules_confidence
        for p in ALL_PARADIGMS:
            row[f"applicable_{p}"] = p in r.applicable
            row[f"probe_score_{p}"] = r.probe_score.get(p, math.nan)
            row[f"probe_p_best_{p}"] = r.probe_p_best.get(p, math.nan)
            row[f"oracle_score_{p}"] = r.oracle_score.get(p, math.nan)
            row[f"oracle_cowinner_{p}"] = p in r.co_winners
            row[f"oracle_cowinner_first_rule_{p}"] = p in (r.first_rule_co_winners or r.co_winners)
        row["truth_runs"], row["oracle_version"] = r.truth_runs, r.oracle_version
        row["probe_seconds"], row["oracle_seconds"] = r.probe_seconds, r.oracle_seconds
        row["oracle_machine"] = r.extra.get("oracle_machine", "")
        rows.append(row)
    return pd.DataFrame(rows)


def records_from_meta(frame: pd.DataFrame) -> list[Record]:
    """Inverse of :func:`meta_dataset`."""
    out = []
    for row in frame.to_dict("records"):
        applicable = [p for p in ALL_PARADIGMS if bool(row[f"applicable_{p}"])]
        out.append(
            Record(
                case=row["case"],
                kind=row["kind"],
                goal=row["goal"],
                features={k[2:]: float(v) for k, v in row.items() if k.startswith("f_")},
                rules_choice=row["rules_choice"],
                rules_confidence=float(row["rules_confidence"]),
                applicable=applicable,
                probe_score={p: float(row[f"probe_score_{p}"]) for p in applicable},
                probe_p_best={p: float(row[f"probe_p_best_{p}"]) for p in applicable},
                oracle_score={
                    p: float(row[f"oracle_score_{p}"]) for p in ALL_PARADIGMS if not _nan(row[f"oracle_score_{p}"])
                },
                co_winners=[p for p in ALL_PARADIGMS if bool(row[f"oracle_cowinner_{p}"])],
                probe_seconds=float(row["probe_seconds"]),
                oracle_seconds=float(row["oracle_seconds"]),
                extra=_machine_extra(row.get("oracle_machine")),
                truth_runs=int(row.get("truth_runs", 1)),
                oracle_version=str(row.get("oracle_version", "2")),
                first_rule_co_winners=[p for p in ALL_PARADIGMS if bool(row.get(f"oracle_cowinner_first_rule_{p}"))],
            )
        )
    return out


def _machine_extra(machine: Any) -> dict[str, Any]:
    """``Record.extra`` for an oracle run on another machine (a label), or empty (run here; CSV: blank)."""
    return {"oracle_machine": machine} if isinstance(machine, str) and machine else {}


def _nan(x: Any) -> bool:
    try:
        return not math.isfinite(float(x))
    except (TypeError, ValueError):
        return True


# ------------------------------------------------------------------------------------- model


def training_rows(records: Iterable[Record]) -> tuple[np.ndarray, np.ndarray]:
    """One row per (case, applicable paradigm); label: the paradigm is an oracle co-winner."""
    x, y = [], []
    for r in records:
        for p in r.applicable:
            x.append(row_features(r.features, p))
            y.append(float(p in r.co_winners))
    return np.asarray(x), np.asarray(y)


def fit_model(records: list[Record], *, c: float = 0.3, meta: dict[str, Any] | None = None) -> LearnedModel:
    """Fit the L2-regularised logistic regression on ``records`` (generated cases only, by convention)."""
    from sklearn.linear_model import LogisticRegression

    x, y = training_rows(records)
    if len(set(y.tolist())) < 2:
        raise ValueError("the training cases need both co-winners and non-co-winners")
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    clf = LogisticRegression(C=c, max_iter=5000)
    clf.fit((x - mean) / scale, y)
    info = {"cases": len(records), "rows": len(y), "positive_rate": round(float(y.mean()), 4), "C": c, **(meta or {})}
    return LearnedModel(tuple(feature_names()), mean, scale, clf.coef_[0].copy(), float(clf.intercept_[0]), info)


def learns_nothing(r: Record) -> bool:
    """Every probe scores at or below a constant predictor (R² 0, ROC-AUC 0.5; benchmark cases use those metrics)."""
    share = r.features.get("classification", math.nan)
    chance = 0.5 if share == 1.0 else 0.0 if share == 0.0 else None
    return chance is not None and bool(r.probe_score) and all(s <= chance for s in r.probe_score.values())


def advisor_decision(model: LearnedModel | None, r: Record) -> tuple[Settled, dict[str, float]]:
    """The advisor's decision on a cached case, by the same :func:`~advisor._decision.decide` as a live answer."""
    settled, probs, _, _ = decide(
        model,
        r.features,
        {p: r.probe_score[p] for p in r.applicable},
        rules_choice=r.rules_choice,
        rules_confidence=r.rules_confidence,
        nothing_learned=learns_nothing(r),
    )
    return settled, probs


def advisor_choice(model: LearnedModel, r: Record) -> tuple[str, float, str, tuple[str, ...]]:
    """The advisor's choice, confidence, verdict and tied set: the rules veto, the model ranks, the verdict follows."""
    settled, probs = advisor_decision(model, r)
    return settled.chosen, probs[settled.chosen], settled.verdict, settled.equivalent_to


def out_of_fold_choices(
    records: list[Record],
    *,
    folds: int = 5,
    seed: int = 0,
    c: float = 0.3,
    margin: float = 0.0,
    equivalence: float | None = None,
) -> dict[str, tuple[str, float, str, tuple[str, ...]]]:
    """Advisor decisions on ``records`` from models that never saw the case (k-fold over cases)."""
    out: dict[str, tuple[str, float, str, tuple[str, ...]]] = {}
    meta: dict[str, Any] = {"margin": margin} if equivalence is None else {"margin": margin, "equivalence": equivalence}
    for train, held in case_folds(records, folds=folds, seed=seed):
        model = fit_model(train, c=c, meta=meta)
        for r in held:
            out[r.case] = advisor_choice(model, r)
    return out


def case_folds(records: list[Record], *, folds: int = 5, seed: int = 0) -> list[tuple[list[Record], list[Record]]]:
    """``folds`` (train, held-out) splits over cases, seeded: every case is held out exactly once.

    Cases of one group (:attr:`Record.group`: the corpus cases derived from one source dataset)
    are held out together, so no fold learns from a sibling of a case it is scored on.
    """
    groups = list(dict.fromkeys(r.group for r in records))
    order = np.random.default_rng(seed).permutation(len(groups))
    splits = []
    for k in range(folds):
        held = {groups[int(i)] for i in order[k::folds]}
        splits.append(([r for r in records if r.group not in held], [r for r in records if r.group in held]))
    return splits


# ------------------------------------------------------------------------------------ methods


def _transferability_choice(r: Record) -> str:
    sharing = _GOAL_SHARING.get(r.goal, "mtl")
    score = r.features.get("transferability_gain") if r.goal == "target_task" else r.features.get("affinity_mean")
    if sharing in r.applicable and score is not None and not _nan(score) and float(score) > 0:
        return sharing
    return "stl"


def decisions(
    method: str, records: list[Record], advisor: dict[str, tuple[Any, ...]] | None = None
) -> list[dict[str, Any]]:
    """For every record: ``{"choices": {paradigm: weight}, "confidence": float | None}`` (weights sum to 1)."""
    out = []
    for r in records:
        conf: float | None = None
        if method == "advisor":
            assert advisor is not None
            choice, conf = advisor[r.case][:2]
            weights = {choice: 1.0}
        elif method == "always_stl":
            weights = {"stl": 1.0}
        elif method == "always_mtl":
            weights = {"mtl" if "mtl" in r.applicable else "stl": 1.0}
        elif method == "rules_only":
            weights, conf = {r.rules_choice: 1.0}, r.rules_confidence
        elif method == "probe_argmax":
            best = max(r.probe_score, key=lambda p: r.probe_score[p])
            weights, conf = {best: 1.0}, r.probe_p_best.get(best)
        elif method == "transferability_only":
            weights = {_transferability_choice(r): 1.0}
        elif method == "random":
            weights = {p: 1.0 / len(r.applicable) for p in r.applicable}
            conf = 1.0 / len(r.applicable)
        else:
            raise ValueError(f"unknown method {method!r}")
        out.append({"choices": weights, "confidence": conf})
    return out


def score_regret(scores: dict[str, float], paradigm: str) -> float:
    """Score points ``paradigm`` loses against the best of an oracle's ``scores``.

    A paradigm the oracle could not score counts as the STL fallback it would fall back to.
    """
    score = scores.get(paradigm)
    if score is None:
        score = scores.get("stl", min(scores.values()))
    return max(0.0, max(scores.values()) - score)


def _regret(r: Record, paradigm: str) -> float:
    return score_regret(r.oracle_score, paradigm)


def method_metrics(records: list[Record], made: list[dict[str, Any]], *, uses_probes: bool) -> dict[str, Any]:
    """Accuracy, decisive accuracy, regret, cost ratio and Brier score of one method's decisions."""
    if not records:
        return {"accuracy": None, "decisive_accuracy": None, "mean_regret": None, "worst_regret": None,
                "cost_ratio_median": None, "brier": None, "cases": 0}  # fmt: skip
    hits, regrets, brier, decisive = [], [], [], []
    for r, d in zip(records, made, strict=True):
        hit = sum(w for p, w in d["choices"].items() if p in r.co_winners)
        hits.append(hit)
        regrets.append(sum(w * _regret(r, p) for p, w in d["choices"].items()))
        if r.decisive:
            decisive.append(hit)
        if d["confidence"] is not None:
            conf = float(d["confidence"])
            brier.append(sum(w * (conf - float(p in r.co_winners)) ** 2 for p, w in d["choices"].items()))
    costs = [r.probe_seconds / r.oracle_seconds for r in records if r.oracle_seconds > 0] if uses_probes else [0.0]
    return {
        "accuracy": round(float(np.mean(hits)), 4),
        "decisive_accuracy": round(float(np.mean(decisive)), 4) if decisive else None,
        "mean_regret": round(float(np.mean(regrets)), 4),
        "worst_regret": round(float(np.max(regrets)), 4),
        "cost_ratio_median": round(float(np.median(costs)), 4) if costs else None,
        "brier": round(float(np.mean(brier)), 4) if len(brier) == len(records) else None,
        "cases": len(records),
        "decisive_cases": len(decisive),
    }


def constant_brier(records: list[Record], made: list[dict[str, Any]]) -> float | None:
    """Brier score of the best constant confidence for ``made``'s choices (their hit rate), or ``None``."""
    outcomes = [float(next(iter(d["choices"])) in r.co_winners) for r, d in zip(records, made, strict=True)]
    if not outcomes:
        return None
    rate = float(np.mean(outcomes))
    return round(float(np.mean([(rate - o) ** 2 for o in outcomes])), 4)


def evaluate(
    records: list[Record], shipped: LearnedModel | None, *, c: float = 0.3, truth: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Metrics of every method on real and generated cases separately, plus per-case tables.

    Generated cases are decided by models that never saw them, their settings chosen by nested
    cross-validation (:func:`~benchmarks.oracle._selection.nested_choices`), and so are the real
    corpus's; the 22 shared real cases by the shipped model (trained on generated and corpus cases). ``truth`` (:func:`truth_summary`) is
    passed through to the results.
    """
    from benchmarks.oracle._selection import nested_choices

    generated = [r for r in records if r.kind == "generated"]
    real = [r for r in records if r.kind == "real"]
    corpus = [r for r in records if r.kind == "corpus"]
    training = generated + corpus  # what the shipped model learns from; the shared real cases never are
    equivalence = shipped.meta.get("equivalence") if shipped is not None else None
    advisor: dict[str, tuple[Any, ...]] = {}
    nested: list[dict[str, Any]] = []
    if len(training) >= 10:
        choices, nested = nested_choices(training, equivalence=equivalence)
        advisor.update(choices)
    model = shipped or (fit_model(training, c=c) if len(training) >= 10 else None)
    for r in real + [g for g in training if g.case not in advisor]:
        if model is not None:
            advisor[r.case] = advisor_choice(model, r)
        else:  # no model yet: the rules decide
            settled, probs = advisor_decision(None, r)
            advisor[r.case] = (settled.chosen, probs[settled.chosen], settled.verdict, settled.equivalent_to)
    results: dict[str, Any] = {}
    per_case: dict[str, list[dict[str, Any]]] = {}
    kinds = [("real", real), ("generated", generated)] + ([("corpus", corpus)] if corpus else [])
    for kind, subset in kinds:
        results[kind] = {}
        made = {m: decisions(m, subset, advisor) for m in METHODS}
        for m in METHODS:
            results[kind][m] = method_metrics(subset, made[m], uses_probes=m in PROBE_METHODS)
            results[kind][m]["constant_brier"] = constant_brier(subset, made[m])
        results[kind]["_constant_brier"] = constant_brier(subset, made["advisor"])
        results[kind]["_verdicts"] = verdict_metrics(subset, advisor)
        first = [replace(r, co_winners=list(r.first_rule_co_winners or r.co_winners)) for r in subset]
        results[kind]["_first_rule"] = {
            m: {**method_metrics(first, made[m], uses_probes=m in PROBE_METHODS),
                "constant_brier": constant_brier(first, made[m])}
            for m in METHODS
        }  # fmt: skip
        per_case[kind] = [
            {
                "case": r.case,
                "runs": r.truth_runs,
                "oracle_version": r.oracle_version,
                "co_winners": r.co_winners,
                "oracle": {p: round(s, 4) for p, s in r.oracle_score.items()},
                "advisor": next(iter(made["advisor"][i]["choices"])),
                "confidence": round(float(made["advisor"][i]["confidence"]), 3),
                "verdict": advisor[r.case][2],
                "equivalent_to": list(advisor[r.case][3]),
                "rules": r.rules_choice,
                "probe_argmax": next(iter(made["probe_argmax"][i]["choices"])),
                "regret": round(_regret(r, next(iter(made["advisor"][i]["choices"]))), 4),
                "probe_s": round(r.probe_seconds, 1),
                "oracle_s": round(r.oracle_seconds, 1),
                "oracle_machine": r.extra.get("oracle_machine"),
            }
            for i, r in enumerate(subset)
        ]
    if truth and real:
        floor = [_regret(r, r.co_winners[0]) for r in real if r.co_winners]
        truth = {k: {**v, "choice_mean_regret": round(float(np.mean(floor)), 4)} for k, v in truth.items()}
    return {"metrics": results, "cases": per_case, "nested": nested, "truth": truth, "_real_records": real}


def truth_summary(cases: list[list[dict[str, Any]]]) -> dict[str, Any] | None:
    """The truth rule's criteria on real cases' oracle runs (each case: its runs), under both tests.

    ``None`` when no case has two runs. Returns ``{"rule": {...}, "first_rule": {...}}`` with the
    keys of ``results.json``'s ``truth``.
    """
    from benchmarks.oracle._truth import (
        DELTA,
        RULE,
        always_accuracy,
        leave_one_run_out,
        random_accuracy,
        truth,
    )

    cases = [runs for runs in cases if len(runs) >= 2]
    if not cases:
        return None
    out = {}
    for key, test in (("rule", "runs"), ("first_rule", "run_folds")):
        truths = [truth(runs, test=test) for runs in cases]
        out[key] = {
            "rule": RULE
            if test == "runs"
            else RULE.replace(
                "a t-test over the R runs' mean differences (alpha 0.05; one run: its own paired test)",
                "the corrected resampled t-test over every run-fold (alpha 0.05)",
            ),
            "delta": DELTA,
            "runs_per_real_case": min(len(runs) for runs in cases),
            "cases": len(cases),
            "loo_agreement": round(float(leave_one_run_out(cases, test=test)["agreement"]), 4),
            "random_accuracy": round(random_accuracy(truths), 4),
            "always_stl_accuracy": round(always_accuracy(truths, "stl"), 4),
            "mean_co_winners": round(float(np.mean([len(t.co_winners) for t in truths])), 3),
        }
    return out


VERDICTS = ("clear", "equivalent", "uncertain")


def verdict_metrics(records: list[Record], advisor: dict[str, tuple[Any, ...]]) -> dict[str, Any]:
    """Per verdict: cases, accuracy and mean regret of the choice; and choices rated below 0.5 yet not uncertain."""
    out: dict[str, Any] = {}
    for verdict in VERDICTS:
        rs = [r for r in records if advisor[r.case][2] == verdict]
        out[verdict] = {
            "cases": len(rs),
            "accuracy": round(float(np.mean([advisor[r.case][0] in r.co_winners for r in rs])), 4) if rs else None,
            "mean_regret": round(float(np.mean([_regret(r, advisor[r.case][0]) for r in rs])), 4) if rs else None,
        }
    out["below_half_not_uncertain"] = sum(
        1 for r in records if advisor[r.case][1] < 0.5 and advisor[r.case][2] != "uncertain"
    )
    named = [r for r in records if advisor[r.case][2] == "equivalent"]
    within = [set(advisor[r.case][3]) <= set(r.co_winners) for r in named]
    out["equivalent_within_co_winners"] = round(float(np.mean(within)), 4) if within else None
    return out


def write_results(evaluation: dict[str, Any], directory: Path) -> None:
    """``results.json`` (the issue's contract) and ``RESULTS.md`` (tables) in ``directory``."""
    metrics = evaluation["metrics"]
    keep = ("accuracy", "decisive_accuracy", "mean_regret", "worst_regret", "brier", "constant_brier", "cases")
    contract: dict[str, Any] = {
        kind: {m: {k: v for k, v in metrics[kind][m].items() if k != "decisive_cases"} for m in METHODS}
        for kind in ("real", "generated")
    }
    truth = evaluation.get("truth") or {}
    contract["truth"] = truth.get("rule")
    contract["truth_first_rule"] = truth.get("first_rule")
    contract["real_consensus"] = {m: {k: metrics["real"][m][k] for k in keep} for m in METHODS}
    contract["real_consensus_first_rule"] = {
        m: {k: metrics["real"]["_first_rule"][m][k] for k in keep} for m in METHODS
    }
    if "corpus" in metrics:
        groups = {c["case"].split("/")[0] + "/" + c["case"].split("/")[1] for c in evaluation["cases"]["corpus"]}
        contract["real_corpus"] = {
            m: {**{k: metrics["corpus"][m][k] for k in keep}, "sources": len(groups)} for m in METHODS
        }
    contract["generated_nested_selection"] = evaluation.get("nested") or []
    (directory / "results.json").write_text(json.dumps(contract, indent=1) + "\n")
    lines = ["# Oracle benchmark results", "", "Written by `python -m benchmarks.oracle report` from the cached probe and oracle runs",
             "(`benchmarks/cache/`) via the committed meta-dataset (`benchmarks/meta_dataset.csv`). Do not edit by hand.",
             "", _provenance(evaluation), ""]  # fmt: skip
    lines += _truth_lines(truth, metrics, evaluation)
    titles = {"real": "Real cases", "generated": "Generated cases (out of fold)", "corpus": "Real corpus (out of fold)"}
    for kind in [k for k in ("real", "corpus", "generated") if k in metrics]:
        n = metrics[kind]["advisor"]["cases"]
        lines += [f"## {titles[kind]} ({n})", ""]
        if not n:
            lines += ["No case has both its probes and its oracle cached yet.", ""]
            continue
        lines += ["| method | accuracy | decisive acc. (n) | mean regret | worst regret | cost ratio (median) | Brier |",
                  "|---|---|---|---|---|---|---|"]  # fmt: skip
        for m in METHODS:
            x = metrics[kind][m]
            lines.append(
                f"| {m} | {_pct(x['accuracy'])} | {_pct(x['decisive_accuracy'])} ({x['decisive_cases']}) | {_f(x['mean_regret'])} "
                f"| {_f(x['worst_regret'])} | {_f(x['cost_ratio_median'])} | {_f(x['brier'])} |"
            )
        lines += [
            "",
            f"Best constant predictor's Brier score on the advisor's outcomes: {_f(metrics[kind]['_constant_brier'])}.",
            "",
        ]
        v = metrics[kind]["_verdicts"]
        lines += ["Verdicts of the advisor's answers (the choice's accuracy and regret under each):", "",
                  "| verdict | cases | accuracy | mean regret |", "|---|---|---|---|"]  # fmt: skip
        for verdict in VERDICTS:
            x = v[verdict]
            lines.append(f"| {verdict} | {x['cases']} | {_pct(x['accuracy'])} | {_f(x['mean_regret'])} |")
        lines += [
            "",
            f"Choices the model rates below 0.5 whose verdict is not `uncertain`: {v['below_half_not_uncertain']}. "
            f"`equivalent` sets within this oracle's co-winners: {_pct(v['equivalent_within_co_winners'])}.",
            "",
        ]
        lines += ["| case | oracle co-winners | oracle scores | advisor (conf.) | verdict | rules | probe argmax | regret | probe s | oracle s |",
                  "|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
        for c in evaluation["cases"][kind]:
            scores = ", ".join(f"{p} {s:.3f}" for p, s in c["oracle"].items())
            mark = " †" if c.get("oracle_machine") else ""
            lines.append(
                f"| {c['case']} | {', '.join(c['co_winners'])} | {scores} | {c['advisor']} ({c['confidence']:.2f}) "
                f"| {c['verdict']}{(': ' + ', '.join(c['equivalent_to'])) if c['equivalent_to'] else ''} | {c['rules']} "
                f"| {c['probe_argmax']} | {c['regret']:.4f} | {c['probe_s']} | {c['oracle_s']}{mark} |"
            )
        lines.append("")
        elsewhere = Counter(c["oracle_machine"] for c in evaluation["cases"][kind] if c.get("oracle_machine"))
        for machine, count in elsewhere.items():
            lines += [f"† {count} oracles ran on another machine than the probes ({machine}); their wall times, and so "
                      "their cost ratios, are from there.", ""]  # fmt: skip
    (directory / "RESULTS.md").write_text("\n".join(lines))


def _provenance(evaluation: dict[str, Any]) -> str:
    """Which oracle protocol and how many runs per case the figures below rest on."""
    versions = sorted({c.get("oracle_version", "2") for cases in evaluation["cases"].values() for c in cases})
    runs = {kind: Counter(c["runs"] for c in cases) for kind, cases in evaluation["cases"].items()}
    counts = "; ".join(f"{kind}: " + ", ".join(f"{n} with {k} run{'s' * (k > 1)}" for k, n in sorted(c.items()))
                       for kind, c in runs.items() if c)  # fmt: skip
    if versions == ["2"]:
        return (f"Oracle version 2 (one run per case, its own co-winners; {counts}). Version 3 and the truth rule "
                "of `docs/truth.md` replace it once their runs are cached.")  # fmt: skip
    return (f"Oracle version {', '.join(versions)}. The truth of each case is the rule of `docs/truth.md` over "
            f"every cached run of the case ({counts}).")  # fmt: skip


def _truth_lines(truth: dict[str, Any], metrics: dict[str, Any], evaluation: dict[str, Any]) -> list[str]:
    """The truth's criteria under both tests, and the real cases' headline figures under each."""
    lines = ["## The truth and its criteria (real cases)", ""]
    if not truth:
        return [
            *lines,
            "The truth's criteria need the real cases' oracle runs of the current version (two or more per "
            "case) in the meta-dataset.",
            "",
        ]
    runs = Counter(c["runs"] for c in evaluation["cases"]["real"])
    lines += [
        "Oracle runs per real case: " + ", ".join(f"{n} cases with {k}" for k, n in sorted(runs.items())) + ".",
        "",
        "| truth rule | runs per case (min) | leave-one-run-out agreement (≥ 95%) | random choice (≤ 55%) "
        "| always STL (≤ 60%) | mean co-winners |",
        "|---|---|---|---|---|---|",
    ]
    for key, name in (("rule", "the rule: test over runs"), ("first_rule", "as first written: test over run-folds")):
        t = truth[key]
        lines.append(f"| {name} | {t['runs_per_real_case']} | {_pct(t['loo_agreement'])} | {_pct(t['random_accuracy'])} "
                     f"| {_pct(t['always_stl_accuracy'])} | {t['mean_co_winners']:.2f} |")  # fmt: skip
    lines += ["", "Every method on the real cases against each version of the truth:", "",
              "| method | accuracy | decisive acc. | mean regret | worst regret | Brier | constant Brier "
              "| accuracy (first rule) | Brier (first rule) | constant Brier (first rule) |",
              "|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for m in METHODS:
        x, f = metrics["real"][m], metrics["real"]["_first_rule"][m]
        lines.append(f"| {m} | {_pct(x['accuracy'])} | {_pct(x['decisive_accuracy'])} | {_f(x['mean_regret'])} "
                     f"| {_f(x['worst_regret'])} | {_f(x['brier'])} | {_f(x['constant_brier'])} | {_pct(f['accuracy'])} "
                     f"| {_f(f['brier'])} | {_f(f['constant_brier'])} |")  # fmt: skip
    floor = [_regret(r, r.co_winners[0]) for r in evaluation.get("_real_records", []) if r.co_winners]
    if floor:
        lines += ["", f"The truth's own choice (its simplest co-winner) loses {np.mean(floor):.4f} on average against the "
                  f"best mean (worst {np.max(floor):.4f}): a simpler co-winner may trail the best by more than the margin "
                  "when the runs cannot tell them apart, so a method that always chose as the truth does is not at zero "
                  "regret."]  # fmt: skip
    nested = evaluation.get("nested") or []
    if nested:
        lines += ["", "Generated cases are decided by models whose C and margin were chosen inside each of 5 outer folds "
                  "(nested cross-validation over cases): " + "; ".join(f"fold {i + 1}: C {n['C']}, margin {n['margin']}"
                  for i, n in enumerate(nested)) + "."]  # fmt: skip
    return [*lines, ""]


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def _f(x: float | None) -> str:
    return "–" if x is None else f"{x:.4f}"

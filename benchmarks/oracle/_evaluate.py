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
from dataclasses import dataclass, field
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

    @property
    def family(self) -> str:
        return self.case.split("/")[1] if self.kind == "generated" else self.case.split("/")[0]

    @property
    def best_score(self) -> float:
        return max(self.oracle_score.values())

    @property
    def decisive(self) -> bool:
        return len(self.co_winners) == 1


def load_records(kind: str = "all") -> list[Record]:
    """Cases of ``kind`` whose probes and oracle are both cached (and valid)."""
    from benchmarks.oracle._cases import suite_cases
    from benchmarks.oracle._run import load_cached

    records = []
    for case in suite_cases(kind):
        probes, oracle = load_cached("probes", case), load_cached("oracle", case)
        if probes is None or oracle is None or not oracle.get("paradigms"):
            continue
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
                oracle_score={
                    p: float(v["score"]) for p, v in oracle["paradigms"].items() if v.get("score") is not None
                },
                co_winners=list(oracle["co_winners"]),
                probe_seconds=float(probes["seconds"]),
                oracle_seconds=float(oracle["seconds"]),
                extra=_machine_extra(oracle.get("machine")),
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
    """``folds`` (train, held-out) splits over cases, seeded: every case is held out exactly once."""
    order = np.random.default_rng(seed).permutation(len(records))
    splits = []
    for k in range(folds):
        held = {int(i) for i in order[k::folds]}
        splits.append(([r for i, r in enumerate(records) if i not in held], [records[i] for i in sorted(held)]))
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


def evaluate(records: list[Record], shipped: LearnedModel | None, *, c: float = 0.3) -> dict[str, Any]:
    """Metrics of every method on real and generated cases separately, plus per-case tables."""
    generated = [r for r in records if r.kind == "generated"]
    real = [r for r in records if r.kind == "real"]
    margin, equivalence = 0.0, None
    if shipped is not None:  # out-of-fold models use the shipped model's regularisation, margin and tie threshold
        c, margin = float(shipped.meta.get("C", c)), shipped.margin
        equivalence = shipped.meta.get("equivalence")
    advisor: dict[str, tuple[Any, ...]] = {}
    if len(generated) >= 10:
        advisor.update(out_of_fold_choices(generated, c=c, margin=margin, equivalence=equivalence))
    model = shipped or (fit_model(generated, c=c) if len(generated) >= 10 else None)
    for r in real + [g for g in generated if g.case not in advisor]:
        if model is not None:
            advisor[r.case] = advisor_choice(model, r)
        else:  # no model yet: the rules decide
            settled, probs = advisor_decision(None, r)
            advisor[r.case] = (settled.chosen, probs[settled.chosen], settled.verdict, settled.equivalent_to)
    results: dict[str, Any] = {}
    per_case: dict[str, list[dict[str, Any]]] = {}
    for kind, subset in (("real", real), ("generated", generated)):
        results[kind] = {}
        made = {m: decisions(m, subset, advisor) for m in METHODS}
        for m in METHODS:
            results[kind][m] = method_metrics(subset, made[m], uses_probes=m in PROBE_METHODS)
        results[kind]["_constant_brier"] = constant_brier(subset, made["advisor"])
        results[kind]["_verdicts"] = verdict_metrics(subset, advisor)
        per_case[kind] = [
            {
                "case": r.case,
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
    return {"metrics": results, "cases": per_case}


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


def equivalence_against_majority(cases: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """The real cases' "equivalent" sets against the majority of every cached oracle run (``None`` below 3 runs)."""
    from benchmarks.oracle_replicate import _cached_runs, consensus

    seeds, _, runs = _cached_runs()
    if len(seeds) < 3:
        return None
    majority = {case_id: consensus(results)["co_winners"] for case_id, results in runs}
    return [
        {"case": c["case"], "named": c["equivalent_to"], "majority": majority[c["case"]],
         "within": set(c["equivalent_to"]) <= set(majority[c["case"]])}
        for c in cases
        if c["verdict"] == "equivalent" and c["case"] in majority
    ]  # fmt: skip


def write_results(evaluation: dict[str, Any], directory: Path) -> None:
    """``results.json`` (the issue's contract) and ``RESULTS.md`` (tables) in ``directory``."""
    metrics = evaluation["metrics"]
    contract = {
        kind: {m: {k: v for k, v in metrics[kind][m].items() if k != "decisive_cases"} for m in METHODS}
        for kind in ("real", "generated")
    }
    (directory / "results.json").write_text(json.dumps(contract, indent=1) + "\n")
    lines = ["# Oracle benchmark results", "", "Written by `python -m benchmarks.oracle report` from the cached probe and oracle runs",
             "(`benchmarks/cache/`) via the committed meta-dataset (`benchmarks/meta_dataset.csv`). Do not edit by hand.", ""]  # fmt: skip
    for kind in ("real", "generated"):
        n = metrics[kind]["advisor"]["cases"]
        lines += [f"## {kind.capitalize()} cases ({n})", ""]
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
        if kind == "real" and (against := equivalence_against_majority(evaluation["cases"][kind])) is not None:
            share = _pct(float(np.mean([a["within"] for a in against]))) if against else "–"
            lines += [f"`equivalent` sets against the majority of every cached oracle run of each real case "
                      f"(the co-winners most runs name): {share} lie within it ({len(against)} sets).", ""]  # fmt: skip
            if against:
                lines += ["| case | named set | majority co-winners | within |", "|---|---|---|---|"]
                lines += [f"| {a['case']} | {', '.join(a['named'])} | {', '.join(a['majority'])} | "
                          f"{'yes' if a['within'] else 'no'} |" for a in against]  # fmt: skip
                lines.append("")
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


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def _f(x: float | None) -> str:
    return "–" if x is None else f"{x:.4f}"

"""Rebuild the shipped learned recommender from the committed meta-dataset (no oracle is rerun).

    python benchmarks/train_recommender.py            # writes advisor/models/recommender.json

Trains on the generated and the real-corpus cases of ``benchmarks/meta_dataset.csv`` (the 22
shared real cases stay held out for evaluation), labelled by the truth rule (docs/truth.md); chooses the regularisation by
out-of-fold log loss and the simplicity margin (:func:`advisor._learned.choose`) by out-of-fold
regret (:func:`benchmarks.oracle._selection.select`), and writes the model as plain JSON (see
:mod:`advisor._learned`). The benchmark scores this procedure on the training cases by nested
cross-validation (:func:`benchmarks.oracle._selection.nested_choices`).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import pandas as pd

from benchmarks.oracle._evaluate import case_folds, fit_model, records_from_meta, training_rows
from benchmarks.oracle._selection import select

ROOT = Path(__file__).resolve().parents[1]
META = ROOT / "benchmarks" / "meta_dataset.csv"
OUT = ROOT / "advisor" / "models" / "recommender.json"
#: Joint probabilities tried for the "equivalent" verdict (:func:`advisor._decision.settle`).
TIES = (0.5, 0.6, 0.7, 0.8, 0.9)


def _oof_equivalence(records: list, c: float, margin: float, seeds: int = 3) -> dict[float, dict[str, float]]:
    """Per tie threshold: how often an out-of-fold "equivalent" set lies within the oracle's co-winners.

    Probabilities come from models that never saw the case (the same fold splits as the margin);
    the shares are pooled over the splits.
    """
    from advisor._decision import decide
    from benchmarks.oracle._evaluate import learns_nothing

    counts = {tie: [0, 0] for tie in TIES}  # sets named, sets within the co-winners
    for seed in range(seeds):
        for train, held in case_folds(records, seed=seed):
            fitted = fit_model(train, c=c, meta={"margin": margin})  # the threshold does not change the fit
            for tie in TIES:
                model = replace(fitted, meta={**fitted.meta, "equivalence": tie})
                for r in held:
                    settled, *_ = decide(
                        model,
                        r.features,
                        {p: r.probe_score[p] for p in r.applicable},
                        nothing_learned=learns_nothing(r),
                    )
                    if settled.verdict == "equivalent":
                        counts[tie][0] += 1
                        counts[tie][1] += set(settled.equivalent_to) <= set(r.co_winners)
    out: dict[float, dict[str, float]] = {
        tie: {"share_within": round(within / named, 4) if named else 0.0, "equivalent": named}
        for tie, (named, within) in counts.items()
    }
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--meta", type=Path, default=META)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    records = [r for r in records_from_meta(pd.read_csv(args.meta)) if r.kind in ("generated", "corpus")]
    if len(records) < 10:
        raise SystemExit(f"only {len(records)} training cases in {args.meta}; need at least 10")
    sel = select(records)
    best, margin = sel["C"], sel["margin"]
    accuracy = float(sel["oof_accuracy_by_margin"][str(margin)])
    # The lowest tie threshold whose "equivalent" sets lie within the truth's co-winners at least as
    # often as a single choice is a co-winner: naming a set claims more (every member ties), so it
    # must be no less reliable than the claim it replaces.
    equivalence = _oof_equivalence(records, best, margin)
    reliable = [t for t in TIES if equivalence[t]["equivalent"] and equivalence[t]["share_within"] >= accuracy]
    tie = min(reliable, default=max(TIES))
    x, _ = training_rows(records)
    model = fit_model(
        records,
        c=best,
        meta={
            "margin": margin,
            "equivalence": tie,
            "oof_equivalence_by_threshold": {str(t): v for t, v in equivalence.items()},
            "oof_log_loss": sel["oof_log_loss"],
            "oof_regret_by_margin": sel["oof_regret_by_margin"],
            "oof_accuracy_by_margin": sel["oof_accuracy_by_margin"],
            "trained_on": "generated and corpus cases of benchmarks/meta_dataset.csv, labelled by the truth rule",
        },
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(model.to_dict(), indent=1) + "\n")
    print(
        f"{len(records)} cases, {len(x)} rows; C={best} (out-of-fold log loss {sel['oof_log_loss'][str(best)]}); "
        f"margin {margin} (out-of-fold regret {sel['oof_regret_by_margin'][str(margin)]}, accuracy {accuracy:.3f}); "
        f"equivalence {tie} (out of fold, "
        f"{equivalence[tie]['share_within']:.1%} of {equivalence[tie]['equivalent']} sets within the co-winners); "
        f"wrote {args.out}"
    )


if __name__ == "__main__":
    main()

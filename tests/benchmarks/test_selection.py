"""Model selection on training cases only: the settings, and the nested score of choosing them."""

from __future__ import annotations

import benchmarks.oracle._selection as selection
from tests.benchmarks.test_oracle import _synthetic_records


def test_select_reports_what_it_chose_from() -> None:
    sel = selection.select(_synthetic_records(40), seeds=1)
    assert sel["C"] in selection.GRID and sel["margin"] in selection.MARGINS
    assert set(sel["oof_log_loss"]) == {str(c) for c in selection.GRID}
    assert sel["oof_log_loss"][str(sel["C"])] == min(sel["oof_log_loss"].values())
    best = min(sel["oof_regret_by_margin"].values())
    assert sel["oof_regret_by_margin"][str(sel["margin"])] == best


def test_nested_choices_never_choose_settings_on_the_cases_they_decide(monkeypatch) -> None:
    records = _synthetic_records(40)
    seen: list[set[str]] = []
    real_select = selection.select

    def spy(train, **kwargs):
        seen.append({r.case for r in train})
        return real_select(train, **kwargs)

    monkeypatch.setattr(selection, "select", spy)
    choices, chosen = selection.nested_choices(records, folds=4)
    assert set(choices) == {r.case for r in records} and len(chosen) == len(seen) == 4
    held = [{r.case for r in records} - s for s in seen]
    assert all(len(h) == 10 for h in held) and set().union(*held) == {r.case for r in records}
    right = sum(choices[r.case][0] in r.co_winners for r in records)
    assert right / len(records) >= 0.8  # the signal is learnable out of fold


def test_corpus_cases_of_one_source_are_held_out_together_and_scored_out_of_fold(tmp_path) -> None:
    import json
    from dataclasses import replace

    from benchmarks.oracle._evaluate import case_folds, evaluate, write_results

    records = _synthetic_records(40)
    # 20 corpus cases from 5 source datasets, 4 questions each
    corpus = [replace(r, case=f"pkg/src{i % 5}/q{i}", kind="corpus") for i, r in enumerate(_synthetic_records(20))]
    for train, held in case_folds(records + corpus, folds=4, seed=1):
        assert not {r.group for r in held} & {r.group for r in train}
        assert {r.group for r in held if r.kind == "corpus"} <= {f"pkg/src{k}" for k in range(5)}
    evaluation = evaluate(records + corpus, None)
    m = evaluation["metrics"]["corpus"]["advisor"]
    assert m["cases"] == 20 and m["accuracy"] >= 0.7  # out of fold, the signal is learnable
    write_results(evaluation, tmp_path)
    out = json.loads((tmp_path / "results.json").read_text())
    assert out["real_corpus"]["advisor"]["sources"] == 5 and out["real_corpus"]["always_stl"]["cases"] == 20
    assert "## Real corpus (out of fold) (20)" in (tmp_path / "RESULTS.md").read_text()

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

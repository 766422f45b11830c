"""``advisor verify`` / ``Advisor.verify``: the benchmark's oracle and truth rule on the user's own data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from advisor import Advisor
from advisor.cli import run
from advisor.exceptions import InvalidRequestError
from advisor.schemas import Verification
from benchmarks.scenarios import make_scenario

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / "benchmarks" / "cache" / "oracle"


def test_verify_on_a_shared_dataset_agrees_with_the_benchmark_s_cached_oracle(tmp_path: Path, capsys) -> None:
    """One run with seed 0 is the benchmark's seed-0 oracle run: the same variants, fold scores and co-winners."""
    data = ROOT.parent / "shared" / "data" / "concrete_slump" / "slump_test.csv"
    cached = CACHE / "concrete__multi_target.json"
    if not data.exists() or not cached.exists():
        pytest.skip("the shared datasets are not next to this checkout")
    oracle = json.loads(cached.read_text())
    out = tmp_path / "verify.json"
    code = run([
        "verify", str(data), "--target", "SLUMP(cm)", "--target", "FLOW(cm)",
        "--target", "Compressive Strength (28-day)(Mpa)", "--ignore", "No",
        "--runs", "1", "--seed", "0", "--jobs", "1", "--quiet", "--json", str(out),
    ])  # fmt: skip
    assert code == 0
    result = Verification.model_validate_json(out.read_text())
    assert capsys.readouterr().out.strip() == result.headline
    assert result.co_winners == oracle["co_winners"] and result.paradigm == oracle["winner"]
    variants = {v["variant"]: v for v in oracle["variants"]}
    for entry in result.paradigms:
        chosen = oracle["paradigms"][entry.paradigm]["variant"]
        folds = variants[chosen]["fold_scores"]
        assert entry.variants == [chosen]
        assert entry.run_scores[0] == pytest.approx(sum(folds) / len(folds), abs=2e-6)


def test_runs_are_combined_by_the_truth_rule() -> None:
    frame = make_scenario(n_tasks=1, rows_per_task=80, n_features=3, seed=2).frame
    result = Advisor(seed=4, n_jobs=1).verify(frame, targets="y", runs=2)
    assert (result.runs, result.seed, result.folds, result.trials) == (2, 4, 3, 2)
    assert result.paradigm == result.best == "stl" and result.verdict == "clear"
    by_id = {entry.paradigm: entry for entry in result.paradigms}
    stl = by_id.pop("stl")
    assert stl.applicable and stl.co_winner and len(stl.run_scores) == 2 and stl.run_scores[0] != stl.run_scores[1]
    assert stl.score == pytest.approx(sum(stl.run_scores) / 2, abs=1e-5)
    assert all(not entry.applicable and entry.reason for entry in by_id.values())  # one task: nothing to share
    assert "STL is ahead" in result.headline or "only paradigm" in result.headline
    again = Advisor(seed=4, n_jobs=1).verify(frame, targets="y", runs=2)
    assert again.paradigms == result.paradigms  # the same seed: the same verification


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"runs": 0}, "runs"),
        ({"runs": 2.5}, "runs"),
        ({"paradigms": ["deep"]}, "paradigms"),
        ({"paradigms": []}, "paradigms"),
    ],
)
def test_bad_options_are_refused_with_their_field(options, field) -> None:
    frame = make_scenario(n_tasks=1, rows_per_task=40, n_features=2, seed=0).frame
    with pytest.raises(InvalidRequestError) as caught:
        Advisor().verify(frame, targets="y", **options)
    assert caught.value.details["field"] == field


def test_only_inapplicable_paradigms_is_a_clear_error() -> None:
    frame = make_scenario(n_tasks=1, rows_per_task=40, n_features=2, seed=0).frame
    with pytest.raises(InvalidRequestError, match="None of the paradigms asked for applies"):
        Advisor().verify(frame, targets="y", paradigms=["mtl"])


@pytest.mark.parametrize(
    ("args", "fragment"),
    [(["--paradigm", "deep"], "unknown paradigm 'deep'"), (["--runs", "0"], "--runs"), (["--runs", "21"], "--runs")],
)
def test_cli_bad_options_exit_2_in_one_line(tmp_path: Path, args, fragment, capsys) -> None:
    data = tmp_path / "d.csv"
    make_scenario(n_tasks=1, rows_per_task=40, n_features=2, seed=0).frame.to_csv(data, index=False)
    assert run(["verify", str(data), "--target", "y", *args]) == 2
    err = capsys.readouterr().err
    assert fragment in err and len(err.strip().splitlines()) == 1


def test_recommend_then_verify_checks_the_top_contenders(tmp_path: Path, capsys) -> None:
    data, out = tmp_path / "d.csv", tmp_path / "verify.json"
    make_scenario(n_tasks=2, rows_per_task=60, n_features=3, seed=5).frame.to_csv(data, index=False)
    code = run(["recommend", str(data), "--target", "y", "--task-column", "task", "--jobs", "1", "--quiet",
                "--then-verify", "1", "--verify-json", str(out)])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out.strip().splitlines()
    checked = Verification.model_validate_json(out.read_text())
    assert printed[-1] == checked.headline and printed[-1].startswith("Verified:")
    compared = [entry.paradigm for entry in checked.paradigms]
    assert 2 <= len(compared) < 4  # the choice, what is tied with it, the runner-up: not everything


def test_verify_json_needs_then_verify(tmp_path: Path, capsys) -> None:
    data = tmp_path / "d.csv"
    make_scenario(n_tasks=1, rows_per_task=40, n_features=2, seed=0).frame.to_csv(data, index=False)
    assert run(["recommend", str(data), "--target", "y", "--verify-json", str(tmp_path / "v.json")]) == 2
    assert "--verify-json needs --then-verify" in capsys.readouterr().err


def test_searches_are_kept_as_studies_and_change_nothing(tmp_path: Path) -> None:
    import optuna

    frame = make_scenario(n_tasks=1, rows_per_task=80, n_features=3, seed=2).frame
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    plain = Advisor(seed=1, n_jobs=1).verify(frame, targets="y", runs=1)
    kept = Advisor(seed=1, n_jobs=1).verify(frame, targets="y", runs=1, storage=url)
    again = Advisor(seed=1, n_jobs=1).verify(frame, targets="y", runs=1, storage=url)
    assert plain.paradigms == kept.paradigms == again.paradigms
    names = optuna.get_all_study_names(url)
    parsed = {tuple(name.rsplit(":", 3)[1:]) for name in names}
    searched = {variant for variant, _, _ in parsed}
    assert "stl/mlp" in searched
    assert parsed == {(v, "seed1", f"fold{k}") for v in searched for k in (1, 2, 3)}  # per variant and fold
    for name in names:  # a run again replaced its studies: two trials each, not four
        assert len(optuna.load_study(study_name=name, storage=url).trials) == 2


def test_a_cancelled_verification_stops_with_cancelled() -> None:
    from advisor.exceptions import Cancelled

    frame = make_scenario(n_tasks=1, rows_per_task=80, n_features=3, seed=2).frame
    with pytest.raises(Cancelled):
        Advisor(n_jobs=1, cancel=lambda: True).verify(frame, targets="y", runs=1)

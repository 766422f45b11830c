"""``advisor probe``: paradigms scored under the protocol, as a table or JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from advisor.cli import run
from benchmarks.scenarios import make_scenario


@pytest.fixture
def small_file(tmp_path: Path) -> Path:
    s = make_scenario(n_tasks=3, rows_per_task=60, seed=3)
    path = tmp_path / "small.csv"
    s.frame.to_csv(path, index=False)
    return path


def test_probe_json_has_the_documented_fields(small_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = run(
        ["probe", str(small_file), "-t", "y", "--task-column", "task", "--paradigm", "stl/mlp,mtl", "--json", "-"]
    )
    out = capsys.readouterr().out
    assert code == 0
    payload = json.loads(out)
    variants = [p["variant"] for p in payload["paradigms"]]
    assert variants == ["stl/mlp", "mtl/hard"]
    for row in payload["paradigms"]:
        assert {"paradigm", "variant", "score", "ci_low", "ci_high", "seconds", "tasks"} <= set(row)
        assert row["ci_low"] <= row["score"] <= row["ci_high"]
        assert [t["name"] for t in row["tasks"]] == ["t00", "t01", "t02"]
        assert all(len(t["fold_scores"]) == 3 for t in row["tasks"])
    assert payload["co_winners"] and payload["budget"] == "fast" and payload["seed"] == 0
    assert payload["test"] == "paired bootstrap over test rows (1,000 replicates), alpha 0.05"  # the test the rule ran


def test_probe_table_marks_co_winners(small_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["probe", str(small_file), "-t", "y", "--task-column", "task", "--paradigm", "stl/gbdt", "-q"]) == 0
    out = capsys.readouterr().out
    assert "stl/gbdt *" in out and "3/3" in out and "co-winners" in out
    assert "None" not in out and "only one variant scored" in out  # one variant: no test to name


def test_probe_reports_not_applicable_variants(small_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    s = make_scenario(n_tasks=1, rows_per_task=60, seed=3)
    path = small_file.parent / "one.csv"
    s.frame.to_csv(path, index=False)
    assert run(["probe", str(path), "-t", "y", "--task-column", "task", "--paradigm", "mtl", "--json", "-"]) == 0
    row = json.loads(capsys.readouterr().out)["paradigms"][0]
    assert row["skipped"] and "at least 2 tasks" in row["skipped"] and row["score"] is None


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--paradigm", "deep"], "unknown paradigm or variant 'deep'"),
        (["--budget", "huge"], "--budget must be"),
        (["--time-limit", "0"], "--time-limit must be a positive number of seconds"),
        (["--time-limit", "inf"], "--time-limit must be a positive number of seconds"),
        (["--time-limit", "nan"], "--time-limit must be a positive number of seconds"),
        (["--seed", "-1"], "Invalid value for '--seed': Input should be greater than or equal to 0"),
        (["--seed", "4294967296"], "Invalid value for '--seed': Input should be less than or equal to 4294967295"),
        (["--trials", "-1"], "--trials must be 0 or more"),
        (["--storage", "bogus://x"], "--storage 'bogus://x' is not a database URL"),
        (["--storage", "sqlite:////no/such/folder/s.db"], "the folder '/no/such/folder' does not exist"),
    ],
)
def test_probe_bad_options_exit_2(small_file: Path, args: list[str], fragment: str, capsys) -> None:
    assert run(["probe", str(small_file), "-t", "y", "--task-column", "task", *args]) == 2
    err = capsys.readouterr().err
    assert fragment in err and err.count("\n") == 1


def test_probe_time_limit_keeps_finished_folds(small_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["probe", str(small_file), "-t", "y", "--task-column", "task", "--paradigm", "stl/gbdt,mtl/hard"]
    assert run([*args, "--budget", "thorough", "--time-limit", "1.5", "--json", "-"]) == 0
    rows = json.loads(capsys.readouterr().out)["paradigms"]
    assert any(r["budget_exhausted"] for r in rows)
    for r in rows:
        assert r["folds_finished"] == len(r["fold_scores"]) <= r["folds_planned"] == 10


def test_the_largest_seed_runs(small_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # fold seeds are derived from it (seed * 1000 + fold); they must stay within what scikit-learn takes
    args = ["probe", str(small_file), "-t", "y", "--task-column", "task", "--paradigm", "stl/gbdt"]
    assert run([*args, "--seed", str(2**32 - 1), "--json", "-"]) == 0
    assert json.loads(capsys.readouterr().out)["paradigms"][0]["score"] is not None


def test_probe_caps_rows_per_task_as_recommend_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import probes.paradigms
    from probes.data import load_taskset
    from probes.runner import subsample_taskset

    path = tmp_path / "big.csv"
    make_scenario(n_tasks=2, rows_per_task=450, seed=3).frame.to_csv(path, index=False)  # above fast's 400
    probed: list[dict[str, list[int]]] = []
    real = probes.paradigms.run_variants

    given: list[object] = []

    def spy(taskset, variants, **kwargs):
        probed.append({t.name: t.rows.tolist() for t in taskset.tasks})
        given.append(kwargs.get("params"))
        return real(taskset, variants, **kwargs)

    monkeypatch.setattr(probes.paradigms, "run_variants", spy)
    args = ["probe", str(path), "-t", "y", "--task-column", "task", "--paradigm", "stl/gbdt"]
    assert run([*args, "--json", "-"]) == 0
    payload = json.loads(capsys.readouterr().out)
    # The rows recommend's runner probes (probes.runner.run_probes subsamples so, with the same seed); were all 450.
    drawn = subsample_taskset(load_taskset(path, targets="y", task_column="task"), 400, seed=0)
    assert probed[-1] == {t.name: t.rows.tolist() for t in drawn.tasks}
    assert [len(rows) for rows in probed[-1].values()] == [400, 400]
    assert payload["max_rows_per_task"] == 400 and payload["subsampled"] is True
    assert given[-1] == {"transfer/finetune": {"source_groups": 2}}  # the fast budget's, as recommend sets them
    assert run([*args, "-q"]) == 0
    assert "Tasks larger than 400 rows were subsampled for the probes (budget fast" in capsys.readouterr().out
    assert run([*args, "--budget", "thorough", "--time-limit", "20", "--json", "-"]) == 0  # no cap: every row
    payload = json.loads(capsys.readouterr().out)
    assert [len(rows) for rows in probed[-1].values()] == [450, 450]
    assert payload["max_rows_per_task"] is None and payload["subsampled"] is False

"""The ``advisor`` command: inspect output, JSON, help, demo and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from advisor.cli import run
from benchmarks.scenarios import make_scenario


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    s = make_scenario(n_tasks=3, rows_per_task=50, n_categorical=1, seed=4)
    path = tmp_path / "tasks.csv"
    s.frame.to_csv(path, index=False)
    return path


def test_inspect_prints_a_profile(data_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["inspect", str(data_file), "--target", "y", "--task-column", "task"]) == 0
    out = capsys.readouterr().out
    assert "layout task_column" in out and "goal all_tasks" in out
    for name in ("t00", "t01", "t02"):
        assert name in out
    assert "numeric 8" in out and "categorical 1" in out


def test_inspect_json_on_stdout_is_only_json(data_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["inspect", str(data_file), "-t", "y", "--task-column", "task", "--json", "-"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["layout"] == "task_column" and payload["goal"] == "all_tasks"
    assert [t["name"] for t in payload["tasks"]] == ["t00", "t01", "t02"]
    assert all(t["kind"] == "regression" and t["n_rows"] == 50 for t in payload["tasks"])
    assert payload["features"]["categorical"] == ["c0"] and payload["warnings"] == []


def test_inspect_json_to_file_also_prints_the_table(data_file: Path, tmp_path: Path, capsys) -> None:
    out_path = tmp_path / "profile.json"
    assert run(["inspect", str(data_file), "-t", "y", "--task-column", "task", "--json", str(out_path)]) == 0
    assert "layout task_column" in capsys.readouterr().out
    assert json.loads(out_path.read_text())["n_tasks"] == 3


def test_inspect_goal_options(data_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["inspect", str(data_file), "-t", "y", "--task-column", "task", "--goal", "target_task"]
    assert run([*args, "--target-task", "t01", "--json", "-"]) == 0
    assert json.loads(capsys.readouterr().out)["target_task"] == "t01"


def test_task_type_per_target(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    frame = pd.DataFrame({"x": range(40), "a": [1, 2, 3, 4] * 10, "b": [0.5, 1.5] * 20})
    path = tmp_path / "m.csv"
    frame.assign(x=frame["x"] % 7).to_csv(path, index=False)
    assert run(["inspect", str(path), "-t", "a", "-t", "b", "--task-type", "a=classification", "--json", "-"]) == 0
    kinds = {t["name"]: t["kind"] for t in json.loads(capsys.readouterr().out)["tasks"]}
    assert kinds == {"a": "classification", "b": "classification"}
    assert run(["inspect", str(path), "-t", "a", "--task-type", "a:classification"]) == 2
    assert "TARGET=KIND" in capsys.readouterr().err
    conflicting = ["--task-type", "a=regression", "--task-type", "a=classification"]
    assert run(["inspect", str(path), "-t", "a", *conflicting]) == 2
    assert "gives 'a' two kinds" in capsys.readouterr().err


def test_missing_target_is_a_usage_error(data_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["inspect", str(data_file)]) == 2
    assert "--target" in capsys.readouterr().err


def test_unknown_option_and_command_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["inspect", "x.csv", "--bogus"]) == 2
    assert run(["frobnicate"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 2 and "Traceback" not in err


def test_help_lists_only_working_commands(capsys: pytest.CaptureFixture[str]) -> None:
    import typer

    from advisor.cli import app

    registered = set(typer.main.get_command(app).commands)
    assert registered == {"inspect", "probe", "recommend", "verify", "demo", "schema", "serve", "worker"}
    assert run(["--help"]) == 0
    out = capsys.readouterr().out
    for name in registered:
        assert f"│ {name} " in out
        assert run([name, "--help"]) == 0


def test_demo_recommends_and_writes_the_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["demo", "--out", str(tmp_path / "demo"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert (tmp_path / "demo" / "related_tasks.csv.gz").exists()
    assert (tmp_path / "demo" / "report.html").stat().st_size > 10_000
    payload = json.loads((tmp_path / "demo" / "recommendation.json").read_text())
    assert payload["paradigm"] in {"mtl", "transfer"} and payload["headline"] in out


def test_help_text_is_reflowed_to_the_terminal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Docstrings are hard-wrapped at 100 columns; help must not keep those breaks (short ragged lines).
    monkeypatch.setenv("COLUMNS", "200")
    assert run(["recommend", "--help"]) == 0
    out = capsys.readouterr().out
    assert "writes JSON and an HTML report on request. Exit codes: 0 ok;" in out


def test_console_script_runs_and_help_does_not_import_torch(data_file: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from advisor.cli import main; sys.argv=['advisor','--help']; "
         "import atexit; atexit.register(lambda: print('torch' in sys.modules, 'pandas' in sys.modules)); main()"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0 and done.stdout.strip().endswith("False False")
    bad = subprocess.run(
        [sys.executable, "-m", "advisor", "inspect", str(data_file), "--target", "nope"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "'nope'" in bad.stderr


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux)")
def test_a_full_disk_on_stdout_is_a_one_line_system_error(data_file: Path) -> None:
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [sys.executable, "-m", "advisor", "inspect", str(data_file), "--target", "y", "--task-column", "task"],
            stdout=full, stderr=subprocess.PIPE, text=True, check=False,
        )  # fmt: skip
    assert done.returncode == 1 and done.stderr.count("\n") == 1
    assert "No space left on device" in done.stderr and "internal error" not in done.stderr
    named = subprocess.run(
        [sys.executable, "-m", "advisor", "inspect", str(data_file), "-t", "y", "--task-column", "task",
         "--json", "/dev/full"], capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert named.returncode == 1 and "(/dev/full): No space left on device" in named.stderr  # the machine's, not usage


def test_names_in_the_data_are_shown_as_text_not_rich_markup(tmp_path: Path, capsys) -> None:
    frame = make_scenario(n_tasks=3, rows_per_task=40, seed=0).frame
    frame["task"] = frame["task"].map(dict(zip(sorted(frame["task"].unique()), ["[/]", "[bold]x", "c\\"], strict=True)))
    frame["[/]"] = 1.0  # a constant column: named in a warning
    path = tmp_path / "[bold]odd.csv"
    frame.to_csv(path, index=False)
    assert run(["inspect", str(path), "--target", "y", "--task-column", "task"]) == 0
    out = capsys.readouterr().out
    for text in ("[bold]odd.csv", "[/]", "[bold]x", "'[/]'"):  # each exactly as written
        assert text in out, text
    assert any(line.startswith("c\\ ") for line in out.splitlines()) and "c\\\\" not in out  # not doubled


@pytest.mark.parametrize(
    ("env", "args", "named", "python_name"),
    [
        ({"ADVISOR_MAX_UPLOAD_MB": "-1"}, [], "ADVISOR_MAX_UPLOAD_MB: Input should be greater than 0", "max_upload_mb"),
        ({}, ["--database-url", "nonsense"], "--database-url: 'nonsense' is not a database URL", "database_url"),
    ],
)
def test_serve_names_a_bad_setting_as_the_user_set_it(
    env: dict[str, str], args: list[str], named: str, python_name: str, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    pytest.importorskip("fastapi")
    monkeypatch.delenv("ADVISOR_API_KEYS", raising=False)
    monkeypatch.setenv("ADVISOR_OPEN", "1")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert run(["serve", "--port", "1", *args]) == 2  # refused before the server starts
    err = capsys.readouterr().err
    assert named in err and f"{python_name}:" not in err and err.count("\n") == 1  # was "max_upload_mb: ..."

"""Command-line arguments: readable help, and bad arguments refused at once (before torch or pandas load)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from advisor.cli import run
from advisor.cli._common import GOALS


def _without_heavy_imports(args: list[str]) -> tuple[int, str, list[str]]:
    """Run the CLI on ``args`` in a fresh interpreter: exit code, stderr and the heavy modules it imported."""
    code = (
        "import sys\n"
        "from advisor.cli import run\n"
        f"code = run({args!r})\n"
        "heavy = [m for m in ('torch', 'pandas', 'sklearn', 'numpy', 'scipy') if m in sys.modules]\n"
        "print(code, ','.join(heavy))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    exit_code, _, heavy = done.stdout.strip().partition(" ")
    return int(exit_code), done.stderr, [m for m in heavy.split(",") if m]


@pytest.mark.parametrize("command", ["recommend", "probe", "inspect"])
def test_help_shows_readable_metavars(command: str, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    assert run([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert f"advisor {command} [OPTIONS] DATA" in out
    for raw in ("<bool>", "<list[str]>", "<str>", "<float>", "<int>", "<path>", "{data}"):
        assert raw not in out, raw
    assert re.search(r"--target\s+-t\s+COL\b", out) and re.search(r"--goal\s+GOAL\b", out)
    for goal in GOALS:  # the choices, in the help itself
        assert goal in out
    assert "--target a --target b" in out
    if command != "inspect":
        assert re.search(r"--time-limit\s+S\b", out) and "[default: no limit]" in out


def test_the_goals_and_paradigms_are_the_probes_own() -> None:
    from advisor.cli._probe import PARADIGM_IDS
    from probes.data import Goal
    from probes.paradigms import PARADIGMS

    assert tuple(g.value for g in Goal) == GOALS
    assert set(PARADIGMS) == set(PARADIGM_IDS)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["recommend", "missing.csv", "--target", "y"], "No such file: 'missing.csv'"),
        (["probe", "missing.csv", "--target", "y"], "No such file: 'missing.csv'"),
        (["inspect", "missing.csv", "--target", "y"], "No such file: 'missing.csv'"),
        (["recommend", "data.txt", "--target", "y"], "No such file: 'data.txt'"),
        (["recommend", "x.csv", "--target", "y", "--goal", "everything"], "--goal must be one of all_tasks"),
        (["recommend", "x.csv", "--target", "a,b"], "repeat the option: --target a --target b"),
        (["recommend", "x.csv", "--target", "y", "--small-tasks", "keep"], "--small-tasks must be drop or error"),
        (["recommend", "x.csv", "--target", "y", "--task-type", "numbers"], "classification or regression"),
    ],
)
def test_bad_arguments_are_refused_before_heavy_imports(args: list[str], message: str) -> None:
    code, err, heavy = _without_heavy_imports(args)
    assert code == 2 and err.count("\n") == 1 and err.startswith("advisor: error: ") and message in err
    assert heavy == [], f"imported {heavy} before refusing {args}"


def test_bad_options_on_real_data_are_refused_before_heavy_imports(data_file: Path, tmp_path: Path) -> None:
    for extra, message in [
        (["--paradigm", "mlt"], "--paradigm: unknown paradigm or variant 'mlt'; choose from stl, transfer, mtl"),
        (["--fail-on-risk", "1.5"], "--fail-on-risk must be between 0 and 1 (got 1.5)"),
        (["--budget", "huge"], "--budget must be"),
        (["--time-limit", "-3"], "--time-limit must be a positive number"),
        (["--json", str(tmp_path / "no" / "such" / "folder.json")], "does not exist"),
    ]:
        command = "probe" if extra[0] == "--paradigm" else "recommend"
        code, err, heavy = _without_heavy_imports([command, str(data_file), "--target", "y", *extra])
        assert code == 2 and err.count("\n") == 1 and message in err, err
        assert heavy == [], f"imported {heavy} before refusing {extra}"


@pytest.mark.parametrize(
    ("existing", "asked"),
    [("data.csv.gz", "data.csv"), ("data.csv", "data.csv.gz"), ("data.parquet", "data.csv")],
)
def test_a_missing_file_points_to_its_sibling(existing: str, asked: str, tmp_path: Path, capsys) -> None:
    (tmp_path / existing).write_bytes(b"a,b\n1,2\n")
    assert run(["recommend", str(tmp_path / asked), "--target", "y"]) == 2
    err = capsys.readouterr().err
    assert f"No such file: '{tmp_path / asked}'. Did you mean '{tmp_path / existing}'?" in err


def test_a_hyphenated_goal_is_read_as_its_underscored_name(data_file: Path, capsys) -> None:
    assert (
        run(["inspect", str(data_file), "-t", "y", "--task-column", "task", "--goal", "all-tasks", "--json", "-"]) == 0
    )
    assert json.loads(capsys.readouterr().out)["goal"] == "all_tasks"
    args = ["inspect", str(data_file), "-t", "y", "--task-column", "task", "--goal", "Target-Task"]
    assert run([*args, "--target-task", "t01", "--json", "-"]) == 0
    assert json.loads(capsys.readouterr().out)["target_task"] == "t01"
    assert run(["inspect", str(data_file), "-t", "y", "--goal", "all tasks"]) == 2
    assert "--goal must be one of all_tasks, target_task, new_tasks (got 'all tasks')" in capsys.readouterr().err

"""``advisor recommend`` and ``advisor schema``: output, JSON, HTML, the risk gate and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from advisor.cli import run
from advisor.schemas import Recommendation

ROOT = Path(__file__).resolve().parents[2]


ARGS = ["--target", "y", "--task-column", "task", "--time-limit", "25"]


def test_json_only_on_stdout_then_summary_and_gate(
    data_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    html = tmp_path / "report.html"
    args = [*ARGS, "--fail-on-risk", "1.0"]  # no risk exceeds 1: the gate passes
    assert run(["recommend", str(data_file), *args, "--json", "-", "--html", str(html)]) == 0
    payload = json.loads(capsys.readouterr().out)
    jsonschema.validate(payload, Recommendation.json_schema())
    assert payload["paradigm"] in {"stl", "mtl", "transfer", "meta"}
    assert html.read_text().startswith("<!DOCTYPE html>")
    risks = [t["negative_transfer_risk"] for t in payload["tasks"] if t["negative_transfer_risk"] is not None]
    assert risks  # the gate below has something to act on

    # The same data, spec and seed give the same recommendation: the gate at 0 fails iff a risk is above 0.
    code = run(["recommend", str(data_file), *ARGS, "--quiet", "--fail-on-risk", "0.0"])
    out, err = capsys.readouterr()
    assert out.strip() == payload["headline"]  # --quiet: the headline alone, as text
    assert code == (3 if any(r > 0.0 for r in risks) else 0)
    if code == 3:
        assert err.startswith("advisor: gate failed: negative-transfer risk (under ")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--fail-on-risk", "1.5"], "--fail-on-risk must be between 0 and 1"),
        (
            ["--fail-on-risk", "0.5", "--goal", "new_tasks"],
            "--fail-on-risk has nothing to check under --goal new_tasks",
        ),
        (["--budget", "oracle"], "--budget must be fast, standard or thorough"),
        (["--task-column", "nope"], "'nope'"),
    ],
)
def test_bad_options_exit_2(data_file: Path, args: list[str], fragment: str, capsys) -> None:
    base = ["--target", "y", "--time-limit", "25"] + ([] if "--task-column" in args else ["--task-column", "task"])
    assert run(["recommend", str(data_file), *base, *args]) == 2
    err = capsys.readouterr().err
    assert fragment in err and err.count("\n") == 1


def test_the_gate_fails_closed_when_the_risk_could_not_be_measured(
    data_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from advisor.cli._recommend import risk_gate

    assert run(["recommend", str(data_file), *ARGS, "--json", "-"]) == 0
    rec = Recommendation.from_json(capsys.readouterr().out)
    assert risk_gate(rec, 1.0) == 0
    # As if the time limit had cut every sharing paradigm: no task's risk is known, so the gate cannot pass.
    cut = rec.model_copy(
        update={
            "ranking": [e if e.paradigm == "stl" else e.model_copy(update={"probe_score": None}) for e in rec.ranking],
            "tasks": [t.model_copy(update={"negative_transfer_risk": None}) for t in rec.tasks],
        }
    )
    assert risk_gate(cut, 1.0) == 3
    err = capsys.readouterr().err
    assert (
        err.startswith("advisor: gate failed: negative-transfer risk could not be measured")
        and "raise --time-limit" in err
    )


def test_schema_command_matches_the_committed_docs(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["schema"]) == 0
    printed = json.loads(capsys.readouterr().out)
    committed = json.loads((ROOT / "docs" / "recommendation.schema.json").read_text())
    assert printed == committed == json.loads(json.dumps(Recommendation.json_schema()))


def test_schema_and_demo_to_an_unwritable_place_exit_2_in_one_line(tmp_path: Path, capsys) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    for args in (["schema", "--out", str(blocker / "schema.json")], ["demo", "--out", str(blocker / "demo"), "-q"]):
        assert run(args) == 2
        err = capsys.readouterr().err
        assert f"cannot write the {'schema' if args[0] == 'schema' else 'example'} to" in err and err.count("\n") == 1
    assert blocker.read_text() == "not a folder"

"""The CLI's output where it is not a terminal: unwrapped lines, plain progress, and readers that leave early."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from advisor.cli import run
from advisor.schemas import Recommendation
from benchmarks.scenarios import make_scenario

ROOT = Path(__file__).resolve().parents[2]
ARGS = ["--target", "y", "--task-column", "task", "--time-limit", "25"]
#: Variables that make rich treat a pipe as a terminal (colour codes) or choose its width: not this test's subject.
_RICH_ENV = {"FORCE_COLOR", "NO_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "COLUMNS", "LINES"}

# `advisor recommend` with the probes replaced by a stored recommendation (argv[1]): the output path alone, fast.
_CANNED = (
    "import sys; from pathlib import Path; import advisor._sdk as sdk; from advisor.schemas import Recommendation; "
    "rec = Recommendation.from_json(Path(sys.argv[1]).read_text()); sdk.Advisor.recommend = lambda *a, **k: rec; "
    "sys.argv = ['advisor', *sys.argv[2:]]; from advisor.cli import main; main()"
)


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in _RICH_ENV}


def _advisor(*args: str, **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "advisor", *args], text=True, check=False, cwd=ROOT, env=_env(), **kwargs
    )


def _reader_gone(command: list[str], *, stderr_too: bool = False) -> subprocess.CompletedProcess[str]:
    """Run ``command`` with stdout (and stderr) on a pipe whose reader has already gone, as after ``| head -1``."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            command,
            stdout=write_end,
            stderr=write_end if stderr_too else subprocess.PIPE,
            text=True,
            check=False,
            cwd=ROOT,
            env=_env(),
            timeout=120,
        )
    finally:
        os.close(write_end)


@pytest.fixture(scope="module")
def recommended(data_file: Path) -> tuple[subprocess.CompletedProcess[str], Path]:
    """One real ``advisor recommend`` with stdout and stderr on pipes, and the JSON it wrote."""
    saved = data_file.parent / "recommendation.json"
    html = data_file.parent / ("report-" + "x" * 80 + ".html")
    done = _advisor(
        "recommend", str(data_file), *ARGS, "--json", str(saved), "--html", str(html), capture_output=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return done, saved


# ----------------------------------------------------------------------------- no hard wrap on a pipe


def test_a_piped_summary_keeps_its_lines_whole(recommended: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    done, saved = recommended
    summary = Recommendation.from_json(saved.read_text()).summary()
    assert max(len(line) for line in summary.splitlines()) > 80  # long enough for rich's default to have cut it
    assert summary in done.stdout and "\x1b[" not in done.stdout
    assert f"HTML report: {saved.parent}/report-{'x' * 80}.html\n" in done.stdout  # a path to copy, whole


def test_piped_headers_with_a_long_file_name_are_not_split(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    name = "tasks-" + "x" * 70 + ".csv"
    path = tmp_path / name
    make_scenario(n_tasks=3, rows_per_task=40, seed=1).frame.to_csv(path, index=False)
    assert run(["inspect", str(path), "-t", "y", "--task-column", "task"]) == 0  # stdout: a capture, not a terminal
    assert capsys.readouterr().out.splitlines()[0].startswith(f"{name} (csv, ")  # the header line, whole
    assert run(["probe", str(path), "-t", "y", "--task-column", "task", "--paradigm", "stl/gbdt", "-q"]) == 0
    assert capsys.readouterr().out.splitlines()[0].startswith(f"{name} · 3 task(s) · goal all_tasks · budget fast")


def test_a_terminal_still_gets_lines_wrapped_to_its_width(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    path = tmp_path / ("long-name-" * 8 + ".csv")
    make_scenario(n_tasks=2, rows_per_task=40, seed=1).frame.to_csv(path, index=False)
    terminal = Terminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    monkeypatch.setenv("COLUMNS", "60")
    assert run(["inspect", str(path), "-t", "y", "--task-column", "task"]) == 0
    lines = re.sub(r"\x1b\[[0-9;]*m", "", terminal.getvalue()).splitlines()  # a terminal gets styles: not counted
    assert lines[0] == "long-name-" * 6 and max(len(line) for line in lines) <= 60  # as before: cut at its width


# ----------------------------------------------------------------------------- progress on a non-terminal stderr


def test_recommend_on_a_pipe_reports_progress_in_a_few_plain_lines(
    recommended: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    lines = recommended[0].stderr.splitlines()
    assert lines and all(line.startswith("advisor: ") for line in lines)  # no blank first line, nothing else
    assert "\x1b" not in recommended[0].stderr and "\r" not in recommended[0].stderr  # no ANSI, no spinner
    assert lines[0].startswith("advisor: data read: 3 task(s), 180 labelled rows (0%, ")  # once it is good
    assert lines[1].startswith("advisor: preparing folds") and lines[-1].startswith("advisor: probes finished")
    assert any(line.startswith("advisor: probing stl/mlp (") for line in lines)  # its share depends on the order run
    assert len(lines) <= 20 and len(set(lines)) == len(lines)  # one line per step, not per update


def test_probe_progress_lines_and_quiet(data_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["probe", str(data_file), "-t", "y", "--task-column", "task", "--paradigm", "stl/gbdt,mtl"]
    assert run(args) == 0
    err = capsys.readouterr().err
    steps = [line.split(" (")[0] for line in err.splitlines()]
    assert steps[0] == "advisor: preparing 3 folds" and steps[-1] == "advisor: probes finished"
    # one line as each variant finishes a fold (in whatever order the pool finishes them), none repeated
    probing = sorted(steps[1:-1])
    assert probing == sorted(
        f"advisor: probing {v}: {fold} done" for v in ("stl/gbdt", "mtl/hard") for fold in range(3)
    )
    assert run([*args, "--quiet"]) == 0
    assert capsys.readouterr().err == ""  # --quiet: nothing on stderr but errors


# ----------------------------------------------------------------------------- a reader that leaves early


@pytest.mark.parametrize(
    "args",
    [
        ["schema"],
        ["--help"],
        ["inspect", "{data}", "-t", "y", "--task-column", "task"],
        ["inspect", "{data}", "-t", "y", "--task-column", "task", "--json", "-"],
    ],
    ids=["schema", "help", "inspect", "inspect-json"],
)
def test_a_reader_that_left_early_is_no_error(data_file: Path, args: list[str]) -> None:
    command = [sys.executable, "-m", "advisor", *(a.format(data=data_file) for a in args)]
    done = _reader_gone(command)
    assert (done.returncode, done.stderr) == (0, "")  # was exit 1 (and a traceback at times)


def test_recommend_piped_into_head_exits_0_and_its_gate_still_decides(
    recommended: tuple[subprocess.CompletedProcess[str], Path], data_file: Path
) -> None:
    saved = recommended[1]
    canned = [sys.executable, "-c", _CANNED, str(saved), "recommend", str(data_file), *ARGS]
    done = _reader_gone(canned)
    assert (done.returncode, done.stderr) == (0, "")
    assert max(t["negative_transfer_risk"] or 0.0 for t in json.loads(saved.read_text())["tasks"]) > 0.0
    done = _reader_gone([*canned, "--fail-on-risk", "0.0"])  # some task's risk is above 0: the gate fails
    assert done.returncode == 3 and done.stderr.startswith("advisor: gate failed")  # not skipped, not exit 1
    both = _reader_gone([*canned, "--fail-on-risk", "0.0"], stderr_too=True)  # as with `2>&1 | head`
    assert both.returncode == 3


def test_an_error_with_stderr_gone_keeps_its_exit_code(data_file: Path) -> None:
    done = _reader_gone([sys.executable, "-m", "advisor", "inspect", str(data_file), "-t", "nope"], stderr_too=True)
    assert done.returncode == 2  # was 1: writing the error to the closed pipe raised


class _FullDisk(io.StringIO):
    """A stdout on a full disk: writes are buffered, the flush fails with ENOSPC."""

    def flush(self) -> None:
        if self.getvalue():
            raise OSError(28, "No space left on device")


def test_a_full_disk_at_the_last_flush_is_reported_in_one_line(monkeypatch, capsys) -> None:
    monkeypatch.setattr(sys, "stdout", _FullDisk())
    code = run(["schema"])
    assert code == 1  # was: the OSError escaped run() with a traceback
    assert "the system refused to write the output: No space left on device" in capsys.readouterr().err

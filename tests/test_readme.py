"""The README's set-up is exactly two commands, and CI runs the second one."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _setup_block() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Set-up", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block
    return [line for line in block.group(1).splitlines() if line and not line.startswith("#")]


def test_readme_has_two_setup_commands() -> None:
    commands = _setup_block()
    assert len(commands) == 2
    assert commands[0].endswith("advisor demo") and "pip install -e ." in commands[0]
    assert commands[1].endswith("pytest -n auto") and '".[dev]"' in commands[1]
    assert all("torch==2.13.0" in c for c in commands)


def test_ci_runs_the_readme_test_command() -> None:
    script = (ROOT / ".ci" / "run").read_text()
    marker = re.search(r'marker="(.*?)"', script).group(1)
    found = subprocess.run(
        ["bash", "-c", f'grep -A1 -F "{marker}" README.md | tail -n 1'], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    assert found == _setup_block()[1]

"""What the wheel ships: the packages a user imports, not the benchmark suite or its cache."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_wheel_ships_the_library_packages_only() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    included = config["tool"]["setuptools"]["packages"]["find"]["include"]
    assert sorted(included) == ["advisor*", "api*", "probes*"]
    assert not any(name.startswith("benchmarks") for name in included)

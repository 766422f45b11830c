"""Shared fixtures: a seed, small generated frames, and the shared real-data folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmarks.datasets import shared_data_dir


@pytest.fixture
def seed() -> int:
    return 0


@pytest.fixture
def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


@pytest.fixture
def shared_data() -> Path:
    path = shared_data_dir()
    if path is None:
        pytest.skip("../shared/data is not present")
    return path


@pytest.fixture
def task_frame(rng: np.random.Generator) -> pd.DataFrame:
    """Task-column layout: 3 tasks x 60 rows, a numeric, a categorical and a boolean feature."""
    n = 180
    return pd.DataFrame(
        {
            "task": np.repeat(["a", "b", "c"], 60),
            "x1": rng.normal(size=n),
            "x2": rng.choice(["red", "green", "blue"], size=n),
            "flag": rng.choice([True, False], size=n),
            "y": rng.normal(size=n),
        }
    )


@pytest.fixture
def multi_frame(rng: np.random.Generator) -> pd.DataFrame:
    """Multi-target layout: 100 rows, targets y1 (full) and y2 (30% missing), class target c."""
    n = 100
    x = rng.normal(size=(n, 3))
    y2 = x[:, 1] + rng.normal(size=n)
    y2[rng.random(n) < 0.3] = np.nan
    return pd.DataFrame(
        {
            "x0": x[:, 0],
            "x1": x[:, 1],
            "x2": x[:, 2],
            "y1": x[:, 0] * 2 + rng.normal(size=n),
            "y2": y2,
            "c": np.where(x[:, 2] > 0, "yes", "no"),
        }
    )

"""Shared fixtures: a seed, small generated frames, and the shared real-data folder."""

from __future__ import annotations

import os
from pathlib import Path

# Under pytest -n (one process per core) each process keeps its thread pools to its share of the
# cores, set before numpy and torch load, so the timing-sensitive tests stay honest on many-core machines.
if os.environ.get("PYTEST_XDIST_WORKER_COUNT"):
    _share = str(max(1, (os.cpu_count() or 1) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"])))
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, _share)

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

"""The scenario generator plants the structure it reports."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from benchmarks.scenarios import PRESETS, make_scenario, make_sinusoids, preset
from benchmarks.scenarios._examples import EXAMPLES, example_frame
from probes.data import load_taskset


def _task_signal(frame: pd.DataFrame, task: str) -> np.ndarray:
    return frame.loc[frame["task"] == task, "y"].to_numpy()


def _common_inputs_correlation(relatedness: float, flip: bool = False) -> float:
    """Correlation between two tasks' labels on the same inputs (multi-target layout)."""
    s = make_scenario(
        layout="multi_target",
        n_tasks=2,
        rows_per_task=3000,
        relatedness=relatedness,
        noise=0.0,
        conflict_fraction=1.0 if flip else 0.0,
        seed=7,
    )
    return float(np.corrcoef(s.frame["y_t00"], s.frame["y_t01"])[0, 1])


def test_relatedness_controls_how_much_tasks_share() -> None:
    assert _common_inputs_correlation(1.0) > 0.99
    assert abs(_common_inputs_correlation(0.0)) < 0.1
    assert _common_inputs_correlation(0.8) == pytest.approx(0.8, abs=0.05)


def test_own_inputs_keep_relatedness_and_share_no_inputs_at_zero() -> None:
    def labels(relatedness: float, **kwargs) -> pd.DataFrame:
        s = make_scenario(layout="multi_target", n_tasks=3, rows_per_task=4000, n_features=12,
                          relatedness=relatedness, noise=0.0, own_inputs=True, seed=5, **kwargs)  # fmt: skip
        return s.frame

    frame = labels(0.6)
    assert frame["y_t00"].corr(frame["y_t01"]) == pytest.approx(0.6, abs=0.05)
    # At relatedness 0 each task reads inputs of its own: shuffling one column changes one task at most.
    frame = labels(0.0)
    x = frame.filter(like="x").to_numpy()
    y = frame.filter(like="y_").to_numpy()
    reads = np.array(
        [[abs(np.corrcoef(x[:, j] ** 2 + x[:, j], y[:, t])[0, 1]) > 0.1 for t in range(3)] for j in range(12)]
    )
    assert reads.any(axis=0).all() and (reads.sum(axis=1) <= 1).all()
    assert abs(frame["y_t00"].corr(frame["y_t01"])) < 0.1


def test_conflicting_tasks_are_sign_flipped() -> None:
    assert _common_inputs_correlation(1.0, flip=True) < -0.99
    s = make_scenario(n_tasks=4, conflict_fraction=1.0, relatedness=1.0)
    assert ("t00", "t01") in s.truth.conflicts and len(s.truth.conflicts) == 3


def test_clusters_share_within_not_between() -> None:
    s = make_scenario(layout="multi_target", n_tasks=6, n_clusters=2, relatedness=0.9, noise=0.0, rows_per_task=2000)
    corr = s.frame[[f"y_t0{i}" for i in range(6)]].corr().to_numpy()
    clusters = np.array([s.truth.clusters[f"y_t0{i}"] for i in range(6)])
    same = clusters[:, None] == clusters[None, :]
    off_diag = ~np.eye(6, dtype=bool)
    assert corr[same & off_diag].min() > 0.85 and np.abs(corr[~same]).max() < 0.1


def test_covariate_shift_moves_inputs_of_shifted_tasks() -> None:
    s = make_scenario(n_tasks=4, shift=3.0, shifted_fraction=0.5, rows_per_task=500)
    assert s.truth.shifted == ("t02", "t03")
    x = [c for c in s.frame.columns if c.startswith("x")]
    means = s.frame.groupby("task")[x].mean()
    distance = np.linalg.norm(means.to_numpy(), axis=1)
    assert distance[:2].max() < 0.3 and distance[2:].min() > 2.5


def test_sizes_imbalance_and_scarce_target() -> None:
    s = make_scenario(n_tasks=5, rows_per_task=200, imbalance=4.0, target_rows=25, goal="target_task")
    sizes = s.frame.groupby("task").size()
    assert sizes["t00"] == 25
    others = sizes.drop("t00")
    assert others.max() / others.min() > 2
    assert s.spec.target_task == "t00" == s.truth.target_task


def test_classification_positive_rate_and_multiclass() -> None:
    binary = make_scenario(task_kind="classification", positive_rate=0.2, rows_per_task=2000, n_tasks=2)
    assert abs(binary.frame["y"].mean() - 0.2) < 0.04
    multi = make_scenario(task_kind="classification", n_classes=4, rows_per_task=400, n_tasks=2)
    assert sorted(multi.frame["y"].unique()) == [0, 1, 2, 3]
    ts = load_taskset(multi.frame, multi.spec)
    assert ts.tasks[0].kind == "classification" and ts.tasks[0].n_classes == 4


def test_loud_sources_are_loud() -> None:
    s = make_scenario(n_tasks=3, loud_sources=2, loud_amplitude=4.0, rows_per_task=500, noise=0.0)
    assert s.truth.loud == ("t01", "t02")
    assert _task_signal(s.frame, "t01").std() > 3 * _task_signal(s.frame, "t00").std()


def test_categorical_features_and_partial_labels() -> None:
    s = make_scenario(layout="multi_target", n_tasks=3, missing_labels=0.25, n_categorical=2, rows_per_task=400)
    ts = load_taskset(s.frame, s.spec)
    assert ts.feature_types["c0"] == "categorical"
    assert all(250 < t.n_rows < 350 for t in ts.tasks)


def test_sinusoids_follow_finn_et_al() -> None:
    s = make_sinusoids(n_tasks=30, rows_per_task=50, seed=3)
    for task, params in s.truth.task_params.items():
        assert 0.1 <= params["amplitude"] <= 5.0 and 0 <= params["phase"] <= np.pi
        rows = s.frame[s.frame["task"] == task]
        np.testing.assert_allclose(rows["y"], params["amplitude"] * np.sin(rows["x"] + params["phase"]))
    assert s.spec.goal == "new_tasks" and s.spec.shots == 5


def test_generation_is_deterministic() -> None:
    a, b = make_scenario(seed=11), make_scenario(seed=11)
    pd.testing.assert_frame_equal(a.frame, b.frame)
    assert not make_scenario(seed=12).frame.equals(a.frame)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_loads(name: str) -> None:
    s = preset(name)
    ts = load_taskset(s.frame, s.spec)
    assert ts.n_tasks == s.frame["task"].nunique() if "task" in s.frame else len(s.spec.targets)


def test_shipped_example_matches_the_generator() -> None:
    from importlib import resources

    for name in EXAMPLES:
        with resources.as_file(resources.files("advisor.examples") / name) as path:
            shipped = pd.read_csv(path)
        pd.testing.assert_frame_equal(shipped, example_frame(name), check_exact=False, rtol=1e-5)

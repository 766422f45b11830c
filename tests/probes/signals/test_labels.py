"""Label relatedness against the planted correlation of multi-target scenarios.

Observed (6 targets in 2 clusters, 1,500 rows, 20% labels missing, noise 0.05): correlation within
clusters 0.55–0.60 for ρ = 0.6 and 0.88–0.90 for ρ = 0.9, between clusters |r| ≤ 0.09; mutual
information 0.75–0.89 nats within vs ≤ 0.04 between (ρ = 0.9).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from benchmarks.scenarios import make_scenario
from probes.budget import Budget
from probes.data import load_taskset
from probes.signals import label_relatedness
from tests.probes.signals._scenarios import pair_masks


def _signal(relatedness: float, **params):
    s = make_scenario(
        layout="multi_target", n_tasks=6, n_clusters=2, relatedness=relatedness, rows_per_task=1500,
        noise=0.05, missing_labels=0.2, seed=0, **params,
    )  # fmt: skip
    return s, label_relatedness(load_taskset(s.frame, s.spec))


@pytest.fixture(scope="module")
def related():
    return _signal(0.9)


@pytest.mark.parametrize("rho", [0.6, 0.9])
def test_correlation_within_a_cluster_is_the_planted_relatedness(rho: float) -> None:
    s, signal = _signal(rho)
    masks = pair_masks(s, signal.names)
    within = signal.correlation[masks["aligned"]]
    np.testing.assert_allclose(within, rho, atol=0.08)
    assert np.abs(signal.correlation[masks["between"]]).max() < 0.15
    assert set(signal.correlation_kind.ravel()) == {"pearson"}


def test_related_targets_share_more_information_than_unrelated_ones(related) -> None:
    s, signal = related
    masks = pair_masks(s, signal.names)
    assert signal.mutual_information[masks["aligned"]].min() > 5 * signal.mutual_information[masks["between"]].max()
    # knowing a related target leaves less of a target unknown than knowing an unrelated one
    assert signal.conditional_entropy[masks["aligned"]].max() < signal.conditional_entropy[masks["between"]].min()
    assert np.all(signal.conditional_entropy <= signal.entropy[None, :] + 1e-9)


def test_shared_rows_count_only_rows_where_both_targets_are_present(related) -> None:
    s, signal = related
    present = s.frame[list(s.spec.targets)].notna().to_numpy()
    expected = present.T.astype(int) @ present.astype(int)
    np.testing.assert_array_equal(signal.shared_rows, expected)


def test_classification_targets_get_an_association_measure_that_reflects_relatedness() -> None:
    for n_classes, measure in [(2, "pearson"), (3, "cramers_v")]:
        s = make_scenario(
            layout="multi_target", task_kind="classification", n_classes=n_classes, n_tasks=4, n_clusters=2,
            relatedness=0.9, rows_per_task=1000, noise=0.05, seed=0,
        )  # fmt: skip
        signal = label_relatedness(load_taskset(s.frame, s.spec))
        masks = pair_masks(s, signal.names)
        assert set(signal.correlation_kind[masks["aligned"]]) == {measure}
        assert (
            signal.correlation[masks["aligned"]].min() > 0.5 > 0.2 > np.abs(signal.correlation[masks["between"]]).max()
        )
        assert (
            signal.mutual_information[masks["aligned"]].min() > 0.2 > signal.mutual_information[masks["between"]].max()
        )


def test_mixed_kinds_use_the_correlation_ratio_for_a_multi_class_target(rng: np.random.Generator) -> None:
    import pandas as pd

    n = 600
    x = rng.normal(size=n)
    frame = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "value": x + 0.1 * rng.normal(size=n),
            "band": np.array(["low", "mid", "high"])[np.digitize(x, [-0.5, 0.5])],  # three classes from the same x
            "noise": rng.normal(size=n),
        }
    )
    signal = label_relatedness(load_taskset(frame, targets=["value", "band", "noise"]))
    assert signal.correlation_kind[0, 1] == "correlation_ratio"
    assert signal.correlation[0, 1] > 0.8 > 0.15 > signal.correlation[1, 2]
    assert signal.mutual_information[0, 1] > 0.5 > 0.05 > signal.mutual_information[0, 2]


def test_task_column_data_is_refused_with_a_clear_message() -> None:
    s = make_scenario(n_tasks=3, rows_per_task=50, seed=0)
    with pytest.raises(ValueError, match="multi-target layout"):
        label_relatedness(load_taskset(s.frame, s.spec))


def test_an_exhausted_budget_leaves_pairs_missing_and_says_so() -> None:
    s = make_scenario(layout="multi_target", n_tasks=3, rows_per_task=200, seed=0)
    signal = label_relatedness(load_taskset(s.frame, s.spec), budget=Budget(0.0))
    assert signal.budget_exhausted and signal.notes
    assert np.isnan(signal.mutual_information).all()
    json.dumps(signal.to_dict(), allow_nan=False)
    assert signal.to_dict()["mutual_information"][0][1] is None


def test_same_seed_same_estimates(related) -> None:
    s, signal = related
    again = label_relatedness(load_taskset(s.frame, s.spec))
    np.testing.assert_array_equal(again.mutual_information, signal.mutual_information)

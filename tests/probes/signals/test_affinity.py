"""Task affinity and gradient conflict against planted clusters, conflicts and loud sources.

Numbers observed with these seeds (for the record; the assertions keep wide margins):
multi-target, 9 tasks in 3 clusters, ρ = 0.9 — lookahead within clusters 0.0036 vs between
-0.0002 (sd 0.0002), cosine 0.34 vs -0.017, conflict share 0.03 vs 0.62, groups recovered
exactly. Task-column, same structure — lookahead 0.0020 vs -0.0001 (sd 0.0006), cosine 0.090
vs -0.003, groups recovered exactly. Sign-flipped pairs: lookahead 0.0022, cosine 0.095,
conflict share 0.31, the same as aligned pairs (0.0020, 0.072, 0.31) and below unrelated pairs'
0.50: the per-task head absorbs the flip (DESIGN.md §9), so the gradients do not conflict.
Loud sources: affinity onto related tasks -0.00003 vs 0.0011 among related tasks, largest
gradient norms (0.51, 0.44 vs 0.37–0.41), never grouped with the related tasks — but not
clearly negative, so ``harmful_sources`` does not name them.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from probes.budget import Budget
from probes.exceptions import BudgetExhausted
from probes.paradigms import RunContext
from probes.paradigms._backbone import BackboneConfig, SharedTrunkNet
from probes.paradigms._training import LabelSpace, MultiTaskArrays, task_losses
from probes.signals import AffinitySignal, harmful_sources, suggest_groups, task_affinity
from probes.signals.affinity import _lookahead_losses, _Pairs, _task_jacobian, _task_losses_at
from tests.probes.signals._scenarios import pair_masks, planted_groups, scenario_fold

KINDS = ("lookahead", "first_order", "cosine")


@pytest.fixture(scope="module")
def multi_target_clusters():
    s, _, fold = scenario_fold(
        layout="multi_target", n_tasks=9, n_clusters=3, relatedness=0.9, rows_per_task=400, seed=0
    )
    return s, task_affinity(fold, RunContext(seed=0))


@pytest.fixture(scope="module")
def task_column_clusters():
    s, _, fold = scenario_fold(
        layout="task_column", n_tasks=9, n_clusters=3, relatedness=0.9, rows_per_task=300, seed=0
    )
    return s, task_affinity(fold, RunContext(seed=0))


def _separation(matrix: np.ndarray, masks: dict[str, np.ndarray]) -> tuple[float, float, float]:
    within, between = matrix[masks["aligned"]], matrix[masks["between"]]
    return float(within.mean()), float(between.mean()), float(between.std())


@pytest.mark.parametrize("kind", KINDS)
def test_tasks_of_one_cluster_are_more_affine_than_tasks_of_different_clusters(
    kind: str, multi_target_clusters, task_column_clusters
) -> None:
    for scenario, signal in (multi_target_clusters, task_column_clusters):
        within, between, spread = _separation(getattr(signal, kind), pair_masks(scenario, signal.names))
        assert within > 0
        assert within > between + 2.5 * spread, (kind, within, between, spread)


def test_tasks_of_different_clusters_conflict_about_half_the_time(multi_target_clusters) -> None:
    scenario, signal = multi_target_clusters
    masks = pair_masks(scenario, signal.names)
    assert signal.conflict_share[masks["aligned"]].mean() < 0.2
    assert 0.35 < signal.conflict_share[masks["between"]].mean() < 0.8


@pytest.mark.parametrize("kind", ["cosine", "lookahead"])
def test_suggested_groups_are_the_planted_clusters_on_multi_target_data(kind: str, multi_target_clusters) -> None:
    scenario, signal = multi_target_clusters
    assert {frozenset(g) for g in suggest_groups(signal, kind=kind)} == planted_groups(scenario)


def test_suggested_groups_put_same_cluster_tasks_together_on_task_column_data(task_column_clusters) -> None:
    scenario, signal = task_column_clusters
    group_of = {name: g for g, members in enumerate(suggest_groups(signal)) for name in members}
    masks = pair_masks(scenario, signal.names)
    together = np.array([[group_of[a] == group_of[b] for b in signal.names] for a in signal.names])
    assert together[masks["aligned"]].mean() > 0.5
    assert together[masks["between"]].mean() < 0.2


def test_sign_flipped_pairs_are_not_measured_as_conflicting() -> None:
    """DESIGN.md §9: a sign flip is absorbed by the head, so its gradients agree like aligned pairs'."""
    s, _, fold = scenario_fold(
        layout="task_column", n_tasks=8, n_clusters=2, relatedness=0.9, conflict_fraction=0.5, rows_per_task=300, seed=0
    )
    signal = task_affinity(fold, RunContext(seed=0))
    masks = pair_masks(s, signal.names)
    assert masks["conflict"].any()
    conflict_share = signal.conflict_share[masks["conflict"]].mean()
    assert conflict_share < signal.conflict_share[masks["between"]].mean() - 0.1
    assert conflict_share < signal.conflict_share[masks["aligned"]].mean() + 0.1
    assert signal.cosine[masks["conflict"]].mean() > 0
    assert signal.lookahead[masks["conflict"]].mean() > signal.lookahead[masks["between"]].mean()
    flipped = {a for pair in s.truth.conflicts for a in pair}
    for target in flipped:
        assert not set(harmful_sources(signal, None, target)) & flipped


def test_loud_sources_do_not_help_and_dominate_the_trunk_gradient() -> None:
    s, _, fold = scenario_fold(n_tasks=6, n_clusters=1, relatedness=0.9, loud_sources=2, rows_per_task=300, seed=0)
    signal = task_affinity(fold, RunContext(seed=0))
    names = list(signal.names)
    loud = [names.index(n) for n in s.truth.loud]
    related = [i for i in range(len(names)) if i not in loud]
    among_related = signal.lookahead[np.ix_(related, related)][~np.eye(len(related), dtype=bool)].mean()
    from_loud = signal.lookahead[np.ix_(loud, related)].mean()
    assert among_related > 0
    assert from_loud < 0.25 * among_related
    assert set(np.argsort(signal.grad_norm)[-len(loud) :]) == set(loud)
    groups = suggest_groups(signal)
    for name in s.truth.loud:
        assert [name] in groups
    for target in related:  # a related source is never blamed
        assert not set(harmful_sources(signal, None, names[target])) & {names[i] for i in related}


def test_classification_tasks_are_measured_too() -> None:
    s, _, fold = scenario_fold(
        layout="multi_target", task_kind="classification", n_classes=3, n_tasks=6, n_clusters=2,
        relatedness=0.9, rows_per_task=400, seed=0,
    )  # fmt: skip
    signal = task_affinity(fold, RunContext(seed=0))
    masks = pair_masks(s, signal.names)
    for kind in KINDS:
        within, between, _ = _separation(getattr(signal, kind), masks)
        assert within > between, kind


def test_signal_is_json_ready_with_missing_values_as_none(task_column_clusters) -> None:
    _, signal = task_column_clusters
    data = signal.to_dict()
    json.dumps(data, allow_nan=False)
    assert data["names"] == list(signal.names)
    assert len(data["lookahead"]) == len(signal.names) == len(data["cosine"][0])
    assert data["n_measurements"] == signal.n_measurements == 20
    patched = AffinitySignal(**{**signal.__dict__, "cosine": np.full_like(signal.cosine, np.nan)})
    assert patched.to_dict()["cosine"][0][0] is None


# --------------------------------------------------------------------------------------- budget


class CountingClock:
    """A fake monotonic clock: every reading advances it by one second."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def test_a_budget_that_runs_out_midway_keeps_the_measurements_taken() -> None:
    _, _, fold = scenario_fold(n_tasks=4, rows_per_task=100, seed=1)
    budget = Budget(40.0, clock=CountingClock())
    signal = task_affinity(fold, RunContext(budget=budget, seed=0), steps=100, measure_every=5)
    assert signal.budget_exhausted and "time budget" in signal.notes[0]
    assert 1 <= signal.n_measurements < 20
    assert signal.steps < 100
    assert np.isfinite(signal.lookahead).all()


def test_a_budget_gone_before_any_measurement_raises() -> None:
    _, _, fold = scenario_fold(n_tasks=4, rows_per_task=100, seed=1)
    with pytest.raises(BudgetExhausted):
        task_affinity(fold, RunContext(budget=Budget(0.0), seed=0))


def test_same_seed_same_signal() -> None:
    _, _, fold = scenario_fold(n_tasks=4, rows_per_task=100, seed=2)
    a = task_affinity(fold, RunContext(seed=3), steps=20)
    b = task_affinity(fold, RunContext(seed=3), steps=20)
    np.testing.assert_allclose(a.lookahead, b.lookahead)
    np.testing.assert_allclose(a.cosine, b.cosine)


# ------------------------------------------------------------------------ the vectorised losses


@pytest.mark.parametrize("dense", [False, True])
def test_pairwise_losses_gradients_and_lookahead_equal_the_training_loss(dense: bool, multi_frame) -> None:
    """The fast (row, task)-pair path gives exactly task_losses, its gradients and a real SGD step."""
    from probes.data import load_taskset
    from probes.paradigms import prepare_folds

    ts = load_taskset(multi_frame, targets=["y1", "y2", "c"])  # regression, partial labels, classification
    fold = prepare_folds(ts, "fast")[0]
    views = list(fold.tasks)
    space = LabelSpace.of(views)
    torch.manual_seed(0)
    batch = MultiTaskArrays.build(fold.X, views, space, "train", torch.device("cpu"))
    model = SharedTrunkNet(fold.n_features, BackboneConfig(width=8), len(views), space.out_dim)
    reference, _ = task_losses(model(batch.X), batch.Y, batch.M, space)
    shared = list(model.trunk.parameters())
    eye = torch.eye(len(views))
    grads = torch.autograd.grad(reference, shared, grad_outputs=eye, is_grads_batched=True)
    jacobian_ref = torch.cat([g.reshape(len(views), -1) for g in grads], dim=1)

    pairs = _Pairs.of(batch, space)
    object.__setattr__(pairs, "dense", dense)
    theta = {k: v.detach() for k, v in model.trunk.named_parameters()}
    head = (model.heads.weight.detach(), model.heads.bias.detach()[:, 0, :])
    torch.testing.assert_close(_task_losses_at(model, theta, head, pairs), reference.detach())
    jacobian = _task_jacobian(model, theta, head, pairs)
    torch.testing.assert_close(jacobian, jacobian_ref)
    after = _lookahead_losses(model, theta, head, pairs, jacobian, 0.1)
    with torch.no_grad():
        for p, g in zip(shared, torch.split(jacobian_ref[1], [p.numel() for p in shared]), strict=True):
            p -= 0.1 * g.view_as(p)
        stepped, _ = task_losses(model(batch.X), batch.Y, batch.M, space)
    torch.testing.assert_close(after[1], stepped)


# ------------------------------------------------------------------------- groups and sources


NAMES = ["a", "b", "c", "d", "e"]


def test_a_task_with_no_positive_affinity_stays_alone() -> None:
    m = np.full((5, 5), 0.02)
    m[4, :] = m[:, 4] = -0.01
    assert suggest_groups(m, NAMES) == [["a", "b", "c", "d"], ["e"]]


def test_groups_split_at_the_largest_drop_or_at_the_asked_count() -> None:
    m = np.full((5, 5), 0.001)
    m[np.ix_([0, 1, 2], [0, 1, 2])] = 0.03
    m[np.ix_([3, 4], [3, 4])] = 0.02
    assert suggest_groups(m, NAMES) == [["a", "b", "c"], ["d", "e"]]
    assert suggest_groups(m, NAMES, n_groups=1) == [NAMES]
    assert suggest_groups(m, NAMES, gap=0) == [NAMES]
    with pytest.raises(ValueError, match="kind"):
        suggest_groups(m, NAMES, kind="nope")


def test_harmful_sources_are_the_clearly_negative_ones_worst_first() -> None:
    m = np.full((5, 5), 0.001)
    np.fill_diagonal(m, 0.05)
    m[1, 0], m[2, 0], m[3, 0] = -0.02, -0.0001, -0.03  # b and d hurt a; c's effect is negligible
    assert harmful_sources(m, NAMES, "a") == ["d", "b"]
    assert harmful_sources(m, NAMES, "b") == []
    with pytest.raises(KeyError, match="zz"):
        harmful_sources(m, NAMES, "zz")


def test_a_noisy_negative_affinity_is_not_called_harmful(task_column_clusters) -> None:
    _, signal = task_column_clusters
    noisy = AffinitySignal(
        **{
            **signal.__dict__,
            "lookahead": -np.abs(signal.lookahead),
            "lookahead_se": np.full_like(signal.lookahead, 1.0),
        }
    )
    assert all(harmful_sources(noisy, None, n) == [] for n in signal.names)
    assert math.isfinite(signal.lookahead_se[0, 1])


def test_many_tasks_take_the_lookahead_on_a_seeded_rotation_of_sources() -> None:
    _, _, fold = scenario_fold(n_tasks=6, rows_per_task=60, seed=3)
    every = task_affinity(fold, RunContext(seed=0), steps=20, measure_every=5)
    assert every.notes == [] and np.isfinite(every.lookahead).all()
    uncapped = task_affinity(fold, RunContext(seed=0), steps=20, max_sources=None)
    assert np.array_equal(every.lookahead, uncapped.lookahead)  # 6 tasks are under the default cap
    some = task_affinity(fold, RunContext(seed=0), steps=20, measure_every=5, max_sources=3)
    # 4 measurements of 3 sources each cover all 6 sources twice; the cheap matrices cover every pair each time
    assert np.isfinite(some.lookahead).all() and "3 of 6 source tasks" in some.notes[0]
    assert "at least 2 of 4 measurements" in some.notes[0]
    np.testing.assert_array_equal(some.cosine, every.cosine)
    again = task_affinity(fold, RunContext(seed=0), steps=20, measure_every=5, max_sources=3)
    np.testing.assert_array_equal(some.lookahead, again.lookahead)

"""Meta-learning variants: the MAML family and prototypical networks under the protocol."""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import replace

import numpy as np
import pytest
import torch

from benchmarks.scenarios import make_scenario, preset
from probes.budget import Budget
from probes.data import TaskSet, load_taskset
from probes.paradigms._adapt import finetune_episodes
from probes.paradigms._backbone import BackboneConfig, build_mlp
from probes.paradigms._data import FoldData, MetaFoldData, TaskView
from probes.paradigms._run import prepare_folds, run_variant
from probes.paradigms._training import RunContext
from probes.paradigms.meta import (
    EPISODE_CHECKPOINTS,
    META_FOMAML,
    META_MAML,
    META_PROTONET,
    META_REPTILE,
    MetaConfig,
    episode_losses,
    make_loss,
    maml_gradients,
    prototype_logits,
    reptile_gradients,
)
from probes.paradigms.stl import STL_MLP
from probes.paradigms.transfer import TRANSFER_FINETUNE

GRADIENT_VARIANTS = [META_MAML, META_FOMAML, META_REPTILE]
#: Enough meta-training to exercise every code path, not to learn well: keeps contract tests fast.
QUICK = {"iterations": 50}


def _load(scenario) -> TaskSet:
    return load_taskset(scenario.frame, scenario.spec)


@pytest.fixture(scope="module")
def sinusoids() -> tuple[TaskSet, list]:
    taskset = _load(preset("sinusoids", seed=0))
    return taskset, prepare_folds(taskset, "fast")


@pytest.fixture(scope="module")
def stl_on_sinusoids(sinusoids) -> float:
    taskset, prepared = sinusoids
    # One thread: the tiny per-task networks gain nothing from two, and lose badly on a busy machine.
    result = run_variant(taskset, STL_MLP, prepared, preset="fast", threads=1)
    assert result.complete
    return result.score


@pytest.fixture(scope="module")
def regression_rows() -> TaskSet:
    return _load(make_scenario(n_tasks=6, rows_per_task=80, seed=1))


@pytest.fixture(scope="module")
def few_shot_classes() -> TaskSet:
    return _load(
        make_scenario(
            task_kind="classification",
            n_tasks=12,
            rows_per_task=60,
            goal="new_tasks",
            shots=5,
            relatedness=0.9,
            n_classes=3,
            seed=2,
        )
    )


# ---------------------------------------------------------------- few-shot sinusoids (Finn et al.)


def test_maml_adapts_to_new_sinusoids_where_single_task_learning_cannot(sinusoids, stl_on_sinusoids) -> None:
    """Issue 3, behaviour (e): under new_tasks with 5 shots, meta beats STL and transfer."""
    taskset, prepared = sinusoids
    result = run_variant(taskset, META_MAML, prepared, preset="fast")
    assert result.complete and not result.budget_exhausted
    # DESIGN.md §9: MAML reaches high pooled R² on 5-shot sinusoids; STL from scratch stays near 0.
    assert result.score > 0.65
    assert result.score > stl_on_sinusoids + 0.5
    transfer = run_variant(taskset, TRANSFER_FINETUNE, prepared, preset="fast")
    assert transfer.complete and result.score > transfer.score + 0.3
    assert all(f.aggregate > 0.5 for f in result.folds)
    assert any("meta/maml few-shot: lr=" in note for note in result.notes)


@pytest.mark.parametrize("variant", [META_FOMAML, META_REPTILE], ids=lambda v: v.id)
def test_first_order_meta_learners_beat_single_task_learning(sinusoids, stl_on_sinusoids, variant) -> None:
    taskset, prepared = sinusoids
    result = run_variant(taskset, variant, prepared, preset="fast")
    assert result.complete
    assert result.score > 0.5
    assert result.score > stl_on_sinusoids + 0.4


# ------------------------------------------------------------------------------------ ProtoNets


def _assert_probabilities(proba: np.ndarray, rows: int, classes: int) -> None:
    assert proba.shape == (rows, classes)
    assert np.isfinite(proba).all() and (proba >= 0).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)


def test_protonet_classifies_new_tasks_from_their_support_prototypes(few_shot_classes) -> None:
    prepared = prepare_folds(few_shot_classes, "fast")
    data = prepared[0]
    assert isinstance(data, MetaFoldData)
    preds = META_PROTONET.fit_predict_meta(data, {**META_PROTONET.defaults, **QUICK}, RunContext(seed=0))
    assert len(preds) == len(data.test_episodes)
    for episode, proba in zip(data.test_episodes, preds, strict=True):
        _assert_probabilities(proba, len(episode.query), 3)
    result = run_variant(few_shot_classes, META_PROTONET, prepared, preset="fast")
    assert result.complete
    assert result.score > 0.75  # macro ROC-AUC on held-out tasks (chance is 0.5)


@pytest.mark.parametrize("goal", ["all_tasks", "target_task"])
def test_protonet_runs_on_row_folds(goal) -> None:
    taskset = _load(
        make_scenario(task_kind="classification", n_tasks=4, rows_per_task=90, n_classes=3, goal=goal, seed=3)
    )
    prepared = prepare_folds(taskset, "fast")
    data = prepared[0]
    assert isinstance(data, FoldData)
    preds = META_PROTONET.fit_predict(data, {**META_PROTONET.defaults, **QUICK}, RunContext(seed=0))
    assert sorted(preds) == data.scored_tasks()
    for t, proba in preds.items():
        _assert_probabilities(proba, len(data.tasks[t].rows_test), 3)
    result = run_variant(taskset, META_PROTONET, prepared, preset="fast", params=QUICK)
    assert result.complete and result.score > 0.6


def test_protonet_is_not_applicable_to_regression(regression_rows, sinusoids) -> None:
    for taskset in (regression_rows, sinusoids[0]):
        reason = META_PROTONET.why_not(taskset)
        assert reason is not None and "classification" in reason
        result = run_variant(taskset, META_PROTONET, [], preset="fast")
        assert result.skipped == reason and not result.folds
    for variant in GRADIENT_VARIANTS:
        assert variant.why_not(regression_rows) is None


# -------------------------------------------------------------------------------- row folds


@pytest.mark.parametrize(("variant", "goal"), list(itertools.product(GRADIENT_VARIANTS, ["all_tasks", "target_task"])),
                         ids=lambda x: getattr(x, "id", x))  # fmt: skip
def test_gradient_meta_learners_run_on_row_folds(variant, goal) -> None:
    taskset = _load(make_scenario(n_tasks=6, rows_per_task=80, goal=goal, seed=1))
    result = run_variant(taskset, variant, prepare_folds(taskset, "fast")[:1], preset="fast", params=QUICK)
    assert result.complete
    assert all(math.isfinite(f.aggregate) for f in result.folds)
    assert result.score > 0.0  # related tasks: better than predicting each task's mean
    assert any("adaptation after" in note for note in result.notes)


def test_row_fold_predictions_never_see_test_labels(regression_rows) -> None:
    data = prepare_folds(regression_rows, "fast")[0]
    assert isinstance(data, FoldData)
    rng = np.random.default_rng(0)
    scrambled = replace(data, tasks=tuple(replace(v, y_test=rng.normal(size=len(v.y_test)) * 100) for v in data.tasks))
    params = {**META_MAML.defaults, **QUICK}
    before = META_MAML.fit_predict(data, params, RunContext(seed=0))
    after = META_MAML.fit_predict(scrambled, params, RunContext(seed=0))
    for t in before:
        np.testing.assert_array_equal(before[t], after[t])


def test_few_shot_predictions_never_see_query_labels(sinusoids) -> None:
    data = sinusoids[1][0]
    assert isinstance(data, MetaFoldData)
    rng = np.random.default_rng(0)
    tasks = list(data.tasks)
    for episode in data.test_episodes:
        view = tasks[episode.task]
        y = view.y_train.copy()
        y[episode.query] = rng.normal(size=len(episode.query)) * 100
        tasks[episode.task] = TaskView(view.name, view.kind, view.n_classes, view.rows_train, view.rows_valid,
                                       view.rows_test, y, view.y_valid, view.y_test)  # fmt: skip
    params = {**META_FOMAML.defaults, **QUICK}
    before = META_FOMAML.fit_predict_meta(data, params, RunContext(seed=0))
    after = META_FOMAML.fit_predict_meta(replace(data, tasks=tuple(tasks)), params, RunContext(seed=0))
    for a, b in zip(before, after, strict=True):
        np.testing.assert_array_equal(a, b)


# ----------------------------------------------------------------------------------- budgets


@pytest.fixture(scope="module")
def twenty_tasks() -> dict[str, TaskSet]:
    return {
        "regression": _load(make_scenario(n_tasks=20, rows_per_task=100, seed=4)),
        "classification": _load(make_scenario(task_kind="classification", n_tasks=20, rows_per_task=100, seed=4)),
    }


@pytest.mark.parametrize("variant", [*GRADIENT_VARIANTS, META_PROTONET], ids=lambda v: v.id)
def test_a_time_budget_stops_meta_training_promptly(variant, twenty_tasks) -> None:
    taskset = twenty_tasks["classification" if variant is META_PROTONET else "regression"]
    prepared = prepare_folds(taskset, "fast")
    run_variant(taskset, variant, prepared[:1], preset="fast", params={"iterations": 2})  # warm up lazy imports
    started = time.perf_counter()
    result = run_variant(taskset, variant, prepared, preset="fast", budget=Budget(1.0))
    elapsed = time.perf_counter() - started
    assert result.budget_exhausted
    assert len(result.folds) < len(prepared)
    assert elapsed < 1.3  # one second plus at most one meta-batch or validation round (measured: < 0.02 s)


def test_folds_finished_before_the_budget_runs_out_are_kept(regression_rows) -> None:
    prepared = prepare_folds(regression_rows, "fast")
    ticks = itertools.count()

    def counting_clock() -> float:
        return float(next(ticks))

    full = run_variant(regression_rows, META_FOMAML, prepared, preset="fast", params=QUICK,
                       budget=Budget(None, clock=counting_clock))  # fmt: skip
    checks = next(ticks)  # clock reads of a complete run: a deterministic measure of its work
    assert full.complete
    ticks = itertools.count()
    cut = run_variant(regression_rows, META_FOMAML, prepared, preset="fast", params=QUICK,
                      budget=Budget(0.6 * checks, clock=counting_clock))  # fmt: skip
    assert cut.budget_exhausted
    assert 1 <= len(cut.folds) < len(prepared)
    assert [f.aggregate for f in cut.folds] == [f.aggregate for f in full.folds[: len(cut.folds)]]


# ------------------------------------------------------------------------------- determinism


def test_same_seed_same_scores_and_no_leaked_random_state(regression_rows, few_shot_classes) -> None:
    torch.manual_seed(123)
    state = torch.get_rng_state()
    for taskset, variant in ((regression_rows, META_MAML), (few_shot_classes, META_PROTONET)):
        prepared = prepare_folds(taskset, "fast")[:2]
        first = run_variant(taskset, variant, prepared, preset="fast", params=QUICK, seed=5)
        second = run_variant(taskset, variant, prepared, preset="fast", params=QUICK, seed=5)
        assert [f.aggregate for f in first.folds] == [f.aggregate for f in second.folds]
        assert first.notes == second.notes
    assert torch.equal(torch.get_rng_state(), state)


def test_validation_rounds_are_reported_for_pruning(sinusoids) -> None:
    reports: list[tuple[int, float]] = []
    ctx = RunContext(seed=0, on_epoch=lambda epoch, value: reports.append((epoch, value)))
    META_MAML.fit_predict_meta(sinusoids[1][0], {**META_MAML.defaults, "iterations": 75}, ctx)
    assert [e for e, _ in reports] == [0, 1, 2]
    assert all(math.isfinite(v) and v < 0 for _, v in reports)  # negated validation losses


def test_search_runs_trials_on_validation_tasks(few_shot_classes) -> None:
    prepared = prepare_folds(few_shot_classes, "fast")[:1]
    result = run_variant(few_shot_classes, META_FOMAML, prepared, preset="fast", n_trials=2,
                         params={"iterations": 25, "width": 32})  # fmt: skip
    assert result.trials == 2 * len(prepared) and result.complete  # two trials in each fold
    assert not [n for n in result.notes if "failed" in n]  # the trials were scored, not silently lost
    assert {"meta_lr", "inner_lr", "inner_steps"} <= set(result.params)


# ---------------------------------------------------------------------------- pure functions


def _tiny_problem(seed: int = 0):
    torch.manual_seed(seed)
    model = build_mlp(2, BackboneConfig(width=8, depth=1, activation="tanh"), 1)
    params = {k: v.detach().double() for k, v in model.named_parameters()}
    model = model.double()
    batch = (torch.randn(3, 4, 2).double(), torch.randn(3, 4).double(),
             torch.randn(3, 6, 2).double(), torch.randn(3, 6).double())  # fmt: skip
    return model, params, batch


def _autograd_meta_gradient(model, params, batch, lr: float, second_order: bool) -> dict[str, torch.Tensor]:
    """MAML's meta-gradient written the classic way, with torch.autograd and create_graph."""
    theta = {k: v.clone().requires_grad_(True) for k, v in params.items()}
    total = 0.0
    for xs, ys, xq, yq in zip(*batch, strict=True):
        support = ((torch.func.functional_call(model, theta, (xs[None],))[0, :, 0] - ys) ** 2).mean()
        grads = torch.autograd.grad(support, list(theta.values()), create_graph=second_order)
        adapted = {
            k: v - lr * (g if second_order else g.detach()) for (k, v), g in zip(theta.items(), grads, strict=True)
        }
        total = total + ((torch.func.functional_call(model, adapted, (xq[None],))[0, :, 0] - yq) ** 2).mean()
    meta = torch.autograd.grad(total / len(batch[0]), list(theta.values()))
    return dict(zip(theta, meta, strict=True))


@pytest.mark.parametrize("algorithm", ["maml", "fomaml"])
def test_maml_gradients_match_autograd(algorithm) -> None:
    model, params, batch = _tiny_problem()
    cfg = MetaConfig(algorithm=algorithm, inner_lr=0.5, inner_steps=1)
    got = maml_gradients(make_loss(model, classification=False), params, batch, cfg)
    want = _autograd_meta_gradient(model, params, batch, 0.5, second_order=algorithm == "maml")
    for k in want:
        torch.testing.assert_close(got[k], want[k])
    if algorithm == "maml":  # the second-order term is really there
        first = _autograd_meta_gradient(model, params, batch, 0.5, second_order=False)
        assert any(not torch.allclose(got[k], first[k]) for k in got)


def test_padded_episodes_adapt_as_if_each_ran_alone() -> None:
    # Validation episodes of different sizes share one padded batch: padding rows must not
    # change any episode's adaptation or its query loss, and the caller's weights stay as they were.
    model, params, _ = _tiny_problem()
    loss = make_loss(model, classification=False)
    before = {k: v.clone() for k, v in params.items()}
    torch.manual_seed(1)
    sizes, queries = (3, 5), (4, 2)
    xs = torch.zeros(2, 5, 2, dtype=torch.float64)
    ys, ms = torch.zeros(2, 5, dtype=torch.float64), torch.zeros(2, 5, dtype=torch.float64)
    xq = torch.zeros(2, 4, 2, dtype=torch.float64)
    yq, mq = torch.zeros(2, 4, dtype=torch.float64), torch.zeros(2, 4, dtype=torch.float64)
    for e, (n, q) in enumerate(zip(sizes, queries, strict=True)):
        xs[e, :n], ys[e, :n], ms[e, :n] = torch.randn(n, 2), torch.randn(n), 1.0
        xq[e, :q], yq[e, :q], mq[e, :q] = torch.randn(q, 2), torch.randn(q), 1.0
        xs[e, n:], ys[e, n:] = 50.0, -50.0  # loud padding: any leak would show
    got = episode_losses(loss, params, (xs, ys, ms), (xq, yq, mq), lr=0.2, steps=3)
    for e, (n, q) in enumerate(zip(sizes, queries, strict=True)):
        p = {k: v.clone() for k, v in params.items()}
        for _ in range(3):
            g = torch.func.grad(loss)(p, xs[e, :n], ys[e, :n], torch.ones(n, dtype=torch.float64))
            p = {k: v - 0.2 * g[k] for k, v in p.items()}
        want = loss(p, xq[e, :q], yq[e, :q], torch.ones(q, dtype=torch.float64))
        torch.testing.assert_close(got[e], want)
    for k in params:
        assert torch.equal(params[k], before[k])


def test_reptile_with_one_inner_step_is_the_mean_task_gradient() -> None:
    # Nichol et al. 2018: with one inner step, Reptile's update is plain SGD on the expected task loss.
    model, params, (xs, ys, _, _) = _tiny_problem()
    loss = make_loss(model, classification=False)
    cfg = MetaConfig(algorithm="reptile", inner_lr=0.1, inner_steps=1)
    got = reptile_gradients(loss, params, (xs[:, None], ys[:, None]), cfg)
    grads = [torch.func.grad(loss)(params, x, y, torch.ones_like(y)) for x, y in zip(xs, ys, strict=True)]
    for k in params:
        torch.testing.assert_close(got[k], 0.1 * torch.stack([g[k] for g in grads]).mean(0))


def test_prototype_logits_are_negative_squared_distances_to_class_means() -> None:
    support = torch.tensor([[[0.0, 0.0], [2.0, 0.0], [0.0, 4.0], [9.0, 9.0]]])
    labels = torch.tensor([[0.0, 0.0, 1.0, 1.0]])
    mask = torch.tensor([[1.0, 1.0, 1.0, 0.0]])  # the last row is padding
    query = torch.tensor([[[1.0, 0.0], [0.0, 3.0]]])
    logits = prototype_logits(support, labels, mask, query, n_classes=3)
    expected = torch.tensor([[[-0.0, -17.0, -math.inf], [-10.0, -1.0, -math.inf]]])
    torch.testing.assert_close(logits, expected)
    proba = torch.softmax(logits, dim=-1)
    assert torch.all(proba[..., 2] == 0) and proba[0, 0, 0] > 0.99 and proba[0, 1, 1] > 0.99


def test_finetune_episodes_ends_where_its_stop_hook_says() -> None:
    base = build_mlp(2, BackboneConfig(width=8, depth=1), 1)
    rng = np.random.default_rng(0)
    support = [(rng.normal(size=(5, 2)).astype(np.float32), rng.normal(size=5).astype(np.float32))]
    query = [rng.normal(size=(3, 2)).astype(np.float32)]
    seen: list[int] = []

    def stop(steps: int, out: torch.Tensor) -> bool:
        seen.append(steps)
        return steps >= 5

    ctx = RunContext(device=torch.device("cpu"))
    kwargs = {"classification": False, "checkpoints": EPISODE_CHECKPOINTS, "lr": 0.1, "ctx": ctx}
    got = finetune_episodes(base, support, query, stop=stop, **kwargs)
    full = finetune_episodes(base, support, query, **kwargs)
    assert seen == [0, 1, 2, 3, 5] and sorted(got) == seen
    assert sorted(full) == list(EPISODE_CHECKPOINTS)
    for s in seen:  # stopping changes nothing before the stop
        torch.testing.assert_close(got[s], full[s])


def test_probe_validation_sweeps_stop_early_yet_choose_as_the_full_sweep(sinusoids, monkeypatch) -> None:
    # The probes' presets stop a few-shot validation sweep once the loss has not improved for
    # SWEEP_PATIENCE checkpoints, with or without a time limit (the preset decides, never the clock);
    # the oracle's preset (sweep_stop=False) always runs to the last checkpoint.
    import probes.paradigms.meta as meta_module
    from probes.budget import budget_preset

    taskset, prepared = sinusoids
    last_steps: list[int] = []

    def spy(*args, **kwargs):
        out = finetune_episodes(*args, **kwargs)
        last_steps.append(max(out))
        return out

    monkeypatch.setattr(meta_module, "finetune_episodes", spy)
    full_sweep = replace(budget_preset("fast"), sweep_stop=False)
    untimed = run_variant(taskset, META_MAML, prepared[:1], params=QUICK, budget=Budget(None), preset=full_sweep)
    untimed_steps, last_steps[:] = list(last_steps), []
    timed = run_variant(taskset, META_MAML, prepared[:1], params=QUICK, budget=Budget(None))  # fast: stops early
    assert untimed.complete and timed.complete
    # Sweeps are the calls with every checkpoint; the final call adapts test episodes to one.
    assert max(untimed_steps) == EPISODE_CHECKPOINTS[-1]
    assert max(last_steps[:-1]) < EPISODE_CHECKPOINTS[-1]
    assert timed.score == untimed.score
    assert timed.notes == untimed.notes


# ------------------------------------------------------- one footing for every learner of new tasks


def test_every_new_task_learner_chooses_its_adaptation_on_the_same_validation_draws(sinusoids, monkeypatch) -> None:
    # Meta-learners choose their adaptation on VALID_DRAWS extra draws of each validation episode;
    # the single-task, multi-task and transfer baselines get the same draws, not one episode each.
    import probes.paradigms.meta as meta_module
    import probes.paradigms.mtl as mtl_module
    import probes.paradigms.stl as stl_module
    import probes.paradigms.transfer as transfer_module
    from probes.paradigms._data import VALID_DRAWS
    from probes.paradigms.mtl import MTL_HARD
    from probes.paradigms.transfer import TRANSFER_HEAD

    taskset, prepared = sinusoids
    fold = prepared[0]
    n_valid = len(fold.valid_episodes) * (1 + VALID_DRAWS)
    supports: dict[str, list[list[bytes]]] = {}  # per variant, per call: the support rows' bytes
    current = ""

    def spy_finetune(base, sets, queries, **kwargs):
        supports.setdefault(current, []).append([xs.tobytes() for xs, _ in sets])
        return finetune_episodes(base, sets, queries, **kwargs)

    for module in (stl_module, transfer_module, meta_module):
        monkeypatch.setattr(module, "finetune_episodes", spy_finetune)
    heads: list[int] = []
    head_predict = mtl_module._head_predict
    monkeypatch.setattr(mtl_module, "_head_predict", lambda *a: (heads.append(len(a[1])), head_predict(*a))[1])
    for variant in (STL_MLP, TRANSFER_FINETUNE, TRANSFER_HEAD, META_MAML, MTL_HARD):
        current = variant.id
        assert run_variant(taskset, variant, prepared[:1], params=QUICK, budget=Budget(None)).complete
    # The first sweep of each learner adapts to the validation episodes: the same rows for all.
    first = {v: calls[0] for v, calls in supports.items()}
    assert len(first["meta/maml"]) == n_valid
    assert all(sets == first["meta/maml"] for sets in first.values()), sorted(first)
    # MTL fits one ridge head per validation episode and penalty, then one per test episode and
    # one per original validation episode (scored with the test ones: the fold's validation score).
    n_alphas = len(mtl_module._RIDGE_ALPHAS)
    assert len(heads) == n_valid * n_alphas + len(fold.test_episodes) + len(fold.valid_episodes)


def test_a_refit_for_the_epochs_found_reproduces_the_early_stopped_weights(sinusoids) -> None:
    # The refit on every row trains for ``epochs_used`` epochs: on the same rows that count gives
    # back exactly the weights early stopping restored (one epoch more or fewer does not).
    from probes.paradigms._training import stacked_arrays, torch_session, train_stacked
    from probes.paradigms.mtl import fit_hard_sharing, meta_training_views

    fold = sinusoids[1][0]
    ctx = RunContext(budget=Budget(None), seed=0, max_epochs=80, patience=3)
    views = meta_training_views(fold, fold.train_tasks, seed=0)
    unwatched = [replace(v, rows_valid=v.rows_valid[:0], y_valid=v.y_valid[:0]) for v in views]

    def weights(model):
        return [p.detach().clone() for p in model.state_dict().values()]

    def same(a, b) -> bool:
        return all(torch.equal(x, y) for x, y in zip(a, b, strict=True))

    found: list[int] = []
    with torch_session(0, 1):
        stopped = weights(fit_hard_sharing(fold.X, views, {}, ctx, epochs_used=found)[0])
    assert 1 <= found[0] < 80  # stopped early
    refits = {}
    for n in (found[0] - 1, found[0], found[0] + 1):
        with torch_session(0, 1):
            refits[n] = weights(fit_hard_sharing(fold.X, unwatched, {}, replace(ctx, max_epochs=n))[0])
    assert same(refits[found[0]], stopped)
    assert not same(refits[found[0] - 1], stopped) and not same(refits[found[0] + 1], stopped)

    def pooled(vs, part):
        return np.vstack([fold.X[getattr(v, f"rows_{part}")] for v in vs]), np.concatenate(
            [getattr(v, f"y_{part}").astype(np.float32) for v in vs]
        )

    def train(cap, valid, epochs_used=None):
        with torch_session(0, 1):
            model = build_mlp(fold.n_features, BackboneConfig(), 1)
            train_stacked(
                model, stacked_arrays([pooled(views, "train")], ctx.device, fold.n_features),
                stacked_arrays([valid], ctx.device, fold.n_features), False,
                ctx.train_config({}) if cap is None else replace(ctx.train_config({}), max_epochs=cap), ctx,
                epochs_used=epochs_used,
            )  # fmt: skip
        return weights(model)

    found = []
    stopped = train(None, pooled(views, "valid"), found)
    assert 1 <= found[0] < 80
    empty = pooled(unwatched, "valid")
    assert same(train(found[0], empty), stopped) and not same(train(found[0] + 1, empty), stopped)


def test_shared_baselines_of_new_tasks_are_refit_on_every_training_row(sinusoids, monkeypatch) -> None:
    # Meta-learners train on every row of the training tasks. Multi-task and transfer pretraining
    # first early-stop on a fifth of those rows, then refit on all of them for the epochs found.
    import probes.paradigms.mtl as mtl_module
    import probes.paradigms.transfer as transfer_module
    from probes.paradigms._training import train_stacked

    taskset, prepared = sinusoids
    fold = prepared[0]
    every_row = sorted(np.concatenate([fold.tasks[t].rows_train for t in fold.train_tasks]).tolist())

    calls: list[tuple[list[int], list[int], int | None, list[int]]] = []
    fit = mtl_module.fit_hard_sharing

    def rows(views, part):
        return sorted(np.concatenate([getattr(v, f"rows_{part}") for v in views]).tolist())

    def spy_fit(X, views, params, ctx, **kwargs):
        epochs = kwargs.setdefault("epochs_used", [])
        out = fit(X, views, params, ctx, **kwargs)
        calls.append((rows(views, "train"), rows(views, "valid"), ctx.max_epochs, epochs))
        return out

    monkeypatch.setattr(mtl_module, "fit_hard_sharing", spy_fit)
    mtl_module.fit_trunk_for_new_tasks(fold, {}, RunContext(budget=Budget(None), seed=0, max_epochs=60, patience=5))
    (train1, valid1, cap1, found), (train2, valid2, cap2, _) = calls
    assert sorted(train1 + valid1) == every_row and valid1
    assert 1 <= found[0] <= 60 and cap1 == 60
    assert (train2, valid2, cap2) == (every_row, [], found[0])

    stacked: list[tuple[bytes, int, int, list[int]]] = []

    def spy_stacked(model, train, valid, classification, cfg, ctx, **kwargs):
        epochs = kwargs.setdefault("epochs_used", [])
        out = train_stacked(model, train, valid, classification, cfg, ctx, **kwargs)
        n = int(train.n[0])
        stacked.append((np.sort(train.X[0, :n].numpy(), axis=0).tobytes(), int(valid.n.sum()), cfg.max_epochs, epochs))
        return out

    monkeypatch.setattr(transfer_module, "train_stacked", spy_stacked)
    assert run_variant(taskset, TRANSFER_FINETUNE, prepared[:1], budget=Budget(None), preset="fast").complete
    (_, valid1, _, found), (train2, valid2, cap2, _) = stacked
    assert valid1 > 0
    expected = np.sort(fold.X[every_row].astype(np.float32), axis=0).tobytes()
    assert (train2, valid2, cap2) == (expected, 0, found[0])

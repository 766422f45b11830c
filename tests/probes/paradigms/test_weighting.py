"""Property tests shared by every loss-weighting and gradient-surgery strategy.

Every strategy is reduced to the update it applies to shared parameters given per-task
gradients ``J`` (tasks x parameters): a gradient-surgery strategy aggregates ``J`` directly; a
loss weighting applies ``sum_t dL/dL_t · g_t``. The same properties are then checked for all.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from probes.paradigms.weighting import STRATEGIES, GradientSurgery, LossWeighting, MeanGradient, PCGrad

ALL = {**STRATEGIES, "mean": MeanGradient()}


def update(strategy, jacobian: torch.Tensor, losses: torch.Tensor | None = None, seed: int = 0) -> torch.Tensor:
    if isinstance(strategy, GradientSurgery):
        return strategy.aggregate(jacobian.clone(), torch.Generator().manual_seed(seed))
    assert isinstance(strategy, LossWeighting)
    n = jacobian.shape[0]
    losses = (losses if losses is not None else torch.ones(n)).to(jacobian.dtype).clone().requires_grad_(True)
    state = strategy.initial_state(n).to(jacobian.dtype)
    (weights,) = torch.autograd.grad(strategy.combine(losses, state), losses)
    return weights @ jacobian


matrices = arrays(np.float64, st.tuples(st.integers(1, 5), st.integers(1, 6)), elements=st.floats(-10, 10, width=32))


@pytest.mark.parametrize("name", sorted(ALL))
@settings(max_examples=60, deadline=None)
@given(jac=matrices)
def test_update_is_finite_and_parameter_shaped(name: str, jac: np.ndarray) -> None:
    out = update(ALL[name], torch.tensor(jac, dtype=torch.float64))
    assert out.shape == (jac.shape[1],) and torch.isfinite(out).all()


@pytest.mark.parametrize("name", sorted(ALL))
@settings(max_examples=60, deadline=None)
@given(g=arrays(np.float64, st.integers(1, 6), elements=st.floats(-10, 10, width=32)))
def test_single_task_follows_its_own_gradient(name: str, g: np.ndarray) -> None:
    grad = torch.tensor(g, dtype=torch.float64)
    out = update(ALL[name], grad.unsqueeze(0))
    # a positive multiple of the task's gradient
    assert torch.allclose(out, grad * (out @ grad) / (grad @ grad).clamp(min=1e-12), atol=1e-6)
    assert out @ grad >= -1e-9


@pytest.mark.parametrize("name", sorted(ALL))
@settings(max_examples=60, deadline=None)
@given(jac=arrays(np.float64, st.tuples(st.integers(2, 5), st.integers(1, 6)), elements=st.floats(0, 10, width=32)))
def test_without_conflict_every_task_gains(name: str, jac: np.ndarray) -> None:
    """Non-negative gradients never conflict: the update must not work against any task."""
    J = torch.tensor(jac, dtype=torch.float64)
    out = update(ALL[name], J)
    assert (J @ out >= -1e-6).all()


@pytest.mark.parametrize("name", sorted(ALL))
@settings(max_examples=40, deadline=None)
@given(jac=matrices, scale=st.floats(0.1, 10))
@example(jac=np.array([[-8.51404315e-14], [1.0]]), scale=7.0)  # a tiny conflicting gradient (found in CI)
def test_update_scales_with_the_gradients(name: str, jac: np.ndarray, scale: float) -> None:
    J = torch.tensor(jac, dtype=torch.float64)
    assert torch.allclose(update(ALL[name], J * scale), update(ALL[name], J) * scale, atol=1e-6 * (1 + scale) * 10)


@pytest.mark.parametrize("name", sorted(ALL))
def test_two_task_order_does_not_matter(name: str) -> None:
    J = torch.tensor([[1.0, 0.0, 2.0], [-1.0, 1.0, 0.5]], dtype=torch.float64)
    assert torch.allclose(update(ALL[name], J), update(ALL[name], J.flip(0)), atol=1e-9)


@pytest.mark.parametrize("name", sorted(ALL))
def test_strategies_do_not_modify_their_inputs(name: str) -> None:
    J = torch.tensor([[1.0, -2.0], [-1.0, 1.0], [0.5, 0.5]], dtype=torch.float64)
    before = J.clone()
    update(ALL[name], J)
    assert torch.equal(J, before)


def test_pcgrad_removes_the_conflicting_component() -> None:
    g1, g2 = torch.tensor([1.0, 0.0]), torch.tensor([-1.0, 1.0])
    out = PCGrad().aggregate(torch.stack([g1, g2]))
    # projected: g1' = g1 - (g1.g2/|g2|^2) g2 = [0.5, 0.5]; g2' = g2 - (g2.g1/|g1|^2) g1 = [0, 1]
    assert torch.allclose(out, torch.tensor([0.25, 0.75]))
    assert out @ g1 >= 0 and out @ g2 >= 0
    assert MeanGradient().aggregate(torch.stack([g1, g2])) @ g1 == 0.0


def test_uncertainty_weighting_down_weights_a_task_it_believes_noisy() -> None:
    strategy = STRATEGIES["uncertainty"]
    losses = torch.tensor([1.0, 1.0], requires_grad=True)
    state = torch.tensor([0.0, 2.0])  # log-variance of task 2 is higher
    (weights,) = torch.autograd.grad(strategy.combine(losses, state), losses)
    assert weights[1] < weights[0]
    # the optimum of s for a fixed loss L is log L: larger losses push their weight down
    s = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([s], lr=0.1)
    for _ in range(300):
        opt.zero_grad()
        strategy.combine(torch.tensor([4.0]), s).backward()
        opt.step()
    assert s.item() == pytest.approx(np.log(4.0), abs=0.05)

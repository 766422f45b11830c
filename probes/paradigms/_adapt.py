"""Few-shot adaptation of many copies of one network at once (``new_tasks``).

Every support set becomes one copy of a stacked network initialised from the same weights
(pretrained, meta-learned or random); all copies take full-batch steps together and their
query outputs are read at several step counts. Choosing the step count and learning rate on
validation tasks' episodes — never on test tasks — is what DESIGN.md §9 found decisive.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn

from probes.paradigms._backbone import StackedLinear, StackedMLP
from probes.paradigms._training import RunContext, stacked_arrays

__all__ = ["SweepStop", "finetune_episodes", "replicate"]

SweepStop = Callable[[int, torch.Tensor], bool]
"""``(steps, outputs) -> bool``: whether an adaptation may end at this checkpoint."""


def replicate(model: StackedMLP, copies: int) -> StackedMLP:
    """A ``copies``-copy network whose every copy starts from ``model``'s single copy."""
    if model.copies != 1:
        raise ValueError("replicate needs a single-copy network")
    clone = StackedMLP(model.in_features, model.config, model.out_features if _has_output(model) else None, copies)
    state = {k: v.detach().expand(copies, *v.shape[1:]).clone() for k, v in model.state_dict().items()}
    clone.load_state_dict(state)
    return clone.to(next(model.parameters()).device)


def _has_output(model: StackedMLP) -> bool:
    return isinstance(model[-1], StackedLinear)


def finetune_episodes(
    base: StackedMLP,
    supports: Sequence[tuple[np.ndarray, np.ndarray]],
    queries: Sequence[np.ndarray],
    *,
    classification: bool,
    checkpoints: Sequence[int],
    lr: float,
    ctx: RunContext,
    optimizer: str = "sgd",
    head_only: bool = False,
    weight_decay: float = 0.0,
    stop: SweepStop | None = None,
) -> dict[int, torch.Tensor]:
    """Fine-tune one copy of ``base`` per support set; query outputs at each checkpoint.

    Returns ``{steps: outputs (episodes, max_query_rows, out)}``; step 0 is the unadapted network.
    ``stop(steps, outputs)``, if given, is called at each checkpoint; once it returns true the
    adaptation ends there and later checkpoints are absent from the result.
    """
    d = base.in_features
    model = replicate(base, len(supports))
    support = stacked_arrays(supports, ctx.device, d)
    query = stacked_arrays([(q, np.zeros(len(q), dtype=np.float32)) for q in queries], ctx.device, d)
    trainable = list(model[-1].parameters()) if head_only else list(model.parameters())
    for p in model.parameters():
        p.requires_grad_(False)
    for p in trainable:
        p.requires_grad_(True)
    # Plain SGD is applied by hand (the same update as torch.optim.SGD without momentum, bit for
    # bit): on these small stacked networks the optimizer's per-step bookkeeping made a 300-step
    # adaptation about 1.5x slower.
    opt = torch.optim.Adam(trainable, lr=lr, weight_decay=weight_decay) if optimizer == "adam" else None
    mask = support.mask.float()
    outputs: dict[int, torch.Tensor] = {}
    wanted = sorted(set(checkpoints))
    model.train()
    for step in range(wanted[-1] + 1):
        if step in wanted:
            model.eval()
            with torch.no_grad():
                outputs[step] = model(query.X).detach()
            model.train()
            if stop is not None and stop(step, outputs[step]):
                break
        if step == wanted[-1]:
            break
        if step % 20 == 0:
            ctx.budget.check("few-shot adaptation")
        out = model(support.X)
        if classification:
            per = nn.functional.cross_entropy(out.permute(0, 2, 1), support.y.long(), reduction="none")
        else:
            per = (out[..., 0] - support.y) ** 2
        loss = ((per * mask).sum(1) / mask.sum(1).clamp(min=1)).sum()
        grads = torch.autograd.grad(loss, trainable)
        if opt is not None:
            for p, g in zip(trainable, grads, strict=True):
                p.grad = g
            opt.step()
        else:
            with torch.no_grad():
                for p, g in zip(trainable, grads, strict=True):
                    p.add_(g + weight_decay * p if weight_decay else g, alpha=-lr)
    return outputs

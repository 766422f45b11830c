"""Wall time of one MAML meta-gradient: tasks as copies of a stacked network vs ``torch.func.vmap``.

    python -m benchmarks.bench_meta_step [--repeats 5] [--steps 200] [--out benchmarks/results/meta_step.md]

The probes' MAML family (:mod:`probes.paradigms.meta`) used to map the meta-batch's tasks with
``vmap(grad(...))``; it now runs them as the copies of one stacked network and differentiates
the inner steps with ``create_graph``. This script times both on the probe's shapes (meta-batch
16, support 16, query 25, the default 2 x 64 MLP) for second-order MAML and for first-order
MAML, checks that they give the same meta-gradient, and reports the median of ``--repeats``
runs of ``--steps`` meta-gradients each, the two implementations alternating. The ``vmap``
version is kept here only as the baseline.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from pathlib import Path

import torch
from torch.func import grad, vmap

from probes.paradigms._backbone import BackboneConfig, build_mlp
from probes.paradigms.meta import MetaConfig, TaskLoss, make_loss, maml_gradients

Params = dict[str, torch.Tensor]


def _vmap_gradients(loss: TaskLoss, params: Params, batch: tuple[torch.Tensor, ...], cfg: MetaConfig) -> Params:
    """The former implementation: ``vmap`` over tasks of a per-task ``grad`` (the baseline)."""
    xs, ys, xq, yq = batch
    ms, mq = torch.ones_like(ys), torch.ones_like(yq)

    def adapt(p: Params, x: torch.Tensor, y: torch.Tensor, m: torch.Tensor) -> Params:
        for _ in range(cfg.inner_steps):
            g = grad(loss)(p, x, y, m)
            p = {k: v - cfg.inner_lr * g[k] for k, v in p.items()}
        return p

    if cfg.first_order:
        adapted = vmap(adapt, in_dims=(None, 0, 0, 0), randomness="different")(params, xs, ys, ms)
        grads = vmap(grad(loss), randomness="different")(adapted, xq, yq, mq)
        return {k: g.mean(0) for k, g in grads.items()}

    def query_loss(p: Params, *arrays: torch.Tensor) -> torch.Tensor:
        return loss(adapt(p, *arrays[:3]), *arrays[3:])

    def objective(p: Params) -> torch.Tensor:
        per_task = vmap(query_loss, in_dims=(None, 0, 0, 0, 0, 0, 0), randomness="different")
        return per_task(p, xs, ys, ms, xq, yq, mq).mean()

    return grad(objective)(params)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--features", type=int, default=10)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/meta_step.md"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = build_mlp(args.features, BackboneConfig(), 1)
    params = {k: v.detach() for k, v in model.named_parameters()}
    loss = make_loss(model, classification=False)
    batch = (
        torch.randn(16, 16, args.features),
        torch.randn(16, 16),
        torch.randn(16, 25, args.features),
        torch.randn(16, 25),
    )
    impls = {"stacked": maml_gradients, "vmap": _vmap_gradients}
    rows = []
    for label, cfg in {
        "MAML (second order), 1 inner step": MetaConfig(algorithm="maml", inner_steps=1),
        "MAML (second order), 3 inner steps": MetaConfig(algorithm="maml", inner_steps=3),
        "first-order MAML, 1 inner step": MetaConfig(algorithm="fomaml", inner_steps=1),
    }.items():
        got, want = maml_gradients(loss, params, batch, cfg), _vmap_gradients(loss, params, batch, cfg)
        error = max(float((got[k] - want[k]).abs().max()) for k in want)
        times: dict[str, list[float]] = {name: [] for name in impls}
        for _ in range(args.repeats):
            for name, fn in impls.items():
                start = time.perf_counter()
                for _ in range(args.steps):
                    fn(loss, params, batch, cfg)
                times[name].append((time.perf_counter() - start) / args.steps * 1000)
        stacked, looped = statistics.median(times["stacked"]), statistics.median(times["vmap"])
        rows.append((label, stacked, looped, looped / stacked, error))
        print(
            f"{label}: stacked {stacked:.2f} ms, vmap {looped:.2f} ms, {looped / stacked:.2f}x, max |diff| {error:.1e}"
        )

    lines = [
        "# MAML meta-gradient: stacked copies vs vmap",
        "",
        f"Meta-batch 16 tasks, support 16, query 25, {args.features} features, 2 x 64 MLP; "
        f"torch {torch.__version__}, 1 thread, {platform.machine()}, median of {args.repeats} x {args.steps} steps",
        "",
        "| meta-gradient | stacked (ms) | vmap (ms) | speed-up | max abs. difference |",
        "| --- | ---: | ---: | ---: | ---: |",
        *(f"| {label} | {s:.2f} | {v:.2f} | {r:.2f}x | {e:.1e} |" for label, s, v, r, e in rows),
        "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

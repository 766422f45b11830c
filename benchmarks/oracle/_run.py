"""Run the suite: for each case, the advisor's probes at the default budget and the oracle, cached.

Each case writes two small JSON files under ``benchmarks/cache`` — ``probes/<case>.json`` (the
advisor's rules-only recommendation, trimmed, with its wall time) and ``oracle/<case>.json`` —
keyed by the case's data/spec hash and the oracle version, so an interrupted run resumes where it
stopped and later runs reuse everything still valid. Cases run in worker processes (one torch
thread each).
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
import warnings
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from functools import partial
from pathlib import Path
from typing import Any

from benchmarks.oracle._cases import Case, cache_dir, suite_cases
from probes.oracle import FULL_BUDGET, ORACLE_VERSION, run_oracle

__all__ = [
    "PROBE_VERSION",
    "cache_kind",
    "cached_seeds",
    "load_cached",
    "oracle_runs",
    "run_case",
    "run_preset",
    "run_suite",
]

#: Bump when the probe runner or the rules change in a way that changes the cached recommendations.
PROBE_VERSION = "6"

#: The oracle's configuration for each kind of case (recorded in every cached result). Real data
#: (the suite's cases and the corpus) take ``advisor verify``'s full budget; generated cases the same
#: search with shorter training. ``n_trials`` is per variant and fold; the transfer variants' search
#: starts from two source groups and may choose four.
ORACLE_CONFIG: dict[str, dict[str, Any]] = {
    "generated": {**FULL_BUDGET, "max_epochs": 100, "patience": 10},
    "corpus": FULL_BUDGET,
    "real": FULL_BUDGET,
}


def _path(kind: str, case: Case) -> Path:
    return cache_dir() / kind / f"{case.slug}.json"


def load_cached(kind: str, case: Case) -> dict[str, Any] | None:
    """The cached ``probes`` or ``oracle`` result of ``case`` if it is still valid, else ``None``."""
    path = _path(kind, case)
    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    if data.get("key") != case.key:
        return None
    version = PROBE_VERSION if kind == "probes" else ORACLE_VERSION  # every oracle_seed<s> folder too
    if data.get("version") != version:
        return None
    return data


def cache_kind(seed: int) -> str:
    """The cache folder (under ``benchmarks/cache/``) of the seed-``seed`` oracles; seed 0 is the suite's own."""
    return "oracle" if seed == 0 else f"oracle_seed{seed}"


def cached_seeds() -> list[int]:
    """Seed 0 and every other seed with a cache folder, in order."""
    import re

    root = cache_dir()
    found = (re.fullmatch(r"oracle_seed(\d+)", p.name) for p in root.iterdir() if p.is_dir()) if root.is_dir() else ()
    return [0, *sorted(int(m.group(1)) for m in found if m and int(m.group(1)) > 0)]


def oracle_runs(case: Case, seeds: list[int] | None = None) -> list[dict[str, Any]]:
    """Every valid cached oracle run of ``case`` (seed order), from seed 0's folder and the others'."""
    return [r for s in (cached_seeds() if seeds is None else seeds) if (r := load_cached(cache_kind(s), case))]


def _write(kind: str, case: Case, payload: dict[str, Any]) -> None:
    path = _path(kind, case)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, indent=1, sort_keys=True) + "\n")
    tmp.replace(path)


def _trim(rec: dict[str, Any]) -> dict[str, Any]:
    """The recommendation without its bulky matrices and per-task rows (summaries are kept in ``features``)."""
    out = {k: v for k, v in rec.items() if k not in {"tasks", "relatedness", "learning_curves", "data"}}
    out["budget"] = {k: v for k, v in rec["budget"].items() if k != "phases"}
    return out


def run_probe_case(case: Case, *, seed: int = 0) -> dict[str, Any]:
    """The advisor at its default budget on ``case``: rules-only recommendation, meta-features and wall time."""
    from advisor._features import meta_features
    from advisor._recommender import rules_recommendation, versions
    from probes.data import load_taskset, profile_taskset
    from probes.runner import run_probes

    data, spec = case.load()
    started = time.perf_counter()
    taskset = load_taskset(data, **spec)
    profile = profile_taskset(taskset)
    report = run_probes(taskset, budget="fast", seed=seed)
    rec = rules_recommendation(report, profile, versions=versions())
    seconds = time.perf_counter() - started
    payload = rec.model_dump(mode="json")
    return {
        "key": case.key,
        "version": PROBE_VERSION,
        "case": case.id,
        "kind": case.kind,
        "spec": spec,
        "seconds": round(seconds, 3),
        "features": meta_features(rec),
        "recommendation": _trim(payload),
    }


def run_oracle_case(
    case: Case, *, seed: int = 0, machine: str | None = None, scheduler: str | None = None
) -> dict[str, Any]:
    """The oracle on ``case`` (configuration from :data:`ORACLE_CONFIG`); ``machine`` labels a run elsewhere."""
    data, spec = case.load()
    result = _timed_oracle(data, spec, case.kind, seed=seed, scheduler=scheduler)
    if machine:
        result["machine"] = machine
    return {"key": case.key, "version": ORACLE_VERSION, "case": case.id, "kind": case.kind, "spec": spec, **result}


def _timed_oracle(
    data: Any, spec: dict[str, Any], kind: str, *, seed: int, scheduler: str | None = None
) -> dict[str, Any]:
    """Load the task set and run the oracle with ``kind``'s configuration; ``seconds`` counts both.

    ``scheduler``: a Dask scheduler address the oracle's (variant, fold) units run on (same result).
    """
    from probes.data import load_taskset

    started = time.perf_counter()
    result = run_oracle(load_taskset(data, **spec), seed=seed, scheduler=scheduler, **ORACLE_CONFIG[kind])
    result["seconds"] = round(time.perf_counter() - started, 3)
    return result


def quiet_single_thread() -> None:
    """Worker set-up: one torch thread per process (workers run side by side) and no warnings."""
    warnings.filterwarnings("ignore")
    import torch

    torch.set_num_threads(1)


def run_case(
    case: Case,
    *,
    force: bool = False,
    oracle: bool = True,
    probes: bool = True,
    machine: str | None = None,
    scheduler: str | None = None,
) -> dict[str, Any]:
    """Probe and oracle for one case (or only one of them), reusing valid cached results unless ``force``."""
    quiet_single_thread()
    status: dict[str, Any] = {"case": case.id}
    steps: list[tuple[str, Callable[[Case], dict[str, Any]]]] = []
    if probes:
        steps.append(("probes", run_probe_case))
    if oracle:
        steps.append(("oracle", partial(run_oracle_case, machine=machine, scheduler=scheduler)))
    for kind, fn in steps:
        if not force and load_cached(kind, case) is not None:
            status[kind] = "cached"
            continue
        t0 = time.perf_counter()
        try:
            _write(kind, case, fn(case))
            status[kind] = f"{time.perf_counter() - t0:.1f} s"
        except Exception as exc:  # one broken case must not stop the suite
            status[kind] = f"failed: {type(exc).__name__}: {exc}"
            status["trace"] = traceback.format_exc(limit=4)
    return status


def run_suite(
    kind: str = "all",
    *,
    only: list[str] | None = None,
    workers: int = 1,
    force: bool = False,
    oracle: bool = True,
    probes: bool = True,
    machine: str | None = None,
    scheduler: str | None = None,
) -> None:
    """Run every (or ``only`` the named) case of ``kind`` that has no valid cached result.

    ``oracle=False`` runs only the probes, ``probes=False`` only the oracles (e.g. on a bigger
    machine: the probes' wall times must come from the machine the cost ratio is reported for).
    ``machine`` labels the oracles run here as run elsewhere (RESULTS.md marks their wall times).
    ``scheduler`` (a Dask scheduler address) runs the oracles' units on that cluster, case after
    case, instead of on a worker pool of this suite's own (the probes still run here: their wall
    times are the cost ratio's).
    """
    if not (oracle or probes):
        raise ValueError("nothing to run: both the probes and the oracle are turned off")
    cases = suite_cases(kind)
    if only:
        wanted = set(only)
        cases = [
            c for c in cases if c.id in wanted or any(c.id.startswith(w.rstrip("*")) for w in wanted if w.endswith("*"))
        ]
        if not cases:
            raise ValueError(f"no case matches {', '.join(only)}")
    todo = [
        c
        for c in cases
        if force or (probes and load_cached("probes", c) is None) or (oracle and load_cached("oracle", c) is None)
    ]
    print(
        f"{len(cases)} cases, {len(cases) - len(todo)} cached, {len(todo)} to run with {workers} worker(s)", flush=True
    )
    started = time.perf_counter()
    if workers <= 1 or scheduler is not None:
        for i, case in enumerate(todo, 1):
            status = run_case(case, force=force, oracle=oracle, probes=probes, machine=machine, scheduler=scheduler)
            print(f"[{i}/{len(todo)}] {json.dumps(status)}", flush=True)
    else:
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = {
                pool.submit(run_case, c, force=force, oracle=oracle, probes=probes, machine=machine): c for c in todo
            }
            for i, future in enumerate(as_completed(futures), 1):
                print(f"[{i}/{len(todo)}] {json.dumps(future.result())}", flush=True)
    print(f"done in {time.perf_counter() - started:.0f} s", file=sys.stderr)


def run_preset(name: str, *, out: str | None = None, seed: int = 0) -> dict[str, Any]:
    """The oracle (generated-case configuration) on a named clear-cut scenario; prints the verdict.

    Used to check the clear-cut expectations of the scenario tests against full-budget truth.
    """
    from benchmarks.scenarios import PRESETS, preset

    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose from {', '.join(sorted(PRESETS))}")
    warnings.filterwarnings("ignore")
    scenario = preset(name, seed=seed)
    spec = scenario.spec.model_dump(mode="json", exclude_none=True)
    result = {"preset": name, **_timed_oracle(scenario.frame, spec, "generated", seed=seed)}
    print(f"{name}: co-winners {', '.join(result['co_winners'])} in {result['seconds']:.0f} s")
    for paradigm, entry in result["paradigms"].items():
        gap = entry.get("gap_to_best")
        note = f", gap to best {gap['mean']:+.4f} [{gap['ci_low']:+.4f}, {gap['ci_high']:+.4f}]" if gap else " (best)"
        print(f"  {paradigm:9s} {entry['variant']:18s} {entry['score']:.4f}{note}")
    if out:
        Path(out).write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
    return result

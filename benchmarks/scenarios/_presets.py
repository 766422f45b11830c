"""Named clear-cut scenarios: each has a known right answer, for tests and the demo."""

from __future__ import annotations

from collections.abc import Callable

from benchmarks.scenarios._generator import Scenario, make_scenario, make_sinusoids

__all__ = ["PRESETS", "preset"]


def _single_task(seed: int) -> Scenario:
    return make_scenario(name="single_task", n_tasks=1, rows_per_task=400, seed=seed)


def _related_small(seed: int) -> Scenario:
    return make_scenario(name="related_small", n_tasks=12, rows_per_task=40, relatedness=0.95, noise=0.3, seed=seed)


def _unrelated_rich(seed: int) -> Scenario:
    return make_scenario(
        name="unrelated_rich", n_tasks=4, rows_per_task=1500, relatedness=0.0, n_clusters=4, noise=0.1, seed=seed
    )


def _scarce_target_related(seed: int) -> Scenario:
    return make_scenario(
        name="scarce_target_related",
        n_tasks=5,
        rows_per_task=800,
        target_rows=40,
        relatedness=0.95,
        noise=0.2,
        goal="target_task",
        seed=seed,
    )


def _scarce_target_loud(seed: int) -> Scenario:
    return make_scenario(
        name="scarce_target_loud",
        n_tasks=5,
        rows_per_task=800,
        target_rows=60,
        target_linear=True,
        relatedness=0.0,
        n_clusters=5,
        loud_sources=4,
        noise=0.1,
        goal="target_task",
        seed=seed,
    )


def _clusters(seed: int) -> Scenario:
    return make_scenario(name="clusters", n_tasks=9, n_clusters=3, relatedness=0.9, rows_per_task=150, seed=seed)


def _conflicting(seed: int) -> Scenario:
    return make_scenario(
        name="conflicting", n_tasks=4, relatedness=1.0, conflict_fraction=1.0, rows_per_task=200, seed=seed
    )


def _shifted(seed: int) -> Scenario:
    return make_scenario(name="shifted", n_tasks=4, shift=3.0, shifted_fraction=0.5, rows_per_task=200, seed=seed)


def _sinusoids(seed: int) -> Scenario:
    return make_sinusoids(n_tasks=40, rows_per_task=30, shots=5, seed=seed)


def _multi_target_partial(seed: int) -> Scenario:
    return make_scenario(
        name="multi_target_partial", layout="multi_target", n_tasks=4, rows_per_task=300, missing_labels=0.3, seed=seed
    )


def _classification(seed: int) -> Scenario:
    return make_scenario(
        name="classification", task_kind="classification", n_tasks=6, rows_per_task=120, positive_rate=0.3, seed=seed
    )


PRESETS: dict[str, Callable[[int], Scenario]] = {
    "single_task": _single_task,
    "related_small": _related_small,
    "unrelated_rich": _unrelated_rich,
    "scarce_target_related": _scarce_target_related,
    "scarce_target_loud": _scarce_target_loud,
    "clusters": _clusters,
    "conflicting": _conflicting,
    "shifted": _shifted,
    "sinusoids": _sinusoids,
    "multi_target_partial": _multi_target_partial,
    "classification": _classification,
}


def preset(name: str, *, seed: int = 0) -> Scenario:
    """The named scenario (see :data:`PRESETS`)."""
    try:
        return PRESETS[name](seed)
    except KeyError:
        raise KeyError(f"unknown scenario {name!r}; choose one of {', '.join(PRESETS)}") from None

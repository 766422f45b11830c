"""The canonical multi-task dataset: one shared feature frame and, per task, row positions and labels.

Both layouts of DESIGN.md §2 end up here. A task stores only the positions of its rows in the
shared frame and its encoded labels, so memory stays proportional to the data however many
tasks there are. In the multi-target layout a task uses the rows where its target is present
(partial labels).

Task-type inference (overridable with ``task_types``): a target is *classification* when its
values are not numeric (text, categories, booleans) or when it has exactly two distinct values;
otherwise it is *regression*. Integer targets with 3–20 values are regression with a warning,
since they may be classes (pass ``task_types="classification"``) or ratings.
"""

from __future__ import annotations

import difflib
import os
import shlex
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from probes.data._features import FeatureType, _ToBool, infer_feature_types
from probes.data._read import Limits, SourceInfo, read_source
from probes.data._spec import DatasetSpec, Goal, Layout, TaskKind, _task_name
from probes.exceptions import (
    ColumnNotFoundError,
    ConstantTargetError,
    DataError,
    EmptyTargetError,
    InvalidSpecError,
    NoFeaturesError,
    TaskNotFoundError,
    TaskTooSmallError,
    TooFewTasksError,
)
from probes.protocol._metrics import DEFAULT_METRICS, METRICS, metric_for
from probes.protocol._splits import MIN_TASKS, min_task_rows

__all__ = ["Task", "TaskSet", "build_taskset", "infer_task_kind", "load_taskset"]

#: A regression task is near-constant when its spread is below this share of the median task spread.
NEAR_CONSTANT_RATIO = 0.05


@dataclass(frozen=True, eq=False)
class Task:
    """One prediction task.

    Attributes
    ----------
    name:
        Target column (multi-target) or task-column value as text (task-column).
    kind:
        ``"classification"`` or ``"regression"``.
    target:
        The target column the labels come from.
    rows:
        Positions of the task's rows in ``TaskSet.features`` (sorted, int64).
    y:
        Labels aligned with ``rows``: float64 values (regression) or int64 class codes.
    classes:
        Original class labels, indexed by code (classification), else ``None``.
    metric:
        Name of the task's metric in :data:`probes.protocol.METRICS`.
    near_constant:
        Regression target whose spread is tiny next to the other tasks' (flagged, kept out of means).
    """

    name: str
    kind: TaskKind
    target: str
    rows: np.ndarray
    y: np.ndarray
    classes: tuple[Any, ...] | None
    metric: str
    near_constant: bool = False

    @property
    def n_rows(self) -> int:
        return len(self.rows)

    @property
    def n_classes(self) -> int:
        return len(self.classes) if self.classes is not None else 0

    def class_counts(self) -> dict[Any, int]:
        """Rows per original class label (classification)."""
        if self.classes is None:
            return {}
        counts = np.bincount(self.y.astype(int), minlength=len(self.classes))
        return {label: int(n) for label, n in zip(self.classes, counts, strict=True)}


@dataclass(frozen=True, eq=False)
class TaskSet:
    """Tasks over one shared feature frame, plus the spec and what loading noticed.

    Build one with :func:`load_taskset`. Features are kept raw (typed, not yet imputed or
    scaled); the protocol fits a :class:`~probes.data.Preprocessor` on each fold's training rows.
    """

    spec: DatasetSpec
    features: pd.DataFrame
    feature_types: dict[str, FeatureType]
    tasks: tuple[Task, ...]
    warnings: tuple[str, ...] = ()
    dropped_tasks: dict[str, str] = field(default_factory=dict)
    source: SourceInfo = field(default_factory=lambda: SourceInfo(name="<DataFrame>", format="dataframe"))

    @property
    def layout(self) -> Layout:
        return self.spec.layout

    @property
    def goal(self) -> Goal:
        return self.spec.goal

    @property
    def task_names(self) -> list[str]:
        return [t.name for t in self.tasks]

    @property
    def n_tasks(self) -> int:
        return len(self.tasks)

    @property
    def target_index(self) -> int | None:
        """Position of the target task under ``goal="target_task"``, else ``None``."""
        if self.spec.goal is not Goal.TARGET_TASK:
            return None
        return self.task_names.index(str(self.spec.target_task))

    def task(self, name: str) -> Task:
        """The task called ``name``."""
        for t in self.tasks:
            if t.name == name:
                return t
        raise TaskNotFoundError(f"No task named {name!r}; tasks are {_listing(self.task_names)}.")

    def with_tasks(self, tasks: tuple[Task, ...], *, warnings: tuple[str, ...] | None = None) -> TaskSet:
        """A TaskSet over the same features with other tasks (e.g. subsampled rows)."""
        return replace(self, tasks=tasks, warnings=self.warnings if warnings is None else warnings)


# --------------------------------------------------------------------------------------- loading


def load_taskset(
    data: str | os.PathLike[str] | pd.DataFrame,
    spec: DatasetSpec | dict[str, Any] | None = None,
    *,
    limits: Limits | None = None,
    **spec_fields: Any,
) -> TaskSet:
    """Read ``data`` and build the :class:`TaskSet` its spec describes.

    Either pass a :class:`DatasetSpec` (or the same as a mapping, e.g. parsed JSON) or its fields as keywords.

    Examples
    --------
    >>> ts = load_taskset("school.csv.gz", targets="exam_score", task_column="school_id")  # doctest: +SKIP
    >>> ts.n_tasks  # doctest: +SKIP
    139
    """
    if spec is not None and spec_fields:
        raise InvalidSpecError(f"Pass either spec= or spec fields, not both (got spec and {sorted(spec_fields)}).")
    if spec is None:
        if not spec_fields.get("targets"):
            raise InvalidSpecError("No target given: name the column(s) to predict with targets=[...] (CLI: --target).")
        spec = DatasetSpec(**spec_fields)
    elif isinstance(spec, dict):
        spec = DatasetSpec.from_dict(spec)
    elif not isinstance(spec, DatasetSpec):
        raise InvalidSpecError(
            f"spec must be a DatasetSpec or a mapping of its fields, got {type(spec).__name__}; "
            "to name the target alone, pass targets=... (CLI: --target) instead."
        )
    if limits is not None and not isinstance(limits, Limits):
        raise InvalidSpecError(f"limits must be a probes.data.Limits, got {type(limits).__name__}.")
    frame, source = read_source(data, limits=limits, name_columns=tuple(filter(None, [spec.task_column])))
    return build_taskset(frame, spec, source=source)


def build_taskset(frame: pd.DataFrame, spec: DatasetSpec, *, source: SourceInfo | None = None) -> TaskSet:
    """Validate ``frame`` against ``spec`` and split it into tasks (the frame is not modified)."""
    warnings: list[str] = list(source.notes) if source else []
    _check_columns(frame, spec)
    _check_size(frame, spec)
    feature_columns = _feature_columns(frame, spec, warnings)
    if spec.layout is Layout.MULTI_TARGET:
        tasks, dropped = _multi_target_tasks(frame, spec, warnings)
    else:
        tasks, dropped = _task_column_tasks(frame, spec, warnings)
    tasks = _flag_near_constant(tasks, warnings)
    _check_goal(spec, tasks, dropped)
    _check_metric(spec, tasks, warnings)
    features = frame[feature_columns]
    feature_types = infer_feature_types(features)
    warnings.extend(_leak_warnings(features, feature_types, tasks))
    return TaskSet(
        spec=spec,
        features=features,
        feature_types=feature_types,
        tasks=tuple(tasks),
        warnings=tuple(warnings),
        dropped_tasks=dropped,
        source=source or SourceInfo(name="<DataFrame>", format="dataframe"),
    )


def _check_size(frame: pd.DataFrame, spec: DatasetSpec) -> None:
    """A table smaller than one task may be: refused for its size before anything else (its columns
    are all constant too, but that is not what to fix)."""
    need = min_task_rows(spec.goal.value, "regression", spec.shots)
    if len(frame) < need:
        raise TaskTooSmallError(
            f"The data has too few rows: {_rows(len(frame))}, fewer than the {need} a single task needs. "
            "Add rows (every task needs at least that many).",
            details={"rows": len(frame), "needed": need},
        )


# ---------------------------------------------------------------------------------------- leaks

#: A numeric feature this predictive of a target on its own (ROC-AUC, or |Spearman ρ|) is flagged.
LEAK_SCORE = 0.995
_LEAK_MIN_ROWS = 30
#: Rows of each class below which a perfect split means little (one positive row is split by chance).
_LEAK_MIN_CLASS_ROWS = 10
#: The check screens at most this many rows per target (a random sample, fixed seed): a leak shows on any.
_LEAK_SAMPLE_ROWS = 5_000


def _leak_warnings(features: pd.DataFrame, feature_types: dict[str, FeatureType], tasks: list[Task]) -> list[str]:
    """A warning per target that a numeric or yes/no feature predicts almost perfectly on its own.

    Such a feature is more often the label in disguise (heart disease's ``num`` next to
    ``disease = num > 0``) or something known only afterwards than a real signal, and every
    paradigm scores near 1 with it, so the comparison says nothing. Binary and regression
    targets, rows of all their tasks pooled; a warning, not an error: only the user knows.
    """
    out = []
    by_target: dict[str, list[Task]] = {}
    for task in tasks:
        by_target.setdefault(task.target, []).append(task)
    numeric = [c for c, kind in feature_types.items() if kind == "numeric"]
    flags = [c for c, kind in feature_types.items() if kind == "boolean"]  # yes/no, true/false: as 1/0
    text = [c for c in numeric if not pd.api.types.is_numeric_dtype(features[c].dtype)]  # numbers read as text
    columns = numeric + flags
    for target, group in by_target.items():
        binary = group[0].kind == "classification"
        if binary and any(t.classes != group[0].classes or t.n_classes != 2 for t in group):
            continue
        rows = np.concatenate([t.rows for t in group])
        y = np.concatenate([t.y for t in group]).astype(float)
        if len(rows) > _LEAK_SAMPLE_ROWS:
            keep = np.sort(np.random.default_rng(0).choice(len(rows), _LEAK_SAMPLE_ROWS, replace=False))
            rows, y = rows[keep], y[keep]
        frame = features[numeric].iloc[rows]
        if text:
            frame = frame.assign(**{c: pd.to_numeric(frame[c], errors="coerce") for c in text})
        block = frame.to_numpy(dtype=float, na_value=np.nan)
        if flags:
            block = np.column_stack([block, _ToBool().transform(features[flags].iloc[rows])])
        complete = np.isfinite(block).all(axis=0)
        scores = np.full(len(columns), np.nan)
        if complete.any() and _usable_labels(y, binary):  # columns without gaps: ranked all at once
            scores[complete] = _single_feature_scores(block[:, complete], y, binary)
        for j in np.flatnonzero(~complete):
            ok = np.isfinite(block[:, j])
            if ok.sum() >= _LEAK_MIN_ROWS and _usable_labels(y[ok], binary):
                scores[j] = _single_feature_scores(block[ok, j : j + 1], y[ok], binary)[0]
        hits = [(columns[j], float(scores[j])) for j in np.flatnonzero(scores >= LEAK_SCORE)]
        if hits:
            shown = ", ".join(f"{c!r} ({'ROC-AUC' if binary else '|Spearman ρ|'} {v:.3f})" for c, v in hits[:5])
            out.append(
                f"Feature(s) {shown} predict target {target!r} almost perfectly on their own. If they are derived "
                "from the label or not known at prediction time, leave them out (ignore=[...]; CLI: --ignore): "
                "with them every paradigm scores near the top and the comparison says little."
            )
    return out


def _usable_labels(y: np.ndarray, binary: bool) -> bool:
    """Enough rows of each class (binary), or a target that varies (regression), for the check to mean anything."""
    if binary:
        return min(int((y == 1).sum()), int((y != 1).sum())) >= _LEAK_MIN_CLASS_ROWS
    return len(y) >= _LEAK_MIN_ROWS and len(np.unique(y)) > 1


def _single_feature_scores(x: np.ndarray, y: np.ndarray, binary: bool) -> np.ndarray:
    """Per column of ``x``: ROC-AUC as a score for class 1 (either direction), or |Spearman ρ| with ``y``."""
    from scipy.stats import rankdata

    rx = rankdata(x, axis=0)
    if binary:
        positive = y == 1
        n1, n0 = int(positive.sum()), int((~positive).sum())
        auc = (rx[positive].sum(axis=0) - n1 * (n1 + 1) / 2) / (n1 * n0)
        return np.maximum(auc, 1 - auc)
    ry = rankdata(y)
    rx, ry = rx - rx.mean(axis=0), ry - ry.mean()
    with np.errstate(invalid="ignore", divide="ignore"):  # a constant column: no correlation (nan)
        return np.abs(ry @ rx) / (np.sqrt((rx**2).sum(axis=0)) * np.sqrt((ry**2).sum()))


# ---------------------------------------------------------------------------------------- columns


def _listing(names: list[str], limit: int = 12) -> str:
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f", … ({len(names) - limit} more)" if len(names) > limit else "")


def _check_columns(frame: pd.DataFrame, spec: DatasetSpec) -> None:
    columns = [str(c) for c in frame.columns]
    present = set(columns)
    roles: list[tuple[str, str, str]] = [
        (t, "target", "Pass one of them as a target (CLI: --target).") for t in spec.targets
    ]
    if spec.task_column is not None:
        roles.append(
            (spec.task_column, "task column", "Pass the column that names each row's task (CLI: --task-column).")
        )
    roles += [(c, "feature", "Remove it from features (CLI: --feature).") for c in spec.features or []]
    roles += [(c, "ignored column", "Remove it from ignore (CLI: --ignore).") for c in spec.ignore]
    for name, role, fix in roles:
        if name not in present:
            close = difflib.get_close_matches(name, columns, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ColumnNotFoundError(
                f"The {role} {name!r} is not a column of the data.{hint} Columns are: {_listing(columns)}. {fix}",
                details={"column": name, "role": role, "columns": columns[:200]},
            )
    used = {name for name, _, _ in roles if name not in spec.ignore}
    if spec.features is None:
        used |= present - set(spec.ignore)
    nested = [c for c in columns if c in used and _holds_nested(frame[c])]
    if nested:
        raise DataError(
            f"Column(s) {_listing(nested)} hold nested values (lists, dicts or arrays), which cannot be features, "
            "targets or task names. Flatten them into plain columns, or leave them out with ignore=[...] "
            "(CLI: --ignore).",
            details={"columns": nested},
        )


def _holds_nested(column: pd.Series) -> bool:
    """Whether an object column holds lists, dicts, sets or arrays (JSON Lines arrays, Parquet lists/structs)."""
    if column.dtype != object:
        return False
    return bool(column.map(lambda v: isinstance(v, list | dict | set | tuple | np.ndarray)).any())


def _feature_columns(frame: pd.DataFrame, spec: DatasetSpec, warnings: list[str]) -> list[str]:
    special = set(spec.targets) | ({spec.task_column} if spec.task_column else set()) | set(spec.ignore)
    candidates = list(spec.features) if spec.features is not None else [c for c in frame.columns if c not in special]
    kept: list[str] = []
    empty: list[str] = []
    constant: list[str] = []
    for col in candidates:
        column = frame[col]
        n_unique = column.nunique(dropna=True)
        if n_unique == 0:
            empty.append(col)
        elif n_unique == 1 and not column.isna().any():
            constant.append(col)
        else:
            kept.append(col)
            if _looks_like_row_id(column):
                warnings.append(
                    f"Feature {col!r} looks like a row identifier (consecutive unique integers); "
                    "leave it out with ignore=[...] (CLI: --ignore) unless it carries information."
                )
    if empty:
        warnings.append(f"Dropped feature column(s) with no values at all: {_listing(empty)}.")
    if constant:
        warnings.append(f"Dropped constant feature column(s): {_listing(constant)}.")
    if not kept:
        described = [f"targets {spec.targets}"]
        if spec.task_column:
            described.append(f"task column {spec.task_column!r}")
        if spec.ignore:
            described.append(f"ignored {spec.ignore}")
        if empty or constant:
            described.append(f"empty or constant {empty + constant}")
        raise NoFeaturesError(
            f"No feature columns are left: of the columns {_listing([str(c) for c in frame.columns])}, "
            f"{', '.join(described)} are not features. Add columns that describe each row, or ignore fewer "
            "(CLI: --ignore).",
            details={"columns": [str(c) for c in frame.columns]},
        )
    return kept


def _looks_like_row_id(column: pd.Series) -> bool:
    if not pd.api.types.is_integer_dtype(column.dtype) or len(column) < 20:
        return False
    values = column.to_numpy()
    return bool(len(np.unique(values)) == len(values) and values.max() - values.min() == len(values) - 1)


# ---------------------------------------------------------------------------------------- targets


def infer_task_kind(values: pd.Series) -> tuple[TaskKind, str | None]:
    """Kind of a target column (the rule in the module docstring) and a note when it is a guess."""
    present = values.dropna()
    if pd.api.types.is_bool_dtype(present.dtype):
        return "classification", None
    numeric = _as_numeric(present)
    if numeric is None:
        return "classification", None
    n_unique = int(pd.Series(numeric).nunique())
    if n_unique <= 2:
        return "classification", None
    if np.all(np.mod(numeric, 1) == 0) and n_unique <= 20:
        return "regression", (
            f"integer-valued with {n_unique} distinct values; treated as regression. "
            "If these are classes, set task_types='classification' (CLI: --task-type classification)."
        )
    return "regression", None


def _as_numeric(values: pd.Series) -> np.ndarray | None:
    """Numeric values of ``values`` when (almost) all are numbers, else ``None``."""
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        return values.to_numpy(dtype=float)
    parsed = pd.to_numeric(values.astype(str).str.strip(), errors="coerce")
    if len(parsed) and parsed.notna().mean() >= 0.99:
        return parsed.to_numpy(dtype=float)
    return None


def _encode_target(
    values: pd.Series, kind: TaskKind, target: str, classes: tuple[Any, ...] | None = None
) -> tuple[np.ndarray, tuple[Any, ...] | None]:
    """Labels as float64 values or int64 class codes (``classes`` fixes the code order)."""
    if kind == "regression":
        numeric = pd.to_numeric(values, errors="coerce")
        bad = values[numeric.isna() & values.notna()]
        if len(bad):
            raise DataError(
                f"Target {target!r} is regression but has non-numeric values such as {bad.iloc[0]!r}. "
                f"Clean those values, or set task_types='classification' (CLI: --task-type {shlex.quote(target + '=classification')}) "
                "if it holds classes.",
                details={"target": target, "example": str(bad.iloc[0])},
            )
        return numeric.to_numpy(dtype=float), None
    if classes is None:
        classes = _sorted_labels(values.unique())
    index = {label: code for code, label in enumerate(classes)}
    return np.fromiter((index[v] for v in values), dtype=np.int64, count=len(values)), classes


def _sorted_labels(labels: np.ndarray) -> tuple[Any, ...]:
    items = [v.item() if hasattr(v, "item") else v for v in labels]
    try:
        return tuple(sorted(items))
    except TypeError:
        return tuple(sorted(items, key=str))


def _target_kind(frame: pd.DataFrame, spec: DatasetSpec, target: str, warnings: list[str]) -> TaskKind:
    column = frame[target]
    present = column.dropna()
    if present.empty:
        raise EmptyTargetError(
            f"Target {target!r} has no values (every row is empty). Pick a target column with labels.",
            details={"target": target},
        )
    if present.dtype == object:
        _check_label_types(present, target)
    numeric = pd.to_numeric(present, errors="coerce") if present.dtype == object else present
    if numeric.notna().all() and pd.api.types.is_numeric_dtype(numeric) and not pd.api.types.is_bool_dtype(numeric):
        infinite = int(np.isinf(numeric.to_numpy(dtype=float, na_value=np.nan)).sum())
        if infinite:
            raise DataError(
                f"Target {target!r} is infinite on {infinite} row(s); a label must be a finite number. Replace "
                "those values, or leave them empty (unlabelled rows are allowed).",
                details={"target": target, "rows": infinite},
            )
    if present.nunique() < 2 and len(present) < min_task_rows(spec.goal.value, "regression", spec.shots):
        # too few rows to say anything, constant or not: report the size, which is what to fix
        need = min_task_rows(spec.goal.value, "regression", spec.shots)
        raise TaskTooSmallError(
            f"Target {target!r} has too few labelled rows: {_rows(len(present))}, fewer than the {need} the protocol "
            "needs per task. Add labelled rows, or pick another target (targets; CLI: --target).",
            details={"target": target, "rows": len(present), "needed": need},
        )
    if present.nunique() < 2:
        value = present.iloc[0]
        value = value.item() if hasattr(value, "item") else value
        raise ConstantTargetError(
            f"Target {target!r} has a single value ({value!r}) on every labelled row, so there is "
            "nothing to predict. Pick a target that varies.",
            details={"target": target, "value": str(value)},
        )
    override = spec.kind_override(target)
    if override is not None:
        kind = override
    else:
        _check_comma_numbers(present, target)
        kind, note = infer_task_kind(column)
        if note:
            warnings.append(f"Target {target!r} is {note}")
    if kind == "regression":
        _check_magnitude(numeric, target)
    return kind


#: A number as written with a thousands separator (1,234 or 12,345.5) or a decimal comma (3,5), or without either.
_COMMA_NUMBER = r"[+-]?\d{1,3}(,\d{3})*(\.\d+)?|[+-]?\d+(,\d+)?"


def _check_comma_numbers(present: pd.Series, target: str) -> None:
    """Refuse a target whose labels are all numbers written with commas (``1,234``).

    The reader keeps them as text when it cannot tell a thousands separator from three decimals;
    inferred from text, the target would silently become a classification with one class per value.
    """
    if pd.api.types.is_numeric_dtype(present.dtype) or not all(isinstance(v, str) for v in present.head(1000)):
        return
    written = pd.Series(present.unique()).astype(str).str.strip()
    commas = written[written.str.contains(",", regex=False)]
    if commas.empty or not written.str.fullmatch(_COMMA_NUMBER).all():
        return
    example = str(commas.iloc[0])
    raise DataError(
        f"Target {target!r} holds numbers written with commas, such as {example!r}: a thousands separator or "
        "a decimal comma? Re-save the file with 1234 or 1.234, or set task_types='classification' "
        f"(CLI: --task-type {shlex.quote(target + '=classification')}) if they are class labels.",
        details={"target": target, "example": example},
    )


#: Regression targets beyond this magnitude overflow the squares behind R², variances and float32 training.
_MAX_TARGET = 1e30


def _check_magnitude(numeric: pd.Series, target: str) -> None:
    values = pd.to_numeric(numeric, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    largest = float(np.nanmax(np.abs(values))) if np.isfinite(values).any() else 0.0
    if largest > _MAX_TARGET:
        raise DataError(
            f"Target {target!r} reaches {largest:.3g} in magnitude; regression needs values below {_MAX_TARGET:.0e} "
            "(squares and float32 training overflow beyond). Rescale it, e.g. divide by a power of ten or take logs.",
            details={"target": target, "largest": largest, "limit": _MAX_TARGET},
        )


def _check_label_types(present: pd.Series, target: str) -> None:
    """Refuse labels that differ only in type (``0`` and ``"0"`` from JSON Lines or a DataFrame): they
    would become two classes, and the profile could not tell them apart."""
    distinct = present.unique()
    if len({type(v) for v in distinct}) < 2:
        return
    by_text: dict[str, Any] = {}
    for value in distinct:
        text = str(value.item() if hasattr(value, "item") else value)
        if text in by_text:
            raise DataError(
                f"Target {target!r} holds {by_text[text]!r} and {value!r}, the same label written as "
                f"{type(by_text[text]).__name__} and {type(value).__name__}; write every label the same way "
                "(all numbers or all text).",
                details={"target": target, "label": text},
            )
        by_text[text] = value


def _multi_target_tasks(
    frame: pd.DataFrame, spec: DatasetSpec, warnings: list[str]
) -> tuple[list[Task], dict[str, str]]:
    tasks = []
    for target in spec.targets:
        kind = _target_kind(frame, spec, target, warnings)
        column = frame[target]
        mask = column.notna().to_numpy()
        rows = np.flatnonzero(mask)
        y, classes = _encode_target(column[mask], kind, target)
        if classes is not None:
            _check_classes(target, y, classes, warnings)
        need = min_task_rows(spec.goal, kind, spec.shots, len(classes or ()))
        if len(rows) < need:
            raise TaskTooSmallError(
                f"Target {target!r} has too few labelled rows: {_rows(len(rows))}, fewer than the {need} the protocol "
                "needs. Add labelled rows or drop this target (targets; CLI: --target).",
                details={"task": target, "rows": len(rows), "needed": need},
            )
        if len(rows) < len(frame):
            warnings.append(
                f"Target {target!r} is labelled on {len(rows):,} of {len(frame):,} rows (partial labels); "
                "its task uses those rows."
            )
        metric = metric_for(kind, spec.metric).name
        tasks.append(Task(target, kind, target, rows.astype(np.int64), y, classes, metric))
    return tasks, {}


def _check_classes(name: str, y: np.ndarray, classes: tuple[Any, ...], warnings: list[str]) -> None:
    counts = np.bincount(y, minlength=len(classes))
    single = [classes[i] for i in np.flatnonzero(counts == 1)]
    if single:
        warnings.append(
            f"Task {name!r}: class(es) {single[:5]} have a single row; they cannot appear in both training and test."
        )
    if len(classes) > 50:
        warnings.append(
            f"Task {name!r} has {len(classes)} classes; if the target is a quantity, set task_types='regression' "
            f"(CLI: --task-type {shlex.quote(name + '=regression')})."
        )


def _task_column_tasks(
    frame: pd.DataFrame, spec: DatasetSpec, warnings: list[str]
) -> tuple[list[Task], dict[str, str]]:
    target, task_col = spec.targets[0], str(spec.task_column)
    kind = _target_kind(frame, spec, target, warnings)
    task_values = frame[task_col]
    target_values = frame[target]
    no_task = task_values.isna().to_numpy()
    no_label = target_values.isna().to_numpy()
    if no_task.all():
        raise EmptyTargetError(
            f"Task column {task_col!r} has no values; every row needs the name of its task.",
            details={"task_column": task_col},
        )
    if no_task.any():
        warnings.append(f"Dropped {int(no_task.sum()):,} row(s) with no value in the task column {task_col!r}.")
    if (no_label & ~no_task).any():
        warnings.append(f"Dropped {int((no_label & ~no_task).sum()):,} row(s) with no value in the target {target!r}.")
    usable = ~no_task & ~no_label
    classes = None
    if kind == "classification":
        classes = _sorted_labels(target_values[usable].unique())

    usable_rows = np.flatnonzero(usable)
    codes, uniques = pd.factorize(task_values[usable])
    rows_of = dict(
        zip(
            uniques,
            np.split(usable_rows[np.argsort(codes, kind="stable")], np.cumsum(np.bincount(codes))[:-1]),
            strict=True,
        )
    )
    distinct = _ordered_task_values(task_values[usable])
    seen: dict[str, Any] = {}
    for value in distinct:
        name = _task_name(value)
        if name in seen:
            raise DataError(
                f"Task column {task_col!r} has values {seen[name]!r} and {value!r} that both read as task {name!r}; "
                "make the task names distinct.",
                details={"task_column": task_col, "name": name},
            )
        seen[name] = value

    tasks: list[Task] = []
    dropped: dict[str, str] = {}
    small: dict[str, int] = {}  # the tasks dropped for their size: name -> rows
    for name, value in seen.items():
        rows = rows_of[value]
        y, task_classes = _encode_target(target_values.iloc[rows], kind, target, classes)
        reason = _unusable_reason(spec, kind, y, task_classes)
        if reason:
            dropped[name] = reason
            if reason.startswith(_TOO_FEW_ROWS):
                small[name] = len(rows)
            continue
        if task_classes is not None:
            _check_classes(name, y, task_classes, [])
        metric = metric_for(kind, spec.metric).name
        tasks.append(Task(name, kind, target, rows.astype(np.int64), y, task_classes, metric))
    target_task = spec.target_task if spec.goal is Goal.TARGET_TASK else None
    if target_task is not None and target_task not in seen and target_task not in dropped:
        # a target task named in the task column but never labelled: say so, not "not a task in the data"
        # (other unlabelled tasks, such as rows kept to predict later, are left out quietly as before)
        unlabelled = {_task_name(v) for v in _ordered_task_values(task_values[~no_task & no_label])}
        if target_task in unlabelled:
            dropped[target_task] = "has no labelled rows: its target is empty on every row"

    if dropped:
        protected = spec.target_task if spec.goal is Goal.TARGET_TASK else None
        if spec.small_tasks == "error" or protected in dropped:
            name = protected if protected in dropped else next(iter(small), next(iter(dropped)))
            many = f" ({len(small)} of {len(seen)} tasks have too few rows)" if name in small and len(small) > 1 else ""
            if name == protected:
                fix = "Add rows to it, or choose another target task (target_task; CLI: --target-task)."
            elif name in small:
                fix = (
                    "Add rows to it, pass small_tasks='drop' (CLI: --small-tasks drop) to leave the small tasks "
                    f"out, or choose a task column whose tasks have more rows than {task_col!r} (task_column; "
                    "CLI: --task-column)."
                )
            else:
                fix = "Add rows to it, or pass small_tasks='drop' (CLI: --small-tasks drop)."
            raise TaskTooSmallError(
                f"Task {name!r} {dropped[name]}{many}. {fix}",
                details={"task": name, "reason": dropped[name], **({"rows": small[name]} if name in small else {})},
            )
        warnings.append(f"Dropped {len(dropped)} task(s) the protocol cannot evaluate: {_dropped_listing(dropped)}.")
        if len(tasks) < MIN_TASKS[spec.goal.value] and small and len(small) == len(dropped):
            _refuse_all_small(spec, kind, tasks, small)
    return tasks, dropped


def _refuse_all_small(spec: DatasetSpec, kind: TaskKind, tasks: list[Task], small: dict[str, int]) -> None:
    """Too few usable tasks left because tasks have too few rows: say so (the size), and how to fix it."""
    need = MIN_TASKS[spec.goal.value]
    largest = max(small.values())
    rows = "1 row" if largest == 1 else f"at most {largest:,} rows"
    every = "Every task" if not tasks else f"{len(small)} of {len(small) + len(tasks)} tasks"
    minimum = min_task_rows(spec.goal.value, kind, spec.shots)
    fixes = ["add rows to the tasks"]
    if spec.goal is Goal.NEW_TASKS:
        fixes.insert(0, f"lower shots (now {spec.shots}; CLI: --shots)")
    if largest == 1:
        fixes.append(
            f"choose another task column (task_column; CLI: --task-column): {spec.task_column!r} gives every row "
            "a task of its own, like a row id"
        )
    else:
        fixes.append(
            f"choose a task column whose tasks have more rows than {spec.task_column!r} "
            "(task_column; CLI: --task-column)"
        )
    hint = ", ".join(fixes[:-1]) + f", or {fixes[-1]}"
    raise TooFewTasksError(
        f"{every} has too few rows for the protocol: {len(small):,} task(s) with {rows} each, fewer than the "
        f"{minimum} a task needs, so {len(tasks)} usable task(s) remain and goal {spec.goal.value!r} needs "
        f"{need}. {hint[0].upper()}{hint[1:]}.",
        details={
            "goal": spec.goal.value,
            "tasks": len(tasks),
            "needed": need,
            "min_rows": minimum,
            "too_small": dict(list(small.items())[:200]),
        },
    )


def _dropped_listing(dropped: dict[str, str], limit: int = 5) -> str:
    """``'a' (why), 'b' (why) and N more``: the dropped tasks with their reasons."""
    shown = ", ".join(f"{n!r} ({r})" for n, r in list(dropped.items())[:limit])
    return shown + (f" and {len(dropped) - limit} more" if len(dropped) > limit else "")


def _ordered_task_values(values: pd.Series) -> list[Any]:
    distinct = values.unique()
    items = [v.item() if hasattr(v, "item") else v for v in distinct]
    try:
        return sorted(items)
    except TypeError:
        return sorted(items, key=str)


def _rows(n: int) -> str:
    return "1 row" if n == 1 else f"{n:,} rows"


#: How the reason of a task dropped for its size starts.
_TOO_FEW_ROWS = "has too few rows"


def _unusable_reason(spec: DatasetSpec, kind: TaskKind, y: np.ndarray, classes: tuple[Any, ...] | None) -> str | None:
    """Why a task cannot be evaluated (``None``: it can). The size comes first: a task of one row is
    constant too, but what to fix is its size."""
    present = int(np.count_nonzero(np.bincount(y.astype(int)))) if kind == "classification" else 0
    need = min_task_rows(spec.goal, kind, spec.shots, max(present, 2))
    if len(y) < need:
        return f"{_TOO_FEW_ROWS}: {_rows(len(y))}, fewer than the {need} the protocol needs"
    if kind == "classification" and present < 2:
        return "has a single class"
    if kind != "classification" and np.nanstd(y) == 0:
        return "has a constant target"
    return None


def _flag_near_constant(tasks: list[Task], warnings: list[str]) -> list[Task]:
    spreads = {t.name: float(np.std(t.y)) for t in tasks if t.kind == "regression"}
    if len(spreads) < 2:
        return tasks
    median = float(np.median(list(spreads.values())))
    flagged = [name for name, s in spreads.items() if s < NEAR_CONSTANT_RATIO * median]
    if not flagged:
        return tasks
    warnings.append(
        f"Task(s) {_listing(flagged)} barely vary (spread < {NEAR_CONSTANT_RATIO:.0%} of the median task's); "
        "their R² is unstable, so they are flagged and kept out of mean scores."
    )
    return [replace(t, near_constant=True) if t.name in flagged else t for t in tasks]


def _check_goal(spec: DatasetSpec, tasks: list[Task], dropped: dict[str, str]) -> None:
    need = MIN_TASKS[spec.goal.value]
    if len(tasks) < need:
        reason = {
            "target_task": "a target task and at least one source task",
            "new_tasks": f"at least {need} tasks to split into meta-training and held-out tasks",
        }.get(spec.goal.value, "at least one task")
        extra = f" ({len(dropped)} dropped: {_dropped_listing(dropped)})" if dropped else ""
        fixes = []
        if spec.goal is Goal.NEW_TASKS and dropped:
            fixes.append(f"lower shots (now {spec.shots}; CLI: --shots) so more tasks have enough rows")
        if spec.goal is not Goal.ALL_TASKS:
            fixes.append("use goal='all_tasks' (CLI: --goal all_tasks)")
        fixes.append("add rows to the dropped tasks" if dropped else "provide more tasks")
        hint = "; ".join(fixes)
        raise TooFewTasksError(
            f"Goal {spec.goal.value!r} needs {reason}, but the data has {len(tasks)} usable task(s){extra}. "
            f"{hint[0].upper()}{hint[1:]}.",
            details={"goal": spec.goal.value, "tasks": len(tasks), "needed": need, "dropped": dict(dropped)},
        )
    kinds = sorted({t.kind for t in tasks})
    if spec.goal is Goal.NEW_TASKS and len(kinds) > 1:
        # Meta-learners, transfer and the pooled score of held-out tasks assume one kind of task:
        # class codes would be learned as numbers and R2 weighed against ROC-AUC.
        by_kind = {k: [t.name for t in tasks if t.kind == k] for k in kinds}
        listing = "; ".join(f"{k}: {_listing(names)}" for k, names in by_kind.items())
        raise InvalidSpecError(
            f"Goal 'new_tasks' needs tasks of one kind, but these are of {len(kinds)} ({listing}). Advise on each "
            "kind separately (targets=[...] of one kind; CLI: --target), set task_types to make them one kind "
            "(CLI: --task-type), or use goal='all_tasks' (CLI: --goal all_tasks).",
            details={"goal": spec.goal.value, "kinds": by_kind},
        )
    if spec.goal is Goal.TARGET_TASK:
        names = [t.name for t in tasks]
        if spec.target_task not in names:
            close = difflib.get_close_matches(str(spec.target_task), names, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise TaskNotFoundError(
                f"target_task {spec.target_task!r} (CLI: --target-task) is not a task in the data.{hint} "
                f"Tasks are: {_listing(names)}.",
                details={"target_task": spec.target_task, "tasks": names[:200]},
            )


def _check_metric(spec: DatasetSpec, tasks: list[Task], warnings: list[str]) -> None:
    if spec.metric is None:
        return
    kinds, fits_kinds = {t.kind for t in tasks}, METRICS[spec.metric].kinds
    fits = sorted(fits_kinds)[0]
    others = sorted(kinds - fits_kinds)
    if others and kinds & fits_kinds:  # a mix: say which tasks keep their default
        keep = ", ".join(f"{k} tasks keep {DEFAULT_METRICS[k]}" for k in others)
        warnings.append(f"metric {spec.metric!r} applies to {fits} tasks only; {keep}.")
    if not kinds & fits_kinds:
        raise InvalidSpecError(
            f"metric {spec.metric!r} is for {fits} tasks, but every task here is {sorted(kinds)[0]}. "
            f"Choose one of {sorted(n for n, m in METRICS.items() if kinds & m.kinds)} (metric; CLI: --metric).",
            details={"metric": spec.metric},
        )

"""The one evaluation protocol (DESIGN.md §3): splits, metrics, fold scores, paired comparison."""

from probes.protocol._compare import (
    COMPLEXITY,
    Comparison,
    Decision,
    best_on_shared_folds,
    co_winners,
    compare,
    complexity,
    on_shared_folds,
    score_interval,
)
from probes.protocol._design import fit_preprocessor, fold_matrix, training_rows
from probes.protocol._metrics import DEFAULT_METRICS, METRICS, Metric, metric_for
from probes.protocol._scores import R2_FLOOR, FoldResult, aggregate_task_scores, score_fold, score_meta_fold
from probes.protocol._splits import (
    MIN_QUERY_ROWS,
    MIN_TASK_ROWS,
    MIN_TASKS,
    Episode,
    Fold,
    MetaFold,
    TaskSplit,
    make_folds,
    min_task_rows,
)

__all__ = [
    "COMPLEXITY",
    "DEFAULT_METRICS",
    "METRICS",
    "MIN_QUERY_ROWS",
    "MIN_TASKS",
    "MIN_TASK_ROWS",
    "R2_FLOOR",
    "Comparison",
    "Decision",
    "Episode",
    "Fold",
    "FoldResult",
    "MetaFold",
    "Metric",
    "TaskSplit",
    "aggregate_task_scores",
    "best_on_shared_folds",
    "co_winners",
    "compare",
    "complexity",
    "fit_preprocessor",
    "fold_matrix",
    "make_folds",
    "metric_for",
    "min_task_rows",
    "on_shared_folds",
    "score_fold",
    "score_interval",
    "score_meta_fold",
    "training_rows",
]

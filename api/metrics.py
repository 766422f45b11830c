"""Prometheus metrics of one service (``GET /metrics``), in a registry of its own: no global state.

* ``advisor_jobs{status}`` and ``advisor_queue_depth``: read from the job store at each scrape,
  so they count every process sharing the database;
* ``advisor_job_claim_wait_seconds``: from a job's submission to a worker claiming it;
* ``advisor_job_seconds{outcome}``: from the claim to the job's end (succeeded, failed,
  cancelled, requeued);
* ``advisor_requests_refused_total{code}``: submissions answered 413, 422 or 429, by error code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

__all__ = ["CONTENT_TYPE", "Metrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
_SECONDS = (0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600)


class _StoreCollector:
    """Job counts by status, asked of the store when Prometheus scrapes."""

    def __init__(self, count: Callable[[str], int]) -> None:
        self._count = count

    def collect(self) -> Iterator[Any]:
        jobs = GaugeMetricFamily("advisor_jobs", "Jobs in the store by status.", labels=["status"])
        counts = {status: self._count(status) for status in STATUSES}
        for status, n in counts.items():
            jobs.add_metric([status], n)
        yield jobs
        yield GaugeMetricFamily("advisor_queue_depth", "Jobs waiting for a worker.", value=counts["queued"])


class Metrics:
    """The service's metrics; ``count`` is the store's count of jobs with a status."""

    def __init__(self, count: Callable[[str], int]) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(_StoreCollector(count))  # type: ignore[arg-type]
        self.claim_wait = Histogram(
            "advisor_job_claim_wait_seconds", "From submission to a worker claiming the job.",
            buckets=_SECONDS, registry=self.registry,
        )  # fmt: skip
        self.job_seconds = Histogram(
            "advisor_job_seconds", "From the claim to the job's end.", ["outcome"],
            buckets=_SECONDS, registry=self.registry,
        )  # fmt: skip
        self.refused = Counter(
            "advisor_requests_refused", "Submissions refused before a job was made, by error code.", ["code"],
            registry=self.registry,
        )  # fmt: skip

    def render(self) -> bytes:
        return generate_latest(self.registry)

"""Load on a real ``advisor serve``: N concurrent submissions; all must succeed, none lost, no 5xx.

    python -m benchmarks.bench_service_load [--jobs 20] [--workers 2] [--time-limit 6] [--out benchmarks/results/service_load.md]

Starts the server as a subprocess on a free loopback port (a temporary data dir, SQLite), sends
``--jobs`` multipart uploads at once from as many threads (each a different seed, so none is
answered by idempotency), then polls every job to the end. Reports the submit latency (time to
the 202) at p50/p95/max, the time until every job finished, and the final statuses. Every loop
is bounded in count and time; traffic goes to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from benchmarks.scenarios import make_scenario

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low, high = int(position), min(int(position) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2, help="ADVISOR_WORKERS of the server")
    parser.add_argument("--time-limit", type=float, default=6.0, help="probe time limit of each job (s)")
    parser.add_argument("--timeout", type=float, default=600.0, help="give up after this many seconds")
    parser.add_argument("--out", type=Path, default=None, help="also write the table to this Markdown file")
    args = parser.parse_args()

    key = secrets.token_urlsafe(24)
    headers = {"Authorization": f"Bearer {key}"}
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    statuses: Counter[int] = Counter()
    with tempfile.TemporaryDirectory(prefix="advisor-load-") as folder:
        data = Path(folder) / "tasks.csv"
        make_scenario(n_tasks=2, rows_per_task=40, n_features=3, seed=0).frame.to_csv(data, index=False)
        payload = data.read_bytes()
        env = {**os.environ, "ADVISOR_API_KEYS": key, "ADVISOR_WORKERS": str(args.workers)}
        server, log = start_server(ROOT, env, Path(folder), port)
        try:
            _wait_ready(base, server, log.name)
            latencies: list[float] = [0.0] * args.jobs
            ids: list[str | None] = [None] * args.jobs
            barrier = threading.Barrier(args.jobs)

            def submit(i: int) -> None:
                with httpx.Client(timeout=120) as http:
                    barrier.wait()
                    started = time.perf_counter()
                    response = http.post(
                        f"{base}/v1/jobs",
                        headers=headers,
                        files={"file": ("tasks.csv", payload, "text/csv")},
                        data={
                            "spec": json.dumps({"targets": ["y"], "task_column": "task"}),
                            "time_limit": str(args.time_limit),
                            "seed": str(i),
                        },
                    )
                    latencies[i] = time.perf_counter() - started
                    statuses[response.status_code] += 1
                    if response.status_code == 202:
                        ids[i] = response.json()["id"]

            began = time.perf_counter()
            threads = [threading.Thread(target=submit, args=(i,)) for i in range(args.jobs)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            final = _poll_all(base, headers, [i for i in ids if i], statuses, args.timeout)
            all_done = time.perf_counter() - began
            with httpx.Client(timeout=30) as http:
                listed = http.get(f"{base}/v1/jobs", headers=headers, params={"limit": 100}).json()
                statuses[200] += 1
        finally:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(60)
            except subprocess.TimeoutExpired:
                server.kill()
            log.close()

    outcome = Counter(final.values())
    server_errors = sum(n for code, n in statuses.items() if code >= 500)
    lost = args.jobs - len({j for j in ids if j}) + (args.jobs - listed["total"])
    ok = outcome.get("succeeded", 0) == args.jobs and server_errors == 0 and lost == 0
    ms = [v * 1000 for v in latencies]
    table = "\n".join(
        [
            "| submissions | workers | job time limit (s) | submit p50 (ms) | submit p95 (ms) | submit max (ms) "
            "| all finished after (s) | succeeded | lost | 5xx |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
            f"| {args.jobs} | {args.workers} | {args.time_limit:g} | {statistics.median(ms):.0f} | "
            f"{_percentile(ms, 0.95):.0f} | {max(ms):.0f} | {all_done:.1f} | "
            f"{outcome.get('succeeded', 0)}/{args.jobs} | {lost} | {server_errors} |",
        ]
    )
    print(table)
    print(f"\nstatuses: {dict(outcome)}; HTTP codes seen: {dict(sorted(statuses.items()))}; {'OK' if ok else 'FAILED'}")
    if args.out is not None:
        note = (
            f"`python -m benchmarks.bench_service_load --jobs {args.jobs} --workers {args.workers} "
            f"--time-limit {args.time_limit:g}` on {platform.system()} {platform.machine()}, "
            f"{os.cpu_count()} cores, Python {platform.python_version()}; SQLite, one server process. "
            "Submit latency is the time to the 202 of a multipart upload (2 tasks x 40 rows), with every "
            "upload sent at once; the data are validated against the spec before the 202.\n"
        )
        args.out.write_text(f"# Service load\n\n{note}\n{table}\n", encoding="utf-8")
    return 0 if ok else 1


def start_server(tree: Path, env: dict[str, str], folder: Path, port: int) -> tuple[subprocess.Popen, Any]:
    """``advisor serve`` from ``tree`` on ``port``, its data and log (``server.log``) in ``folder``."""
    log = (folder / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "advisor", "serve", "--port", str(port), "--data-dir", str(folder / "data")],
        cwd=tree, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    return server, log


def _wait_ready(base: str, server: subprocess.Popen, log_name: str) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited:\n{Path(log_name).read_text()[-2000:]}")
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    raise SystemExit("the server did not become ready in 90 s")


def _poll_all(base: str, headers: dict[str, str], ids: list[str], statuses: Counter[int], timeout: float) -> dict:
    final: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=30) as http:
        while len(final) < len(ids) and time.monotonic() < deadline:
            for job_id in ids:
                if job_id in final:
                    continue
                response = http.get(f"{base}/v1/jobs/{job_id}", headers=headers)
                statuses[response.status_code] += 1
                body = response.json() if response.status_code == 200 else {}
                if body.get("status") in ("succeeded", "failed", "cancelled"):
                    final[job_id] = body["status"]
                    if body["status"] != "succeeded":
                        print(f"job {job_id} {body['status']}: {body.get('error')}", file=sys.stderr)
            time.sleep(0.5)
    for job_id in ids:
        final.setdefault(job_id, "unfinished")
    return final


if __name__ == "__main__":
    sys.exit(main())

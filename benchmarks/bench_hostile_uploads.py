"""Small files that describe huge tables: refused with 413, and what the server's memory peaks at.

    python -m benchmarks.bench_hostile_uploads [--baseline REF] [--write]

Builds the hostile files (Parquet files of a few hundred KB holding tens of millions of rows, a
Parquet file of 1,000,000 rows × 25 within the row limit, a gzipped CSV of 300,000 × 1,000 zeros, a
CSV over the row limit), then, for this tree and for git
revision ``REF`` (checked out into a temporary worktree), starts ``advisor serve`` with its
default limits once per file, uploads the file, and reads the answer and the high-water mark of
the server's memory: the sum of ``VmHWM`` over the server process and its children (an upper
bound of their joint peak). ``--write`` saves the table to
``benchmarks/results/hostile_uploads.md``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import secrets
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

from benchmarks.bench_service_load import _free_port, _wait_ready, start_server

ROOT = Path(__file__).resolve().parents[1]
BASELINE = "8c772f9"
SPEC = {"targets": ["y"]}


def _files(folder: Path) -> dict[str, Path]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = {}
    for rows in (20_000_000, 40_000_000):
        path = folder / f"zeros_{rows // 1_000_000}M.parquet"
        zeros = pa.array(np.zeros(rows, dtype=np.int8))
        pq.write_table(pa.table({"x": zeros, "y": zeros}), path, compression="zstd")
        out[f"Parquet, {rows:,} rows × 2"] = path
    million = folder / "million_wide.parquet"
    rng = np.random.default_rng(0)
    columns = {f"c{i}": pa.array(rng.integers(0, 100, 1_000_000, dtype=np.int16)) for i in range(24)}
    pq.write_table(pa.table({**columns, "y": pa.array(rng.normal(size=1_000_000))}), million, compression="zstd")
    out["Parquet, 1,000,000 rows × 25 (under the row limit)"] = million
    wide = folder / "wide.csv.gz"
    with gzip.open(wide, "wt", compresslevel=9) as fh:
        fh.write(",".join(["y"] + [f"c{i}" for i in range(999)]) + "\n")
        line = ",".join(["0"] * 1000) + "\n"
        for _ in range(300):
            fh.write(line * 1000)
    out["gzipped CSV, 300,000 rows × 1,000"] = wide
    long = folder / "long.csv"
    with long.open("w") as fh:
        fh.write("x,y\n")
        for _ in range(150):
            fh.write("1,2\n" * 10_000)
    out["CSV, 1,500,000 rows × 2"] = long
    return out


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants, from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                parents[int(entry.name)] = int(fields[1])
            except (OSError, IndexError, ValueError):
                continue
    found, frontier = [pid], [pid]
    while frontier:
        children = [p for p, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def _peak_mb(pid: int) -> float:
    total = 0
    for p in _tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def _upload(tree: Path, path: Path) -> tuple[int, str, float, float]:
    """Start a server from ``tree``, upload ``path``: (status, code, seconds, peak MB)."""
    key = secrets.token_urlsafe(24)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="advisor-hostile-") as folder:
        env = {**os.environ, "ADVISOR_API_KEYS": key, "ADVISOR_WORKERS": "1", "PYTHONPATH": str(tree)}
        server, log = start_server(tree, env, Path(folder), port)
        try:
            _wait_ready(base, server, log.name)
            started = time.perf_counter()
            with httpx.Client(timeout=600) as http, path.open("rb") as fh:
                response = http.post(
                    f"{base}/v1/jobs",
                    headers={"Authorization": f"Bearer {key}"},
                    files={"file": (path.name, fh, "application/octet-stream")},
                    data={"spec": json.dumps(SPEC), "time_limit": "5"},
                )
            seconds = time.perf_counter() - started
            time.sleep(1.0)  # a job accepted by mistake starts reading in the worker: let it show
            peak = _peak_mb(server.pid)
            code = response.json().get("code", "") if response.status_code >= 400 else ""
            return response.status_code, code, seconds, peak
        finally:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(60)
            except subprocess.TimeoutExpired:
                server.kill()
            log.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", default=BASELINE, help=f"git revision to compare with (default {BASELINE})")
    parser.add_argument("--write", action="store_true", help="also write benchmarks/results/hostile_uploads.md")
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="advisor-hostile-files-") as tmp:
        files = _files(Path(tmp))
        old = Path(tmp) / "baseline"
        subprocess.run(["git", "worktree", "add", "--detach", str(old), args.baseline], cwd=ROOT, check=True,
                       capture_output=True)  # fmt: skip
        try:
            for label, path in files.items():
                before = _upload(old, path)
                after = _upload(ROOT, path)
                rows.append((label, path.stat().st_size / 1024, before, after))
                print(f"{label}: before {before}, after {after}", flush=True)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(old)], cwd=ROOT, check=False)
    lines = [
        "# Hostile uploads: refused before the table is built",
        "",
        f"`python -m benchmarks.bench_hostile_uploads` — `advisor serve` with its default limits (1,000,000 rows, "
        f"1,000 columns, 20,000,000 cells, 100 MB), one fresh server per file, git `{args.baseline}` (before the "
        "cell limit) against this tree. Peak: the sum of the high-water marks of the server and its worker "
        "processes.",
        "",
        "| file | size (KB) | before: answer | before: peak (MB) | after: answer | after: peak (MB) | after: seconds |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, kb, before, after in rows:
        lines.append(f"| {label} | {kb:,.0f} | {before[0]} {before[1]} | {before[3]:,.0f} | {after[0]} {after[1]} "
                     f"| {after[3]:,.0f} | {after[2]:.1f} |")  # fmt: skip
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        (ROOT / "benchmarks" / "results" / "hostile_uploads.md").write_text(text)


if __name__ == "__main__":
    main()

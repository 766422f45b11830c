"""A throw-away PostgreSQL server for the tests, started from Debian's packages (initdb + pg_ctl).

Skips with the reason when it cannot start: no server binaries, no psycopg, or running as root
without a ``postgres`` user to run the server as (PostgreSQL refuses to run as root).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["postgres_server"]


def _bindir() -> Path | None:
    found = [Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin") if (Path(p) / "pg_ctl").exists()]
    found.sort(key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    return found[-1] if found else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """Yield the URL of a fresh server's ``postgres`` database (user ``advisor``, trust auth on 127.0.0.1).

    Raises ``RuntimeError`` with the reason when no server can be started.
    """
    bindir = _bindir()
    if bindir is None:
        raise RuntimeError("no PostgreSQL server under /usr/lib/postgresql/*/bin (apt-get install postgresql)")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise RuntimeError('psycopg is not installed (pip install -e ".[service]")') from None
    run_as: dict[str, object] = {}
    root = Path(tempfile.mkdtemp(prefix="advisor-pg-"))
    if os.geteuid() == 0:
        import pwd

        try:
            account = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(root, ignore_errors=True)
            raise RuntimeError("running as root and there is no 'postgres' user to run the server as") from None
        os.chown(root, account.pw_uid, account.pw_gid)
        run_as = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
    data, log, port = root / "data", root / "server.log", _free_port()
    try:
        subprocess.run(
            [bindir / "initdb", "-D", data, "-U", "advisor", "--auth=trust", "-E", "UTF8", "--no-sync"],
            check=True, capture_output=True, timeout=120, cwd=root, **run_as,
        )  # fmt: skip
        options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        subprocess.run(
            [bindir / "pg_ctl", "-D", data, "-o", options, "-l", log, "-w", "-t", "60", "start"],
            check=True, capture_output=True, timeout=90, cwd=root, **run_as,
        )  # fmt: skip
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        tail = log.read_text(errors="replace")[-500:] if log.exists() else ""
        stderr = getattr(exc, "stderr", b"") or b""
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(
            f"PostgreSQL did not start: {exc}; {stderr.decode(errors='replace')[-300:]} {tail}"
        ) from None
    try:
        yield f"postgresql://advisor@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [bindir / "pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"],
            capture_output=True, timeout=60, cwd=root, **run_as,
        )  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)

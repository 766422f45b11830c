"""Content-addressed upload store: each dataset is kept once, under the SHA-256 of its bytes.

``data_dir/uploads/ab/abcdef….csv.gz``: the name is the hash plus the format suffix (the reader
picks the parser from it). Writes go to a temporary file first and are renamed into place, so
a half-written upload is never visible under a hash, and an identical upload costs no space.
An upload's modification time is its last use (a commit of the same bytes refreshes it), so
:meth:`UploadStore.remove_unused` can tell a just-sent upload from one no job needs any more.
Staging folders (``data_dir/tmp/tmp*``) hold an exclusive ``flock`` on their ``.owner`` file while
in use; the kernel drops it when the owning process dies, however it died, so a sweep removes a
killed process's folders at once instead of waiting a day.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import shutil
import stat
import tempfile
import threading
import time
from collections.abc import Iterator, Set
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

try:
    import fcntl
except ImportError:  # Windows: staging folders go by age alone
    fcntl = None  # type: ignore[assignment]

from advisor.exceptions import FileTooLargeError, UnsupportedFormatError
from probes.data import FORMATS

__all__ = ["Removed", "StagedUpload", "UploadStore", "data_suffix", "delete_file", "safe_name"]

logger = logging.getLogger("api")

_CHUNK = 1 << 20
#: The lock file inside a staging folder; its owner holds an exclusive flock on it.
_OWNER = ".owner"
#: A staging folder younger than this is never removed by the lock rule (its owner may not hold the lock yet).
_LOCK_GRACE_S = 60.0


@contextlib.contextmanager
def _owned_folder(parent: Path) -> Iterator[Path]:
    """A temporary folder under ``parent`` whose ``.owner`` file this process locks while the block runs."""
    parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=parent) as folder, contextlib.ExitStack() as stack:
        if fcntl is not None:
            handle = stack.enter_context((Path(folder) / _OWNER).open("w"))
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        yield Path(folder)


def _owner_gone(folder: Path) -> bool:
    """Whether the process that made ``folder`` is gone: its ``.owner`` lock can be taken (then it is dropped)."""
    if fcntl is None:
        return False
    try:
        handle = (folder / _OWNER).open("r+")
    except OSError:  # no lock file (another release, or a crash before it was made): the age rule decides
        return False
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False
        fcntl.flock(handle, fcntl.LOCK_UN)
        return True


#: A stored upload's file name: the SHA-256 of its bytes, then its format suffix.
_STORED = re.compile(r"(?P<sha256>[0-9a-f]{64})(?P<suffix>(?:\.[a-z0-9]+)+)")


def delete_file(path: Path) -> bool:
    """Delete ``path``; ``False`` when it was gone already or cannot be deleted (logged: a sweep goes on)."""
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    except OSError as exc:
        logger.warning("sweep: could not delete %s: %s", path, exc)
        return False
    return True


def data_suffix(filename: str) -> str:
    """The format suffix of ``filename`` (``.csv``, ``.parquet``, ``.csv.gz`` ...), or 415 when unsupported."""
    suffixes = [s.lower() for s in Path(filename).suffixes]
    compressed = bool(suffixes) and suffixes[-1] == ".gz"
    core = suffixes[:-1] if compressed else suffixes
    if core and core[-1] in FORMATS:
        return core[-1] + (".gz" if compressed else "")
    raise UnsupportedFormatError(
        f"'{filename}' is not a supported file type. Upload one of {', '.join(sorted(FORMATS))} "
        "(optionally gzipped, '.gz'), or send JSON records.",
        details={"filename": filename, "supported": sorted(FORMATS)},
    )


def safe_name(filename: str, suffix: str) -> str:
    """A harmless local file name that keeps the user's name where possible (for messages and the profile)."""
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(filename.replace("\\", "/")).name).strip("._") or "data"
    if not base.lower().endswith(suffix):
        base += suffix
    return base[-120:]


@dataclass(frozen=True)
class Removed:
    """What :meth:`UploadStore.remove_unused` did: bytes freed, and unused uploads kept as older than the store."""

    freed_bytes: int
    predating: int


@dataclass(frozen=True)
class StagedUpload:
    """An upload written to a temporary file and hashed, not yet in the store."""

    path: Path
    sha256: str
    n_bytes: int
    suffix: str


class UploadStore:
    """Uploaded datasets under ``root``, addressed by content."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._lock = threading.Lock()

    def path(self, sha256: str, suffix: str) -> Path:
        """Where the upload with this hash and suffix lives."""
        return self.root / "uploads" / sha256[:2] / f"{sha256}{suffix}"

    def exists(self, sha256: str, suffix: str) -> bool:
        return self.path(sha256, suffix).is_file()

    @contextlib.contextmanager
    def stage(self, source: BinaryIO, *, suffix: str, name: str, max_bytes: int) -> Iterator[StagedUpload]:
        """Copy ``source`` to a temporary file named ``name``, hashing it; refuse more than ``max_bytes``.

        The temporary file is removed on exit; :meth:`commit` it first to keep it.
        """
        with _owned_folder(self.root / "tmp") as folder:
            target = folder / name
            digest = hashlib.sha256()
            n_bytes = 0
            with target.open("wb") as out:
                while chunk := source.read(_CHUNK):
                    n_bytes += len(chunk)
                    if n_bytes > max_bytes:
                        raise FileTooLargeError(
                            f"The upload is larger than the service's limit of {max_bytes / 1024 / 1024:g} MB. "
                            "Send a sample of the rows, or ask the operator to raise ADVISOR_MAX_UPLOAD_MB.",
                            details={"limit_bytes": max_bytes},
                        )
                    digest.update(chunk)
                    out.write(chunk)
            yield StagedUpload(path=target, sha256=digest.hexdigest(), n_bytes=n_bytes, suffix=suffix)

    def commit(self, staged: StagedUpload) -> Path:
        """Move a staged upload into the store; when the same content is already there, mark it just used."""
        final = self.path(staged.sha256, staged.suffix)
        with self._lock:  # never between a sweep's age check and its delete
            if final.is_file():
                try:
                    os.utime(final)
                    return final
                except FileNotFoundError:  # removed meanwhile: store it again below
                    pass
                except OSError:  # not ours to touch (another user's file): still the same bytes
                    return final
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged.path, final)  # atomic; two identical uploads racing both land the same bytes
        return final

    def remove_unused(
        self, keep: Set[tuple[str, str]], *, unused_for: float, now: float | None = None, since: float | None = None
    ) -> Removed:
        """Delete stored uploads that are not in ``keep`` and were last used ``unused_for`` seconds ago or more.

        ``keep`` holds ``(sha256, suffix)`` pairs, the data of every stored job. The age spares an
        upload between its commit and the insert of its job; the age check and the delete hold the
        lock :meth:`commit` takes, so an upload sent again meanwhile is kept. An upload last used
        before ``since`` (when the job store began) is kept and counted: it is another store's to
        judge. A file that cannot be deleted is logged and skipped.
        """
        cutoff = (time.time() if now is None else now) - unused_for
        freed = predating = 0
        for path in sorted((self.root / "uploads").glob("??/*")):
            match = _STORED.fullmatch(path.name)
            if match is None or (match["sha256"], match["suffix"]) in keep:
                continue
            with self._lock:
                try:
                    info = path.stat(follow_symlinks=False)
                except OSError:
                    continue
                if not stat.S_ISREG(info.st_mode) or info.st_mtime > cutoff:
                    continue
                if since is not None and info.st_mtime < since:
                    predating += 1
                elif delete_file(path):
                    freed += info.st_size
        return Removed(freed_bytes=freed, predating=predating)

    def remove_stale_staging(self, *, older_than: float, now: float | None = None) -> int:
        """Delete staging folders (``tmp*``) a crashed process left; returns how many.

        A folder goes as soon as its owner is gone (its ``.owner`` lock is free) and it is a minute
        old, or in any case once it is older than ``older_than`` seconds.
        """
        now = time.time() if now is None else now
        removed = 0
        for folder in (self.root / "tmp").glob("tmp*"):
            try:
                info = folder.stat(follow_symlinks=False)
            except OSError:
                continue
            if not stat.S_ISDIR(info.st_mode):
                continue
            expired = info.st_mtime <= now - older_than
            if not expired and not (info.st_mtime <= now - _LOCK_GRACE_S and _owner_gone(folder)):
                continue
            shutil.rmtree(folder, ignore_errors=True)
            if folder.exists():
                logger.warning("sweep: could not delete the stale staging folder %s", folder)
                continue
            removed += 1
        return removed

    @contextlib.contextmanager
    def named(self, sha256: str, suffix: str, name: str) -> Iterator[Path]:
        """The stored upload seen under the user's file name (a symbolic link in a temporary folder)."""
        stored = self.path(sha256, suffix)
        with _owned_folder(self.root / "tmp") as folder:
            link = folder / name
            try:
                link.symlink_to(stored.resolve())
            except OSError:  # no symlinks on this file system: read the stored name directly
                yield stored
                return
            yield link

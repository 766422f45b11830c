"""Standard streams for the CLI: consoles that never hard-wrap a pipe, and streams that outlive their reader."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["is_terminal", "readers_may_leave", "stdout_console"]

#: Console width when stdout is not a terminal: no line is ever broken (a table sizes itself to its content).
UNWRAPPED_WIDTH = 100_000


def is_terminal(stream: IO[str] | None) -> bool:
    """Whether ``stream`` is a terminal (a pipe, a file or a test's capture is not)."""
    try:
        return bool(stream is not None and stream.isatty())
    except (AttributeError, OSError, ValueError):
        return False


def stdout_console() -> Console:
    """A rich console on stdout: wrapped to the window on a terminal; never hard-wrapped elsewhere.

    Piped or redirected output keeps every line whole (a suggested command or a file path pasted
    from a log must still work), instead of rich's default 80 columns.
    """
    from rich.console import Console

    if is_terminal(sys.stdout):
        return Console(highlight=False)
    return Console(highlight=False, soft_wrap=True, width=UNWRAPPED_WIDTH)


class _ReaderMayLeave:
    """A standard stream that outlives its reader: once the pipe's reader has gone (``advisor ... | head -1``),
    the rest of what is written is dropped, and the command goes on to its own exit code.

    This is the recipe of Python's "Note on SIGPIPE" (https://docs.python.org/3/library/signal.html#note-on-sigpipe):
    the stream's file descriptor is pointed at ``os.devnull``, so that neither a later write nor the flush at
    interpreter exit raises ``BrokenPipeError`` again (and no traceback is printed). Unlike the recipe, the
    command is not stopped there: a ``--fail-on-risk`` gate still decides the exit code, and files named by
    ``--json``/``--html`` are still written.
    """

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._gone = False

    def write(self, text: str) -> int:
        if not self._gone:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self._reader_left()
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if not self._gone:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._reader_left()

    def _reader_left(self) -> None:
        self._gone = True
        try:
            fd = self._stream.fileno()
        except (AttributeError, OSError, ValueError):
            return  # not a real file (a test's capture): nothing is flushed at exit either
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, fd)
        finally:
            os.close(devnull)

    def __getattr__(self, name: str) -> Any:  # isatty, fileno, encoding, buffer...: the stream's own
        return getattr(self._stream, name)


@contextmanager
def readers_may_leave() -> Iterator[None]:
    """Within the block, stdout and stderr survive a reader that stops reading (see :class:`_ReaderMayLeave`)."""
    saved = sys.stdout, sys.stderr
    wrapped = [_ReaderMayLeave(s) if s is not None else None for s in saved]
    sys.stdout, sys.stderr = wrapped  # type: ignore[assignment]
    try:
        yield
        for stream in wrapped:  # what is still buffered meets a reader that has gone here, not at interpreter exit
            if stream is not None:
                # A refused write is reported by the caller (run() flushes stdout itself); stderr has nowhere to say it.
                with contextlib.suppress(OSError):
                    stream.flush()
    finally:
        sys.stdout, sys.stderr = saved

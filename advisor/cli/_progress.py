"""Progress on stderr for long work (the probes' ``progress(phase, fraction, message)`` callback).

On a terminal: a transient bar. Elsewhere (a log file, a pipe, CI): plain lines, one each time the
phase or its message changes (``advisor: probing mtl/hard (11%, 4 s)``), never one per update, with
no ANSI codes or spinners.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from advisor.cli._streams import is_terminal

__all__ = ["stderr_progress"]

Callback = Callable[[str, float, str], None]


@contextmanager
def stderr_progress(enabled: bool) -> Iterator[Callback]:
    """Yield a progress callback writing to stderr (a no-op when disabled).

    Nothing is written before the first update, so input errors found before any work starts are
    reported on a clean, single stderr line.
    """
    if not enabled:
        yield lambda phase, fraction, message: None
    elif is_terminal(sys.stderr):
        with _bar() as update:
            yield update
    else:
        yield _lines()


@contextmanager
def _bar() -> Iterator[Callback]:
    state: dict[str, Any] = {}

    def update(phase: str, fraction: float, message: str) -> None:
        if "bar" not in state:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            bar = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}", markup=False),  # messages name the data's tasks: text
                BarColumn(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            bar.start()
            state["bar"], state["task"] = bar, bar.add_task("starting", total=1.0)
        state["bar"].update(state["task"], completed=_clip(fraction), description=f"{phase}: {message}")

    try:
        yield update
    finally:
        if "bar" in state:
            state["bar"].stop()


def _lines() -> Callback:
    started = time.monotonic()
    last: tuple[str, str] | None = None

    def update(phase: str, fraction: float, message: str) -> None:
        nonlocal last
        if last == (phase, message):
            return  # the same step again (a poll, a tick): said already
        last = (phase, message)
        line = f"advisor: {_describe(phase, message)} ({_clip(fraction):.0%}, {time.monotonic() - started:.0f} s)"
        try:
            sys.stderr.write(" ".join(line.split()) + "\n")  # one line, whatever the message holds
            sys.stderr.flush()
        except (AttributeError, OSError, ValueError):
            pass  # progress never sinks a run (no stderr, stderr closed, a full disk)

    return update


def _describe(phase: str, message: str) -> str:
    if phase == "probe" and message:
        return f"probing {message.removeprefix('running ')}"  # a variant, a signal, a check
    if phase in ("prepare", "done") and message:
        return message  # "preparing folds", "probes finished"
    return f"{phase}: {message}" if message else phase


def _clip(fraction: float | None) -> float:
    try:
        return max(0.0, min(1.0, float(fraction or 0.0)))
    except (TypeError, ValueError):
        return 0.0

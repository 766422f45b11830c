"""A progress display on stderr for long work (the probes' ``progress(phase, fraction, message)`` callback)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["stderr_progress"]

Callback = Callable[[str, float, str], None]


@contextmanager
def stderr_progress(enabled: bool) -> Iterator[Callback]:
    """Yield a progress callback drawing a transient bar on stderr (a no-op when disabled).

    The bar starts at the first update, so input errors found before any work starts are
    reported on a clean, single stderr line.
    """
    if not enabled:
        yield lambda phase, fraction, message: None
        return
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
        state["bar"].update(state["task"], completed=max(0.0, min(1.0, fraction)), description=f"{phase}: {message}")

    try:
        yield update
    finally:
        if "bar" in state:
            state["bar"].stop()

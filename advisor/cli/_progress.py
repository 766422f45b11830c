"""A progress display on stderr for long work (the probes' ``progress(phase, fraction, message)`` callback)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["stderr_progress"]

Callback = Callable[[str, float, str], None]


@contextmanager
def stderr_progress(enabled: bool) -> Iterator[Callback]:
    """Yield a progress callback that draws a transient bar on stderr (a no-op when disabled)."""
    if not enabled:
        yield lambda phase, fraction, message: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("starting", total=1.0)

        def update(phase: str, fraction: float, message: str) -> None:
            bar.update(task, completed=max(0.0, min(1.0, fraction)), description=f"{phase}: {message}")

        yield update

"""Write the example datasets that ship inside the ``advisor`` package (used by ``advisor demo``).

``advisor`` must not import ``benchmarks``, so the demo reads a file generated here. Rebuild
with ``python -m benchmarks.scenarios.make_examples``; a test checks the shipped file matches.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from benchmarks.scenarios._presets import preset

__all__ = ["EXAMPLES", "example_frame", "write_examples"]

#: Shipped file name -> (preset, seed).
EXAMPLES: dict[str, tuple[str, int]] = {"related_tasks.csv.gz": ("related_small", 0)}

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "advisor" / "examples"


def example_frame(name: str) -> pd.DataFrame:
    """The frame of shipped example ``name``, as written (values rounded to 6 significant digits)."""
    preset_name, seed = EXAMPLES[name]
    frame = preset(preset_name, seed=seed).frame
    numeric = frame.select_dtypes("number").columns
    return frame.assign(**{c: frame[c].map(lambda v: float(f"{v:.6g}")) for c in numeric})


def write_examples(folder: Path = EXAMPLES_DIR) -> list[Path]:
    """Write every example into ``folder``; returns the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in EXAMPLES:
        path = folder / name
        example_frame(name).to_csv(path, index=False, compression={"method": "gzip", "mtime": 0})
        paths.append(path)
    return paths

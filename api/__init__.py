"""HTTP service (DESIGN.md §8): ``create_app(Settings(...))`` builds the FastAPI app ``advisor serve`` runs.

Names load lazily, so ``import api`` works (and costs nothing) without the ``service`` extra.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = ["Settings", "create_app"]

_LAZY = {"Settings": ("api.settings", "Settings"), "create_app": ("api.app", "create_app")}

if TYPE_CHECKING:
    from api.app import create_app
    from api.settings import Settings


def __getattr__(name: str) -> Any:
    try:
        module_name, attribute = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'api' has no attribute {name!r}") from None
    return getattr(importlib.import_module(module_name), attribute)


def __dir__() -> list[str]:
    return sorted(__all__)

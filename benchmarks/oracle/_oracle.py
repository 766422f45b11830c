"""The oracle's protocol lives in :mod:`probes.oracle` (``advisor verify`` runs it too); re-exported here."""

from __future__ import annotations

from probes.oracle import ORACLE_VERSION, oracle_preset, oracle_variants, run_oracle

__all__ = ["ORACLE_VERSION", "oracle_preset", "oracle_variants", "run_oracle"]

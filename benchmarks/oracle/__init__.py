"""The oracle benchmark: full-budget scores of every paradigm, the suite of cases, and its metrics."""

from benchmarks.oracle._oracle import ORACLE_VERSION, oracle_preset, oracle_variants, run_oracle

__all__ = ["ORACLE_VERSION", "oracle_preset", "oracle_variants", "run_oracle"]

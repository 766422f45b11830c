"""Real datasets (``../shared/data``) and their specs."""

from benchmarks.datasets._catalog import REAL_CASES, RealCase, shared_data_dir

__all__ = ["REAL_CASES", "RealCase", "shared_data_dir"]

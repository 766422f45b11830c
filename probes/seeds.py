"""Seeds: the one bound every entry point checks, and the per-fold seeds derived from a run's seed.

Light on purpose (no NumPy): the CLI reads :data:`MAX_SEED` for its ``--seed`` option at start-up.
"""

from __future__ import annotations

__all__ = ["MAX_SEED", "fold_seed"]

#: The largest seed: scikit-learn and NumPy's legacy seeding take 32-bit seeds (SDK, CLI and API share it).
MAX_SEED = 2**32 - 1


def fold_seed(seed: int, fold: int) -> int:
    """The seed of one fold's training, derived from the run's seed and kept within :data:`MAX_SEED`.

    ``seed * 1000 + fold`` as before for every seed below 4,294,967, so earlier results reproduce.
    """
    return (seed * 1000 + fold) % (MAX_SEED + 1)

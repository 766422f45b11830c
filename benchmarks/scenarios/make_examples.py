"""Rebuild the example datasets shipped in ``advisor/examples``: ``python -m benchmarks.scenarios.make_examples``."""

from benchmarks.scenarios._examples import write_examples

if __name__ == "__main__":
    for path in write_examples():
        print(f"wrote {path}")

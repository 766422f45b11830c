"""Example datasets shipped with the package (see benchmarks.scenarios.make_examples)."""

"""Benchmarks: scenario generator, real-dataset catalog, (later) oracle and suite."""

__all__: list[str] = []

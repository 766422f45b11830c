"""HTTP service (DESIGN.md §8). Built in a later issue; nothing is exported yet."""

__all__: list[str] = []

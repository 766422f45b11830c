"""Generated multi-task scenarios with planted structure (clusters, conflicts, shift, loud sources)."""

from benchmarks.scenarios._generator import PlantedStructure, Scenario, make_scenario, make_sinusoids, task_names
from benchmarks.scenarios._presets import PRESETS, preset

__all__ = ["PRESETS", "PlantedStructure", "Scenario", "make_scenario", "make_sinusoids", "preset", "task_names"]

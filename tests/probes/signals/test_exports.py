"""The signals package exports a deliberate list and stays light to import."""

from __future__ import annotations

import subprocess
import sys

import probes.signals

EXPECTED = {
    "AffinitySignal", "LabelSignal", "LearningCurvePoint", "LearningCurveSignal", "ShiftSignal",
    "TransferabilitySignal", "extrapolate", "fit_power_law", "h_score", "harmful_sources", "input_shift",
    "knn_score", "label_relatedness", "learning_curve", "logme", "source_transferability", "suggest_groups",
    "task_affinity",
}  # fmt: skip


def test_all_is_pinned_and_every_name_resolves() -> None:
    assert set(probes.signals.__all__) == EXPECTED
    for name in EXPECTED:
        assert getattr(probes.signals, name) is not None


def test_importing_the_package_and_the_data_signals_does_not_import_torch() -> None:
    code = (
        "import sys, probes.signals as s; s.label_relatedness; s.input_shift; s.ShiftSignal; "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"

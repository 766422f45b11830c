"""Each package exports a deliberate ``__all__``; an accidental export fails here (as httpx does)."""

from __future__ import annotations

import importlib

import pytest

EXPECTED = {
    "advisor": {
        "Advisor", "AdvisorClient", "AdvisorError", "DataProfile", "DatasetSpec", "Goal", "Job", "JobStatus", "Recommendation", "Verification", "__version__",
        "exceptions", "inspect_data", "schemas",
    },
    "advisor.schemas": {
        "SCHEMA_VERSION", "BudgetUsed", "DataProfile", "DatasetSpec", "Evidence", "Goal", "Layout", "LearningCurve",
        "RankingEntry", "Recommendation", "Relatedness", "TaskGroup", "TaskProfile", "TaskReport", "Verdict",
        "Verification", "VerifiedParadigm",
    },
    "advisor.report": {"CONTENT_SECURITY_POLICY", "render_html", "renderer_fingerprint"},
    "probes.signals": {
        "AffinitySignal", "LabelSignal", "LearningCurvePoint", "LearningCurveSignal", "ShiftSignal",
        "TransferabilitySignal", "extrapolate", "fit_power_law", "h_score", "harmful_sources", "input_shift",
        "knn_score", "label_relatedness", "learning_curve", "logme", "source_transferability", "suggest_groups",
        "task_affinity",
    },
    "probes": {
        "DatasetSpec", "Goal", "Layout", "Limits", "Task", "TaskSet", "co_winners", "compare", "exceptions",
        "fold_matrix", "load_taskset", "make_folds", "profile_taskset", "read_table",
    },
    "benchmarks.corpus": {
        "MAX_ROWS", "MIN_ROWS", "MIN_TASKS", "RESERVED_ITEMS", "RESERVED_PACKAGES", "RESERVED_PYTHON_PACKAGES",
        "CorpusCase", "case_frame", "check_case", "corpus_cases", "is_reserved",
    },
    "benchmarks.scenarios": {
        "PRESETS", "PlantedStructure", "Scenario", "make_scenario", "make_sinusoids", "preset", "task_names",
    },
    "benchmarks.datasets": {"REAL_CASES", "RealCase", "shared_data_dir"},
    "api": {"Settings", "create_app"},
}  # fmt: skip


@pytest.mark.parametrize("module_name", sorted(EXPECTED))
def test_all_is_pinned(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert set(module.__all__) == EXPECTED[module_name]
    for name in module.__all__:
        assert getattr(module, name) is not None


def test_sdk_errors_are_the_probes_errors() -> None:
    from advisor import exceptions as sdk
    from probes import exceptions as low

    assert set(low.__all__) <= set(sdk.__all__)
    assert all(getattr(sdk, n) is getattr(low, n) for n in low.__all__)
    # The rest are the service's errors (AdvisorClient raises them), each an AdvisorError with its own code.
    extra = [getattr(sdk, n) for n in set(sdk.__all__) - set(low.__all__) if n != "error_for_code"]
    assert all(issubclass(e, low.AdvisorError) for e in extra)
    codes = [e.code for e in extra] + [getattr(low, n).code for n in low.__all__]
    assert len(codes) == len(set(codes))


def test_probes_never_import_upper_layers() -> None:
    import pathlib

    root = pathlib.Path(importlib.import_module("probes").__file__).parent
    offenders = [
        str(p) for p in root.rglob("*.py")
        if any(line.lstrip().startswith(("import advisor", "from advisor", "import api", "from api", "import benchmarks", "from benchmarks"))
               for line in p.read_text().splitlines())
    ]  # fmt: skip
    assert offenders == []
    advisor_root = root.parent / "advisor"
    # The one exception: `advisor serve` is the console script's door to the service, importing it lazily.
    allowed = {advisor_root / "cli" / "_serve.py"}
    offenders = [
        str(p) for p in advisor_root.rglob("*.py")
        if p not in allowed
        and any(line.lstrip().startswith(("import api", "from api", "import benchmarks", "from benchmarks"))
                for line in p.read_text().splitlines())
    ]  # fmt: skip
    assert offenders == []

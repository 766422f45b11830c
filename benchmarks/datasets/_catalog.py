"""The real datasets of ``../shared/data`` and the specs their READMEs support.

One entry per (dataset, spec). ``expected`` records the task count and rows per task the
README states, so a test can check that loading gives exactly that. Data are read in place,
never copied into the project.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["REAL_CASES", "RealCase", "shared_data_dir"]


def shared_data_dir() -> Path | None:
    """``../shared/data`` beside the checkout (or ``$ADVISOR_SHARED_DATA``), if it exists."""
    candidates = []
    if os.environ.get("ADVISOR_SHARED_DATA"):
        candidates.append(Path(os.environ["ADVISOR_SHARED_DATA"]))
    candidates.append(Path(__file__).resolve().parents[3] / "shared" / "data")
    candidates.append(Path.cwd().parent / "shared" / "data")
    for path in candidates:
        if path.is_dir():
            return path
    return None


@dataclass(frozen=True)
class RealCase:
    """A real dataset file with one spec from its README."""

    name: str
    path: str
    """Relative to the shared data folder."""
    spec: dict[str, Any]
    expected_tasks: int
    """Tasks the README lists (before any the protocol drops)."""
    expected_rows: tuple[int, float, int] | None = None
    """(min, median, max) labelled rows per task from the README, when the spec keeps every row."""
    notes: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)

    def file(self, root: Path | None = None) -> Path:
        root = root or shared_data_dir()
        if root is None:
            raise FileNotFoundError("../shared/data is not present")
        return root / self.path


_RADON_FEATURES = ["floor", "room", "basement", "typebldg", "windoor", "Uppm"]

REAL_CASES: tuple[RealCase, ...] = (
    RealCase(
        "school/all_tasks",
        "school_ilea/school.csv.gz",
        {"targets": ["exam_score"], "task_column": "school_id"},
        139,
        (22, 103, 251),
    ),
    RealCase(
        "school/new_tasks",
        "school_ilea/school.csv.gz",
        {"targets": ["exam_score"], "task_column": "school_id", "goal": "new_tasks", "shots": 10},
        139,
        (22, 103, 251),
    ),
    RealCase(
        "landmine/all_tasks",
        "landmine/landmine.csv.gz",
        {"targets": ["label"], "task_column": "task_id"},
        29,
        (445, 507, 690),
    ),
    RealCase(
        "sarcos/all_tasks",
        "sarcos/sarcos_inv_test.csv.gz",
        {"targets": [f"tau{i}" for i in range(1, 8)]},
        7,
        (4449, 4449, 4449),
    ),
    RealCase(
        "parkinsons/multi_target",
        "parkinsons_telemonitoring/parkinsons_updrs.csv.gz",
        {"targets": ["motor_UPDRS", "total_UPDRS"], "ignore": ["subject#"]},
        2,
        (5875, 5875, 5875),
    ),
    RealCase(
        "parkinsons/per_subject",
        "parkinsons_telemonitoring/parkinsons_updrs.csv.gz",
        {"targets": ["motor_UPDRS"], "task_column": "subject#", "ignore": ["total_UPDRS"]},
        42,
        (101, 141, 168),
    ),
    RealCase(
        "energy/multi_target",
        "energy_efficiency_enb2012/enb2012.csv",
        {"targets": ["Y1_heating_load", "Y2_cooling_load"]},
        2,
        (768, 768, 768),
    ),
    RealCase(
        "wine/all_tasks",
        "wine_quality/winequality_red_white.csv.gz",
        {"targets": ["quality"], "task_column": "wine_type"},
        2,
        (1599, 3248.5, 4898),
    ),
    RealCase(
        "student/all_tasks",
        "student_performance/student_mat_por.csv.gz",
        {"targets": ["G3"], "task_column": "course", "ignore": ["G1", "G2"]},
        2,
        (395, 522, 649),
    ),
    RealCase(
        "computer_survey/new_tasks",
        "computer_survey_lenk/computer_survey_long.csv",
        {
            "targets": ["likelihood_to_buy"],
            "task_column": "rater_id",
            "ignore": ["profile", "holdout_profile"],
            "goal": "new_tasks",
            "shots": 8,
        },
        190,
        (20, 20, 20),
    ),
    RealCase(
        "concrete/multi_target",
        "concrete_slump/slump_test.csv",
        {"targets": ["SLUMP(cm)", "FLOW(cm)", "Compressive Strength (28-day)(Mpa)"], "ignore": ["No"]},
        3,
        (103, 103, 103),
    ),
    RealCase(
        "bike/multi_target",
        "bike_sharing/day.csv",
        {"targets": ["casual", "registered"], "ignore": ["instant", "cnt"]},
        2,
        (731, 731, 731),
    ),
    RealCase(
        "amazon/all_tasks",
        "amazon_sentiment_msda400/amazon_reviews_400.csv.gz",
        {"targets": ["label"], "task_column": "domain"},
        4,
        (1998, 1999, 2000),
    ),
    RealCase(
        "office_caltech/all_tasks",
        "office_caltech10_surf/office_caltech10_surf800.csv.gz",
        {"targets": ["label"], "task_column": "domain", "task_types": "classification"},
        4,
        (157, 626.5, 1123),
        notes="labels 1–10 are integers; the spec marks them as classes",
    ),
    RealCase(
        "heart/all_tasks",
        "heart_disease_4sites/heart_disease_4sites.csv",
        {"targets": ["disease"], "task_column": "site", "ignore": ["num"]},
        4,
        (123, 247, 303),
    ),
    RealCase(
        "radon/new_tasks",
        "radon_srrs2/radon_srrs2_with_uranium.csv.gz",
        {
            "targets": ["log_radon"],
            "task_column": "county_key",
            "features": _RADON_FEATURES,
            "goal": "new_tasks",
            "shots": 3,
        },
        468,
        None,
        notes="counties with fewer rows than shots + 2 are dropped by the protocol",
    ),
    RealCase(
        "beijing/per_station",
        "beijing_air_multisite_daily/beijing_air_12sites_daily.csv.gz",
        {"targets": ["PM25"], "task_column": "station", "ignore": ["PM10", "SO2", "NO2", "CO", "O3", "n_hours_pm25"]},
        12,
        None,
        notes="1,461 days per station; days with no PM2.5 reading are dropped",
    ),
)

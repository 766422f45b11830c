"""TaskSet construction: layouts, partial labels, task kinds, dropped tasks, memory."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from probes.data import DatasetSpec, infer_task_kind, load_taskset
from probes.exceptions import DataError, InvalidSpecError, TaskTooSmallError, TooFewTasksError


def test_task_column_layout(task_frame: pd.DataFrame) -> None:
    ts = load_taskset(task_frame, targets="y", task_column="task")
    assert ts.task_names == ["a", "b", "c"]
    assert [t.n_rows for t in ts.tasks] == [60, 60, 60]
    assert all(t.kind == "regression" and t.metric == "r2" for t in ts.tasks)
    assert list(ts.features.columns) == ["x1", "x2", "flag"]
    assert ts.feature_types == {"x1": "numeric", "x2": "categorical", "flag": "boolean"}
    # rows point into the shared frame and carry the right labels
    b = ts.task("b")
    np.testing.assert_array_equal(b.y, task_frame["y"].to_numpy()[b.rows])
    assert set(task_frame["task"].iloc[b.rows]) == {"b"}


def test_multi_target_layout_with_partial_labels(multi_frame: pd.DataFrame) -> None:
    ts = load_taskset(multi_frame, targets=["y1", "y2", "c"])
    y1, y2, c = ts.tasks
    assert y1.n_rows == 100 and y2.n_rows == int(multi_frame["y2"].notna().sum()) < 100
    np.testing.assert_array_equal(y2.rows, np.flatnonzero(multi_frame["y2"].notna()))
    assert c.kind == "classification" and c.classes == ("no", "yes") and c.metric == "roc_auc"
    assert any("partial labels" in w for w in ts.warnings)


def test_features_are_shared_not_copied_per_task(task_frame: pd.DataFrame) -> None:
    big = pd.concat([task_frame] * 20, ignore_index=True)
    big["task"] = np.repeat([f"t{i}" for i in range(60)], len(big) // 60)
    ts = load_taskset(big, targets="y", task_column="task")
    per_task_bytes = sum(t.rows.nbytes + t.y.nbytes for t in ts.tasks)
    assert ts.n_tasks == 60
    # Each row is stored once in the features plus one index and one label per task it belongs to.
    assert per_task_bytes == len(big) * 16
    assert not any(isinstance(v, pd.DataFrame) for t in ts.tasks for v in vars(t).values())


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        (pd.Series([0, 1, 1, 0]), "classification"),
        (pd.Series(["cat", "dog", "cat", "eel"]), "classification"),
        (pd.Series([True, False, True]), "classification"),
        (pd.Series([0.1, 2.5, 3.3, 4.0]), "regression"),
        (pd.Series([3, 4, 5, 6, 7, 8, 9]), "regression"),
    ],
)
def test_task_kind_rule(values: pd.Series, kind: str) -> None:
    assert infer_task_kind(values)[0] == kind


def test_task_kind_override_and_warning(rng: np.random.Generator) -> None:
    frame = pd.DataFrame({"x": rng.normal(size=90), "label": np.tile(np.arange(1, 4), 30)})
    inferred = load_taskset(frame, targets="label")
    assert inferred.tasks[0].kind == "regression"
    assert any("task_types='classification'" in w for w in inferred.warnings)
    forced = load_taskset(frame, targets="label", task_types="classification")
    assert forced.tasks[0].kind == "classification" and forced.tasks[0].classes == (1, 2, 3)


def test_small_tasks_are_dropped_with_a_warning_or_rejected(task_frame: pd.DataFrame) -> None:
    frame = pd.concat([task_frame, task_frame.iloc[:4].assign(task="tiny")], ignore_index=True)
    ts = load_taskset(frame, targets="y", task_column="task")
    assert "tiny" not in ts.task_names and "tiny" in ts.dropped_tasks
    assert any("tiny" in w for w in ts.warnings)
    with pytest.raises(TaskTooSmallError, match="'tiny'"):
        load_taskset(frame, targets="y", task_column="task", small_tasks="error")


def test_rows_without_task_or_label_are_dropped(task_frame: pd.DataFrame) -> None:
    frame = task_frame.copy()
    frame.loc[0, "task"] = None
    frame.loc[1, "y"] = np.nan
    ts = load_taskset(frame, targets="y", task_column="task")
    assert ts.task("a").n_rows == 58
    assert sum("Dropped 1 row(s)" in w for w in ts.warnings) == 2


def test_near_constant_task_is_flagged(rng: np.random.Generator) -> None:
    frame = pd.DataFrame(
        {
            "task": np.repeat(["big", "big2", "flat"], 50),
            "x": rng.normal(size=150),
            "y": np.concatenate([rng.normal(0, 5, 50), rng.normal(0, 5, 50), rng.normal(0, 0.01, 50)]),
        }
    )
    ts = load_taskset(frame, targets="y", task_column="task")
    assert [t.near_constant for t in ts.tasks] == [False, False, True]


def test_constant_and_empty_features_are_dropped(task_frame: pd.DataFrame) -> None:
    frame = task_frame.assign(const=1.0, empty=np.nan)
    ts = load_taskset(frame, targets="y", task_column="task")
    assert "const" not in ts.features.columns and "empty" not in ts.features.columns
    assert any("constant" in w for w in ts.warnings) and any("no values" in w for w in ts.warnings)


def test_task_names_are_canonical_text(task_frame: pd.DataFrame) -> None:
    frame = task_frame.assign(task=task_frame["task"].map({"a": 1.0, "b": 2.0, "c": 10.0}))
    ts = load_taskset(frame, DatasetSpec(targets="y", task_column="task", goal="target_task", target_task=10))
    assert ts.task_names == ["1", "2", "10"] and ts.target_index == 2


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        ({"a": "1", "b": "2", "c": "10"}, ["1", "2", "10"]),  # integers: numeric order, as before
        ({"a": "1.0", "b": " 2.0", "c": "10"}, ["1", "2", "10"]),  # whole floats read as integers
        ({"a": "007", "b": "7.5", "c": "10"}, ["007", "10", "7.5"]),  # zero-padded ids stay text
        ({"a": "12345678901234567890", "b": "2", "c": "x"}, ["12345678901234567890", "2", "x"]),
    ],
)
def test_task_names_from_a_csv_are_read_as_written(
    task_frame: pd.DataFrame, tmp_path, names: dict[str, str], expected: list[str]
) -> None:
    path = tmp_path / "tasks.csv"
    task_frame.assign(task=task_frame["task"].map(names)).to_csv(path, index=False)
    assert load_taskset(path, targets="y", task_column="task").task_names == expected


@pytest.mark.parametrize("spellings", [("1", "1.0"), ("2", "+2"), ("3.5", "3.50")])
def test_two_spellings_of_one_task_number_in_a_csv_are_refused(
    task_frame: pd.DataFrame, tmp_path, spellings: tuple[str, str]
) -> None:
    # Read as numbers, '1' and '1.0' used to merge silently into task '1' (two tasks' rows as one).
    path = tmp_path / "tasks.csv"
    task_frame.assign(task=task_frame["task"].map({"a": spellings[0], "b": spellings[1], "c": "9"})).to_csv(
        path, index=False
    )
    with pytest.raises(DataError, match="read as the same number") as info:
        load_taskset(path, targets="y", task_column="task")
    assert sorted(info.value.details["values"]) == sorted(spellings)
    assert path.read_text().count(spellings[1]) >= 60  # the file is left as it was


def test_a_target_of_numbers_written_1_234_is_refused_not_read_as_classes(task_frame: pd.DataFrame, tmp_path) -> None:
    # ';'-separated, '1,234': thousands or three decimals? The reader keeps such columns as text, and the
    # target used to become a classification with one class per value (exit 0).
    path = tmp_path / "prices.csv"
    values = (task_frame["y"].abs() * 2000 + 100).round().astype(int)  # 100 to ~6,000: some have no comma
    assert (values < 1000).any() and (values >= 1000).any()
    written = [f"{v // 1000},{v % 1000:03d}" if v >= 1000 else str(v) for v in values]
    task_frame.assign(y=written).to_csv(path, sep=";", index=False)
    with pytest.raises(DataError, match="numbers written with commas") as info:
        load_taskset(path, targets="y", task_column="task")
    assert "--task-type y=classification" in str(info.value)
    quoted = task_frame.assign(y=written).rename(columns={"y": "unit price"})
    with pytest.raises(DataError) as info:
        load_taskset(quoted, targets="unit price", task_column="task")
    assert "--task-type 'unit price=classification'" in str(info.value)  # pastes into a shell as one word
    spec = {"targets": "y", "task_column": "task", "task_types": {"y": "classification"}}
    assert load_taskset(path, **spec).tasks[0].kind == "classification"  # labels, when the user says so


def test_a_feature_that_gives_the_label_away_is_flagged(rng: np.random.Generator) -> None:
    n = 240
    severity = rng.integers(0, 5, n)  # heart disease's 'num' next to disease = num > 0
    frame = pd.DataFrame(
        {
            "site": np.repeat(["a", "b", "c"], n // 3),
            "age": rng.normal(size=n) + (severity > 0),  # informative, not a leak
            "num": severity,
            "disease": (severity > 0).astype(int),
            "dose": rng.normal(size=n),
        }
    )
    frame["response"] = frame["dose"] ** 3 + 0.001 * rng.normal(size=n)
    binary = load_taskset(frame.drop(columns="response"), targets="disease", task_column="site")
    flagged = [w for w in binary.warnings if "almost perfectly" in w]
    assert len(flagged) == 1 and "'num' (ROC-AUC 1.000)" in flagged[0] and "'age'" not in flagged[0]
    assert "--ignore" in flagged[0]
    regression = load_taskset(frame.drop(columns=["num", "disease"]), targets="response", task_column="site")
    assert any("'dose' (|Spearman ρ| 1.000)" in w for w in regression.warnings)
    clean = load_taskset(frame.drop(columns="num"), targets="disease", task_column="site", ignore=["response", "dose"])
    assert not [w for w in clean.warnings if "almost perfectly" in w]
    # A yes/no column that copies the label (a boolean feature) is flagged too.
    worded = frame.drop(columns=["num", "response"]).assign(diagnosed=np.where(frame["disease"] == 1, "yes", "no"))
    flagged = [w for w in load_taskset(worded, targets="disease", task_column="site").warnings if "perfectly" in w]
    assert len(flagged) == 1 and "'diagnosed' (ROC-AUC 1.000)" in flagged[0]


def test_new_tasks_refuses_a_mix_of_task_kinds(rng: np.random.Generator) -> None:
    # Meta-learning over held-out tasks of two kinds would learn class codes as numbers and pool R2 with ROC-AUC.
    n = 200
    frame = pd.DataFrame({"x": rng.normal(size=n), "z": rng.normal(size=n)})
    for i in range(3):
        frame[f"amount{i}"] = rng.normal(size=n)
        frame[f"label{i}"] = rng.choice(["yes", "no"], size=n)
    targets = [c for c in frame.columns if c not in ("x", "z")]
    with pytest.raises(InvalidSpecError, match="needs tasks of one kind") as raised:
        load_taskset(frame, targets=targets, goal="new_tasks", shots=5)
    assert set(raised.value.details["kinds"]) == {"classification", "regression"}
    assert load_taskset(frame, targets=targets).n_tasks == 6  # all_tasks takes the mix


def test_messages_name_the_sdk_argument_and_the_cli_flag(task_frame: pd.DataFrame, rng: np.random.Generator) -> None:
    # SDK/API spelling first (API clients send these field names), then the flag a CLI user types.
    with pytest.raises(InvalidSpecError) as info:
        load_taskset(task_frame, targets="y", task_column="task", target_task="a")
    assert "target_task='a' (CLI: --target-task)" in str(info.value)
    assert "goal='target_task' (CLI: --goal target_task)" in str(info.value)
    with pytest.raises(InvalidSpecError, match=r"metric \(CLI: --metric\): unknown metric 'auc'"):
        load_taskset(task_frame, targets="y", metric="auc")

    frame = pd.DataFrame({"x": rng.normal(size=90), "label": np.tile(np.arange(1, 4), 30)})
    (warning,) = [w for w in load_taskset(frame, targets="label").warnings if "integer-valued" in w]
    assert "task_types='classification' (CLI: --task-type classification)" in warning
    text_label = task_frame.assign(y=task_frame["y"].astype(object).where(task_frame.index > 0, "n/a"))
    with pytest.raises(DataError, match=r"task_types='classification' \(CLI: --task-type y=classification\)"):
        load_taskset(text_label, targets="y", task_column="task", task_types="regression")


def _one_row_per_task(n_tasks: int = 8, kind: str = "regression") -> pd.DataFrame:
    y = np.arange(n_tasks, dtype=float) if kind == "regression" else np.array(["p", "q"] * (n_tasks // 2))
    return pd.DataFrame({"task": [f"t{i}" for i in range(n_tasks)], "x": np.arange(n_tasks) * 1.5, "y": y})


@pytest.mark.parametrize("kind", ["regression", "classification"])
def test_one_row_per_task_is_refused_for_its_size_not_as_constant(kind: str) -> None:
    frame = _one_row_per_task(12, kind)
    with pytest.raises(TooFewTasksError) as info:
        load_taskset(frame, targets="y", task_column="task")
    message = str(info.value)
    assert "constant" not in message and "single class" not in message
    assert "too few rows" in message and "1 row each" in message and "fewer than the 10" in message
    assert "--task-column" in message and "Add rows" in message
    with pytest.raises(TaskTooSmallError) as info:
        load_taskset(frame, targets="y", task_column="task", small_tasks="error")
    message = str(info.value)
    assert "constant" not in message and "single class" not in message
    assert "has too few rows: 1 row, fewer than the 10" in message and "(12 of 12 tasks have too few rows)" in message
    assert "--small-tasks drop" in message and "--task-column" in message


def test_every_too_small_task_is_dropped_for_its_size() -> None:
    big = pd.DataFrame({"task": ["big"] * 40, "x": np.arange(40.0), "y": np.arange(40.0) % 7})
    tiny_constant = pd.DataFrame({"task": ["tiny"] * 3, "x": [1.0, 2.0, 3.0], "y": [5.0] * 3})
    long_constant = pd.DataFrame({"task": ["flat"] * 20, "x": np.arange(20.0), "y": [5.0] * 20})
    ts = load_taskset(pd.concat([big, tiny_constant, long_constant]), targets="y", task_column="task")
    assert ts.dropped_tasks["tiny"].startswith("has too few rows: 3 rows")
    assert ts.dropped_tasks["flat"] == "has a constant target"


def test_a_table_smaller_than_one_task_is_refused_for_its_size() -> None:
    with pytest.raises(TaskTooSmallError, match="too few rows: 1 row, fewer than the 10"):
        load_taskset(_one_row_per_task(1), targets="y")

"""Feature typing and preprocessing, including the leakage test: statistics come from training rows only."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from probes.data import Preprocessor, infer_feature_type, load_taskset
from probes.protocol import fit_preprocessor, fold_matrix, make_folds, training_rows


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (pd.Series([1.0, 2.5, None]), "numeric"),
        (pd.Series(["1", "2", "3.5"]), "numeric"),
        (pd.Series(["yes", "no", "yes"]), "boolean"),
        (pd.Series([True, False]), "boolean"),
        (pd.Series(["2024-01-02", "2024-02-03", "2023-12-31"]), "datetime"),
        (pd.to_datetime(pd.Series(["2024-01-02", "2024-02-03"])), "datetime"),
        (pd.Series(["red", "green", "red", "blue"]), "categorical"),
        (pd.Series([f"the quick brown fox number {i} jumps" for i in range(30)]), "text"),
    ],
)
def test_feature_type_rule(values: pd.Series, expected: str) -> None:
    assert infer_feature_type(values) == expected


def _mixed_frame(rng: np.random.Generator, n: int = 200) -> pd.DataFrame:
    words = ["good", "bad", "service", "food", "slow", "fast", "tasty", "cold", "friendly", "rude"]
    return pd.DataFrame(
        {
            "num": rng.normal(10, 2, size=n),
            "cat": rng.choice([f"level{i}" for i in range(30)], size=n),
            "flag": rng.choice(["yes", "no"], size=n),
            "when": pd.date_range("2020-01-01", periods=n, freq="37h").astype(str),
            "text": [" ".join(rng.choice(words, size=6)) for _ in range(n)],
        }
    )


def test_preprocessor_handles_every_type(rng: np.random.Generator) -> None:
    frame = _mixed_frame(rng)
    frame.loc[3, "num"] = np.nan
    types = {"num": "numeric", "cat": "categorical", "flag": "boolean", "when": "datetime", "text": "text"}
    pre = Preprocessor(feature_types=types, max_categories=5, text_components=4).fit(frame)
    out = pre.transform(frame)
    names = list(pre.get_feature_names_out())
    assert out.dtype == np.float32 and np.isfinite(out).all() and out.shape == (200, len(names))
    assert sum(n.startswith("categorical__") for n in names) == 5  # capped one-hot
    assert any("missingindicator" in n for n in names)
    assert any("when__hour" in n for n in names) and any("when__weekday" in n for n in names)
    assert sum(n.startswith("text:text__") for n in names) == 4
    # unseen levels and unparseable dates do not break transform
    odd = frame.iloc[:2].assign(cat="never-seen", when="not a date", flag="maybe")
    assert np.isfinite(pre.transform(odd)).all()


def test_time_of_day_columns_become_hours_whatever_the_reader_made_of_them(tmp_path) -> None:
    from probes.data import read_table

    hours = [f"{i % 24:02d}:30" for i in range(48)]
    path = tmp_path / "times.csv"
    pd.DataFrame({"x": np.arange(48.0), "at": hours}).to_csv(path, index=False)
    read = read_table(path)  # pyarrow reads "08:30" as a time32 column: datetime.time values
    as_text = read.assign(at=hours)  # the same times as text, as JSON Lines or a DataFrame would give them
    outputs = []
    for frame in (read, as_text):
        pre = Preprocessor(feature_types={"x": "numeric", "at": infer_feature_type(frame["at"])}).fit(frame)
        assert [n for n in pre.get_feature_names_out() if n.startswith("datetime__")] == [
            "datetime__at__days",
            "datetime__at__hour",
        ]
        outputs.append(pre.transform(frame))
    np.testing.assert_array_equal(outputs[0], outputs[1])  # on 1970-01-01, not on the day the test runs
    # a datetime column with no parseable value in the training rows keeps a (constant) column, not zero columns
    pre = Preprocessor(feature_types={"at": "datetime"}).fit(pd.DataFrame({"at": ["never"] * 5}))
    assert pre.transform(pd.DataFrame({"at": ["never", "2024-01-01"]})).shape == (2, 1)


def test_preprocessing_statistics_come_from_training_rows_only(rng: np.random.Generator) -> None:
    """Leakage test: changing test rows' features changes nothing the preprocessor learned."""
    frame = _mixed_frame(rng, n=300)
    frame["task"] = np.repeat(["a", "b", "c"], 100)
    frame["y"] = rng.normal(size=300)
    ts = load_taskset(frame, targets="y", task_column="task")
    fold = make_folds(ts, n_folds=3, seed=1)[0]
    train = training_rows(ts, fold)
    test = np.setdiff1d(np.arange(300), train)
    assert len(test) > 0

    poisoned = frame.copy()
    poisoned.loc[test, "num"] = 1e6
    poisoned.loc[test, "cat"] = "LEAK"
    poisoned.loc[test, "flag"] = "yes"
    poisoned.loc[test, "text"] = "leak leak leak leak leak"
    poisoned.loc[test, "when"] = "2099-06-01 13:00:00"
    ts_poisoned = load_taskset(poisoned, targets="y", task_column="task")

    clean_x, poisoned_x = fold_matrix(ts, fold), fold_matrix(ts_poisoned, fold)
    np.testing.assert_array_equal(clean_x[train], poisoned_x[train])

    pre = fit_preprocessor(ts_poisoned, train)
    numeric = pre.transformer_.named_transformers_["numeric"]
    scaler = numeric[-1]
    assert scaler.mean_[0] == pytest.approx(frame.loc[train, "num"].mean())
    assert np.median(frame.loc[train, "num"]) == pytest.approx(numeric[1].statistics_[0])
    encoder = pre.transformer_.named_transformers_["categorical"][-1]
    assert "LEAK" not in set(np.concatenate(encoder.categories_))


def test_meta_fold_preprocessing_ignores_held_out_tasks(rng: np.random.Generator) -> None:
    frame = pd.DataFrame(
        {"task": np.repeat([f"t{i}" for i in range(6)], 20), "x": rng.normal(size=120), "y": rng.normal(size=120)}
    )
    ts = load_taskset(frame, targets="y", task_column="task", goal="new_tasks", shots=3)
    fold = make_folds(ts, n_folds=3)[0]
    rows = training_rows(ts, fold)
    held_out = np.concatenate([ts.tasks[t].rows for t in fold.test_tasks])
    assert not np.intersect1d(rows, held_out).size

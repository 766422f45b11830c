"""Bad input, end to end: each case gets a specific error type and a message naming the problem
and the fix, through the SDK and through the CLI (exit code 2, one line on stderr, no traceback)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from advisor import exceptions as errors
from advisor import inspect_data
from advisor.cli import run
from probes.data import Limits, load_taskset


def _frame(n_tasks: int = 3, rows: int = 40, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = n_tasks * rows
    return pd.DataFrame(
        {
            "task": np.repeat([f"s{i}" for i in range(n_tasks)], rows),
            "x1": rng.normal(size=n),
            "x2": rng.normal(size=n),
            "y": rng.normal(size=n),
        }
    )


def _csv(frame: pd.DataFrame) -> Callable[[Path], Path]:
    def write(folder: Path) -> Path:
        path = folder / "data.csv"
        frame.to_csv(path, index=False)
        return path

    return write


def _raw(name: str, content: bytes) -> Callable[[Path], Path]:
    def write(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(content)
        return path

    return write


def _truncated_parquet(folder: Path) -> Path:
    path = folder / "data.parquet"
    _frame().to_parquet(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _directory(folder: Path) -> Path:
    path = folder / "a_folder.csv"
    path.mkdir()
    return path


def _big_file(folder: Path) -> Path:
    path = folder / "big.csv"
    frame = _frame(rows=4000)
    frame.to_csv(path, index=False)
    return path


def _late_bad_byte(folder: Path) -> Path:
    """A UTF-8 CSV whose only non-UTF-8 byte comes after the first MiB (the encoding sample)."""
    path = folder / "late.csv"
    lines = "".join(f"s{i % 3},{i},{i / 7:.4f},{i * 0.5},label{i}\n" for i in range(45_000))
    path.write_bytes(b"task,x1,x2,y,note\n" + lines.encode() + "s0,1,2,3,caf\xe9\n".encode("latin-1"))
    assert path.stat().st_size > 1 << 20
    return path


@dataclass
class Case:
    id: str
    data: Callable[[Path], Path]
    spec: dict[str, Any]
    error: type[errors.AdvisorError]
    fragments: tuple[str, ...]
    limits: dict[str, Any] = field(default_factory=dict)


TASKS = {"targets": ["y"], "task_column": "task"}
_garbage = bytes(np.random.default_rng(1).integers(0, 256, size=4000, dtype=np.uint8))
_ragged = b"task,x1,x2,y\ns0,1,2,3\ns0,1,2,3,4\n" + b"s0,1,2,3\n" * 20
_single_value = _frame().assign(y=1.0)
_all_nan = _frame().assign(y=np.nan)
_truncated_gzip = gzip.compress(_frame(rows=500).to_csv(index=False).encode())[:4000]
_dup_header = b"task,x1,x1,y\n" + b"s0,1,2,3\n" * 30

CASES = [
    Case(
        "unknown target column",
        _csv(_frame()),
        {"targets": ["price"]},
        errors.ColumnNotFoundError,
        ("'price'", "Columns are"),
    ),
    Case(
        "misspelt target gets a suggestion",
        _csv(_frame()),
        {"targets": ["yy"]},
        errors.ColumnNotFoundError,
        ("Did you mean 'y'",),
    ),
    Case(
        "unknown task column",
        _csv(_frame()),
        {"targets": ["y"], "task_column": "group"},
        errors.ColumnNotFoundError,
        ("task column 'group'",),
    ),
    Case(
        "unknown ignored column",
        _csv(_frame()),
        {"targets": ["y"], "ignore": ["nope"]},
        errors.ColumnNotFoundError,
        ("ignored column 'nope'",),
    ),
    Case(
        "duplicate column names",
        _raw("dup.csv", _dup_header),
        {"targets": ["y"]},
        errors.DuplicateColumnError,
        ("'x1'", "Rename"),
    ),
    Case("empty file", _raw("empty.csv", b""), {"targets": ["y"]}, errors.EmptyDataError, ("empty", "0 bytes")),
    Case(
        "header only",
        _raw("header.csv", b"task,x1,y\n"),
        {"targets": ["y"]},
        errors.EmptyDataError,
        ("header but no data rows",),
    ),
    Case(
        "binary garbage",
        _raw("garbage.csv", _garbage),
        {"targets": ["y"]},
        errors.UnreadableFileError,
        ("does not look like a text file",),
    ),
    Case(
        "gzip without .gz",
        _raw("data.csv", gzip.compress(_frame().to_csv(index=False).encode())),
        {"targets": ["y"]},
        errors.UnreadableFileError,
        ("gzip-compressed but its name does not end in .gz", "'data.csv.gz'"),
    ),
    Case(
        "zip archive as csv",
        _raw("data.csv", b"PK\x03\x04" + _garbage),
        {"targets": ["y"]},
        errors.UnreadableFileError,
        ("zip archive",),
    ),
    Case(
        "truncated parquet",
        _truncated_parquet,
        {"targets": ["y"]},
        errors.UnreadableFileError,
        ("not a valid Parquet file",),
    ),
    Case(
        "truncated gzip",
        _raw("data.csv.gz", _truncated_gzip),
        {"targets": ["y"]},
        errors.UnreadableFileError,
        ("corrupt or truncated gzip",),
    ),
    Case(
        "ragged csv rows",
        _raw("ragged.csv", _ragged),
        {"targets": ["y"]},
        errors.MalformedFileError,
        ("line 3 has 5 fields",),
    ),
    Case(
        "bad json line",
        _raw("data.jsonl", b'{"x": 1, "y": 2}\n{"x": 3, "y": \n'),
        {"targets": ["y"]},
        errors.MalformedFileError,
        ("line 2 is not valid JSON",),
    ),
    Case(
        "unsupported file type",
        _raw("data.xlsx", b"PK\x03\x04"),
        {"targets": ["y"]},
        errors.UnsupportedFormatError,
        ("'data.xlsx'", ".csv"),
    ),
    Case("path is a directory", _directory, {"targets": ["y"]}, errors.UnreadableFileError, ("is a directory",)),
    Case(
        "missing file",
        lambda folder: folder / "nope.csv",
        {"targets": ["y"]},
        errors.DataFileNotFoundError,
        ("No such file",),
    ),
    Case("target with one value", _csv(_single_value), TASKS, errors.ConstantTargetError, ("'y'", "single value")),
    Case("all-NaN target", _csv(_all_nan), TASKS, errors.EmptyTargetError, ("'y'", "no values")),
    Case(
        "no feature columns left",
        _csv(_frame()),
        {"targets": ["y"], "task_column": "task", "ignore": ["x1", "x2"]},
        errors.NoFeaturesError,
        ("No feature columns",),
    ),
    Case(
        "task with too few rows",
        _csv(_frame(rows=6)),
        {**TASKS, "small_tasks": "error"},
        errors.TaskTooSmallError,
        ("'s0'", "6 rows", "10"),
    ),
    Case(
        "target too small in multi-target layout",
        _csv(_frame().assign(z=[1.0, 2, 3, 4, 5] + [np.nan] * 115)),
        {"targets": ["y", "z"]},
        errors.TaskTooSmallError,
        ("'z'", "too few labelled rows: 5 rows"),
    ),
    Case(
        "one task where the goal needs several",
        _csv(_frame(n_tasks=1)),
        {**TASKS, "goal": "target_task", "target_task": "s0"},
        errors.TooFewTasksError,
        ("target_task", "1 usable task"),
    ),
    Case(
        "too few tasks for new_tasks",
        _csv(_frame(n_tasks=3)),
        {**TASKS, "goal": "new_tasks"},
        errors.TooFewTasksError,
        ("at least 5 tasks",),
    ),
    Case(
        "target_task goal without target task",
        _csv(_frame()),
        {**TASKS, "goal": "target_task"},
        errors.InvalidSpecError,
        ("needs target_task",),
    ),
    Case(
        "target_task naming a missing task",
        _csv(_frame()),
        {**TASKS, "goal": "target_task", "target_task": "s9"},
        errors.TaskNotFoundError,
        ("'s9'", "Tasks are"),
    ),
    Case(
        "task column equal to a target",
        _csv(_frame()),
        {"targets": ["y"], "task_column": "y"},
        errors.InvalidSpecError,
        ("also a target",),
    ),
    Case(
        "shots zero",
        _csv(_frame(n_tasks=6)),
        {**TASKS, "goal": "new_tasks", "shots": 0},
        errors.InvalidSpecError,
        ("shots",),
    ),
    Case(
        "shots larger than tasks allow",
        _csv(_frame(n_tasks=6)),
        {**TASKS, "goal": "new_tasks", "shots": 50},
        errors.TooFewTasksError,
        ("Lower shots",),
    ),
    Case(
        "unknown goal",
        _csv(_frame()),
        {**TASKS, "goal": "everything"},
        errors.InvalidSpecError,
        ("'everything'", "all_tasks"),
    ),
    Case(
        "mixed layout",
        _csv(_frame().assign(y2=1.0)),
        {"targets": ["y", "y2"], "task_column": "task"},
        errors.InvalidSpecError,
        ("mixed layout",),
    ),
    Case(
        "file over the size limit",
        _big_file,
        {"targets": ["y"]},
        errors.FileTooLargeError,
        ("MB", "limit"),
        {"max_file_mb": 0.01},
    ),
    Case(
        "gzipped file with more rows than the limit",
        _raw("rows.csv.gz", gzip.compress(b"x,y\n" + b"1,2\n" * 5000)),
        {"targets": ["y"]},
        errors.FileTooLargeError,
        ("more than 50 rows",),  # counted while decompressing: stops at row 51, nothing parsed
        {"max_rows": 50},
    ),
    Case(
        "gzipped file that expands far past the size limit",
        _raw("bomb.csv.gz", gzip.compress(b"x,y\n" + b"1" * 2_000_000)),
        {"targets": ["y"]},
        errors.FileTooLargeError,
        ("decompresses to more than", "100x the 0 MB limit"),
        {"max_file_mb": 0.01},
    ),
    Case(
        "too many columns",
        _csv(_frame()),
        {"targets": ["y"]},
        errors.TooManyColumnsError,
        ("4 columns", "limit is 3"),
        {"max_columns": 3},
    ),
    Case(
        "metric for the wrong kind",
        _csv(_frame()),
        {**TASKS, "metric": "accuracy"},
        errors.InvalidSpecError,
        ("'accuracy'", "regression"),
    ),
    Case(
        "nested values in a JSON Lines column",
        _raw("data.jsonl", b"".join(b'{"x": %d, "y": %d.5, "tags": ["a", "b"]}\n' % (i, i) for i in range(40))),
        {"targets": ["y"]},
        errors.DataError,
        ("'tags'", "nested values", "ignore"),
    ),
    Case(
        "invalid UTF-8 past the first megabyte",
        _late_bad_byte,
        TASKS,
        errors.EncodingError,
        ("'late.csv'", "past its first megabyte", "'note'"),
    ),
    Case(
        "infinite regression target",
        _csv(_frame().assign(y=[np.inf] + [1.0] * 60 + [2.0] * 59)),
        TASKS,
        errors.DataError,
        ("'y'", "infinite on 1 row"),
    ),
    Case(
        "feature listed twice",
        _csv(_frame()),
        {**TASKS, "features": ["x1", "x1"]},
        errors.InvalidSpecError,
        ("['x1'] more than once",),
    ),
    Case(
        "every task too small under all_tasks",
        _csv(_frame(rows=6)),
        TASKS,
        errors.TooFewTasksError,
        ("Every task has too few rows", "at most 6 rows each, fewer than the 10", "Add rows to the tasks"),
    ),
    Case(
        "labels that differ only in type",
        _raw(
            "mixed.jsonl",
            b"".join(b'{"x": %d, "y": %s}\n' % (i, b'"0"' if i % 3 == 0 else b"%d" % (i % 2)) for i in range(60)),
        ),
        {"targets": ["y"], "task_types": "classification"},
        errors.DataError,
        ("'y' holds", "the same label written as", "all numbers or all text"),
    ),
    Case(
        "target task with no labelled rows",
        _csv(_frame().assign(y=lambda f: f["y"].where(f["task"] != "s1"))),
        {**TASKS, "goal": "target_task", "target_task": "s1"},
        errors.TaskTooSmallError,
        ("Task 's1' has no labelled rows", "choose another target task"),
    ),
    Case(
        "names that differ only by spaces",
        _raw("spaces.csv", b"task,y, y\n" + b"s0,1,2\n" * 30),
        {"targets": ["y"]},
        errors.DuplicateColumnError,
        ("'y' (written ' y' and 'y')",),
    ),
    Case(
        "regression target too large to square",
        _csv(_frame().assign(y=lambda f: f["y"] * 1e300)),
        TASKS,
        errors.DataError,
        ("reaches", "in magnitude", "Rescale it"),
    ),
    Case(
        "regression target with text",
        _csv(_frame().assign(y=["1.5"] * 119 + ["n/a?"])),
        {**TASKS, "task_types": "regression"},
        errors.DataError,
        ("non-numeric", "'n/a?'"),
    ),
]


def test_at_least_twenty_distinct_cases() -> None:
    assert len({c.id for c in CASES}) >= 20
    assert len({c.error for c in CASES}) >= 15


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_sdk_raises_specific_error(case: Case, tmp_path: Path) -> None:
    path = case.data(tmp_path)
    before = path.read_bytes() if path.is_file() else None
    with pytest.raises(case.error) as info:
        inspect_data(path, limits=Limits(**case.limits), **case.spec)
    message = str(info.value)
    for fragment in case.fragments:
        assert fragment in message, message
    assert isinstance(info.value, (ValueError, OSError, KeyError))
    assert info.value.to_dict()["code"] == case.error.code
    if before is not None:
        assert path.read_bytes() == before  # nothing the user sent is modified


def _cli_args(path: Path, spec: dict[str, Any], limits: dict[str, Any]) -> list[str]:
    args = ["inspect", str(path)]
    for target in spec.get("targets", []):
        args += ["--target", target]
    for key, flag in [("task_column", "--task-column"), ("goal", "--goal"), ("target_task", "--target-task"),
                      ("shots", "--shots"), ("metric", "--metric"), ("small_tasks", "--small-tasks")]:  # fmt: skip
        if key in spec:
            args += [flag, str(spec[key])]
    for column in spec.get("ignore", []):
        args += ["--ignore", column]
    for column in spec.get("features", []):
        args += ["--feature", column]
    if "task_types" in spec:
        args += ["--task-type", spec["task_types"]]
    if "max_file_mb" in limits:
        args += ["--max-file-mb", str(limits["max_file_mb"])]
    return args


CLI_CASES = [c for c in CASES if not {"max_columns", "max_rows"} & set(c.limits)]  # the CLI has no such options


@pytest.mark.parametrize("case", CLI_CASES, ids=[c.id for c in CLI_CASES])
def test_cli_prints_one_line_and_exits_2(case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = run(_cli_args(case.data(tmp_path), case.spec, case.limits))
    out, err = capsys.readouterr()
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("advisor: error: ")
    assert "Traceback" not in err + out
    assert case.fragments[0] in err


def test_too_few_tasks_under_all_tasks_does_not_suggest_all_tasks(tmp_path: Path) -> None:
    with pytest.raises(errors.TooFewTasksError) as info:
        inspect_data(_csv(_frame(rows=6))(tmp_path), **TASKS)
    assert "goal='all_tasks'" not in str(info.value)
    details = info.value.to_dict()["details"]
    assert details["too_small"]["s1"] == 6 and details["min_rows"] == 10


def test_an_empty_features_list_is_named(tmp_path: Path) -> None:
    with pytest.raises(errors.InvalidSpecError, match="features is an empty list"):
        inspect_data(_csv(_frame())(tmp_path), **TASKS, features=[])


def test_debug_shows_the_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _csv(_frame())(tmp_path)
    assert run(["--debug", "inspect", str(path), "--target", "nope"]) == 2
    assert "Traceback" in capsys.readouterr().err


def _rows(n: int = 40) -> str:
    return "".join(f"{i},{i * 0.5},{'a' if i % 2 else 'b'},t{i % 2}\n" for i in range(n))


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("cr_only.csv", ("x,y,c,task\n" + _rows()).replace("\n", "\r").encode()),  # old Mac line endings
        ("blank_first_line.csv", ("\n\nx,y,c,task\n" + _rows()).encode()),
        ("quoted_header.csv", ('x,"y",c,"task"\n' + _rows()).encode()),
        ("upper_case.CSV.GZ", gzip.compress(("x,y,c,task\n" + _rows()).encode())),
        ("quoted_delimiters.csv", ('"x, cm";"y";"c";"task"\n' + _rows().replace(",", ";")).encode()),
    ],
)
def test_odd_but_valid_delimited_files_load(name: str, content: bytes, tmp_path: Path) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    taskset = load_taskset(path, targets=["y"], task_column="task")
    assert [t.name for t in taskset.tasks] == ["t0", "t1"] and sum(len(t.y) for t in taskset.tasks) == 40
    assert len(taskset.features.columns) == 2 and path.read_bytes() == content


def test_a_header_with_a_quoted_newline_keeps_the_name(tmp_path: Path) -> None:
    path = tmp_path / "newline.csv"
    path.write_text('x,"y\nz",task\n' + "".join(f"{i},{i * 0.5},t{i % 2}\n" for i in range(40)))
    taskset = load_taskset(path, targets=["y\nz"], task_column="task")
    assert list(taskset.features.columns) == ["x"] and taskset.n_tasks == 2


def test_decimal_commas_in_a_semicolon_file_are_numbers(tmp_path: Path) -> None:
    path = tmp_path / "european.csv"
    path.write_text("x;y;task\n" + "".join(f"{i};{i * 0.25:.2f};t{i % 2}\n".replace(".", ",") for i in range(40)))
    taskset = load_taskset(path, targets=["y"], task_column="task")
    assert [t.kind for t in taskset.tasks] == ["regression", "regression"]
    assert sorted(np.concatenate([t.y for t in taskset.tasks]))[:3] == [0.0, 0.25, 0.5]
    assert any("decimal commas" in w for w in taskset.warnings)


def test_decimal_points_keep_the_comma_as_text_in_a_semicolon_file(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    path.write_text("x;y;c;task\n" + "".join(f"{i * 0.5};{i % 7};{i % 3},{i % 2};t{i % 2}\n" for i in range(40)))
    frame = load_taskset(path, targets=["y"], task_column="task").features
    assert frame["x"].dtype == float and frame["c"].iloc[:2].tolist() == ["0,0", "1,1"]


def test_thousands_separators_alone_are_not_taken_for_decimal_commas(tmp_path: Path) -> None:
    path = tmp_path / "thousands.tsv"
    path.write_text("x\ty\ttask\n" + "".join(f"{i}\t{1000 + 37 * i:,}\tt{i % 2}\n" for i in range(40)))
    taskset = load_taskset(path, targets=["x"], task_column="task")
    assert taskset.features["y"].iloc[:2].tolist() == ["1,000", "1,037"]
    assert not any("decimal commas" in w for w in taskset.warnings)
    assert any("1,234" in w and "kept as text in 'y'" in w for w in taskset.warnings)  # said, not silent


def test_task_ids_beyond_2_to_the_53_stay_distinct(tmp_path: Path) -> None:
    ids = [98765432109876543210, 98765432109876543211, 98765432109876543212]  # equal as float64
    path = tmp_path / "accounts.csv"
    path.write_text(" account ,x,y\n" + "".join(f"{ids[i % 3]},{i},{i % 5 * 1.5}\n" for i in range(60)))
    taskset = load_taskset(path, targets=["y"], task_column="account")
    assert taskset.task_names == [str(i) for i in ids]
    assert any("beyond 2^53" in w and "'account'" in w for w in taskset.warnings)


def test_unlabelled_tasks_other_than_the_target_are_left_out_quietly(tmp_path: Path) -> None:
    frame = _frame().assign(y=lambda f: f["y"].where(f["task"] != "s2"))  # s2: rows kept to predict later
    taskset = load_taskset(frame, targets=["y"], task_column="task", small_tasks="error")
    assert taskset.task_names == ["s0", "s1"] and not taskset.dropped_tasks


def test_a_padded_value_in_a_decimal_comma_column_keeps_it_numeric(tmp_path: Path) -> None:
    path = tmp_path / "amounts.csv"
    path.write_text("amount;y;task\n05;1;a\n" + "".join(f"{i},5;{i % 3};{'ab'[i % 2]}\n" for i in range(40)))
    frame = load_taskset(path, targets=["y"], task_column="task").features
    assert frame["amount"].dtype == float and frame["amount"].iloc[:2].tolist() == [5.0, 0.5]


def test_task_ids_with_leading_zeros_stay_distinct_and_padded_features_numeric(tmp_path: Path) -> None:
    from probes.data import infer_feature_type

    ids = ["01", "1", "001"]  # one number, three tasks as written (padded ids, zip codes)
    path = tmp_path / "padded.csv"
    path.write_text("site,hour,y\n" + "".join(f"{ids[i % 3]},{i % 24:02d},{i % 5 * 1.5}\n" for i in range(60)))
    taskset = load_taskset(path, targets=["y"], task_column="site")
    assert sorted(taskset.task_names) == sorted(ids)
    assert any("leading zeros" in w and "'site'" in w and "'hour'" in w for w in taskset.warnings)
    assert infer_feature_type(taskset.features["hour"]) == "numeric"


def test_json_lines_ids_beyond_2_to_the_53_stay_distinct_with_gaps(tmp_path: Path) -> None:
    ids = [9007199254740993, 9007199254740995, None]  # a float64 column would make the first 9007199254740992
    path = tmp_path / "accounts.jsonl"
    path.write_text(
        "".join(f'{{"account": {json.dumps(ids[i % 3])}, "x": {i}, "y": {i % 5 * 1.5}}}\n' for i in range(60))
    )
    taskset = load_taskset(path, targets=["y"], task_column="account")
    assert taskset.task_names == ["9007199254740993", "9007199254740995"]
    assert any("beyond 2^53" in w for w in taskset.warnings)


def test_parquet_named_index_is_a_column_again(tmp_path: Path) -> None:
    frame = _frame().set_index("task")
    frame.to_parquet(tmp_path / "indexed.parquet")
    taskset = load_taskset(tmp_path / "indexed.parquet", targets=["y"], task_column="task")
    assert [t.name for t in taskset.tasks] == ["s0", "s1", "s2"] and "task" not in taskset.features.columns


def test_multiindex_columns_are_refused_and_the_frame_is_untouched() -> None:
    frame = _frame()
    frame.columns = pd.MultiIndex.from_product([["a"], frame.columns])
    before = frame.copy()
    with pytest.raises(errors.UnsupportedFormatError, match="2-level column labels; flatten them"):
        inspect_data(frame, targets="y")
    pd.testing.assert_frame_equal(frame, before)


def test_a_spec_may_be_a_mapping_and_limits_too(tmp_path: Path) -> None:
    from advisor import Advisor

    path = _csv(_frame())(tmp_path)
    profile = Advisor(limits={"max_rows": 1_000}).inspect(path, {"targets": ["y"], "task_column": "task"})
    assert profile.n_tasks == 3
    with pytest.raises(errors.InvalidSpecError, match="spec must be a DatasetSpec or a mapping"):
        Advisor().inspect(path, "y")
    with pytest.raises(errors.InvalidSpecError, match="self: unknown field"):
        Advisor().inspect(path, {"targets": ["y"], "self": 1})


def test_cli_output_to_a_device_is_accepted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _csv(_frame())(tmp_path)
    assert run(["inspect", str(path), "--target", "y", "--task-column", "task", "--json", "/dev/null"]) == 0


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--json", "{data}"], "--json '{data}' is the input data file"),
        (["--json", ""], "--json needs a file path"),
        (["--json", "{tmp}"], "is a folder"),
        (["--json", "{tmp}/no/such/out.json"], "the folder '{tmp}/no/such' does not exist"),
        (["--max-file-mb", "-1"], "--max-file-mb must be a positive number"),
        (["--max-file-mb", "nan"], "--max-file-mb must be a positive number"),
    ],
)
def test_cli_output_paths_and_limits_are_checked_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], fragment: str
) -> None:
    path = _csv(_frame())(tmp_path)
    before = path.read_bytes()
    args = [a.format(data=path, tmp=tmp_path) for a in extra]
    assert run(["inspect", str(path), "--target", "y", "--task-column", "task", *args]) == 2
    err = capsys.readouterr().err
    assert fragment.format(data=path, tmp=tmp_path) in err and err.count("\n") == 1, err
    assert path.read_bytes() == before  # the data is never written over


def test_recommend_honours_small_tasks_in_the_sdk_and_the_cli(tmp_path: Path, capsys) -> None:
    from advisor import Advisor

    path = _csv(_frame(rows=6))(tmp_path)  # refused before any probe runs: no training in this test
    with pytest.raises(errors.TaskTooSmallError, match="CLI: --small-tasks drop"):
        Advisor().recommend(path, targets="y", task_column="task", small_tasks="error")
    assert run(["recommend", str(path), "-t", "y", "--task-column", "task", "--small-tasks", "error", "-q"]) == 2
    assert "'s0'" in capsys.readouterr().err


def test_pipes_and_devices_are_refused_without_waiting(tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "data.csv"
    os.mkfifo(fifo)  # nobody writes to it: opening it would block forever
    device = tmp_path / "null.csv"
    device.symlink_to("/dev/null")
    for path in (fifo, device):
        with pytest.raises(errors.UnreadableFileError, match="is not a regular file"):
            inspect_data(path, targets=["y"])


def test_complex_numbers_in_a_dataframe_are_refused() -> None:
    frame = _frame().assign(z=lambda f: f["x1"] + 1j)
    with pytest.raises(errors.UnsupportedFormatError, match="'z' hold complex numbers"):
        inspect_data(frame, targets=["y"], task_column="task")


def test_a_metric_for_one_kind_on_mixed_targets_says_which_tasks_keep_their_default() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=80), "a": rng.normal(size=80), "b": rng.integers(0, 2, size=80)})
    taskset = load_taskset(frame, targets=["a", "b"], metric="accuracy")
    assert [t.metric for t in taskset.tasks] == ["r2", "accuracy"]
    assert "metric 'accuracy' applies to classification tasks only; regression tasks keep r2." in taskset.warnings

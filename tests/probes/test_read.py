"""Reading every supported format into the same frame, and decoding non-UTF-8 text."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from probes.data import read_table
from probes.data._read import read_source
from probes.exceptions import EncodingError


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "task": ["a", "a", "b", "b"],
            "x": [1.5, 2.0, np.nan, 4.25],
            "name": ["José", "Zoë", "Łukasz", "Ana"],
            "y": [1, 0, 1, 0],
        }
    )


def _write(frame: pd.DataFrame, path: Path) -> Path:
    name = path.name.removesuffix(".gz")
    compression = "gzip" if path.name.endswith(".gz") else None
    if name.endswith(".csv"):
        frame.to_csv(path, index=False, compression=compression)
    elif name.endswith(".tsv"):
        frame.to_csv(path, index=False, sep="\t", compression=compression)
    elif name.endswith(".parquet"):
        if compression:
            data = frame.to_parquet(index=False)
            path.write_bytes(gzip.compress(data))
        else:
            frame.to_parquet(path, index=False)
    elif name.endswith(".jsonl"):
        text = "\n".join(
            json.dumps({k: (None if pd.isna(v) else v) for k, v in r.items()}) for r in frame.to_dict("records")
        )
        path.write_bytes(gzip.compress(text.encode()) if compression else text.encode())
    return path


@pytest.mark.parametrize(
    "name", ["d.csv", "d.csv.gz", "d.tsv", "d.tsv.gz", "d.parquet", "d.parquet.gz", "d.jsonl", "d.jsonl.gz"]
)
def test_every_format_reads_the_same_table(tmp_path: Path, frame: pd.DataFrame, name: str) -> None:
    got = read_table(_write(frame, tmp_path / name))
    assert list(got.columns) == list(frame.columns)
    assert got["name"].tolist() == frame["name"].tolist()
    np.testing.assert_allclose(got["x"].to_numpy(dtype=float), frame["x"].to_numpy(dtype=float))
    assert got["y"].tolist() == [1, 0, 1, 0]


def test_dataframe_is_not_modified(frame: pd.DataFrame) -> None:
    original = frame.copy()
    weird = frame.rename(columns={"x": 5})
    got = read_table(weird)
    assert "5" in got.columns and 5 in weird.columns
    pd.testing.assert_frame_equal(frame, original)


def test_semicolon_csv_is_sniffed(tmp_path: Path) -> None:
    path = tmp_path / "semi.csv"
    path.write_text("a;b;y\n1;2;3\n4;5;6\n")
    assert list(read_table(path).columns) == ["a", "b", "y"]


@pytest.mark.parametrize("encoding", ["cp1252", "utf-16", "utf-8-sig"])
def test_non_utf8_text_is_decoded(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "legacy.csv"
    lines = ["city,price"] + ["Zürich,1", "Besançon,2", "Málaga,3", "Dürnstein,4"] * 25
    path.write_bytes("\n".join(lines).encode(encoding))
    got, source = read_source(path)
    assert got["city"].tolist()[:4] == ["Zürich", "Besançon", "Málaga", "Dürnstein"]
    assert got["price"].tolist()[:4] == [1, 2, 3, 4]
    assert source.encoding == encoding or (encoding == "cp1252" and source.encoding.startswith("cp125"))
    if encoding == "cp1252":
        assert any("not UTF-8" in note for note in source.notes)


@pytest.mark.parametrize(
    ("encoding", "words"),
    [("shift_jis", ["東京", "大阪", "こんにちは"]), ("gbk", ["北京", "上海", "中文"])],
)
def test_legacy_multibyte_text_is_not_mistaken_for_damaged_utf8(tmp_path: Path, encoding: str, words) -> None:
    path = tmp_path / "legacy.csv"
    lines = ["city,price"] + [f"{words[i % len(words)]},{i}" for i in range(200)]
    path.write_bytes("\n".join(lines).encode(encoding))
    got, _ = read_source(path)
    assert got["city"].tolist()[: len(words)] == words


@pytest.mark.parametrize(
    ("encoding", "text"),
    [
        ("cp1251", "город,y\nМосква,1\nКиев,2\nМинск,3\n"),  # was refused: no encoding detected
        ("cp1251", "task,x,y\nзадача один,1,2\nзадача два,2,3\nтри,3,4\n"),  # was read as cp1125 (DOS)
        ("cp1250", "miasto,y\nŁódź,1\nKraków,2\nGdańsk,3\n"),  # was read as cp1252: '£ódŸ'
        ("cp1252", "ville,y\nCôte,1\nHéléne,2\n"),  # was read as Chinese Big5
        ("cp1252", "price,y\n5 €,1\n10 £,2\n"),
        ("shift_jis", "名前,y\n東京,1\n大阪,2\n"),  # East Asian detection still stands
        ("koi8_r", "город,y\nМосква,1\nКиев,2\nСанкт-Петербург,3\n"),  # not Windows-1251 'нОСКВА'
        ("iso8859_5", "город,y\nМосква,1\nКиев,2\nМинск,3\n"),
        ("cp1253", "πόλη,y\nΑθήνα,1\nΠάτρα,2\n"),  # was read as mac_greek
        ("cp1252", "temp,y\n25°C,1\n12 m²,2\nKöln,3\n"),
    ],
)
def test_short_legacy_text_is_read_in_its_code_page(tmp_path: Path, encoding: str, text: str) -> None:
    # On a few hundred bytes charset-normalizer ties many code pages and picks among them almost at random.
    path = tmp_path / "short.csv"
    path.write_bytes(text.encode(encoding))
    got, _ = read_source(path)
    header, *rows = text.strip().split("\n")
    assert list(got.columns) == header.split(",")
    assert got.iloc[:, 0].tolist() == [row.rsplit(",", 1)[0].split(",")[0] for row in rows]


def test_utf8_with_a_few_stray_bytes_is_refused_with_where(tmp_path: Path) -> None:
    path = tmp_path / "joined.csv"
    lines = ["city,price"] + ["Zürich,1", "Genève,2", "Malmö,3", "São Paulo,4"] * 25
    data = "\n".join(lines).encode("utf-8")
    cut = data.index(b"\n", 300) + 1  # a stray byte at the start of a line, and one inside a value
    data = data[:cut] + b"\xff" + data[cut:700] + b"\xe9" + data[700:]
    path.write_bytes(data)
    with pytest.raises(EncodingError, match=r"UTF-8 text except for 2 byte\(s\).*0xff, on line (\d+)") as info:
        read_table(path)
    assert info.value.details["line"] == data[:cut].count(b"\n") + 1
    assert path.read_bytes() == data  # the file is left as it was


def test_undetectable_encoding_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "mystery.csv"
    noise = bytes(np.random.default_rng(0).integers(1, 256, size=5000, dtype=np.uint8))
    path.write_bytes(b"a,b\n" + noise)
    with pytest.raises(EncodingError, match="re-save it as UTF-8"):
        read_table(path)


def test_gzipped_rows_are_counted_as_records_not_lines(tmp_path: Path) -> None:
    from probes.data import Limits

    # 30 records over 91 lines (quoted newlines), under a limit of 40 rows: read, not refused
    path = tmp_path / "quoted.csv.gz"
    path.write_bytes(gzip.compress(("x;note\n" + "".join(f'{i};"a\nb\nc"\n' for i in range(30))).encode()))
    frame = read_table(path, limits=Limits(max_rows=40))
    assert frame.shape == (30, 2) and frame["note"].iloc[0] == "a\nb\nc"


@pytest.mark.parametrize(
    ("existing", "asked"),
    [("d.csv.gz", "d.csv"), ("d.csv", "d.csv.gz"), ("d.parquet", "d.csv"), ("d.tsv.gz", "d.tsv")],
)
def test_a_missing_file_names_the_file_next_to_it(existing: str, asked: str, tmp_path: Path) -> None:
    from probes.exceptions import DataFileNotFoundError

    (tmp_path / existing).write_bytes(b"x,y\n1,2\n")
    with pytest.raises(DataFileNotFoundError) as info:
        read_table(tmp_path / asked)
    assert str(info.value) == f"No such file: '{tmp_path / asked}'. Did you mean '{tmp_path / existing}'?"
    assert isinstance(info.value, FileNotFoundError) and info.value.details["similar"] == [str(tmp_path / existing)]
    with pytest.raises(DataFileNotFoundError, match=r"No such file: '.*other\.csv'\. Check the path\.$"):
        read_table(tmp_path / "other.csv")  # nothing alike: no guess


def test_the_path_checks_need_no_pandas() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from probes.data import FORMATS, Limits, check_path; "
        "print(sorted(m for m in ('pandas', 'numpy', 'torch') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("name", ["wide.csv", "wide.csv.gz", "wide.parquet", "wide.jsonl"])
def test_a_table_over_the_cell_limit_is_refused_before_it_is_built(tmp_path: Path, name: str) -> None:
    from probes.data import Limits
    from probes.exceptions import FileTooLargeError

    frame = pd.DataFrame(np.zeros((60, 20), dtype=int), columns=[f"c{i}" for i in range(20)])
    path = _write(frame, tmp_path / name)
    with pytest.raises(FileTooLargeError, match="cells; the limit is 1,000") as info:
        read_table(path, limits=Limits(max_cells=1_000))  # 60 x 20 = 1,200 cells
    assert info.value.details["limit"] == 1_000 and info.value.details["columns"] == 20
    assert read_table(path, limits=Limits(max_cells=1_200)).shape == (60, 20)  # at the limit: read
    with pytest.raises(FileTooLargeError, match="cells"):
        read_table(frame, limits=Limits(max_cells=1_000))


def test_quoted_newlines_do_not_count_against_the_cell_limit(tmp_path: Path) -> None:
    from probes.data import Limits

    # 30 records over 91 lines: 60 cells, under a limit of 70 (the line count alone would say 182)
    path = tmp_path / "quoted.csv"
    path.write_text("x;note\n" + "".join(f'{i};"a\nb\nc"\n' for i in range(30)))
    assert read_table(path, limits=Limits(max_cells=70)).shape == (30, 2)


def test_parquet_rows_are_refused_from_the_footer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pyarrow.parquet as pq

    from probes.data import Limits
    from probes.exceptions import FileTooLargeError

    path = _write(pd.DataFrame({"a": np.zeros(500, dtype=int)}), tmp_path / "long.parquet")
    monkeypatch.setattr(pq.ParquetFile, "read", lambda *a, **k: pytest.fail("the table was decoded"))
    with pytest.raises(FileTooLargeError, match="500 rows; the limit is 100"):
        read_table(path, limits=Limits(max_rows=100))

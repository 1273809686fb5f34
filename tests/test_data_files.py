"""Reading data files for the command line: formats, chunks, progress and every error message."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlflow_staleness.data_files import (
    PROGRESS_MIN_BYTES,
    check_usable,
    fingerprint_file,
    read_table,
)
from mlflow_staleness.exceptions import InvalidInputError
from mlflow_staleness.fingerprint import DataFingerprint, NumericColumn


def sample(n: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Numbers, integers, text with a missing value and a column with missing values."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "count": rng.integers(0, 100, n),
            "plan": rng.choice(["free", "pro", "team"], n),
            "gap": np.where(rng.random(n) < 0.1, np.nan, rng.random(n)),
        }
    )
    frame.loc[n // 2, "plan"] = None
    return frame


def write(path: Path, frame: pd.DataFrame, *, row_group_size: int | None = None) -> Path:
    """Write ``frame`` in the format the suffix names."""
    name = path.name
    if name.endswith((".parquet", ".pq")):
        frame.to_parquet(path, index=False, row_group_size=row_group_size)
    elif name.endswith(".tsv"):
        frame.to_csv(path, index=False, sep="\t")
    else:
        frame.to_csv(path, index=False)  # .csv.gz is compressed, inferred from the suffix
    return path


def message(path: Path, *parts: str) -> str:
    """A ``match`` pattern: the path, then each part, in this order."""
    return ".*".join(re.escape(part) for part in (str(path), *parts))


# ---------------------------------------------------------------------------------- happy paths
@pytest.mark.parametrize("name", ["data.parquet", "data.pq", "data.csv", "data.csv.gz", "data.tsv"])
def test_every_format_reads_the_same_frame(tmp_path: Path, name: str) -> None:
    frame = sample()
    expected = pd.read_parquet(write(tmp_path / "ref.parquet", frame))
    got = read_table(write(tmp_path / name, frame))
    pd.testing.assert_frame_equal(got, expected)


def test_parquet_and_csv_give_identical_frames_in_small_chunks(tmp_path: Path) -> None:
    frame = sample(2000)
    parquet = write(tmp_path / "data.parquet", frame, row_group_size=300)
    csv = write(tmp_path / "data.csv", frame)
    from_parquet = read_table(parquet, chunk_rows=128)
    from_csv = read_table(csv, chunk_rows=128)
    pd.testing.assert_frame_equal(from_parquet, from_csv)
    pd.testing.assert_frame_equal(from_parquet, pd.read_parquet(parquet))
    pd.testing.assert_frame_equal(from_csv, pd.read_csv(csv))
    assert from_csv.index.equals(pd.RangeIndex(2000))


def test_parquet_index_is_restored(tmp_path: Path) -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0]}, index=pd.Index([10, 11, 12], name="id"))
    path = tmp_path / "indexed.parquet"
    frame.to_parquet(path, row_group_size=1)
    pd.testing.assert_frame_equal(read_table(path, chunk_rows=1), pd.read_parquet(path))


@pytest.mark.parametrize("name", ["data.parquet", "data.csv"])
def test_columns_are_read_in_the_order_asked(tmp_path: Path, name: str) -> None:
    path = write(tmp_path / name, sample(50))
    got = read_table(path, columns=["plan", "x"], chunk_rows=7)
    assert list(got.columns) == ["plan", "x"]
    assert len(got) == 50


def test_csv_column_typed_differently_across_chunks_is_read_as_text(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    path.write_text("a,b\n" + "1,x\n" * 5 + "n/a?,y\n" + ",\n" * 3 + "2,z\n", encoding="utf-8")
    whole = pd.read_csv(path)
    pd.testing.assert_frame_equal(read_table(path, chunk_rows=2), whole)
    fingerprint, rows = fingerprint_file(path, chunk_rows=2)
    assert rows == 10
    assert fingerprint.schema == DataFingerprint.from_frame(whole).schema


def test_text_column_missing_in_a_whole_chunk_keeps_its_dtype(tmp_path: Path) -> None:
    path = tmp_path / "gaps.csv"
    path.write_text("n,s\n1,a\n2,b\n3,\n4,\n5,c\n", encoding="utf-8")
    pd.testing.assert_frame_equal(read_table(path, chunk_rows=2), pd.read_csv(path))


# ---------------------------------------------------------------------------------- progress
@pytest.mark.parametrize(("name", "unit"), [("data.parquet", "row groups"), ("data.csv", "rows")])
def test_forced_progress_goes_to_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, unit: str
) -> None:
    path = write(tmp_path / name, sample(500), row_group_size=100)
    read_table(path, progress=True, chunk_rows=50)
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"\rreading {name}: ")
    assert unit in err
    assert err.endswith("\n")
    assert "\n" not in err[:-1]  # one line, rewritten in place
    final = err.rstrip("\n").rsplit("\r", 1)[-1].rstrip()
    assert final.endswith(
        "5/5 row groups, 500/500 rows" if name.endswith("parquet") else "500 rows"
    )


def test_fingerprint_file_shows_progress_when_forced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path / "data.parquet", sample(300), row_group_size=100)
    fingerprint_file(path, progress=True, chunk_rows=40)
    err = capsys.readouterr().err
    assert err.startswith("\rreading data.parquet: 0/3 row groups")
    assert "3/3 row groups, 300/300 rows" in err
    assert err.endswith("\n")


@pytest.mark.parametrize("progress", [None, False])
def test_no_progress_for_small_files_or_when_off(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], progress: bool | None
) -> None:
    path = write(tmp_path / "data.csv", sample(500))
    read_table(path, progress=progress, chunk_rows=50)
    fingerprint_file(path, progress=progress, chunk_rows=50)
    assert capsys.readouterr() == ("", "")


def test_progress_by_default_for_large_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "large.csv"
    row = "y" * 9_999 + "\n"
    rows = PROGRESS_MIN_BYTES // len(row) + 10
    path.write_text("text\n" + row * rows, encoding="utf-8")
    assert path.stat().st_size > PROGRESS_MIN_BYTES
    assert len(read_table(path)) == rows
    assert capsys.readouterr().err.startswith("\rreading large.csv: ")
    read_table(path, progress=False)
    assert capsys.readouterr().err == ""


def test_progress_line_ends_before_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "late.csv"
    path.write_bytes(b"a,b\n" + b"1,2\n" * 50 + b"\xe9,1\n")
    with pytest.raises(InvalidInputError):
        read_table(path, progress=True, chunk_rows=10)
    assert capsys.readouterr().err.endswith("\n")


# ---------------------------------------------------------------------------------- fingerprints
@pytest.mark.parametrize("name", ["data.parquet", "data.csv", "data.csv.gz", "data.tsv"])
def test_fingerprint_file_in_one_chunk_equals_from_frame(tmp_path: Path, name: str) -> None:
    frame = sample()
    path = write(tmp_path / name, frame)  # one row group: pyarrow's default is far larger
    fingerprint, rows = fingerprint_file(path)
    assert rows == len(frame) == fingerprint.n_rows
    assert fingerprint.digest == DataFingerprint.from_frame(read_table(path)).digest
    assert fingerprint == DataFingerprint.from_frame(frame)


@pytest.mark.parametrize("name", ["data.parquet", "data.csv"])
def test_fingerprint_file_in_many_chunks_matches_from_frame(tmp_path: Path, name: str) -> None:
    # The sketches depend on how the rows are chunked; counts, extremes and schema do not.
    frame = sample(3000)
    path = write(tmp_path / name, frame, row_group_size=700)
    fingerprint, rows = fingerprint_file(path, chunk_rows=256)
    reference = DataFingerprint.from_frame(frame)
    assert rows == 3000
    assert fingerprint.schema == reference.schema
    for column, expected in reference.columns.items():
        got = fingerprint.columns[column]
        if isinstance(expected, NumericColumn):
            assert isinstance(got, NumericColumn)
            assert (got.n_missing, got.n_inf, got.min, got.max) == (
                expected.n_missing,
                expected.n_inf,
                expected.min,
                expected.max,
            )
            assert got.mean == pytest.approx(expected.mean)
            assert got.quantile(0.5) == pytest.approx(expected.quantile(0.5), abs=0.1)
        else:
            assert got == expected


@pytest.mark.parametrize("name", ["data.parquet", "data.csv"])
def test_fingerprint_file_excludes_columns(tmp_path: Path, name: str) -> None:
    frame = sample()
    path = write(tmp_path / name, frame)
    fingerprint, rows = fingerprint_file(path, exclude=["plan", "not_there"])
    assert list(fingerprint.columns) == ["x", "count", "gap"]
    assert rows == len(frame)
    assert fingerprint == DataFingerprint.from_frame(frame.drop(columns="plan"))
    single, _ = fingerprint_file(path, exclude="gap")  # one name, not its letters
    assert list(single.columns) == ["x", "count", "plan"]


def test_fingerprint_file_refuses_excluding_every_column(tmp_path: Path) -> None:
    path = write(tmp_path / "data.csv", sample(10))
    with pytest.raises(InvalidInputError, match=message(path, "all excluded")):
        fingerprint_file(path, exclude=["x", "count", "plan", "gap"])


# ---------------------------------------------------------------------------------- file errors
def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.csv"
    with pytest.raises(InvalidInputError, match=message(path, "does not exist", "check the path")):
        read_table(path)
    with pytest.raises(InvalidInputError, match=message(path, "does not exist")):
        fingerprint_file(path)


def test_directory(tmp_path: Path) -> None:
    path = tmp_path / "parts.parquet"
    path.mkdir()
    with pytest.raises(InvalidInputError, match=message(path, "is a directory", "one file")):
        read_table(path)


@pytest.mark.parametrize("name", ["empty.csv", "empty.parquet"])
def test_empty_file(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.touch()
    with pytest.raises(InvalidInputError, match=message(path, "is empty (0 bytes)")):
        read_table(path)
    with pytest.raises(InvalidInputError, match=message(path, "is empty (0 bytes)")):
        fingerprint_file(path)


@pytest.mark.parametrize(("name", "got"), [("data.xlsx", "'.xlsx'"), ("data", "no suffix")])
def test_unsupported_suffix_lists_the_supported_ones(tmp_path: Path, name: str, got: str) -> None:
    path = tmp_path / name
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    expected = ".parquet, .pq, .csv, .csv.gz, .tsv"
    with pytest.raises(InvalidInputError, match=message(path, got, expected)):
        read_table(path)


def test_suffixes_are_case_insensitive(tmp_path: Path) -> None:
    path = write(tmp_path / "DATA.CSV", sample(5))
    assert len(read_table(path)) == 5


def test_corrupt_parquet(tmp_path: Path) -> None:
    path = tmp_path / "junk.parquet"
    path.write_bytes(b"this is not a parquet file")
    with pytest.raises(InvalidInputError, match=message(path, "not a readable Parquet file")):
        read_table(path)
    with pytest.raises(InvalidInputError, match=message(path, "not a readable Parquet file")):
        fingerprint_file(path)


def test_truncated_parquet(tmp_path: Path) -> None:
    whole = write(tmp_path / "whole.parquet", sample())
    path = tmp_path / "cut.parquet"
    path.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(InvalidInputError, match=message(path, "not a readable Parquet file")):
        read_table(path)


def test_parquet_with_damaged_pages(tmp_path: Path) -> None:
    whole = write(tmp_path / "whole.parquet", sample(), row_group_size=100)
    damaged = bytearray(whole.read_bytes())
    damaged[4:68] = b"\xff" * 64  # the first page header; the footer is intact
    path = tmp_path / "damaged.parquet"
    path.write_bytes(bytes(damaged))
    with pytest.raises(InvalidInputError, match=message(path, "not a readable Parquet file")):
        read_table(path)
    with pytest.raises(InvalidInputError, match=message(path, "not a readable Parquet file")):
        fingerprint_file(path)


def test_parquet_without_rows(tmp_path: Path) -> None:
    path = write(tmp_path / "none.parquet", sample().iloc[:0])
    with pytest.raises(InvalidInputError, match=message(path, "has a schema but no rows")):
        read_table(path)


@pytest.mark.parametrize(
    "content",
    [b"a,b\n\xe9t\xe9,1\n", b"a,b\n" + b"1,2\n" * 40 + b"caf\xe9,3\n"],
    ids=["first-chunk", "later-chunk"],
)
def test_csv_that_is_not_utf8(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes(content)
    pattern = message(path, "not valid UTF-8", "0xe9", "expected a UTF-8", "re-save it as UTF-8")
    with pytest.raises(InvalidInputError, match=pattern):
        read_table(path, chunk_rows=8)
    with pytest.raises(InvalidInputError, match=pattern):
        fingerprint_file(path, chunk_rows=8)


def test_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeffa,b\n1,é\n".encode())
    assert list(read_table(path).columns) == ["a", "b"]


@pytest.mark.parametrize("name", ["header.csv", "header.csv.gz", "header.tsv"])
def test_csv_with_a_header_but_no_rows(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    header = b"a\tb\n" if name.endswith(".tsv") else b"a,b\n"
    path.write_bytes(gzip.compress(header) if name.endswith(".gz") else header)
    with pytest.raises(InvalidInputError, match=message(path, "has a header but no rows")):
        read_table(path)
    with pytest.raises(InvalidInputError, match=message(path, "has a header but no rows")):
        fingerprint_file(path)


def test_csv_with_only_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "blank.csv"
    path.write_text("\n\n\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match=message(path, "no header line")):
        read_table(path)


@pytest.mark.parametrize(
    ("name", "header", "looks", "expected"),
    [
        ("semicolon.csv", "a;b;c", "';'-delimited", "expected ','"),
        ("tabs.csv", "a\tb\tc", "tab-delimited", "expected ','"),
        ("pipes.csv", "a|b|c", "'|'-delimited", "expected ','"),
        ("commas.tsv", "a,b,c", "','-delimited", "expected tab"),
    ],
)
def test_csv_with_the_wrong_delimiter(
    tmp_path: Path, name: str, header: str, looks: str, expected: str
) -> None:
    sep = header[1]
    path = tmp_path / name
    path.write_text(f"{header}\n1{sep}2,5{sep}3\n4{sep}5{sep}6\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match=message(path, looks, expected)):
        read_table(path)
    with pytest.raises(InvalidInputError, match=message(path, looks, expected)):
        fingerprint_file(path)


def test_csv_with_the_wrong_delimiter_and_no_rows(tmp_path: Path) -> None:
    path = tmp_path / "semicolon.csv"
    path.write_text("a;b\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match=message(path, "';'-delimited")):
        read_table(path)


def test_single_column_csv_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "one.csv"
    path.write_text("value\n1\n2\n", encoding="utf-8")
    assert read_table(path)["value"].tolist() == [1, 2]


def test_csv_with_a_ragged_row(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text("a,b\n1,2\n1,2,3,4\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match=message(path, "line 3", "as many fields")):
        read_table(path)


def test_gzip_that_is_not_gzip(tmp_path: Path) -> None:
    path = tmp_path / "plain.csv.gz"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match=message(path, "not a valid gzip file")):
        read_table(path)


def test_truncated_gzip(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    text = pd.DataFrame({"x": rng.normal(size=2000)}).to_csv(index=False).encode()
    packed = gzip.compress(text)
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(InvalidInputError, match=message(path, "not a valid gzip file")):
        read_table(path)


@pytest.mark.parametrize("name", ["data.parquet", "data.csv"])
def test_requested_columns_that_are_missing(tmp_path: Path, name: str) -> None:
    path = write(tmp_path / name, sample(10))
    with pytest.raises(
        InvalidInputError,
        match=message(path, "no column(s) 'age', 'Plan'", "'x', 'count', 'plan', 'gap'"),
    ):
        read_table(path, columns=["x", "age", "Plan"])


def test_missing_columns_message_lists_at_most_twenty(tmp_path: Path) -> None:
    path = write(tmp_path / "wide.csv", pd.DataFrame({f"c{i}": [i] for i in range(30)}))
    with pytest.raises(InvalidInputError) as info:
        read_table(path, columns=["nope"])
    text = str(info.value)
    assert "'c19'" in text
    assert "'c20'" not in text
    assert "and 10 more" in text
    assert "\n" not in text


def test_bad_arguments(tmp_path: Path) -> None:
    path = write(tmp_path / "data.csv", sample(5))
    with pytest.raises(InvalidInputError, match="chunk_rows must be an integer >= 1"):
        read_table(path, chunk_rows=0)
    with pytest.raises(InvalidInputError, match="at least one column"):
        read_table(path, columns=[])
    with pytest.raises(InvalidInputError, match="progress must be True, False or None"):
        read_table(path, progress="yes")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="must be a str or a path"):
        read_table(3)  # type: ignore[arg-type]


def test_every_message_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text("a,b\n1,2\n1,2,3\n", encoding="utf-8")
    with pytest.raises(InvalidInputError) as info:
        read_table(path)
    assert "\n" not in str(info.value)


# ---------------------------------------------------------------------------------- check_usable
def test_check_usable_accepts_a_normal_frame() -> None:
    assert check_usable(sample(20)) is None


def test_check_usable_refuses_no_rows() -> None:
    with pytest.raises(InvalidInputError, match=r"train\.csv has no rows"):
        check_usable(sample().iloc[:0], name="train.csv")


def test_check_usable_refuses_no_columns() -> None:
    with pytest.raises(InvalidInputError, match="no columns"):
        check_usable(pd.DataFrame(index=range(3)))


def test_check_usable_names_entirely_missing_columns() -> None:
    frame = pd.DataFrame({"a": [np.nan, np.nan], "ok": [1, 2], "b": [None, None]})
    with pytest.raises(
        InvalidInputError, match=r"column\(s\) 'a', 'b' are entirely missing \(NaN\) in data"
    ):
        check_usable(frame)


def test_check_usable_names_infinite_columns() -> None:
    frame = pd.DataFrame({"up": [1.0, np.inf], "ok": [1.0, np.nan], "down": [-np.inf, 0.0]})
    with pytest.raises(
        InvalidInputError, match=r"column\(s\) 'up', 'down' of new\.parquet hold infinite"
    ):
        check_usable(frame, name="new.parquet")


def test_check_usable_accepts_text_that_reads_inf() -> None:
    assert check_usable(pd.DataFrame({"s": ["inf", "-inf"]})) is None


def test_check_usable_refuses_a_non_frame() -> None:
    with pytest.raises(InvalidInputError, match="must be a pandas DataFrame, got list"):
        check_usable([1, 2])  # type: ignore[arg-type]

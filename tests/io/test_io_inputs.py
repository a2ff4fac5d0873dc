"""Inputs: ``.csv.gz`` and ``.zip`` read as streams (the same store as the plain CSV), every file read once
(de-duplicated by resolved path), and the line scan that finds what DuckDB's reader skips."""

from __future__ import annotations

import gzip
import hashlib
import io
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from flexpersona.cli import main
from flexpersona.io import ingest
from flexpersona.io.lines import physical_lines, record_offsets, scan_lines
from flexpersona.io.sources import SourceFile, insert_rows
from flexpersona.store import Store

HEADER = "LCLid,stdorToU,DateTime,KWH/hh (per half hour) \r\n"
TARIFF = "TariffDateTime,Tariff\r\n" + "".join(
    f"{t:%Y-%m-%d %H:%M:%S},{'High' if t.hour == 18 else 'Normal'}\r\n"
    for t in pd.date_range("2013-01-01", periods=96, freq="30min"))


def ds_rows(hid: str, grp: str, start: str, values: list[str]) -> str:
    ts = pd.date_range(start, periods=len(values), freq="30min")
    return "".join(f"{hid},{grp},{t:%Y-%m-%d %H:%M:%S}.0000000, {v} \r\n" for t, v in zip(ts, values))


def pieces(tmp_path: Path) -> list[Path]:
    """Two pieces with a straddling household, rejected values, a blank line, a bad row and a cut last line."""
    a = HEADER + ds_rows("MAC1", "Std", "2013-01-01", ["0.1", "Null", "-0.5", "0.2", "abc", "0.3"]) + "\r\n"
    a += ds_rows("MAC2", "ToU", "2013-01-01", ["0.5", "0.6"]) + "MAC2,ToU,2013-01-01 01:00:00.0000000\r\n"
    b = HEADER + ds_rows("MAC2", "ToU", "2013-01-01 00:30", ["0.9", "0.7", "0.8"])
    b += ds_rows("MAC3", "Std", "2013-01-02", ["0.4"] * 4)
    b += "MAC3,Std,2013-01-02 02:00:00.0"
    d = tmp_path / "plain"
    d.mkdir()
    (d / "p_0.csv").write_bytes(a.encode())
    (d / "p_1.csv").write_bytes(b.encode())
    return [d / "p_0.csv", d / "p_1.csv"]


def digests(store: Path) -> dict[str, str]:
    files = sorted((store / "readings").glob("*.parquet")) + [store / "ledger.parquet", store / "households.parquet"]
    return {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in files}


def test_gz_and_zip_give_the_same_store_as_plain_csv(tmp_path):
    files = pieces(tmp_path)
    plain = ingest(files, tmp_path / "s_plain")
    acc = plain.accounting["datastore"]
    assert acc["rejected_by_reason"] == {"blank_line": 1, "missing_field": 1, "truncated_last_line": 1,
                                         "negative_value": 1, "unparseable_value": 1, "duplicate_timestamp": 1}
    gz = tmp_path / "gz"
    gz.mkdir()
    for f in files:
        (gz / (f.name + ".gz")).write_bytes(gzip.compress(f.read_bytes()))
    z = tmp_path / "pieces.zip"
    with zipfile.ZipFile(z, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for f in files:
            zf.write(f, f"LCL/{f.name}")
            zf.writestr(f"gz/{f.name}.gz", gzip.compress(f.read_bytes()))  # .csv.gz inside a zip too
    for name, inputs in (("gz", [gz]), ("zipped", [z])):
        rep = ingest(inputs, tmp_path / f"s_{name}")
        assert rep.accounting["datastore"]["read"] == acc["read"] * (2 if name == "zipped" else 1)
        if name == "gz":
            assert rep.accounting == plain.accounting
            assert digests(tmp_path / "s_gz") == digests(tmp_path / "s_plain")  # byte-identical
            iss_plain = Store(tmp_path / "s_plain").read("issues")
            iss_gz = Store(tmp_path / "s_gz").read("issues")
            assert iss_gz["file"].tolist() == [f"{f}.gz".replace("/plain/", "/gz/") if isinstance(f, str) else f
                                               for f in iss_plain["file"]]
            pd.testing.assert_frame_equal(iss_gz.drop(columns="file"), iss_plain.drop(columns="file"))
    assert not [p for p in tmp_path.glob("s_*/**/*") if p.suffix in (".csv", ".gz")]  # nothing unpacked


def test_gz_general_path_day48(tmp_path):
    head = "LCLid,Date," + ",".join(f"{h:02d}:{m:02d}:00" for h in range(24) for m in (0, 30)) + "\n"
    body = "".join(f"MAC1,2013-01-0{d}," + ",".join(f"{0.01 * i:.2f}" for i in range(48)) + "\n" for d in (1, 2, 3))
    text = head + body[:-1] + "\n\n"  # a blank line at the end
    (tmp_path / "block1sep.csv").write_text(text)
    (tmp_path / "g").mkdir()
    (tmp_path / "g" / "block1sep.csv.gz").write_bytes(gzip.compress(text.encode()))
    a = ingest([tmp_path / "block1sep.csv"], tmp_path / "a")
    b = ingest([tmp_path / "g"], tmp_path / "b")
    assert a.accounting == b.accounting
    assert a.accounting["day48"]["rejected_by_reason"] == {"blank_line": 48}
    assert digests(tmp_path / "a") == digests(tmp_path / "b")


def test_tariff_inside_the_input_folder_is_read_once(tmp_path):
    """Issue 13 bug: ``--tariff F`` with F inside the INPUT folder failed ("more than one tariff", same path)."""
    files = pieces(tmp_path)
    tariff = files[0].parent / "Tariffs.csv"
    tariff.write_text(TARIFF, newline="")
    rep = ingest([files[0].parent], tmp_path / "s", tariff=tariff)
    assert rep.tariff_filled_normal == 17520 - 96
    again = ingest([files[0].parent], tmp_path / "s2", tariff=Path(str(tariff.parent / ".." / "plain" / "Tariffs.csv")))
    assert again.accounting == rep.accounting
    res = CliRunner().invoke(main, ["ingest", str(files[0].parent), "--tariff", str(tariff), "--store",
                                    str(tmp_path / "s3")])
    assert res.exit_code == 0, res.output


def test_a_file_named_twice_is_read_once(tmp_path):
    files = pieces(tmp_path)
    once = ingest(files, tmp_path / "a")
    twice = ingest([files[0], files[0].parent, files[1], str(files[1].parent / ".." / "plain" / "p_1.csv")],
                   tmp_path / "b")
    assert twice.accounting == once.accounting
    assert twice.files_by_layout == {"datastore": 2}


def test_two_different_tariffs_are_still_an_error(tmp_path):
    files = pieces(tmp_path)
    (files[0].parent / "Tariffs.csv").write_text(TARIFF, newline="")
    other = tmp_path / "other.csv"
    other.write_text(TARIFF, newline="")
    with pytest.raises(Exception, match="more than one tariff"):
        ingest([files[0].parent], tmp_path / "s", tariff=other)


# -- the line scan ------------------------------------------------------------------------------------------
def reference_scan(data: bytes) -> tuple[int, bool, list[int]]:
    """Lines after the header, terminated, blank line numbers: by splitting in Python."""
    lines = data.split(b"\n")
    tail = lines.pop()  # after the last LF
    has_tail = tail not in (b"", b"\r")
    total = len(lines) + has_tail
    blanks = [i + 1 for i, x in enumerate(lines) if i > 0 and x in (b"", b"\r")]
    return max(total - 1, 0), data[-1:] in (b"\n", b"\r"), blanks


line_text = st.sampled_from([b"", b"\r", b"a,b", b"MAC1,Std,2013-01-01 00:00:00, 0.1 \r", b"  ", b"x,\r"])


@settings(max_examples=150, deadline=None)
@given(lines=st.lists(line_text, max_size=40), tail=st.sampled_from([b"", b"\r", b"MAC9,Std,2013", b"x\r"]),
       chunk=st.integers(1, 9), gz=st.booleans())
def test_scan_lines_matches_python_split(lines, tail, chunk, gz):
    data = b"LCLid,x\r\n" + b"\n".join(lines) + (b"\n" if lines else b"") + tail
    n, terminated, blanks = reference_scan(data)
    with __import__("tempfile").TemporaryDirectory() as tmp:
        p = Path(tmp) / ("a.csv.gz" if gz else "a.csv")
        p.write_bytes(gzip.compress(data) if gz else data)
        for locate in (True, False):
            got = scan_lines(SourceFile(p), locate=locate, chunk_size=chunk)
            assert (got.n_lines, got.terminated) == (n, terminated)
            if locate:
                assert list(got.blank_lines) == blanks


@settings(max_examples=150, deadline=None)
@given(skipped=st.sets(st.integers(2, 60), max_size=15))
def test_record_lines_map_to_physical_lines(skipped):
    physical = [x for x in range(2, 80) if x not in skipped]  # the lines the reader returned, in order
    records = np.arange(len(physical)) + 2  # record number + 1
    got = physical_lines(records, record_offsets(skipped))
    assert got.tolist() == physical


def test_corrupt_gz_is_a_clear_error(tmp_path):
    data = gzip.compress((HEADER + ds_rows("MAC1", "Std", "2013-01-01", ["0.1"] * 3000)).encode())
    f = tmp_path / "p_0.csv.gz"
    f.write_bytes(data[: len(data) // 2])
    with pytest.raises(Exception) as e:
        ingest([f], tmp_path / "s")
    assert str(f) in str(e.value) and "Fix:" in str(e.value)


def test_gz_is_streamed_not_read_whole(tmp_path, monkeypatch):
    """The Python side (header, line scan) reads a .gz in bounded chunks, never the whole file at once."""
    f = tmp_path / "p_0.csv.gz"
    f.write_bytes(gzip.compress((HEADER + ds_rows("MAC1", "Std", "2013-01-01", ["0.1"] * 2000)).encode()))
    reads = []
    real = gzip.GzipFile.read

    def spy(self, size=-1):
        reads.append(size)
        return real(self, size)

    monkeypatch.setattr(gzip.GzipFile, "read", spy)
    scan_lines(SourceFile(f), chunk_size=4096)
    assert -1 not in reads and None not in reads
    assert isinstance(SourceFile(f).open(), io.IOBase)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2**31 - 1), st.none() | st.text(max_size=8),
                          st.none() | st.integers(-(2**62), 2**62)), max_size=40))
def test_insert_rows_appends_python_rows_with_the_table_types(rows):
    """The ingest's bookkeeping rows (labels, Acorn, rejects) go into DuckDB in one statement, values and NULLs
    as ``executemany`` would put them, cast to the table's types."""
    import duckdb

    con = duckdb.connect()
    con.execute("CREATE TABLE t (i INTEGER, s VARCHAR, n BIGINT)")
    con.execute("INSERT INTO t VALUES (7, 'x', NULL)")
    insert_rows(con, "t", rows)
    assert con.execute("SELECT * FROM t").fetchall() == [(7, "x", None), *rows]
    assert [r[1] for r in con.execute("DESCRIBE t").fetchall()] == ["INTEGER", "VARCHAR", "BIGINT"]

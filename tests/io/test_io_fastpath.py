"""The streaming readings path gives the same store as the general staging path (planted problems)."""

from __future__ import annotations

import dataclasses
import hashlib
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from flexpersona.config import Config, DataConfig
from flexpersona.errors import ConfigError
from flexpersona.io import fastpath, ingest
from flexpersona.io.ingest import collect_inputs

HEADER = "LCLid,stdorToU,DateTime,KWH/hh (per half hour) \r\n"


def ds_rows(hid: str, grp: str, start: str, values: list[str]) -> str:
    ts = pd.date_range(start, periods=len(values), freq="30min")
    return "".join(f"{hid},{grp},{t:%Y-%m-%d %H:%M:%S}.0000000, {v} \r\n" for t, v in zip(ts, values))


def write(path, text: str):
    path.write_bytes(text.encode())
    return path


def planted(tmp_path):
    """Two pieces: MAC2 straddles them with an overlap (one conflicting value), rejects of every kind."""
    a = HEADER + ds_rows("MAC1", "Std", "2012-12-31 22:00", ["0.1", "Null", "-0.5", "0.2", "55", "abc", "0.3"])
    a += "MAC1,Std,2013-01-01 03:10:00.0000000, 0.2 \r\n,Std,2013-01-01 05:00:00, 1 \r\n"
    a += ds_rows("MAC2", "ToU", "2013-01-01", ["0.5", "0.6", "Null"])
    b = HEADER + ds_rows("MAC2", "ToU", "2013-01-01 00:30", ["0.9", "0.7", "0.8"])  # 00:30 conflicts, 01:00 fills
    b += ds_rows("MAC3", "ToU", "2013-01-02", ["0.4"] * 4) + ds_rows("MAC4", "Std", "2013-01-02", ["0.1"] * 3)
    b += ds_rows("MAC4", "ToU", "2013-01-03", ["0.1"] * 2)  # both groups
    return [write(tmp_path / "p_0.csv", a), write(tmp_path / "p_1.csv", b)]


def _store(path):
    con = duckdb.connect()
    try:
        r = con.execute("SELECT * FROM read_parquet($g) ORDER BY ALL", {"g": str(path / "readings" / "*.parquet")}).df()
    finally:
        con.close()
    return {"readings": r, **{t: pd.read_parquet(path / f"{t}.parquet") for t in ("ledger", "households", "issues")}}


def both(tmp_path, files, monkeypatch, config=None):
    calls = []
    real = fastpath.ingest_fast

    def spy(*a, **k):
        out = real(*a, **k)
        calls.append(out is not None)
        return out

    monkeypatch.setattr(fastpath, "ingest_fast", spy)
    fast = ingest(files, tmp_path / "fast", config=config)
    monkeypatch.setattr(fastpath, "eligible", lambda readings: False)
    slow = ingest(files, tmp_path / "slow", config=config)
    return fast, slow, calls


def assert_same(tmp_path):
    f, s = _store(tmp_path / "fast"), _store(tmp_path / "slow")
    for name in f:
        pd.testing.assert_frame_equal(f[name], s[name], obj=name)


@pytest.mark.parametrize("marks", ["start", "end"])
def test_streaming_path_matches_general_path(tmp_path, monkeypatch, marks):
    files = planted(tmp_path)
    cfg = Config(data=DataConfig(timestamp_marks=marks))
    fast, slow, calls = both(tmp_path, files, monkeypatch, cfg)
    assert calls == [True]  # the streaming path ran (and did not fall back)
    assert fast.accounting == slow.accounting
    acc = fast.accounting["datastore"]
    assert acc["read"] == 24 and acc["read"] == acc["kept"] + acc["rejected"]
    assert acc["rejected_by_reason"] == {"negative_value": 1, "above_cap": 1, "unparseable_value": 1,
                                        "off_grid_timestamp": 1, "missing_household_id": 1,
                                        "duplicate_timestamp": 2}
    assert_same(tmp_path)
    led = _store(tmp_path / "fast")["ledger"].set_index("household_id")
    assert (led.loc["MAC2", "n_duplicates"], led.loc["MAC2", "n_conflicting"], led.loc["MAC2", "n_readings"]) == (2, 1, 4)
    assert led.loc["MAC4", "reason"] == "in_both_groups"
    r = _store(tmp_path / "fast")["readings"]
    mac2 = r[r.household_id == "MAC2"]["kwh"].tolist()
    assert mac2 == [0.5, 0.6, 0.7, 0.8]  # first value kept at 00:30; the Null at 01:00 filled
    iss = _store(tmp_path / "fast")["issues"].set_index("code")
    assert iss.loc["negative_value", "line"] == 4 and iss.loc["missing_household_id", "line"] == 10


def test_readings_unique_per_household_and_half_hour(tmp_path):
    files = planted(tmp_path)
    files.append(files[1].with_name("p_2.csv"))  # a repeated piece: every row of it a duplicate
    files[2].write_bytes(files[1].read_bytes())
    rep = ingest(files, tmp_path / "fast")
    assert rep.accounting["datastore"]["rejected_by_reason"]["duplicate_timestamp"] == 2 + 12
    con = duckdb.connect()
    r = con.execute("SELECT * FROM read_parquet($g)", {"g": str(tmp_path / "fast" / "readings" / "*.parquet")}).df()
    con.close()
    assert not r.duplicated(["household_id", "ts"]).any()
    assert len(r) == rep.accounting["datastore"]["kept"] == 17


@pytest.mark.parametrize("extra", [
    "MAC9,Std,2013-13-45 00:00:00.0000000, 0.2 \r\n",  # unparseable ISO-like timestamp
    "MAC9,Standard,2013-01-05 00:00:00.0000000, 0.2 \r\n",  # unknown group label
])
def test_unusual_rows_fall_back_to_the_general_path(tmp_path, monkeypatch, extra):
    files = planted(tmp_path)
    files[1].write_bytes(files[1].read_bytes() + extra.encode())
    fast, slow, calls = both(tmp_path, files, monkeypatch)
    assert calls == [False]
    assert fast.accounting == slow.accounting
    assert_same(tmp_path)


def test_slash_dates_are_not_streamed(tmp_path):
    f = write(tmp_path / "x.csv", HEADER + "MAC1,Std,1/2/2013 0:00, 0.1 \r\nMAC1,Std,1/2/2013 0:30, 0.2 \r\n")
    assert not fastpath.eligible([(fastpath.SourceFile(f), HEADER.strip().split(","), "datastore")])


def test_memory_limit_is_set_and_not_part_of_the_reuse_key(tmp_path, monkeypatch):
    f = planted(tmp_path)
    seen = []
    real = sys.modules["flexpersona.io.ingest"].configure_connection

    def spy(con, config, temp_dir):
        real(con, config, temp_dir)
        seen.append(con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0])

    monkeypatch.setattr(sys.modules["flexpersona.io.ingest"], "configure_connection", spy)
    cfg = Config(data=DataConfig(duckdb_memory_limit="700MB"))
    ingest(f, tmp_path / "s", config=cfg)
    assert seen and seen[0].replace(" ", "").lower() in ("700.0mb", "667.5mib", "700mb")
    again = ingest(f, tmp_path / "s", config=dataclasses.replace(cfg, data=DataConfig(duckdb_memory_limit="900MB")))
    assert again.skipped
    with pytest.raises(ConfigError, match="duckdb_memory_limit"):
        ingest(f, tmp_path / "t", config=Config(data=DataConfig(duckdb_memory_limit="lots")))


def test_values_the_typed_reader_cannot_cast_are_classified_from_the_text(tmp_path, monkeypatch):
    """Padded ``N/A``/``nan``/``NULL`` (missing, kept) and ``abc`` (rejected) on the streaming path, with lines."""
    a = HEADER + ds_rows("MAC1", "Std", "2013-01-01", ["0.1", "N/A", "  nan", "abc", "NULL  ", "0.2"])
    a += ds_rows("MAC2", "ToU", "2013-01-01", ["0.3", "n/a"])
    files = [write(tmp_path / "p_0.csv", a)]
    fast, slow, calls = both(tmp_path, files, monkeypatch)
    assert calls == [True]
    assert fast.accounting == slow.accounting
    assert fast.accounting["datastore"]["rejected_by_reason"] == {"unparseable_value": 1}
    assert_same(tmp_path)
    st = _store(tmp_path / "fast")
    assert st["readings"]["kwh"].isna().sum() == 4 and len(st["readings"]) == 7
    assert st["issues"].set_index("code").loc["unparseable_value", "line"] == 5


def test_streaming_output_does_not_depend_on_the_thread_count(tmp_path):
    """One ordered Parquet file per layout: byte-identical readings with 1 and 2 DuckDB threads."""
    from flexpersona.simulate import simulate_to

    simulate_to(tmp_path / "sim", "datastore", 6, 6, seed=3, start="2012-01-01", end="2013-12-31",
                rows_per_piece=150_000)
    digests = []
    for n in (1, 2):
        store = tmp_path / f"s{n}"
        ingest([tmp_path / "sim"], store, config=Config(data=DataConfig(ingest_threads=n)))
        parts = sorted((store / "readings").glob("*.parquet"))
        assert parts
        digests.append([hashlib.sha256(p.read_bytes()).hexdigest() for p in parts])
        digests[-1].append(hashlib.sha256((store / "ledger.parquet").read_bytes()).hexdigest())
    assert digests[0] == digests[1]


REAL = Path(__file__).resolve().parents[1].parent.parent / "shared" / "data" / "lcl"


@pytest.mark.skipif(not REAL.is_dir(), reason="shared LCL data absent")
@pytest.mark.parametrize("inputs", [["datastore/MAC000002.csv"],
                                    ["kaggle_halfhourly/MAC000002.csv", "kaggle_halfhourly/MAC000003.csv"]])
def test_real_files_stream_and_match_the_general_path(tmp_path, monkeypatch, inputs):
    """The real London Datastore file (repeated rows, an off-grid Null) and Kaggle pieces take the streaming path."""
    fast, slow, calls = both(tmp_path, [REAL / p for p in inputs], monkeypatch)
    assert calls == [True]
    assert fast.accounting == slow.accounting
    assert_same(tmp_path)


def test_two_layouts_of_one_household_are_merged_like_the_general_path(tmp_path, monkeypatch):
    """A London Datastore piece and a Kaggle half-hourly piece of the same household, overlapping by two
    half-hours (one conflicting), plus a header-only piece: one Parquet per layout, duplicates merged across."""
    a = HEADER + ds_rows("MAC1", "Std", "2013-01-01", ["0.1", "0.2", "0.3", "Null"])
    ts = pd.date_range("2013-01-01 01:00", periods=3, freq="30min")
    k = "LCLid,tstp,energy(kWh/hh)\n" + "".join(f"MAC1,{t:%Y-%m-%d %H:%M:%S}.0000000,{v}\n"
                                                 for t, v in zip(ts, ["0.3", "0.9", "0.5"]))
    k += "MAC5,2013-01-01 00:00:00.0000000,0.7\n"
    files = [write(tmp_path / "p_0.csv", a), write(tmp_path / "block_0.csv", k),
             write(tmp_path / "p_1.csv", HEADER)]
    fast, slow, calls = both(tmp_path, files, monkeypatch)
    assert calls == [True]
    assert fast.accounting == slow.accounting
    assert fast.accounting["kaggle_halfhourly"]["rejected_by_reason"] == {"duplicate_timestamp": 2}
    assert_same(tmp_path)
    r = _store(tmp_path / "fast")["readings"]
    assert r[r.household_id == "MAC1"]["kwh"].tolist() == [0.1, 0.2, 0.3, 0.9, 0.5]


def test_zip_members_stream_without_unpacking_and_match_the_general_path(tmp_path, monkeypatch):
    """A .zip of the planted pieces takes the streaming path (DuckDB reads the members through a zip
    filesystem) with the same store, accounting and issue lines as the general path."""
    import zipfile

    files = planted(tmp_path)
    archive = tmp_path / "pieces.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for f in files:
            zf.write(f, arcname=f"LCL/{f.name}")
    fast, slow, calls = both(tmp_path, [archive], monkeypatch)
    assert calls == [True]
    assert fast.accounting == slow.accounting and fast.accounting["datastore"]["read"] == 24
    assert_same(tmp_path)
    iss = _store(tmp_path / "fast")["issues"].set_index("code")
    assert iss.loc["negative_value", "file"] == f"{archive}!LCL/p_0.csv" and iss.loc["negative_value", "line"] == 4
    assert not list(tmp_path.glob("fast/**/*.csv"))  # nothing unpacked into the store


ACORN_HEADER = "LCLid,stdorToU,DateTime,KWH/hh (per half hour) ,Acorn,Acorn_grouped\r\n"


def acorn_rows(hid: str, grp: str, start: str, values: list[str], acorn: str, acg: str) -> str:
    ts = pd.date_range(start, periods=len(values), freq="30min")
    return "".join(f"{hid},{grp},{t:%Y-%m-%d %H:%M:%S}.0000000, {v} ,{acorn},{acg}\r\n" for t, v in zip(ts, values))


@pytest.mark.parametrize("conflict", [False, True])
def test_acorn_columns_stream_and_match_the_general_path(tmp_path, monkeypatch, conflict):
    """The London Datastore copy with Acorn columns: Acorn per household as the general path takes it (first
    non-blank by file order); a household with two Acorn values in one file falls back to the general path."""
    a = ACORN_HEADER + acorn_rows("MAC1", "Std", "2013-01-01", ["0.1", "0.2"], "", "")
    a += acorn_rows("MAC1", "Std", "2013-01-01 01:00", ["0.3"], "ACORN-E", "Affluent")
    a += acorn_rows("MAC2", "ToU", "2013-01-01", ["0.4", "-1"], "ACORN-Q", "Adversity")
    b = ACORN_HEADER + acorn_rows("MAC2", "ToU", "2013-01-01 01:00", ["0.5"], "ACORN-Q" if not conflict else "ACORN-P",
                                  "Adversity")
    b += acorn_rows("MAC3", "Std", "2013-01-02", ["0.6"] * 3, "ACORN-U", "ACORN-U")
    if conflict:
        b += acorn_rows("MAC3", "Std", "2013-01-03", ["0.6"], "ACORN-A", "Affluent")
    files = [write(tmp_path / "p_0.csv", a), write(tmp_path / "p_1.csv", b)]
    fast, slow, calls = both(tmp_path, files, monkeypatch)
    assert calls == [not conflict]
    assert fast.accounting == slow.accounting
    assert_same(tmp_path)
    hh = _store(tmp_path / "fast")["households"].set_index("household_id")
    assert hh.loc["MAC1", "acorn"] == "ACORN-E" and hh.loc["MAC2", "acorn_grouped"] == "Adversity"
    assert hh.loc["MAC2", "acorn"] == "ACORN-Q"  # the first file's value, also when the second differs


class _CountingConnection:
    """A DuckDB connection that records the statements that read CSV text (``read_csv``)."""

    def __init__(self, con):
        self._con, self.csv_statements = con, []

    def execute(self, sql, *args, **kwargs):
        if "read_csv(" in sql:
            self.csv_statements.append(sql)
        return self._con.execute(sql, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._con, name)


def test_clean_files_are_parsed_once_labels_and_acorn_included(tmp_path):
    """Issue 14: the typed pass is the only pass over the text; it writes each reading's file, group label and
    Acorn texts (``SOURCE_COLUMNS``), from which the labels and Acorn are counted."""
    a = ACORN_HEADER + acorn_rows("MAC1", "Std", "2013-01-01", ["0.1"] * 3000, "ACORN-E", "Affluent")  # whole chunks
    a += acorn_rows("MAC2", "ToU", "2013-01-01", ["0.4", "Null"], "ACORN-Q", "Adversity")
    b = ACORN_HEADER + acorn_rows("MAC2", "ToU", "2013-01-01 01:00", ["0.5"], "ACORN-Q", "Adversity")
    b += acorn_rows("MAC3", "treatment", "2013-01-02", ["0.6"] * 3, "", "")
    files = [write(tmp_path / "p_0.csv", a), write(tmp_path / "p_1.csv", b)]
    readings = collect_inputs(files).readings
    con = _CountingConnection(duckdb.connect())
    try:
        out = fastpath.ingest_fast(con, tmp_path / "work", readings, Config())
    finally:
        con.close()
    assert out is not None
    assert len(con.csv_statements) == 1 and "COPY" in con.csv_statements[0]  # one typed pass, nothing else
    hh = out.households.set_index("household_id")
    assert [list(g) for g in hh["grps"]] == [["Std"], ["ToU"], ["ToU"]]
    assert hh["acorn"].tolist() == ["ACORN-E", "ACORN-Q", None]
    sources = duckdb.connect().execute(
        "SELECT file_idx, household_id, source_group, source_acorn, source_acorn_grouped, count(*) AS n "
        "FROM read_parquet($p) GROUP BY ALL ORDER BY ALL", {"p": [str(p) for p in out.parts]}).fetchall()
    assert sources == [(0, "MAC1", "Std", "ACORN-E", "Affluent", 3000), (0, "MAC2", "ToU", "ACORN-Q", "Adversity", 2),
                       (1, "MAC2", "ToU", "ACORN-Q", "Adversity", 1), (1, "MAC3", "treatment", None, None, 3)]


def test_labels_of_rows_the_typed_reader_cannot_cast_come_from_the_text(tmp_path, monkeypatch):
    """Households seen only in rows the typed reader rejects (``abc``, a padded ``Null``) still get their group
    and Acorn, as on the general path."""
    a = ACORN_HEADER + acorn_rows("MAC1", "Std", "2013-01-01", ["0.1", "0.2"], "ACORN-E", "Affluent")
    a += acorn_rows("MAC5", "ToU", "2013-01-01", ["abc"], "ACORN-C", "Comfortable")
    a += acorn_rows("MAC6", "Std", "2013-01-01", ["  Null  "], "ACORN-F", "Comfortable")
    files = [write(tmp_path / "p_0.csv", a)]
    fast, slow, calls = both(tmp_path, files, monkeypatch)
    assert calls == [True]
    assert fast.accounting == slow.accounting
    assert_same(tmp_path)
    hh = _store(tmp_path / "fast")["households"].set_index("household_id")
    assert hh.loc["MAC5", "acorn"] == "ACORN-C" and hh.loc["MAC6", "acorn"] == "ACORN-F"
    led = _store(tmp_path / "fast")["ledger"].set_index("household_id")
    assert led.loc["MAC5", "group"] == "treatment" and led.loc["MAC6", "group"] == "control"

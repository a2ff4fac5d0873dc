"""Every readings layout on small files made in tmp_path (the UK Data Service layout is not in shared data)."""

from __future__ import annotations

import zipfile

import duckdb
import numpy as np
import pandas as pd
import pytest

from flexpersona.config import Config
from flexpersona.io import ingest, read_households, read_survey, read_tariff
from flexpersona.store import Store

DS_HEADER = "LCLid,stdorToU,DateTime,KWH/hh (per half hour) ,Acorn,Acorn_grouped\r\n"


def ds_piece(rows: list[tuple[str, str, pd.Timestamp, str]]) -> str:
    return DS_HEADER + "".join(
        f"{h},{g},{t:%Y-%m-%d %H:%M:%S}.0000000, {v} ,ACORN-A,Affluent\r\n" for h, g, t, v in rows)


def readings(store) -> pd.DataFrame:
    con = duckdb.connect()
    try:
        return con.execute("SELECT * FROM read_parquet($g)", {"g": Store(store).readings_glob}).df()
    finally:
        con.close()


@pytest.fixture
def datastore_pieces(tmp_path):
    """Two London Datastore pieces; MAC2 straddles them; one Null."""
    rng = np.random.default_rng(7)
    ts = pd.date_range("2013-01-01", periods=96, freq="30min")
    rows = [("MAC1", "Std", t, f"{v:.3f}") for t, v in zip(ts, rng.uniform(0, 1, 96))]
    rows += [("MAC2", "ToU", t, f"{v:.3f}") for t, v in zip(ts, rng.uniform(0, 1, 96))]
    rows[10] = ("MAC1", "Std", ts[10], "Null")
    p0, p1 = rows[:150], rows[150:]
    d = tmp_path / "ds"
    d.mkdir()
    (d / "LCL-June2015v2_0.csv").write_text(ds_piece(p0), newline="")
    (d / "LCL-June2015v2_1.csv").write_text(ds_piece(p1), newline="")
    return d, rows


def test_datastore_pieces_and_zip_agree(tmp_path, datastore_pieces):
    d, rows = datastore_pieces
    rep = ingest([d], tmp_path / "s1")
    assert rep.accounting["datastore"] == {"read": 192, "kept": 192, "rejected": 0, "rejected_by_reason": {},
                                           "unit": "rows"}
    assert rep.households_per_group == {"control": 1, "treatment": 1}
    z = tmp_path / "pieces.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for f in sorted(d.iterdir()):
            zf.write(f, f"LCL/{f.name}")
    rep2 = ingest([z], tmp_path / "s2")
    a, b = readings(tmp_path / "s1"), readings(tmp_path / "s2")
    pd.testing.assert_frame_equal(a, b)
    assert a["kwh"].isna().sum() == 1
    exp = pd.Series([np.nan if v == "Null" else float(v) for *_, v in rows])
    np.testing.assert_allclose(a["kwh"].to_numpy(), exp.to_numpy())
    assert list(a["household_id"]) == sorted(a["household_id"])
    hh = pd.read_parquet(tmp_path / "s2" / "households.parquet").set_index("household_id")
    assert hh.loc["MAC2", "acorn"] == "ACORN-A"
    assert rep2.accounting == rep.accounting


def test_reingest_unchanged_is_skipped(tmp_path, datastore_pieces):
    d, _ = datastore_pieces
    first = ingest([d], tmp_path / "s")
    again = ingest([d], tmp_path / "s")
    assert not first.skipped and again.skipped
    assert again.accounting == first.accounting
    changed = ingest([d], tmp_path / "s", config=Config().replace(data={"kwh_cap": 0.5}))
    assert not changed.skipped
    assert changed.accounting["datastore"]["rejected_by_reason"]["above_cap"] > 0


def test_timestamp_marks_end_shifts_back(tmp_path, datastore_pieces):
    d, _ = datastore_pieces
    ingest([d], tmp_path / "s", config=Config().replace(data={"timestamp_marks": "end"}))
    got = readings(tmp_path / "s")
    assert got["ts"].min() == pd.Timestamp("2012-12-31 23:30")


def test_day48_straddled_day_merged_value_by_value(tmp_path):
    head = "LCLid,Date," + ",".join(f"{h:02d}:{m:02d}:00" for h in range(24) for m in (0, 30)) + "\n"
    vals = [f"{0.01 * (i + 1):.2f}" for i in range(48)]
    first = vals[:20] + [""] * 28
    second = [""] * 20 + vals[20:]
    d = tmp_path / "hh"
    d.mkdir()
    (d / "block1sep.csv").write_text(head + "MAC1,2013-01-01," + ",".join(vals) + "\n"
                                     + "MAC1,2013-01-02," + ",".join(first) + "\n")
    (d / "block2sep.csv").write_text(head + "MAC1,2013-01-02," + ",".join(second) + "\n"
                                     + "MAC1,2013-01-03," + ",".join(vals) + "\n")
    h = tmp_path / "h.csv"
    h.write_text("LCLid,stdorToU,Acorn,Acorn_grouped,file\nMAC1,ToU,ACORN-U,ACORN-U,block_1\n")
    rep = ingest([d], tmp_path / "s", households=h)
    got = readings(tmp_path / "s")
    assert len(got) == 144 and got["kwh"].notna().sum() == 144
    day2 = got[got["ts"].dt.day == 2]["kwh"].to_numpy()
    np.testing.assert_allclose(day2, [float(v) for v in vals])
    assert rep.accounting["day48"] == {"read": 192, "kept": 144, "rejected": 48, "unit": "cells",
                                       "rejected_by_reason": {"duplicate_timestamp": 48}}
    led = pd.read_parquet(tmp_path / "s" / "ledger.parquet")
    assert (led.loc[0, "n_duplicates"], led.loc[0, "n_conflicting"], led.loc[0, "group"]) == (48, 0, "treatment")
    assert pd.isna(led.loc[0, "acorn"])


def test_kaggle_hhblock_and_halfhourly_agree(tmp_path):
    ts = pd.date_range("2013-01-01", periods=96, freq="30min")
    v = np.round(np.random.default_rng(3).uniform(0, 2, 96), 3)
    long = "LCLid,tstp,energy(kWh/hh)\n" + "".join(f"MAC5,{t:%Y-%m-%d %H:%M:%S}, {x} \n" for t, x in zip(ts, v))
    block = "LCLid,day," + ",".join(f"hh_{i}" for i in range(48)) + "\n"
    block += "MAC5,2013-01-01," + ",".join(map(str, v[:48])) + "\nMAC5,2013-01-02," + ",".join(map(str, v[48:])) + "\n"
    (tmp_path / "MAC5.csv").write_text(long)
    (tmp_path / "block_0.csv").write_text(block)
    h = tmp_path / "h.csv"
    h.write_text("LCLid,stdorToU\nMAC5,Std\n")
    r1 = ingest([tmp_path / "MAC5.csv"], tmp_path / "a", households=h)
    r2 = ingest([tmp_path / "block_0.csv"], tmp_path / "b", households=h)
    assert set(r1.accounting) == {"kaggle_halfhourly"} and set(r2.accounting) == {"kaggle_hhblock"}
    pd.testing.assert_frame_equal(readings(tmp_path / "a"), readings(tmp_path / "b"))


@pytest.fixture
def ukds_dir(tmp_path):
    d = tmp_path / "ukds"
    d.mkdir()
    ts = pd.date_range("2013-01-01", periods=48 * 3, freq="30min")
    rng = np.random.default_rng(11)
    for name, ids in (("consumption_d.csv", ["D0001", "D31"]), ("consumption_n.csv", ["N0002", "N0003"])):
        lines = ["GMT," + ",".join(ids)]
        for t in ts:
            lines.append(f"{t:%d/%m/%Y %H:%M}," + ",".join(f"{x:.3f}" for x in rng.uniform(0, 1, len(ids))))
        (d / name).write_text("\n".join(lines) + "\n")
    prices = np.where(ts.hour == 18, 0.672, np.where(ts.hour == 3, 0.0399, 0.1176))
    (d / "tariff_d.csv").write_text("GMT,Price,Event_tags\n" + "".join(
        f"{t:%d/%m/%Y %H:%M},{p},{'H1' if p > 0.6 else ''}\n" for t, p in zip(ts, prices)))
    (d / "survey_answers.csv").write_text("Household_id,Q01,Q137\nD1,Always,Agree\nD31,Never,\nD0001,Rarely,x\n")
    return d


def test_ukds_layout(tmp_path, ukds_dir):
    rep = ingest([ukds_dir], tmp_path / "s")
    assert rep.files_by_layout == {"ukds": 2}
    assert rep.accounting["ukds"]["read"] == 4 * 144 and rep.accounting["ukds"]["kept"] == 4 * 144
    assert set(rep.date_formats.values()) == {"%d/%m/%Y %H:%M"}
    st = Store(tmp_path / "s")
    hh = st.read("households").set_index("household_id")["group"].to_dict()
    assert hh == {"D0001": "treatment", "D0031": "treatment", "N0002": "control", "N0003": "control"}
    tariff = st.read("tariff")
    assert len(tariff) == 17520 and rep.tariff_filled_normal == 17520 - 144
    first = tariff[tariff["ts"] < "2013-01-04"]
    assert (first["band"] == "High").sum() == 6 and (first["band"] == "Low").sum() == 6
    survey = st.read("survey")
    assert survey["household_id"].tolist() == ["D0001", "D0031"]
    issues = st.read("issues")
    assert set(issues["code"]) == {"survey_duplicate", "tariff_gap"}
    led = st.read("ledger")
    assert (led["reason"] == "insufficient_trial").all()  # three days of a year


def test_ukds_ids_in_survey_reader_alone(ukds_dir):
    assert read_survey(ukds_dir / "survey_answers.csv").attrs["duplicates"] == ["D0001"]


def test_generic_parquet_with_map(tmp_path):
    ts = pd.date_range("2013-01-01", periods=10, freq="30min")
    df = pd.DataFrame({"meter": ["m1"] * 10, "time": ts.strftime("%Y-%m-%dT%H:%M:%S"), "value": np.arange(10.0)})
    df.to_parquet(tmp_path / "meters.parquet")
    (tmp_path / "groups.csv").write_text("household_id,group\nm1,control\n")
    rep = ingest([tmp_path / "meters.parquet"], tmp_path / "s", column_map="household_id=meter,ts=time,kwh=value",
                 households=tmp_path / "groups.csv")
    assert rep.accounting["generic"]["kept"] == 10
    assert rep.households_per_group == {"control": 1}
    assert readings(tmp_path / "s")["kwh"].tolist() == list(np.arange(10.0))


def test_households_reader(tmp_path):
    f = tmp_path / "h.csv"
    f.write_bytes(b"\xef\xbb\xbfLCLid,stdorToU,Acorn,Acorn_grouped,file\r\nA,ToU,ACORN-,ACORN-,b\r\nB,Std,ACORN-E,"
                  b"Affluent,b\r\nC,Other,ACORN-Q,Adversity,b\r\n")
    issues = []
    df = read_households(f, issues=issues).set_index("household_id")
    assert df["group"].to_dict() == {"A": "treatment", "B": "control", "C": None}
    assert df.loc["A", "acorn"] is None and df.loc["B", "acorn_grouped"] == "Affluent"
    assert [i.code for i in issues] == ["unknown_group"]


def test_tariff_ukds_reader_alone(ukds_dir):
    t = read_tariff(ukds_dir / "tariff_d.csv")
    assert len(t) == 144 and t.attrs["date_format"] == "%d/%m/%Y %H:%M"
    assert t.loc[t["band"] == "High", "price"].eq(0.672).all()


def test_disk_backed_staging_gives_the_same_store(tmp_path, datastore_pieces, monkeypatch):
    import sys

    d, _ = datastore_pieces
    ingest([d], tmp_path / "mem")
    monkeypatch.setattr(sys.modules["flexpersona.io.ingest"], "DISK_BACKED_ABOVE_BYTES", 0)
    ingest([d], tmp_path / "disk")
    pd.testing.assert_frame_equal(readings(tmp_path / "mem"), readings(tmp_path / "disk"))
    assert not (tmp_path / "disk" / ".duckdb_tmp").exists()

"""The top-level readers ``fp.read_readings / read_households / read_tariff / read_survey``: canonical DataFrames
equal to what ``ingest`` puts in the store for the same files (real LCL fragments and a simulated UKDS trial)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

import flexpersona as fp
from flexpersona.io import fastpath
from flexpersona.store import Store
from paths import LCL as DATA

HOUSEHOLDS = DATA / "households" / "informations_households.csv"
real = pytest.mark.skipif(not DATA.is_dir(), reason="shared LCL data absent")


def store_readings(store: Path) -> pd.DataFrame:
    con = duckdb.connect()
    try:
        return con.execute("SELECT household_id, ts, kwh FROM read_parquet($g) ORDER BY household_id, ts",
                           {"g": Store(store).readings_glob}).df()
    finally:
        con.close()


def norm(df: pd.DataFrame) -> pd.DataFrame:
    """Text columns as objects with None for missing (the store reads back pandas' ``str`` dtype with NaN)."""
    out = df.copy()
    for c in out.columns:
        if not pd.api.types.is_numeric_dtype(out[c]) and not pd.api.types.is_datetime64_any_dtype(out[c]):
            out[c] = out[c].astype(object).where(out[c].notna(), None)
    return out


def assert_same_readings(frame: pd.DataFrame, store: Path) -> None:
    assert list(frame.columns) == ["household_id", "ts", "kwh"]
    assert str(frame["ts"].dtype) == "datetime64[us]" and frame["kwh"].dtype == "float64"
    pd.testing.assert_frame_equal(frame, store_readings(store), check_dtype=False)
    assert not frame.duplicated(["household_id", "ts"]).any()


@real
@pytest.mark.parametrize("inputs", [
    ["datastore/MAC000002.csv"],  # streaming path: repeated rows, an off-grid Null
    ["kaggle_halfhourly/MAC000002.csv", "kaggle_halfhourly/MAC000010.csv"],
    ["hh2013/block2sep.csv", "hh2013/block3sep.csv"],  # general path, MAC000069 straddles the two pieces
])
def test_read_readings_equals_the_ingested_store(tmp_path, inputs):
    paths = [DATA / p for p in inputs]
    rep = fp.ingest(paths, tmp_path / "s", households=HOUSEHOLDS, tariff=DATA / "tariffs" / "Tariffs.xlsx")
    frame = fp.read_readings(paths if len(paths) > 1 else paths[0])
    assert_same_readings(frame, tmp_path / "s")
    assert frame.attrs["accounting"] == rep.accounting
    assert frame.attrs["date_formats"] == rep.date_formats


@real
def test_side_readers_equal_the_ingested_store(tmp_path):
    paths = [DATA / "hh2013" / "block1sep.csv"]
    fp.ingest(paths, tmp_path / "s", households=HOUSEHOLDS, tariff=DATA / "tariffs" / "Tariffs.xlsx")
    st = Store(tmp_path / "s")
    hh = fp.read_households(HOUSEHOLDS)
    assert list(hh.columns) == ["household_id", "group", "acorn", "acorn_grouped"]
    assert len(hh) == 5566 and hh["group"].value_counts().to_dict() == {"control": 4443, "treatment": 1123}
    stored = st.read("households")
    mine = hh.set_index("household_id").loc[stored["household_id"]].reset_index()
    pd.testing.assert_frame_equal(norm(mine), norm(stored))
    tariff = fp.read_tariff(DATA / "tariffs" / "Tariffs.xlsx")
    pd.testing.assert_frame_equal(norm(tariff), norm(st.read("tariff")))
    assert list(tariff.columns) == ["ts", "band", "price"]


def test_simulated_ukds_trial_readers_equal_the_store(tmp_path):
    from flexpersona.simulate import simulate_trial, write_trial

    trial = simulate_trial(3, 3, seed=5, start="2012-12-30", end="2013-01-03")
    write_trial(trial, tmp_path / "ukds", "ukds")
    fp.ingest([tmp_path / "ukds"], tmp_path / "s")
    st = Store(tmp_path / "s")
    files = sorted((tmp_path / "ukds").glob("consumption_*.csv"))
    assert_same_readings(fp.read_readings(files), tmp_path / "s")
    assert_same_readings(fp.read_readings(tmp_path / "ukds"), tmp_path / "s")  # side files in the folder skipped
    survey = fp.read_survey(tmp_path / "ukds" / "survey_answers.csv")
    pd.testing.assert_frame_equal(norm(survey), norm(st.read("survey")))
    assert survey.columns[0] == "household_id" and all(c.startswith("Q") for c in survey.columns[1:])
    tariff = fp.read_tariff(tmp_path / "ukds" / "tariff_d.csv")
    stored = st.read("tariff")
    pd.testing.assert_frame_equal(norm(tariff), norm(stored[stored["ts"].isin(tariff["ts"])].reset_index(drop=True)))


def test_read_readings_strict_and_paths(tmp_path, monkeypatch):
    f = tmp_path / "p.csv"
    f.write_text("LCLid,stdorToU,DateTime,KWH/hh (per half hour) \nMAC1,Std,2013-01-01 00:00:00, 0.1 \n\n"
                 "MAC1,Std,2013-01-01 00:30:00, 0.2 \n")
    df = fp.read_readings(f)
    assert df["kwh"].tolist() == [0.1, 0.2]
    assert df.attrs["accounting"]["datastore"]["rejected_by_reason"] == {"blank_line": 1}
    with pytest.raises(fp.InputError, match=r"p\.csv, line 3"):
        fp.read_readings(f, strict=True)
    monkeypatch.setattr(fastpath, "eligible", lambda readings: False)
    pd.testing.assert_frame_equal(fp.read_readings(f), df)
    (tmp_path / "Tariffs.csv").write_text("TariffDateTime,Tariff\n2013-01-01 00:00:00,Normal\n")
    with pytest.raises(fp.InputError, match="read_tariff"):
        fp.read_readings(tmp_path / "Tariffs.csv")


def test_readers_are_exported_at_the_top_level():
    import flexpersona
    import flexpersona.io as fio

    for name in ("read_readings", "read_households", "read_tariff", "read_survey", "ingest"):
        assert name in flexpersona.__all__ and getattr(flexpersona, name) is getattr(fio, name)

"""File formats of every layout the simulator writes (headers, quirks), read back independently of io."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from flexpersona.errors import ConfigError
from flexpersona.simulate import simulate_to, simulate_trial, ukds_ids, write_trial


@pytest.fixture(scope="module")
def trial():
    return simulate_trial(6, 5, seed=11, start="2012-12-20", end="2013-01-12", late_joiner_share=0.2)


def _nonnull(readings: pd.DataFrame) -> pd.DataFrame:
    r = readings.dropna(subset=["kwh"]).sort_values(["household_id", "ts"]).reset_index(drop=True)
    return r.astype({"household_id": "str"})


def test_datastore_format_and_contents(trial, tmp_path):
    files = write_trial(trial, tmp_path, "datastore", rows_per_piece=2000)
    pieces = sorted(tmp_path.glob("LCL-June2015v2_*.csv"), key=lambda p: int(p.stem.split("_")[1]))
    assert {p.name for p in pieces} <= {f.name for f in files}
    raw = pieces[0].read_bytes()
    assert raw.startswith(b"LCLid,stdorToU,DateTime,KWH/hh (per half hour) \r\n")
    assert raw.count(b"\r\n") == raw.count(b"\n")  # CRLF everywhere
    lines = raw.decode().split("\r\n")[1:-1]
    assert len(lines) == 2000  # full piece
    assert all(re.fullmatch(r"MAC\d{6},(Std|ToU),\d{4}-\d\d-\d\d \d\d:\d\d:00\.0000000,( \d+(\.\d+)? |Null)", x)
               for x in lines)
    assert any(x.endswith(",Null") for p in pieces for x in p.read_text().splitlines())
    frames = [pd.read_csv(p, dtype=str, keep_default_na=False) for p in pieces]
    df = pd.concat(frames, ignore_index=True)
    # Std households first, then ToU; a household straddles two pieces
    tou = (df["stdorToU"] == "ToU").to_numpy()
    assert not (tou[:-1] & ~tou[1:]).any()
    firsts = [f["LCLid"].iloc[0] for f in frames[1:]]
    lasts = [f["LCLid"].iloc[-1] for f in frames[:-1]]
    assert any(a == b for a, b in zip(lasts, firsts, strict=True))
    back = pd.DataFrame(
        {
            "household_id": df["LCLid"],
            "ts": pd.to_datetime(df["DateTime"].str[:19]).astype("datetime64[us]"),
            "kwh": pd.to_numeric(df["KWH/hh (per half hour) "].str.strip().replace("Null", None)),
        }
    )
    assert len(back) == len(trial.readings)
    pd.testing.assert_frame_equal(_nonnull(back), _nonnull(trial.readings))
    truth = pd.read_csv(tmp_path / "truth.csv")
    assert list(truth.columns[:5]) == ["household_id", "group", "persona", "high_effect_pct", "low_effect_pct"]
    assert (tmp_path / "Tariffs.csv").read_text().startswith("TariffDateTime,Tariff")
    hh = (tmp_path / "households.csv").read_bytes()
    assert hh.startswith(b"LCLid,stdorToU,Acorn,Acorn_grouped,file\r\n")


def test_kaggle_format_and_daily(trial, tmp_path):
    write_trial(trial, tmp_path, "kaggle")
    hh = tmp_path / "halfhourly_dataset" / "block_0.csv"
    text = hh.read_text()
    assert text.startswith("LCLid,tstp,energy(kWh/hh)\n")
    assert re.search(r"\nMAC\d{6},\d{4}-\d\d-\d\d \d\d:\d\d:00, \d+(\.\d+)? \n", text)
    assert ",Null\n" in text
    daily = pd.read_csv(tmp_path / "daily_dataset" / "block_0.csv")
    assert list(daily.columns) == ["LCLid", "day", "energy_median", "energy_mean", "energy_max", "energy_count",
                                   "energy_std", "energy_sum", "energy_min"]
    d = trial.daily.sort_values(["household_id", "day"]).reset_index(drop=True)
    daily = daily.sort_values(["LCLid", "day"]).reset_index(drop=True)
    assert len(daily) == len(d)
    np.testing.assert_array_equal(daily["energy_sum"].to_numpy(), d["kwh_sum"].to_numpy())
    np.testing.assert_array_equal(daily["energy_count"].to_numpy(), d["n_readings"].to_numpy())
    # late joiners: a partial first day
    assert (daily["energy_count"] < 48).any()
    info = pd.read_csv(tmp_path / "informations_households.csv")
    assert list(info.columns) == ["LCLid", "stdorToU", "Acorn", "Acorn_grouped", "file"]
    assert set(info["stdorToU"]) == {"ToU", "Std"} and (info["file"] == "block_0").all()


def test_day48_straddled_days_split_between_pieces(trial, tmp_path):
    write_trial(trial, tmp_path, "day48", rows_per_piece=1500)
    pieces = sorted(tmp_path.glob("block*sep.csv"))
    assert len(pieces) > 3
    header = pieces[0].read_text().splitlines()[0].split(",")
    assert header[:3] == ["LCLid", "Date", "00:00:00"] and header[-1] == "23:30:00" and len(header) == 50
    df = pd.concat([pd.read_csv(p).assign(piece=p.name) for p in pieces], ignore_index=True)
    dup = df[df.duplicated(["LCLid", "Date"], keep=False)]
    assert len(dup) >= 2  # a straddled day appears in two pieces ...
    for _, g in dup.groupby(["LCLid", "Date"]):
        vals = g[header[2:]].notna().to_numpy()
        assert not (vals[0] & vals[1]).any()  # ... each copy with part of the values
    assert int(df[header[2:]].notna().to_numpy().sum()) == int(trial.readings["kwh"].notna().sum())


def test_ukds_layout(trial, tmp_path):
    write_trial(trial, tmp_path, "ukds")
    d = pd.read_csv(tmp_path / "consumption_d.csv")
    n = pd.read_csv(tmp_path / "consumption_n.csv")
    assert d.columns[0] == "GMT" and list(d.columns[1:]) == [f"D{k:04d}" for k in range(1, 7)]
    assert list(n.columns[1:]) == [f"N{k:04d}" for k in range(1, 6)]
    assert d["GMT"].iloc[0] == "20/12/2012 00:00"
    t = pd.read_csv(tmp_path / "tariff_d.csv")
    assert list(t.columns) == ["GMT", "Price", "Event_tags"]
    assert (t["Price"] > 0.6).sum() == 788 and (t["Price"] < 0.04).sum() == 1660
    s = pd.read_csv(tmp_path / "survey_answers.csv", dtype=str)
    assert s.columns[0] == "Household_id" and "Q335" in s.columns
    norm = s["Household_id"].str[0] + s["Household_id"].str[1:].astype(int).map("{:04d}".format)
    assert norm.duplicated().sum() == 1  # one household twice (UKDS quirk)
    assert s["Household_id"].str.fullmatch(r"[DN]\d{1,3}").any()  # un-padded ids
    truth = pd.read_csv(tmp_path / "truth.csv")
    assert truth["household_id"].str.fullmatch(r"[DN]\d{4}").all()
    mapping = ukds_ids(trial.households)
    # values read back equal the trial's readings
    r = trial.readings.assign(household_id=trial.readings["household_id"].map(mapping))
    long = pd.concat([d.melt("GMT", var_name="household_id", value_name="kwh"),
                      n.melt("GMT", var_name="household_id", value_name="kwh")])
    long["ts"] = pd.to_datetime(long["GMT"], format="%d/%m/%Y %H:%M").astype("datetime64[us]")
    pd.testing.assert_frame_equal(_nonnull(long[["household_id", "ts", "kwh"]]), _nonnull(r))


def test_streaming_equals_in_memory(tmp_path):
    kw = dict(seed=5, start="2012-12-28", end="2013-01-03")
    simulate_to(tmp_path / "a", "datastore", 4, 5, chunk_households=2, rows_per_piece=1000, **kw)
    write_trial(simulate_trial(4, 5, **kw), tmp_path / "b", "datastore", rows_per_piece=1000)
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "b").iterdir())
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_unknown_layout_is_a_config_error(trial, tmp_path):
    with pytest.raises(ConfigError, match="unknown layout"):
        write_trial(trial, tmp_path, "parquet")

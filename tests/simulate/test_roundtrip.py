"""Acceptance: for every layout the simulator writes, ingesting it gives back the canonical tables it was
written from (property test over seeds)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import flexpersona.io as io
from flexpersona.simulate import simulate_trial, ukds_ids, write_trial
from flexpersona.store import Store

if not hasattr(io, "ingest"):  # pragma: no cover - the readers are not in this checkout yet
    pytest.skip("flexpersona.io.ingest is not available", allow_module_level=True)


def _readings(store) -> pd.DataFrame:
    con = duckdb.connect()
    try:
        sql = "SELECT household_id, ts, kwh FROM read_parquet($g) ORDER BY household_id, ts"
        return con.execute(sql, {"g": store.readings_glob}).df()
    finally:
        con.close()


def _norm(r: pd.DataFrame, *, nonnull: bool) -> pd.DataFrame:
    if nonnull:
        r = r.dropna(subset=["kwh"])
    r = r.sort_values(["household_id", "ts"]).reset_index(drop=True)
    return r.astype({"household_id": "str", "ts": "datetime64[us]", "kwh": "float64"})


def check_roundtrip(trial, layout: str, workdir: Path) -> None:
    data = workdir / layout
    write_trial(trial, data, layout, rows_per_piece=1500)
    if layout == "kaggle":  # the daily reader alone (fewer than 50 households: one block)
        _check_daily(io.read_daily(data / "daily_dataset" / "block_0.csv"), trial)
    try:
        io.ingest([data], workdir / f"store_{layout}")
    except duckdb.Error as exc:  # known io problem with Kaggle daily files (reported); anything else fails
        if layout == "kaggle" and "unfinished result" in str(exc):
            pytest.xfail(f"io.ingest cannot read Kaggle daily_dataset files yet: {exc}")
        raise
    store = Store(workdir / f"store_{layout}")
    mapping = ukds_ids(trial.households) if layout == "ukds" else None

    def mapped(df: pd.DataFrame) -> pd.DataFrame:
        return df if mapping is None else df.assign(household_id=df["household_id"].map(mapping).astype("str"))

    got = _readings(store)
    want = mapped(trial.readings)
    # long layouts keep NULL rows; wide layouts cannot tell a blank cell from no reading
    exact = layout in ("datastore", "kaggle")
    pd.testing.assert_frame_equal(_norm(got, nonnull=not exact), _norm(want, nonnull=not exact))

    cols = ["household_id", "group", "acorn", "acorn_grouped"]
    hh = store.read("households")[cols].sort_values("household_id").reset_index(drop=True)
    want_hh = mapped(trial.households)[cols].sort_values("household_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(hh.astype("str"), want_hh.astype("str"))

    tariff = store.read("tariff")[["ts", "band", "price"]].sort_values("ts").reset_index(drop=True)
    want_t = trial.tariff.sort_values("ts").reset_index(drop=True)
    assert (tariff["ts"].to_numpy() == want_t["ts"].to_numpy()).all()
    assert (tariff["band"].astype(str).to_numpy() == want_t["band"].astype(str).to_numpy()).all()
    np.testing.assert_allclose(tariff["price"].to_numpy(), want_t["price"].to_numpy())

    if layout == "ukds":
        survey = store.read("survey").sort_values("household_id").reset_index(drop=True)
        want_s = mapped(trial.survey).sort_values("household_id").reset_index(drop=True)
        survey = survey[list(want_s.columns)]
        pd.testing.assert_frame_equal(survey.astype(object).where(survey.notna(), None),
                                      want_s.astype(object).where(want_s.notna(), None))
    if layout == "kaggle":
        _check_daily(store.read("daily"), trial)


def _check_daily(daily: pd.DataFrame, trial) -> None:
    daily = daily.sort_values(["household_id", "day"]).reset_index(drop=True)
    want = trial.daily.sort_values(["household_id", "day"]).reset_index(drop=True)
    assert len(daily) == len(want)
    np.testing.assert_array_equal(daily["household_id"].astype(str), want["household_id"].astype(str))
    np.testing.assert_array_equal(pd.to_datetime(daily["day"]).dt.date, want["day"])
    for col in ("kwh_sum", "kwh_mean", "kwh_max", "kwh_min", "kwh_std"):
        np.testing.assert_allclose(daily[col].to_numpy(float), want[col].to_numpy(float), rtol=1e-12, err_msg=col)
    np.testing.assert_array_equal(daily["n_readings"].to_numpy(), want["n_readings"].to_numpy())


@pytest.mark.parametrize("layout", ["datastore", "kaggle", "day48", "ukds"])
@settings(max_examples=3, deadline=None, derandomize=True, phases=[Phase.generate], database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n_t=st.integers(1, 5), n_c=st.integers(1, 4))
def test_reading_back_gives_the_canonical_tables(layout, seed, n_t, n_c):
    trial = simulate_trial(n_t, n_c, seed=seed, start="2012-12-29", end="2013-01-04", late_joiner_share=0.3,
                           missing_share=0.03)
    with tempfile.TemporaryDirectory() as tmp:
        check_roundtrip(trial, layout, Path(tmp))

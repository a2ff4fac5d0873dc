"""The fast passes of issue 7: integer cell keys, pass-1 tables and the lifestyle flag equal the definitions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from flexpersona.config import Config
from flexpersona.features import definitions as q
from flexpersona.features.calendar import CELL_KEYS, build_calendar
from flexpersona.features.counterfactual import readings_view
from flexpersona.features.engine import DuckDBEngine


def _tariff() -> pd.DataFrame:
    ts = pd.to_datetime(["2013-01-02 17:00", "2013-01-02 17:30", "2013-03-05 01:00", "2013-07-06 18:00"])
    return pd.DataFrame({"ts": ts, "band": ["High", "High", "Low", "High"], "price": 0.1})


@pytest.mark.parametrize("period", ["month", "season"])
def test_cell_key_is_one_to_one_with_the_reference_cell(period):
    cfg = Config().replace(features={"reference_period": period})
    t = build_calendar(_tariff(), cfg, reference="baseline", lifestyle_source="halfhourly").table
    assert t["cell"].between(0, CELL_KEYS - 1).all()
    pairs = t[["slot", "wkend", "period", "cell"]].drop_duplicates()
    assert len(pairs) == pairs["cell"].nunique() == len(pairs[["slot", "wkend", "period"]].drop_duplicates())
    row = t.set_index("ts")
    assert row.loc[pd.Timestamp("2012-06-01 08:00"), ["mwin", "ewin"]].tolist() == [1, 0]
    assert row.loc[pd.Timestamp("2012-06-01 19:30"), ["mwin", "ewin"]].tolist() == [0, 1]
    # life_w: trial days without any High/Low/rebound/placebo half-hour, whatever the lifestyle source
    assert row.loc[pd.Timestamp("2013-01-02 03:00"), "life_w"] == 0
    assert row.loc[pd.Timestamp("2013-01-04 03:00"), "life_w"] == 1
    assert row.loc[pd.Timestamp("2012-01-04 03:00"), "life_w"] == 0


def _readings(seed: int = 5) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    ts = pd.date_range("2012-01-01", "2014-01-01", freq="30min", inclusive="left", unit="us")
    frames = []
    for i in range(4):
        keep = rng.random(len(ts)) > 0.1  # gaps
        kwh = rng.gamma(2.0, 0.1 * (i + 1), size=len(ts))
        kwh[rng.random(len(ts)) < 0.01] = np.nan  # missing values are dropped
        frames.append(pd.DataFrame({"household_id": f"H{i}", "ts": ts[keep], "kwh": kwh[keep]}))
    hh = pd.DataFrame({"household_id": [f"H{i}" for i in range(4)], "grp": ["treatment", "control"] * 2})
    return pd.concat(frames, ignore_index=True), hh


@pytest.mark.parametrize("source", ["halfhourly", "within_trial_normal"])
def test_pass1_tables_equal_the_direct_sums(source):
    readings, hh = _readings()
    cal = build_calendar(_tariff(), Config(), reference="baseline", lifestyle_source=source).table
    eng = DuckDBEngine(threads=1)
    try:
        eng.register("hh", hh.assign(hid=np.arange(len(hh), dtype="int64")))
        eng.readings(readings)
        eng.register("cal", cal)
        readings_view(eng)
        for name, sql in q.PASS1:
            eng.table(name, sql)
        eng.view("hday_l", q.with_life("hday", source))
        eng.view("hcls_l", q.with_life("hcls", source))
        means = eng.fetch(q.HOUSEHOLD_MEANS).set_index("household_id").sort_index()
        daily = eng.fetch(q.DAILY_STATS).set_index("household_id").sort_index()
        cov = eng.fetch(q.COVERAGE).set_index("household_id").sort_index()
    finally:
        eng.close()
    # the same quantities straight from the readings, in pandas
    d = readings.dropna(subset=["kwh"]).merge(cal, on="ts")
    life = d["life"] == 1
    g = d[life].groupby("household_id")
    np.testing.assert_allclose(means["life_all_sum"], g["kwh"].sum(), rtol=1e-12)
    np.testing.assert_array_equal(means["life_all_n"], g["kwh"].count())
    ev = d[life & (d["slot"] >= 32) & (d["slot"] < 40)].groupby("household_id")["kwh"]
    np.testing.assert_allclose(means["life_evening_sum"], ev.sum(), rtol=1e-12)
    np.testing.assert_array_equal(means["life_evening_n"], ev.count())
    mo = d[life & (d["wkend"] == 0) & (d["slot"] >= 14) & (d["slot"] < 18)].groupby("household_id")["kwh"]
    np.testing.assert_allclose(means["life_weekday_morning_sum"], mo.sum(), rtol=1e-12)
    tr = d[d["is_trial"] == 1]
    np.testing.assert_allclose(
        means["trial_cost_dynamic"], (tr["kwh"] * tr["price"]).groupby(tr["household_id"]).sum(), rtol=1e-12
    )
    days = d[life].groupby(["household_id", "day"])
    tot = days["kwh"].sum().groupby("household_id")
    np.testing.assert_allclose(daily["daily_sd"], tot.std(ddof=1), rtol=1e-10)
    np.testing.assert_allclose(daily["daily_mean"], tot.mean(), rtol=1e-12)
    night = d[life & (d["slot"] < 10)].groupby(["household_id", "day"])["kwh"].min().groupby("household_id")
    np.testing.assert_allclose(daily["baseload_kwh"], night.mean(), rtol=1e-12)
    np.testing.assert_array_equal(cov["n_base"], d[d["is_base"] == 1].groupby("household_id").size())
    np.testing.assert_array_equal(cov["n_trial"], tr.groupby("household_id").size())


def test_duckdb_engine_prints_no_progress_bar():
    """DuckDB's own bar prints even into logs and CI output; progress is the CLI's job (quiet off a terminal)."""

    eng = DuckDBEngine(threads=1)
    try:
        assert eng.con.execute("SELECT current_setting('enable_progress_bar')").fetchall()[0][0] is False
    finally:
        eng.close()


@pytest.mark.parametrize(("threads", "filters_off"), [(1, True), (2, False)])
def test_one_duckdb_thread_turns_off_dynamic_join_filters(threads, filters_off):
    """With dynamic join filters the readings' scan hands on rows in an order that varies from run to run, so
    one thread is bit-identical only without them (issue 13: in-memory features equal a run's to the bit)."""
    eng = DuckDBEngine(threads=threads)
    try:
        disabled = eng.con.execute("SELECT current_setting('disabled_optimizers')").fetchall()[0][0]
    finally:
        eng.close()
    assert ("join_filter_pushdown" in disabled) is filters_off
    assert "join_order" in disabled


def test_a_reading_off_the_half_hour_joins_no_calendar_row():
    """The readings join the calendar on ``ts``: a timestamp that is not the start of a half-hour joins no calendar row
    (a faster integer key must keep this)."""
    readings, hh = _readings()
    odd = pd.DataFrame({"household_id": ["H0", "H1"], "ts": [pd.Timestamp("2012-03-01 00:15"), pd.Timestamp("2013-05-02 17:00:01")],
                        "kwh": [99.0, 77.0]})
    cal = build_calendar(_tariff(), Config(), reference="baseline", lifestyle_source="halfhourly").table
    tables = []
    for r in (readings, pd.concat([readings, odd], ignore_index=True)):
        eng = DuckDBEngine(threads=1)
        eng.register("hh", hh.assign(hid=np.arange(len(hh), dtype="int64")))
        eng.readings(r)
        eng.register("cal", cal)
        readings_view(eng)
        tables.append(eng.fetch("SELECT hid, day, SUM(ku) AS s, COUNT(*) AS n FROM rd GROUP BY hid, day ORDER BY hid, day"))
        eng.close()
    pd.testing.assert_frame_equal(tables[0], tables[1], check_exact=True)


def test_fallback_levels_of_the_reference_equal_the_direct_means():
    """``bsel``: a household's B_h of a trial cell is its baseline mean of the month cell, else of the season cell
    (level 2), else of the slot x day type over all months (level 3), with the integer keys of the roll-ups."""
    readings, hh = _readings(seed=7)
    ts = readings["ts"]
    base = ts.dt.year == 2012
    gone = ((readings["household_id"] == "H0") & base & (ts.dt.month == 3)) | (
        (readings["household_id"] == "H1") & base & ts.dt.month.isin([3, 4, 5]))
    readings = readings[~gone].reset_index(drop=True)
    cal = build_calendar(_tariff(), Config(), reference="baseline", lifestyle_source="halfhourly").table
    eng = DuckDBEngine(threads=2)
    hid = hh.assign(hid=np.arange(len(hh), dtype="int64"))
    eng.register("hh", hid)
    eng.readings(readings)
    eng.register("cal", cal)
    readings_view(eng)
    for name, sql in q.reference_tables():
        eng.table(name, sql)
    bsel = eng.fetch("SELECT hcell, bh, lvl FROM bsel ORDER BY hcell")
    eng.close()
    r = readings.dropna(subset=["kwh"]).merge(cal, on="ts").merge(hid, on="household_id")
    r = r[r["ref"] == 1]
    trial_cells = cal.loc[cal["is_trial"] == 1, ["cell", "slot", "wkend", "month", "season"]].drop_duplicates()
    levels = {1: ["slot", "wkend", "month"], 2: ["slot", "wkend", "season"], 3: ["slot", "wkend"]}
    means = {k: r.groupby(["hid", *cols])["kwh"].mean() for k, cols in levels.items()}
    seen = set()
    for row in bsel.itertuples():
        h, cell = divmod(row.hcell, CELL_KEYS)
        c = trial_cells[trial_cells["cell"] == cell].iloc[0]
        for k, cols in levels.items():
            key = (h, *(int(c[col]) for col in cols))
            if key in means[k].index:
                assert row.lvl == k
                assert row.bh == pytest.approx(means[k][key], rel=1e-9)
                seen.add(k)
                break
    assert seen == {1, 2, 3}

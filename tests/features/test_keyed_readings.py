"""The readings keyed by integers (``rdk``): written once, kept in the store while their key holds (issue 14)."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from flexpersona.config import Config
from flexpersona.features import compute_features
from flexpersona.features import counterfactual as cf
from flexpersona.features.calendar import build_calendar
from flexpersona.features.engine import DuckDBEngine
from flexpersona.features.stage import _kept_households
from flexpersona.store import MemoryStore

from .conftest import make_trial

CFG = Config().replace(data={"min_baseline_coverage": 0.1})


@pytest.fixture(scope="module")
def trial(tmp_path_factory):
    return make_trial(tmp_path_factory.mktemp("keyed") / "store", n_treatment=8, n_control=10, seed=5)


def _half_away(v: np.ndarray) -> np.ndarray:
    """SQL's ROUND: halves away from zero (numpy's rounds them to even)."""
    return (np.sign(v) * np.floor(np.abs(v) + 0.5)).astype("int64")


def _cal(store):
    return build_calendar(store.read("tariff"), CFG, reference="baseline", lifestyle_source="halfhourly").table


def test_keyed_readings_hold_every_kept_reading_on_the_calendar(trial):
    hh = _kept_households(trial.store)
    cal = _cal(trial.store)
    eng = DuckDBEngine(threads=2)
    try:
        eng.register("hh", hh.assign(hid=np.arange(len(hh), dtype="int64")))
        eng.readings(trial.store.readings_source)
        eng.register("cal", cal)
        cf.readings_view(eng)
        got = eng.fetch("SELECT hid, t, ku FROM rdk ORDER BY hid, t")
    finally:
        eng.close()
    raw = pd.read_parquet(trial.store.readings_dir).dropna(subset=["kwh"])
    raw = raw[raw["household_id"].isin(hh["household_id"]) & raw["ts"].isin(cal["ts"])]
    want_hid = raw["household_id"].map(dict(zip(hh["household_id"], range(len(hh)), strict=True)))
    want_t = raw["ts"].map(dict(zip(cal["ts"], cal["t"], strict=True)))
    want = pd.DataFrame({"hid": want_hid.to_numpy(), "t": want_t.to_numpy(),
                         "ku": _half_away(raw["kwh"].to_numpy() * 1e12)}).sort_values(["hid", "t"])
    np.testing.assert_array_equal(got.to_numpy(), want.to_numpy())
    # the half-hour's number is its count since 1970: the same in every calendar of the run
    assert (cal["t"].to_numpy() == (cal["ts"] - pd.Timestamp("1970-01-01")) // pd.Timedelta(minutes=30)).all()


def test_a_store_keeps_them_while_their_key_holds(trial):
    first = compute_features(trial.store, CFG)
    cached = list((trial.store.path / "cache").glob("rdk-*.parquet"))
    assert len(cached) == 1
    written = cached[0].stat().st_mtime_ns
    again = compute_features(trial.store, CFG)
    assert cached[0].stat().st_mtime_ns == written  # read, not written again
    pd.testing.assert_frame_equal(first.features, again.features, check_exact=True)
    pd.testing.assert_frame_equal(first.replicates, again.replicates, check_exact=True)

    hh, cal = _kept_households(trial.store), _cal(trial.store)
    assert cf.keyed_readings_path(trial.store, hh, cal) == cached[0]
    # another household set, another key; the old file goes
    other = cf.keyed_readings_path(trial.store, hh.iloc[1:], cal)
    assert other != cached[0] and not cached[0].exists()
    # new readings (re-ingested: another modification time), another key
    part = next(trial.store.readings_dir.glob("*.parquet"))
    st = part.stat()
    os.utime(part, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert cf.keyed_readings_path(trial.store, hh, cal) not in (cached[0], other)


def test_in_memory_readings_are_not_kept():
    store = MemoryStore(pd.DataFrame({"household_id": [], "ts": [], "kwh": []}), pd.DataFrame(), pd.DataFrame())
    assert cf.keyed_readings_path(store, pd.DataFrame({"household_id": []}), pd.DataFrame({"ts": []})) is None


def test_a_spilled_file_that_exists_is_read_not_written(tmp_path):
    eng = DuckDBEngine(threads=1)
    try:
        eng.spill("x", "SELECT 1 AS a", tmp_path / "x-key.parquet")
        assert eng.fetch("SELECT a FROM x")["a"].tolist() == [1]
    finally:
        eng.close()
    eng = DuckDBEngine(threads=1)
    try:
        eng.spill("x", "SELECT 2 AS a", tmp_path / "x-key.parquet")  # the key says it is the same relation
        eng.spill("x", "SELECT 3 AS a")  # a second call keeps the first
        assert eng.fetch("SELECT a FROM x")["a"].tolist() == [1]
    finally:
        eng.close()

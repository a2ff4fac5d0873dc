"""The generated dToU schedule looks like the real 2013 one; a given schedule is used as is."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from flexpersona.simulate import generate_schedule, schedule_runs, simulate_trial
from flexpersona.simulate.schedule import trial_year_tariff
from paths import SHARED_DATA as DATA

TARIFF_XLSX = DATA / "lcl" / "tariffs" / "Tariffs.xlsx"


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_schedule_statistics_like_2013(seed):
    s = generate_schedule(2013, seed=seed)
    assert len(s) == 17520 and s["ts"].is_monotonic_increasing
    assert s["band"].value_counts().to_dict() == {"Normal": 15072, "Low": 1660, "High": 788}
    assert set(s.groupby("band")["price"].unique().map(lambda p: p[0]).round(4)) == {0.672, 0.1176, 0.0399}
    runs = schedule_runs(s)
    assert runs["band"].value_counts().to_dict() == {"Low": 92, "High": 69}
    assert runs["n_half_hours"].between(4, 60).all()  # 2 h .. 30 h
    assert 100 <= runs["start"].dt.date.nunique() <= 130  # ~115 event days
    high_start = runs.loc[runs["band"] == "High", "start"].dt.hour
    assert high_start.between(16, 17).mean() > 0.5  # mostly the evening peak ...
    assert not high_start.between(16, 17).all()  # ... but also other times
    low_start = runs.loc[runs["band"] == "Low", "start"].dt.hour
    assert (low_start.isin([21, 22, 23, 0, 1]) | low_start.between(10, 14)).mean() > 0.7


def test_schedule_deterministic_by_seed():
    a, b, c = generate_schedule(2013, seed=3), generate_schedule(2013, seed=3), generate_schedule(2013, seed=4)
    pd.testing.assert_frame_equal(a, b)
    assert not a["band"].equals(c["band"])


def test_given_schedule_frame_gaps_are_normal():
    ts = pd.date_range("2013-03-01 17:00", periods=6, freq="30min")
    given = pd.DataFrame({"ts": ts, "band": ["High"] * 6})
    t = simulate_trial(2, 2, seed=0, start="2013-02-28", end="2013-03-02", schedule=given, daily=False)
    assert (t.tariff["band"] == "High").sum() == 6 and (t.tariff["band"] == "Low").sum() == 0
    assert len(t.tariff) == 17520
    # the effect lands exactly in the given High half-hours
    assert set(t.tariff.loc[t.tariff["band"] == "High", "ts"]) == set(ts)


@pytest.mark.skipif(not TARIFF_XLSX.exists(), reason="shared LCL data absent")
def test_real_schedule_file():
    t = trial_year_tariff(TARIFF_XLSX, 2013)
    assert t["band"].value_counts().to_dict() == {"Normal": 15072, "Low": 1660, "High": 788}
    runs = schedule_runs(t)
    assert runs["band"].value_counts().to_dict() == {"Low": 92, "High": 69}
    np.testing.assert_allclose(t.loc[t["band"] == "High", "price"].unique(), [0.672])

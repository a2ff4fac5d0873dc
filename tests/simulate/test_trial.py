"""Planted truth of the in-memory simulator: determinism, shares, effects, load calibration."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from flexpersona.schema import HALF_HOURS_PER_DAY
from flexpersona.simulate import simulate_trial
from flexpersona.simulate.personas import CENTRES


@pytest.fixture(scope="module")
def small():
    return simulate_trial(40, 20, seed=3, start="2012-11-01", end="2013-03-31")


def test_deterministic_by_seed(small):
    again = simulate_trial(40, 20, seed=3, start="2012-11-01", end="2013-03-31")
    pd.testing.assert_frame_equal(small.readings, again.readings)
    pd.testing.assert_frame_equal(small.truth, again.truth)
    pd.testing.assert_frame_equal(small.survey, again.survey)
    other = simulate_trial(40, 20, seed=4, start="2012-11-01", end="2013-03-31")
    assert not np.array_equal(small.readings["kwh"].to_numpy()[:1000], other.readings["kwh"].to_numpy()[:1000])


def test_tables_follow_the_canonical_schema(small):
    assert list(small.readings.columns) == ["household_id", "ts", "kwh"]
    assert str(small.readings["ts"].dtype) == "datetime64[us]"
    assert list(small.households.columns) == ["household_id", "group", "acorn", "acorn_grouped"]
    assert list(small.tariff.columns) == ["ts", "band", "price"]
    assert len(small.tariff) == 365 * HALF_HOURS_PER_DAY
    assert set(small.households["group"]) == {"treatment", "control"}
    assert (small.households["group"] == "treatment").sum() == 40
    assert small.readings["household_id"].str.match(r"^MAC\d{6}$").all()
    assert (small.readings["kwh"].dropna() >= 0).all()
    # missing is missing (NaN), never zero-filled; about 1 %
    share = small.readings["kwh"].isna().mean()
    assert 0.005 < share < 0.02


def test_controls_have_no_effect_and_persona_control(small):
    c = small.truth[small.truth["group"] == "control"]
    assert (c["persona"] == "control").all()
    assert (c["high_effect_pct"] == 0).all() and (c["low_effect_pct"] == 0).all()

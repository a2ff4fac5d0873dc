"""Planted event-day spillover, common shocks and the simulated temperature (issue 17)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from flexpersona.errors import ConfigError
from flexpersona.simulate import plan_trial, simulate_trial
from flexpersona.simulate.profiles import LOAD_PER_DEGREE

KW = dict(seed=4, start="2013-01-01", end="2013-02-28", survey=False, daily=False, missing_share=0.0,
          late_joiner_share=0.0)


def _wide(trial) -> pd.DataFrame:
    return trial.readings.pivot(index="ts", columns="household_id", values="kwh")


def test_spillover_multiplies_normal_halfhours_of_event_days_of_treatment_households():
    base = simulate_trial(6, 6, **KW)
    spill = simulate_trial(6, 6, spillover_pct=-10.0, **KW)
    assert spill.info["spillover_pct"] == -10.0
    a, b = _wide(base), _wide(spill)
    band = base.tariff.set_index("ts")["band"].reindex(a.index).fillna("Normal").to_numpy()
    day = a.index.normalize()
    event_day = pd.Series(band != "Normal", index=a.index).groupby(day).transform("any").to_numpy()
    spill_hh = event_day & (band == "Normal")
    treat = base.households.set_index("household_id")["group"].reindex(a.columns).to_numpy() == "treatment"
    assert spill_hh.sum() > 500 and (~event_day).sum() > 500 and 0 < treat.sum() < len(treat)
    # untouched: controls everywhere, treatment outside event days' Normal half-hours
    np.testing.assert_array_equal(a.loc[:, ~treat].to_numpy(), b.loc[:, ~treat].to_numpy())
    np.testing.assert_array_equal(a.loc[~spill_hh, treat].to_numpy(), b.loc[~spill_hh, treat].to_numpy())
    ratio = b.loc[spill_hh, treat].to_numpy().sum() / a.loc[spill_hh, treat].to_numpy().sum()
    assert ratio == pytest.approx(0.90, abs=1e-3)


def test_event_day_shock_hits_everyone_and_shows_in_the_temperature():
    base = simulate_trial(4, 4, **KW)
    shock = simulate_trial(4, 4, event_day_shock_pct=5.0, **KW)
    a, b = _wide(base), _wide(shock)
    plan = plan_trial(4, 4, seed=4, start="2013-01-01", end="2013-02-28", survey=False)
    ev = np.repeat(plan.event_days, 48)
    assert 10 < plan.event_days.sum() < 50
    np.testing.assert_array_equal(a.loc[~ev].to_numpy(), b.loc[~ev].to_numpy())
    r = b.loc[ev].to_numpy().sum(axis=0) / a.loc[ev].to_numpy().sum(axis=0)
    assert (r > 1.02).all() and (r < 1.09).all()  # 1.05 ** weather_sens, sens in 0.5..1.5
    t0, t1 = base.weather["temperature"].to_numpy(), shock.weather["temperature"].to_numpy()
    evh = np.repeat(plan.event_days, 24)
    np.testing.assert_allclose(t0[~evh], t1[~evh])
    np.testing.assert_allclose(t0[evh] - t1[evh], np.log(1.05) / LOAD_PER_DEGREE, atol=0.011)


def test_common_shock_size():
    flat = plan_trial(2, 2, seed=1, common_shock_pct=0.0, survey=False)
    np.testing.assert_allclose(flat.common.weather, 1.0)
    big = plan_trial(2, 2, seed=1, common_shock_pct=15.0, survey=False)
    default = plan_trial(2, 2, seed=1, survey=False)
    sd_big, sd_def = np.log(big.common.weather).std(), np.log(default.common.weather).std()
    assert sd_big / sd_def == pytest.approx(15.0 / 7.7, rel=0.02)
    assert 0.10 < sd_big < 0.20
    with pytest.raises(ConfigError, match="common_shock_pct"):
        plan_trial(2, 2, common_shock_pct=-1.0)
    with pytest.raises(ConfigError, match="above -100"):
        plan_trial(2, 2, spillover_pct=-100.0)


def test_weather_file_is_written_and_hourly(tmp_path):
    from flexpersona.simulate import write_trial

    trial = simulate_trial(2, 2, **KW)
    files = write_trial(trial, tmp_path, "datastore")
    w = [f for f in files if f.name == "weather_hourly_darksky.csv"]
    assert len(w) == 1
    df = pd.read_csv(w[0])
    assert list(df.columns) == ["time", "temperature"] and len(df) == 59 * 24

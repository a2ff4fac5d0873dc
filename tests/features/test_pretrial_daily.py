"""Pre-trial features for scoring when the run's lifestyle came from the Kaggle daily table (``daily`` source):
the readings' daily totals of the baseline year through the stage's own ``lifestyle_from_daily``."""

from __future__ import annotations

import numpy as np
import pandas as pd

from flexpersona.config import Config
from flexpersona.features.lifestyle import lifestyle_from_daily
from flexpersona.features.pretrial import pretrial_features
from flexpersona.simulate import simulate_trial


def test_daily_source_equals_the_kaggle_definition_and_flags_short_households():
    trial = simulate_trial(6, 6, seed=2, survey=False)
    readings = trial.readings.copy()
    short = readings["household_id"].iloc[0]  # one household keeps only its first 40 days of the baseline year
    cut = readings["ts"].min() + pd.Timedelta(days=40)
    readings = readings[(readings["household_id"] != short) | (readings["ts"] < cut)].reset_index(drop=True)
    cfg = Config()
    got = pretrial_features(readings, cfg, lifestyle_source="daily").set_index("household_id")

    base = readings[readings["ts"].dt.year == cfg.data.baseline_year]
    daily = (base.assign(day=base["ts"].dt.normalize()).groupby(["household_id", "day"])["kwh"]
             .agg(kwh_sum="sum", n_readings="count").reset_index())
    hh = pd.DataFrame({"household_id": sorted(readings["household_id"].unique())}).assign(grp="book")
    want, _ = lifestyle_from_daily(daily, hh, year=cfg.data.baseline_year)
    want = want.set_index("household_id")
    for c in ("intrinsic_daily_volatility", "mean_daily_kwh", "weekend_weekday_ratio", "winter_summer_ratio"):
        np.testing.assert_allclose(got.loc[want.index, c], want[c], rtol=1e-9, err_msg=c)
    assert (got["lifestyle_source"] == "daily").all()
    assert not got.loc[short, "sufficient"] and got.drop(index=short)["sufficient"].all()
    assert got.loc[short, "coverage"] < cfg.data.min_baseline_coverage


def test_daily_source_is_the_same_on_any_thread_count():
    """The daily totals are exact sums, so 1 and 4 DuckDB threads give the same features bit for bit."""
    trial = simulate_trial(8, 8, seed=3, survey=False)
    runs = [pretrial_features(trial.readings, Config().replace(data={"duckdb_threads": n}), lifestyle_source="daily")
            for n in (1, 4)]
    pd.testing.assert_frame_equal(runs[0], runs[1], check_exact=True)

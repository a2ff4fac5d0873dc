"""Real LCL 2013 fragments (no half-hourly baseline): within-trial reference, plausible signs."""

from __future__ import annotations

import pytest

from flexpersona.config import Config

from .conftest import SHARED_DATA

LCL = SHARED_DATA / "lcl"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (LCL / "hh2013").is_dir(), reason="../shared/data/lcl is absent"),
]


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    from flexpersona.features import compute_features
    from flexpersona.io import ingest
    from flexpersona.store import Store

    store = tmp_path_factory.mktemp("real") / "store"
    pieces = [LCL / "hh2013" / f"block{p}sep.csv" for p in (1, 2, 3, 135, 136)]
    ingest(
        pieces,
        store,
        tariff=LCL / "tariffs" / "Tariffs.xlsx",
        households=LCL / "households" / "informations_households.csv",
    )
    cfg = Config().replace(features={"time_placebo_days": 40, "bootstrap_replicates": 100})
    return compute_features(Store(store), cfg)


def test_real_within_trial_signs(result):
    info = result.info
    assert info["reference"] == "within_trial"
    assert info["n_events"] == {"High": 69, "Low": 92}
    c = info["cohort_response"]["treatment"]
    assert c["high"]["ci_high"] < 0  # High reduces consumption
    assert c["low"]["ci_low"] > 0  # Low raises it
    assert abs(c["normal"]["pct"]) < 1.0
    # time placebo: Normal days drawn as pseudo events, excluded from the reference
    assert c["pseudo"]["ci_low"] < 0 < c["pseudo"]["ci_high"]
    assert info["cohort_response"]["control"]["high"]["ci_low"] < 0 < info["cohort_response"]["control"]["high"]["ci_high"]
    ev = result.events
    assert len(ev) == 161 and ev["ci_low"].notna().all()


@pytest.fixture(scope="module")
def no_control_result(tmp_path_factory):
    """The ToU pieces of the same data, households file reduced to ToU: a trial without a control group."""
    import pandas as pd

    from flexpersona.features import compute_features
    from flexpersona.io import ingest
    from flexpersona.store import Store

    tmp = tmp_path_factory.mktemp("real_nc")
    hh = pd.read_csv(LCL / "households" / "informations_households.csv")
    hh[hh["stdorToU"] == "ToU"].to_csv(tmp / "households_tou.csv", index=False)
    ingest([LCL / "hh2013" / f"block{p}sep.csv" for p in (135, 136)], tmp / "store",
           tariff=LCL / "tariffs" / "Tariffs.xlsx", households=tmp / "households_tou.csv",
           weather=LCL / "weather" / "weather_hourly_darksky.csv")
    cfg = Config().replace(features={"bootstrap_replicates": 100})
    return compute_features(Store(tmp / "store"), cfg)


def test_real_no_control_side_by_side(result, no_control_result):
    """Treatment households only (no control group, DarkSky temperature) against the control-group run."""
    from scipy.stats import spearmanr

    info = no_control_result.info
    assert info["counterfactual"]["method"] == "no_control" and info["counterfactual"]["requested"] == "auto"
    assert info["counterfactual"]["weather"]["temperature"] is True
    assert info["n_households"]["control"] == 0 and info["placebo"]["null_source"] == "pseudo_events"
    c = info["cohort_response"]["treatment"]
    assert c["high"]["ci_high"] < 0 and c["low"]["ci_low"] > 0
    assert c["pseudo"]["ci_low"] < 0 < c["pseudo"]["ci_high"]
    a = result.features.set_index("household_id")["high_response_pct"]
    b = no_control_result.features.set_index("household_id")["high_response_pct"]
    both = a.index.intersection(b.index)
    assert len(both) == len(b) == 49  # every kept ToU household of pieces 135-136 is in the control-group run
    assert spearmanr(a.loc[both], b.loc[both])[0] >= 0.9
    # the same households' mean High response with and without a control group
    assert abs(a.loc[both].mean() - b.mean()) <= 2.0

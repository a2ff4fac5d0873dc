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
    ingest = pytest.importorskip("flexpersona.io").ingest
    from flexpersona.features import compute_features
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

"""Planted-truth recovery of the default estimator (METHODS B.1-B.2) on simulated trials."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr

from flexpersona.config import Config
from flexpersona.features import compute_features

from .conftest import make_trial

pytestmark = pytest.mark.slow

CFG = Config().replace(
    features={"bootstrap_replicates": 100, "time_placebo_days": 80}, data={"min_baseline_coverage": 0.1}
)
SEEDS = (21, 22, 23)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    out = []
    for seed in SEEDS:
        tr = make_trial(tmp_path_factory.mktemp(f"rec{seed}") / "store", n_treatment=100, n_control=150, seed=seed)
        res = compute_features(tr.store, CFG)
        out.append((tr, res))
    return out


def test_high_response_recovered(runs):
    covered = []
    for tr, res in runs:
        assert res.info["reference"] == "baseline"
        f = res.features.merge(tr.truth, on="household_id")
        assert len(f) >= 100 and f["high_response_pct"].notna().all()
        rho = spearmanr(f["high_response_pct"], f["high_effect_pct"])[0]
        assert rho >= 0.95, rho
        assert abs(f["high_response_pct"].mean() - f["high_effect_pct"].mean()) <= 1.0
        covered.append(
            (f["high_response_ci_low"] <= f["high_effect_pct"]) & (f["high_effect_pct"] <= f["high_response_ci_high"])
        )
        low = spearmanr(f["low_response_pct"], f["low_effect_pct"])[0]
        assert low >= 0.8, low
    coverage = float(np.concatenate([c.to_numpy() for c in covered]).mean())
    assert 0.88 <= coverage <= 0.98, coverage


def test_placebo_false_responders_and_power(runs):
    for tr, res in runs:
        assert res.info["placebo"]["false_responder_rate"] <= 0.06
        f = res.features.merge(tr.truth, on="household_id")
        # responders are households with planted reductions
        assert (f.loc[f["responder"], "high_effect_pct"] < 0).mean() >= 0.9
        assert f["responder"].sum() >= 20
        assert f["q_high"].between(0, 1).all() and (f["q_high"] >= f["p_high"] - 1e-12).all()


def test_cohort_and_time_placebo(runs):
    for tr, res in runs:
        cohort = res.info["cohort_response"]["treatment"]
        planted = tr.truth.loc[tr.truth["group"] == "treatment", "high_effect_pct"]
        hi = cohort["high"]
        assert hi["ci_low"] < hi["pct"] < hi["ci_high"] < 0
        assert abs(hi["pct"] - planted.mean()) < 2.5
        assert cohort["low"]["pct"] > 0
        # Normal days drawn as pseudo events (80 over the year, a handful in the simulated months) and the
        # Normal band itself: nothing planted there
        assert cohort["pseudo"]["ci_low"] < 0 < cohort["pseudo"]["ci_high"], cohort["pseudo"]
        assert abs(cohort["normal"]["pct"]) <= 1.0, cohort["normal"]
        assert abs(res.info["cohort_response"]["control"]["high"]["pct"]) <= 1.0
        # events: High events show reductions on average
        ev = res.events
        assert ev.loc[ev["band"] == "High", "response_pct"].mean() < 0
        assert ev.loc[ev["band"] == "Low", "response_pct"].mean() > 0

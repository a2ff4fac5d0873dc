"""End-to-end acceptance (issues 3 and 4): planted truth through the real pipeline.

``simulate_trial`` -> ``write_trial`` (London Datastore layout, with the tariff file) -> ``pipeline.run`` up to
``personas`` (ingest, features, personas with the default config but 100 bootstrap replicates of the
features), then the estimates are compared with the planted truth.

The trials cover the trial year 2013 only (no baseline year), so the features stage takes the ``within_trial``
reference -- the path real LCL ``hh2013`` data takes -- and a run costs about half of a two-year trial.

Measured noise of the estimated High response on this simulator (23:45-00:00 UTC, 120 treatment / 180
control households, default estimator): sd of (estimate - planted) 4.3-6.4 pp over seeds 1-4 (two-year and
2013-only trials), median bootstrap SE 3.2-4.0 pp; the Low response is as noisy. About 70 % of the variance
is the households' own day-level shocks (seed 1, 2013 only: 5.49 pp; 3.00 pp without ``day_sigma``, 4.88 pp
without the half-hourly noise, 0.51 pp without both): the ``same_day`` day adjustment removes most of it
(sd 5.3 -> 3.0 pp, ARI of the default personas 0.43 -> 0.91 on seed 1, two years) but widens the intervals on
real LCL data (median SE 4.84 -> 5.36 pp), so the default estimator stays as it is.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr
from sklearn.metrics import adjusted_rand_score

from flexpersona.config import Config
from flexpersona.errors import ConfigError
from flexpersona.pipeline import run
from flexpersona.simulate import plan_trial, simulate_trial, write_trial
from flexpersona.simulate.personas import CENTRES, SPREAD_PCT

N_TREATMENT = 120
N_CONTROL = 150
PERIOD = {"start": "2013-01-01", "end": "2013-12-31"}
CFG = Config().replace(features={"bootstrap_replicates": 100})
SEEDS = (11, 12)
#: Planted centres (High %, Low %) at least 24 pp apart: >= 4.7 x the typical (5.1 pp) and >= 3.7 x the worst
#: measured (6.4 pp) per-household noise sd; each keeps the meaning (and name) of its persona.
SEPARATED = {
    "engaged_shifter": (-48.0, 36.0),
    "moderate_reducer": (-24.0, 0.0),
    "inert": (0.0, 0.0),
    "contrarian": (24.0, -18.0),
}
EXPECTED_NAMES = {
    "engaged_shifter": lambda n: n == "Engaged shifters",
    "moderate_reducer": lambda n: n.endswith("reducers"),
    "inert": lambda n: n == "Inert",
    "contrarian": lambda n: n == "Contrarians",
}


def _pipeline(tmp, seed: int, **kw) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict, dict]:
    """Simulate, write, run to personas; (truth, features, personas, features_info, personas counts)."""
    trial = simulate_trial(N_TREATMENT, N_CONTROL, seed=seed, survey=False, daily=False, **PERIOD, **kw)
    write_trial(trial, tmp / "input", "datastore")
    res = run([tmp / "input"], tmp / "run", config=CFG, stop="personas")
    truth = trial.truth.astype({"household_id": "str"})
    feats = pd.read_parquet(tmp / "run" / "features.parquet")
    personas = pd.read_parquet(tmp / "run" / "personas.parquet")
    info = json.loads((tmp / "run" / "features_info.json").read_text())
    return truth, feats, personas, info, res.manifest["stages"]["personas"]["counts"]


@pytest.fixture(scope="module")
def separated_runs(tmp_path_factory):
    return [
        _pipeline(tmp_path_factory.mktemp(f"sep{seed}"), seed, persona_centres=SEPARATED) for seed in SEEDS
    ]


# -- the simulator's new parameters (fast) ---------------------------------------------------------------


def test_persona_centres_and_spread_are_planted():
    kw = {"seed": 5, "start": "2013-01-01", "end": "2013-01-02", "survey": False}
    default = plan_trial(400, 2, **kw).truth
    # None keeps the planted defaults exactly (same random stream)
    same = plan_trial(400, 2, persona_centres=None, persona_spread=None, **kw).truth
    pd.testing.assert_frame_equal(default, same)
    moved = plan_trial(400, 2, persona_centres={"inert": (3.0, -4.0)}, persona_spread=0.5, **kw).truth
    t = moved[moved["group"] == "treatment"].groupby("persona")
    means, sds = t[["high_effect_pct", "low_effect_pct"]].mean(), t["high_effect_pct"].std()
    assert means.loc["inert"].tolist() == pytest.approx([3.0, -4.0], abs=0.2)
    assert means.loc["contrarian"].tolist() == pytest.approx(list(CENTRES["contrarian"]), abs=0.3)
    assert (sds < 0.7).all() and (default[default["group"] == "treatment"].groupby("persona")["high_effect_pct"]
                                  .std() > SPREAD_PCT * 0.7).all()
    with pytest.raises(ConfigError, match="unknown persona"):
        plan_trial(4, 2, persona_centres={"lazy": (0.0, 0.0)}, **kw)
    with pytest.raises(ConfigError, match="above -100"):
        plan_trial(4, 2, persona_centres={"inert": (-120.0, 0.0)}, **kw)
    with pytest.raises(ConfigError, match="persona_spread"):
        plan_trial(4, 2, persona_spread=-1.0, **kw)
    with pytest.raises(ConfigError, match="personas='four'"):
        plan_trial(4, 2, personas="none", persona_spread=3.0, **kw)


# -- issue 3: recovery of the High response ------------------------------------------------------------


@pytest.mark.slow
def test_issue3_high_response_recovered_end_to_end(separated_runs):
    """Spearman >= 0.95, |bias| <= 1 pp, 95 % coverage 88-98 %, placebo false responders <= 6 %.

    Uses the separated personas (High sd across households ~ 26 pp): Spearman is a ratio of the planted spread
    to the estimation noise (~5 pp), so with the simulator's default personas (High sd 12.6 pp) it is
    0.92-0.95 end to end (seed 1, two years: 0.939) -- the estimator is the same, the ranking task is not.
    """
    covered = []
    for truth, feats, _, info, _ in separated_runs:
        assert info["reference"] == "within_trial"
        f = feats.merge(truth, on="household_id")
        assert len(f) >= 100 and f["high_response_pct"].notna().all()
        rho = spearmanr(f["high_response_pct"], f["high_effect_pct"])[0]
        assert rho >= 0.95, rho
        bias = f["high_response_pct"].mean() - f["high_effect_pct"].mean()
        assert abs(bias) <= 1.0, bias
        covered.append(
            (f["high_response_ci_low"] <= f["high_effect_pct"]) & (f["high_effect_pct"] <= f["high_response_ci_high"])
        )
        assert info["placebo"]["false_responder_rate"] <= 0.06, info["placebo"]
    coverage = float(np.concatenate([c.to_numpy() for c in covered]).mean())
    assert 0.88 <= coverage <= 0.98, coverage


# -- issue 4: planted personas ------------------------------------------------------------------------


@pytest.mark.slow
def test_issue4_planted_personas_recovered_end_to_end(separated_runs):
    """Default path: ARI >= 0.85 against the planted personas and names that match their meanings.

    Centres :data:`SEPARATED` (>= 24 pp apart, spread 2.5 pp) against a measured per-household noise sd of
    4.3-6.4 pp (median bootstrap SE 3.2-4.0 pp). With the simulator's default centres (moderate_reducer and
    inert 10 pp apart, about 2 noise sd) moderate reducers and inert merge: ARI 0.43 (seed 1, two years).
    """
    for truth, _, personas, _, counts in separated_runs:
        assert counts["structure_found"] is True
        m = personas.merge(truth, on="household_id")
        assert len(m) >= N_TREATMENT - 5
        ari = adjusted_rand_score(m["persona"], m["persona_id"])
        assert ari >= 0.85, ari
        majority = m.groupby("persona")["persona_name"].agg(lambda s: s.value_counts().index[0])
        for planted, ok in EXPECTED_NAMES.items():
            assert ok(majority[planted]), (planted, majority.to_dict())


@pytest.mark.slow
def test_one_distribution_gives_no_structure_end_to_end(tmp_path):
    """``personas="none"`` (one unimodal population) -> ``structure_found`` False through the pipeline, and the
    households are cut into posterior-based segments that say they are segments (issue 12, METHODS B.9)."""
    _, _, personas, _, counts = _pipeline(tmp_path, 13, personas="none")
    assert counts["structure_found"] is False
    assert set(personas["persona_id"].dropna()) <= {"S1", "S2", "S3"}
    assert personas["persona_name"].dropna().str.startswith("Segment:").all()

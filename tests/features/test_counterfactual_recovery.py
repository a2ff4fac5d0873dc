"""Planted truth for the counterfactual options of issue 17 (acceptance; numbers in docs/counterfactual.md).

- Event-day spillover: with all-day conservation of 5 % on event days, the event-free reference recovers the
  planted High response within 1 pp, the all-days reference is biased by the spillover times its share of
  reference half-hours on event days, and the spillover estimate finds the planted 5 %; without spillover
  the two references agree within 0.3 pp.
- No control group: the same simulated trial with its control households removed gives the cohort High
  response within 2 pp of the planted one, household Spearman >= 0.9 against the control-group run, and a
  pseudo-event placebo within +-1 pp of zero.

The trials use the real 2013 schedule (153 event days) and the simulator's default common shocks.
"""

from __future__ import annotations

import pytest
from scipy.stats import spearmanr

from flexpersona.config import Config
from flexpersona.features import compute_features
from flexpersona.simulate import plan_trial, planted_cohort_response, simulate_trial

from .conftest import SHARED_DATA, store_from_trial

pytestmark = pytest.mark.slow

SCHEDULE = SHARED_DATA / "lcl" / "tariffs" / "Tariffs.xlsx"
CFG = Config().replace(features={"bootstrap_replicates": 100})
SPILL = -5.0


def _high(res, label: str, group: str = "treatment") -> float:
    return res.info["reference_comparison"]["cohort"][label][group]["high"]["pct"]


@pytest.fixture(scope="module")
def spill_runs(tmp_path_factory):
    if not SCHEDULE.exists():
        pytest.skip("../shared/data/lcl is absent")
    out = {}
    for spill in (SPILL, 0.0):
        kw = dict(seed=11, start="2013-01-01", end="2013-12-31", survey=False, schedule=SCHEDULE, spillover_pct=spill)
        trial = simulate_trial(500, 500, daily=False, **kw)
        res = compute_features(store_from_trial(trial, tmp_path_factory.mktemp(f"spill{spill}") / "store"), CFG)
        out[spill] = (res, planted_cohort_response(plan_trial(500, 500, **kw)))
    return out


def test_event_free_reference_recovers_high_under_spillover(spill_runs):
    res, planted = spill_runs[SPILL]
    assert planted["spill"] == pytest.approx(SPILL, abs=0.01)
    assert res.info["reference"] == "within_trial" and res.info["reference_days"] == "all"
    ef, al = _high(res, "within_trial_event_free"), _high(res, "within_trial_all")
    assert res.info["cohort_response"]["treatment"]["high"]["pct"] == al  # the run's own reference (default)
    assert abs(ef - planted["high"]) <= 1.0, (ef, planted)
    # all days: the reference takes in the conserved event days (31.5 % of its half-hours on this schedule),
    # so it is too low and the High response too small by about share x spillover
    share = res.info["reference_comparison"]["reference_event_day_share"]["within_trial_all"]
    assert 0.30 < share < 0.33
    expected = -share * SPILL * (1 + planted["high"] / 100)
    res0, _ = spill_runs[0.0]
    induced = (al - ef) - (_high(res0, "within_trial_all") - _high(res0, "within_trial_event_free"))
    assert abs(induced - expected) <= 0.35, (induced, expected)
    assert al - planted["high"] > 1.0  # biased
    # the spillover itself: Normal half-hours of event days against the event-free reference
    sp = res.info["spillover"]
    assert abs(sp["pct"] - SPILL) <= 1.0 and sp["ci_low"] < SPILL < sp["ci_high"] < 0 and sp["significant"]
    assert sp["control"]["ci_low"] < 0 < sp["control"]["ci_high"]


def test_without_spillover_both_references_agree(spill_runs):
    res, planted = spill_runs[0.0]
    ef, al = _high(res, "within_trial_event_free"), _high(res, "within_trial_all")
    assert abs(al - ef) <= 0.3, (al, ef)
    assert abs(ef - planted["high"]) <= 1.0
    sp = res.info["spillover"]
    assert sp["ci_low"] < 0 < sp["ci_high"] and not sp["significant"]
    # the event-free run equals the spillover run where the spillover does not reach (High half-hours and the
    # event-free reference are the same data)
    assert ef == pytest.approx(_high(spill_runs[SPILL][0], "within_trial_event_free"), abs=1e-9)


@pytest.fixture(scope="module")
def no_control_runs(tmp_path_factory):
    if not SCHEDULE.exists():
        pytest.skip("../shared/data/lcl is absent")
    kw = dict(seed=2, start="2013-01-01", end="2013-12-31", survey=False, schedule=SCHEDULE)
    trial = simulate_trial(300, 300, daily=False, **kw)
    planted = planted_cohort_response(plan_trial(300, 300, **kw))
    base = tmp_path_factory.mktemp("nocontrol")
    with_control = compute_features(store_from_trial(trial, base / "both"), CFG)
    # the same trial, control households removed; the simulator's hourly temperature as the weather file
    no_control = compute_features(store_from_trial(trial, base / "tou", ("treatment",), weather=True), CFG)
    return with_control, no_control, planted


def test_no_control_recovers_the_cohort_and_the_ranking(no_control_runs):
    with_control, no_control, planted = no_control_runs
    info = no_control.info
    assert info["counterfactual"]["method"] == "no_control"
    assert info["counterfactual"]["weather"]["temperature"] is True
    assert with_control.info["counterfactual"]["method"] == "control_group"
    hi = info["cohort_response"]["treatment"]["high"]
    assert abs(hi["pct"] - planted["high"]) <= 2.0, (hi, planted)
    assert hi["ci_low"] < planted["high"] < hi["ci_high"]
    a = with_control.features.set_index("household_id")["high_response_pct"]
    b = no_control.features.set_index("household_id")["high_response_pct"].reindex(a.index)
    assert len(a) == 300 and b.notna().all()
    assert spearmanr(a, b)[0] >= 0.9


def test_no_control_pseudo_event_placebo_is_null(no_control_runs):
    _, no_control, _ = no_control_runs
    ps = no_control.info["cohort_response"]["treatment"]["pseudo"]
    assert abs(ps["pct"]) <= 1.0, ps
    assert ps["ci_low"] < 0 < ps["ci_high"]
    assert no_control.info["time_placebo_days"] == 40
    pl = no_control.info["placebo"]
    assert pl["null_source"] == "pseudo_events" and pl["n_null"] == 300
    assert pl["false_responder_rate"] <= 0.06
    f = no_control.features
    assert f["responder"].sum() >= 60  # planted engaged shifters (-25 %) and moderate reducers stand out

"""The predictor allow-list: trial-year outcomes never become predictors; all-NaN columns are dropped."""

import numpy as np
import pandas as pd
from _explain_planted import make_inputs

from flexpersona.explain import survey as sv
from flexpersona.explain.variables import assemble_predictors, is_allowed, is_outcome

OUTCOMES = {
    "high_response_pct": 1.0,
    "trial_weekday_high": 2.0,
    "peak_reduction_weekday": 3.0,
    "load_shift_weekday": 4.0,
    "bill_dynamic_gbp": 5.0,
    "estimated_cost_savings_pct": 6.0,
    "economic_rationality_score": 7.0,
    "p_high": 0.01,
    "q_high": 0.02,
    "responder": True,
}


def test_outcome_names_are_recognised_and_never_allowed():
    for name in OUTCOMES:
        assert is_outcome(name), name
        assert not is_allowed(name), name
    for name in ("evening_share", "acorn", "trait_engagement_score", sv.BY_QUESTION["Q137"].name):
        assert is_allowed(name) and not is_outcome(name)


def test_adding_trial_outcomes_does_not_change_predictors():
    personas, lifestyle, households, survey = make_inputs(200, seed=3)
    items = sv.encode_survey(survey).items
    clean = assemble_predictors(personas, lifestyle, households, items)
    leaky_life = lifestyle.assign(**OUTCOMES)
    leaky_hh = households.assign(responder=True, high_response_pct=-5.0)
    leaky_items = items.assign(trial_weekday_high=1.0)
    leaky_personas = personas.assign(peak_reduction_weekday=1.0)
    leaky = assemble_predictors(leaky_personas, leaky_life, leaky_hh, leaky_items)
    assert leaky.predictors == clean.predictors
    assert leaky.sets == clean.sets
    assert not set(OUTCOMES) & set(leaky.frame.columns)
    assert set(OUTCOMES) <= set(leaky.refused)
    pd.testing.assert_frame_equal(leaky.frame, clean.frame)


def test_all_nan_columns_dropped_and_unassigned_excluded():
    personas, lifestyle, households, _ = make_inputs(100, seed=4, survey=False)
    personas.loc[:4, "persona_id"] = None
    pt = assemble_predictors(personas, lifestyle, households, None)
    assert pt.dropped_all_nan == ["base_day_to_night_ratio"]
    assert "base_day_to_night_ratio" not in pt.predictors
    assert pt.n_unassigned == 5 and len(pt.frame) == 95
    assert pt.categorical == ["acorn", "acorn_grouped"]
    assert pt.sets["survey"] == []


def test_unknown_acorn_is_its_own_level():
    personas, lifestyle, households, _ = make_inputs(50, seed=5, survey=False)
    households.loc[:9, "acorn"] = "ACORN-U"
    households.loc[10:12, "acorn"] = np.nan
    pt = assemble_predictors(personas, lifestyle, households, None)
    assert (pt.frame["acorn"] == "unknown").sum() == 13

"""explain_personas end to end on planted data: survey acceptance, leakage guard, summary from tables."""

import numpy as np
import pandas as pd
import pytest
from _explain_planted import make_inputs

from flexpersona.config import Config
from flexpersona.explain import explain_personas
from flexpersona.explain import survey as sv
from flexpersona.explain.tests_battery import run_battery
from flexpersona.explain.variables import assemble_predictors

FAST = Config().replace(
    explain={"bootstrap_replicates": 150, "permutation_repeats": 2, "outer_folds": 3, "inner_folds": 2}
)
ENGAGEMENT = [sv.BY_QUESTION[q].name for q in ("Q180", "Q189", "Q197", "Q186", "Q187")]
CLIMATE = sv.BY_QUESTION["Q335"].name

EXPECTED_TABLES = {
    "tests", "posthoc", "model_comparison", "importance", "logit", "barriers", "motivations", "barrier_heatmap",
    "strategic_map", "survey_coverage", "survey_unknown", "rf_seed", "appliance_shifting", "predictors",
}  # fmt: skip


def _battery(seed):
    personas, lifestyle, households, survey = make_inputs(400, seed=seed)
    pt = assemble_predictors(personas, lifestyle, households, sv.encode_survey(survey).items)
    var_set = {c: s for s in ("lifestyle", "acorn", "survey") for c in pt.sets[s]}
    cat = set(pt.categorical) | set(sv.BINARY_ITEMS)
    return run_battery(pt.frame, var_set, cat, alpha=0.05, seed=seed)


def test_engagement_items_differ_and_climate_item_is_null():
    # 3 seeds here; the 10-seed acceptance runs on the project's simulator (test_explain_simulated.py)
    climate_significant = 0
    for seed in range(3):
        tests, posthoc = _battery(seed)
        t = tests.set_index("variable")
        assert (t.loc[ENGAGEMENT, "q"] < 0.05).all(), seed
        ph = posthoc.set_index(["variable", "group_a", "group_b"])
        for item in ENGAGEMENT:
            assert ph.loc[(item, "engaged_shifter", "inert"), "significant"], (seed, item)
        climate_significant += bool(t.loc[CLIMATE, "significant"])
    assert climate_significant <= 1


def test_full_run_with_survey_tables_and_summary():
    personas, lifestyle, households, survey = make_inputs(300, seed=21)
    personas.loc[:9, "persona_id"] = None  # unassigned: excluded and counted
    res = explain_personas(personas, lifestyle, households, survey, FAST)
    assert EXPECTED_TABLES <= set(res.tables)
    s = res.summary
    assert s["survey_given"] and s["n_unassigned_excluded"] == 10 and s["n_households"] == 290
    assert s["dropped_all_nan_columns"] == ["base_day_to_night_ratio"]
    # every number in the statements comes from the tables
    comp = res.tables["model_comparison"].set_index("model")
    best = comp.loc[s["best_model"]]
    assert s["best_balanced_accuracy"] == best["balanced_accuracy"]
    assert f"{best['balanced_accuracy']:.3f}" in s["prediction_statement"]
    for b, won in s["beats_baselines"].items():
        assert won == bool(best[f"beats_{b}"])
        assert f"{b} ({comp.loc[b, 'balanced_accuracy']:.3f})" in s["prediction_statement"]
    cov = res.tables["survey_coverage"].set_index("persona")
    assert cov.loc["(all)", "answered"] == s["survey_answered"]
    assert cov.loc["(all)", "answered"] + cov.loc["(all)", "not_answered"] == 290
    assert s["survey_unknown_answers"] == res.tables["survey_unknown"]["n_unknown"].sum() == 3
    assert set(s["significant_variables"]) == set(res.tables["tests"].query("significant")["variable"])
    # seed analysis: strategic map puts engaged shifters in Willing & Able, inert households elsewhere
    smap = res.tables["strategic_map"].set_index("persona")
    assert smap.loc["engaged_shifter", "quadrant"] == "Willing & Able"
    assert smap.loc["inert", "quadrant"] == "Unwilling & Unable"
    bar = res.tables["barriers"]
    assert (bar.groupby("persona").size() == 3).all()
    assert set(bar["item"]) <= set(sv.BARRIER_ITEMS)
    heat = res.tables["barrier_heatmap"].set_index("persona")
    assert heat.loc["inert", sv.BY_QUESTION["Q137"].name] > heat.loc["engaged_shifter", sv.BY_QUESTION["Q137"].name]
    rf = res.tables["rf_seed"]
    assert {"test_accuracy", "oob_score"} <= set(rf["name"])
    assert (rf["kind"] == "importance").sum() <= 20
    logit = res.tables["logit"]
    assert (logit["ci_low"] <= logit["odds_ratio"]).all() and (logit["odds_ratio"] <= logit["ci_high"]).all()
    assert set(logit["reference"]) == {"inert"}
    app = res.tables["appliance_shifting"].set_index(["persona", "appliance"])
    assert app.loc[("engaged_shifter", "dishwasher"), "shifting_mean"] > app.loc[("inert", "dishwasher"), "shifting_mean"]


def test_trial_outcome_column_does_not_change_predictors_or_results():
    personas, lifestyle, households, _ = make_inputs(160, seed=5, survey=False)
    clean = explain_personas(personas, lifestyle, households, None, FAST)
    rng = np.random.default_rng(0)
    # an outcome perfectly aligned with persona: would dominate any model if it leaked
    leak = personas["persona_name"].map({"engaged_shifter": -20.0, "moderate_reducer": -5.0, "inert": 0.0,
                                         "contrarian": 5.0}).to_numpy() + rng.normal(0, 0.1, len(personas))  # fmt: skip
    leaky_life = lifestyle.assign(high_response_pct=leak, peak_reduction_pct_weekday=leak, responder=leak < -1)
    leaky = explain_personas(personas, leaky_life, households, None, FAST)
    pd.testing.assert_frame_equal(leaky.tables["predictors"], clean.tables["predictors"])
    pd.testing.assert_frame_equal(leaky.tables["model_comparison"], clean.tables["model_comparison"])
    assert leaky.summary["predictors"] == clean.summary["predictors"]
    assert set(leaky.summary["refused_outcome_columns"]) == {"high_response_pct", "peak_reduction_pct_weekday", "responder"}
    assert not clean.summary["survey_given"]
    assert "No survey was given" in clean.summary["survey_statement"]


def test_no_prediction_when_personas_too_small():
    personas, lifestyle, households, _ = make_inputs(40, seed=6, survey=False)
    personas["persona_name"] = np.where(np.arange(40) < 36, "big", "tiny")  # tiny: 4 < 3 + 2 folds
    res = explain_personas(personas, lifestyle, households, None, FAST)
    assert res.summary["best_model"] is None
    assert res.summary["excluded_from_prediction"] == ["tiny"]
    assert "could not be predicted" in res.summary["prediction_statement"]


@pytest.mark.parametrize("bad", ["personas"])
def test_missing_columns_raise_input_error(bad):
    from flexpersona.errors import InputError

    personas, lifestyle, households, _ = make_inputs(30, seed=7, survey=False)
    with pytest.raises(InputError, match="persona_id"):
        explain_personas(personas.drop(columns=["persona_id"]), lifestyle, households, None, FAST)

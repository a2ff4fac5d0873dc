"""Acceptance on the project's simulator: survey texts in UKDS layout that depend on the planted persona."""

import pandas as pd
import pytest

import flexpersona.simulate as simulate
from flexpersona.config import Config
from flexpersona.explain import explain_personas
from flexpersona.explain import survey as sv
from flexpersona.explain.tests_battery import run_battery
from flexpersona.explain.variables import assemble_predictors

ENGAGEMENT = [sv.BY_QUESTION[q].name for q in ("Q180", "Q189", "Q197", "Q186", "Q187")]
BARRIERS = [sv.BY_QUESTION[q].name for q in ("Q137", "Q138", "Q139", "Q140")]
CLIMATE = sv.BY_QUESTION["Q335"].name


def _trial(seed, n=400):
    # One simulated week is enough: only the survey, Acorn and the planted personas are used here.
    tr = simulate.simulate_trial(n, 10, seed=seed, survey=True, start="2013-01-01", end="2013-01-07", daily=False)
    truth = tr.truth[tr.truth["group"] == "treatment"]
    personas = pd.DataFrame(
        {"household_id": truth["household_id"], "persona_id": truth["persona"], "persona_name": truth["persona"]}
    )
    return tr, personas


@pytest.mark.slow
def test_planted_survey_dependence_found_and_climate_item_null_in_9_of_10_seeds():
    climate_hits = 0
    for seed in range(10):
        tr, personas = _trial(seed)
        pt = assemble_predictors(personas, None, tr.households, sv.encode_survey(tr.survey).items)
        var_set = {c: s for s in ("lifestyle", "acorn", "survey") for c in pt.sets[s]}
        tests, posthoc = run_battery(pt.frame, var_set, set(pt.categorical) | set(sv.BINARY_ITEMS), seed=seed)
        t = tests.set_index("variable")
        ph = posthoc.set_index(["variable", "group_a", "group_b"])
        for item in ENGAGEMENT:
            assert t.loc[item, "q"] < 0.05, (seed, item)
            assert ph.loc[(item, "engaged_shifter", "inert"), "significant"], (seed, item)
        assert (t.loc[BARRIERS, "q"] < 0.05).all(), seed
        climate_hits += bool(t.loc[CLIMATE, "significant"])
    assert climate_hits <= 1


def test_simulated_trial_end_to_end_with_survey():
    tr, personas = _trial(3, n=250)
    cfg = Config().replace(
        explain={"bootstrap_replicates": 150, "permutation_repeats": 2, "outer_folds": 3, "inner_folds": 2}
    )
    res = explain_personas(personas, None, tr.households, tr.survey, cfg)
    s = res.summary
    assert s["survey_given"]
    # the simulator writes a few "Don't know" answers: they are counted, never encoded
    assert s["survey_unknown_answers"] == res.tables["survey_unknown"]["n_unknown"].sum() > 0
    comp = res.tables["model_comparison"].set_index("model")
    assert {"majority", "acorn_only", "survey_only"} <= set(comp.index)
    assert comp.loc[s["best_model"], "beats_majority"]
    smap = res.tables["strategic_map"].set_index("persona")
    assert smap.loc["engaged_shifter", "engagement"] > smap.loc["inert", "engagement"]
    assert smap.loc["inert", "constraint"] > smap.loc["engaged_shifter", "constraint"]

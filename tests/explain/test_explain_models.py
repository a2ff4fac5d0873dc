"""Nested CV prediction: honest scores, baselines, the 'beats' rule, calibration and importance."""

import numpy as np
import pytest
from _explain_planted import make_inputs
from sklearn.metrics import balanced_accuracy_score, f1_score

from flexpersona.explain.models import BASELINES, COMPARISON_COLUMNS, _scores, compare_models
from flexpersona.explain.variables import assemble_predictors


def _run(seed, *, evening_signal=1.0, shuffle=False):
    personas, lifestyle, households, _ = make_inputs(300, seed=seed, survey=False, evening_signal=evening_signal)
    if shuffle:
        rng = np.random.default_rng(seed)
        personas["persona_name"] = rng.permutation(personas["persona_name"].to_numpy())
    pt = assemble_predictors(personas, lifestyle, households, None)
    return compare_models(
        pt.frame, pt.sets, pt.categorical, outer_folds=4, inner_folds=3, bootstrap_replicates=200,
        permutation_repeats=5, seed=seed,
    )  # fmt: skip


def test_scores_match_sklearn():
    rng = np.random.default_rng(0)
    y, p = rng.integers(0, 4, 200), rng.integers(0, 4, 200)
    p[p == 3] = 2  # a class never predicted
    bal, f1 = _scores(y, p, 4)
    assert bal == pytest.approx(balanced_accuracy_score(y, p))
    assert f1 == pytest.approx(f1_score(y, p, average="macro", zero_division=0))


def test_informative_variable_ranks_first_and_best_beats_majority():
    res = _run(11)
    comp = res.comparison.set_index("model")
    assert list(res.comparison.columns) == COMPARISON_COLUMNS
    assert set(BASELINES) - {"survey_only"} <= set(comp.index)
    assert comp.loc["majority", "balanced_accuracy"] == pytest.approx(0.25)
    best = comp.loc[res.best]
    assert best["is_best"] and best["ci_low"] <= best["balanced_accuracy"] <= best["ci_high"]
    assert best["beats_majority"] and best["beats_acorn_only"]
    assert 0 < best["brier"] < comp.loc["majority", "brier"]
    rank = res.importance.set_index("variable")["rank"]
    assert rank["evening_share"] < rank["winter_summer_ratio"]
    assert rank["evening_share"] < rank["mean_daily_kwh"]
    assert rank["evening_share"] == 1
    assert (res.importance["importance_sd"] >= 0).all()
    assert len(res.predictions) == 300


def test_no_signal_does_not_beat_majority():
    res = _run(12, shuffle=True)
    comp = res.comparison.set_index("model")
    assert not comp.loc[res.best, "beats_majority"]
    assert comp.loc[res.best, "ci_low"] < 0.25 + 1e-9 or comp.loc[res.best, "balanced_accuracy"] < 0.35

"""Null-structure test (gap statistic) and stability measures on planted data."""

from __future__ import annotations

import numpy as np
import pytest
from persona_planted import null_features, planted_features
from sklearn.preprocessing import RobustScaler

from flexpersona.personas.existence import bootstrap_stability, gap_statistic, split_half_stability
from flexpersona.personas.model import PersonaModel

COLS = ["high_response_pct", "low_response_pct"]


def _gap(df, seed):
    return gap_statistic(RobustScaler().fit_transform(df[COLS].to_numpy()), k_max=6, n_references=20,
                         random_state=seed)


@pytest.mark.slow
def test_no_structure_in_one_response_distribution_in_at_least_9_of_10_seeds():
    found = [_gap(null_features(300, seed=s), s).structure_found for s in range(10)]
    assert sum(found) <= 1, found


def test_heavy_tailed_elongated_cloud_has_no_structure():
    rng = np.random.default_rng(7)
    X = rng.standard_t(4, size=(300, 2)) @ np.array([[6.0, -2.0], [0.0, 1.0]])
    assert not gap_statistic(RobustScaler().fit_transform(X), random_state=7).structure_found


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_four_planted_personas_have_structure(seed):
    res = _gap(planted_features(300, seed=seed), seed)
    assert res.structure_found
    assert res.statistic >= 2.0
    d = res.as_dict()
    assert d["decision"] == "structure" and len(d["gap"]) == len(d["k"])


def test_bootstrap_and_split_half_stability_are_high_for_clear_personas():
    df = planted_features(300, seed=1, spread=1.5, est=(1.0, 2.0))
    X = df[COLS].to_numpy()
    model = PersonaModel(random_state=0, n_init=2).fit(X)
    boot = bootstrap_stability(model, X, model.labels_, n_resamples=8, random_state=0)
    assert boot["bootstrap_resamples"] == 8 and boot["bootstrap_ari_mean"] > 0.85
    rng = np.random.default_rng(0)
    halves = (X + rng.normal(0, 1, X.shape), X + rng.normal(0, 1, X.shape))
    sh = split_half_stability(model, halves, model.labels_)
    assert sh["split_half_available"] and sh["split_half_ari"] > 0.8
    # halves unrelated to the full-year personas are unstable
    shuffled = (halves[0], rng.permutation(halves[1]))
    assert split_half_stability(model, shuffled, model.labels_)["split_half_ari"] < 0.2
    assert split_half_stability(model, None, model.labels_)["split_half_available"] is False


def test_bootstrap_skips_resamples_with_fewer_distinct_households_than_personas():
    """Twelve households and eight k-means personas (a tiny real cohort): resamples that draw fewer than eight
    distinct households are skipped, not fitted (k-means warned 'Number of distinct clusters ...')."""
    X = np.random.default_rng(3).normal(0, 10, size=(12, 2))
    model = PersonaModel("kmeans", 8, random_state=0, n_init=2, min_cluster_size=1).fit(X)
    boot = bootstrap_stability(model, X, model.labels_, n_resamples=20, random_state=0)
    assert 0 < boot["bootstrap_resamples"] < 20

"""PersonaModel: scikit-learn estimator contract and recovery of planted personas."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from persona_planted import planted_features
from sklearn.metrics import adjusted_rand_score
from sklearn.utils.estimator_checks import parametrize_with_checks

from flexpersona.personas.model import PersonaModel

COLS = ["high_response_pct", "low_response_pct"]


@parametrize_with_checks(
    [
        PersonaModel(random_state=0),
        PersonaModel(algorithm="kmeans", n_personas=3, random_state=0),
        PersonaModel(algorithm="ward", n_personas=3, random_state=0),
    ]
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.mark.parametrize("algorithm", ["gmm", "kmeans", "ward", "hdbscan"])
def test_recovers_planted_personas_and_orders_by_high_response(algorithm):
    # HDBSCAN finds its own k and merges touching personas: give it well-separated ones
    spread, est = ((1.0, (0.5, 1.0)) if algorithm == "hdbscan" else (1.5, (1.0, 2.0)))
    df = planted_features(400, seed=3, spread=spread, est=est, outliers=0.0)
    X = df[COLS].to_numpy()
    m = PersonaModel(algorithm, 4, random_state=0).fit(X)
    assert m.n_personas_ == 4
    assert adjusted_rand_score(df["truth"], m.labels_) > 0.9
    # ascending centre High response: engaged shifters first, contrarians last
    assert np.all(np.diff(m.cluster_centers_[:, 0]) > 0)
    np.testing.assert_allclose(m.cluster_centers_[0], [-25, 20], atol=2.5)
    np.testing.assert_allclose(m.cluster_centers_[-1], [12, -8], atol=2.5)
    proba = m.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(proba.argmax(axis=1), m.predict(X))


def test_new_households_are_assigned_after_pickling():
    df = planted_features(300, seed=4)
    m = PersonaModel(random_state=1).fit(df[COLS].to_numpy())
    again = pickle.loads(pickle.dumps(m))
    new = np.array([[-26.0, 21.0], [11.0, -9.0]])
    np.testing.assert_array_equal(again.predict(new), [0, 3])
    assert again.predict_proba(new).max(axis=1).min() > 0.9


def test_sort_descending_reverses_the_order():
    X = planted_features(300, seed=5)[COLS].to_numpy()
    up = PersonaModel(random_state=2).fit(X)
    down = PersonaModel(random_state=2, sort_descending=True).fit(X)
    np.testing.assert_allclose(up.cluster_centers_, down.cluster_centers_[::-1])


def test_invalid_algorithm_is_rejected():
    with pytest.raises(ValueError, match="algorithm must be one of"):
        PersonaModel("dbscan").fit(np.random.default_rng(0).normal(size=(20, 2)))

"""Model selection for the default path: every algorithm x k x index, and a documented rule.

Candidates (all :class:`~flexpersona.personas.model.PersonaModel`, robust-scaled features):
k-means (k = k_min..k_max, 10 restarts), Gaussian mixtures (k x covariance type ``full``, ``tied``,
``diag``, ``spherical``, each with ``gmm_restarts`` independent restarts whose BIC spread is reported),
Ward agglomerative (k = k_min..k_max) and HDBSCAN (finds its own k; every household assigned through the
per-persona Gaussian posterior).

Indices, on the scaled features and each candidate's persona assignment: silhouette (higher = better),
Davies–Bouldin (lower), Calinski–Harabasz (higher), BIC (mixtures only, lower), and the smallest persona's
share.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score

from ..threads import single_threaded
from .model import PersonaModel

log = logging.getLogger(__name__)

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")

SELECTION_RULE = (
    "Candidates whose smallest persona holds less than min_persona_share of the households are not eligible. "
    "The number of personas k is the one of the eligible Gaussian mixture with the lowest BIC (over k and "
    "covariance type; best of the restarts), and that mixture is the persona model: it handles personas of "
    "unequal size and spread and gives posterior membership. Silhouette (max), Davies-Bouldin (min) and "
    "Calinski-Harabasz (max) each vote for a k; they are reported, and stability.json flags when their "
    "majority disagrees with BIC. Without mixtures among the algorithms, k is their majority vote (ties to "
    "the smaller k) and the algorithm at that k with the highest silhouette is taken."
)


@dataclass
class Selection:
    """Outcome of :func:`select_model`.

    Attributes
    ----------
    table : DataFrame
        Long table ``algorithm, k, covariance_type, index, value, chosen`` (every candidate x index).
    model : PersonaModel
        The chosen fitted model.
    chosen : dict
        ``algorithm``, ``k``, ``covariance_type`` and the index values of the chosen candidate.
    votes : dict
        The best k according to each index.
    rule : str
        The selection rule in words.
    """

    table: pd.DataFrame
    model: PersonaModel
    chosen: dict[str, Any]
    votes: dict[str, Any]
    rule: str = SELECTION_RULE


def _indices(Z: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    k = len(np.unique(labels))
    shares = np.bincount(labels) / len(labels)
    out = {"min_share": float(shares[shares > 0].min()) if k else 0.0, "k_found": float(k)}
    if 2 <= k < len(Z):
        out["silhouette"] = float(silhouette_score(Z, labels))
        out["davies_bouldin"] = float(davies_bouldin_score(Z, labels))
        out["calinski_harabasz"] = float(calinski_harabasz_score(Z, labels))
    else:
        out.update(silhouette=np.nan, davies_bouldin=np.nan, calinski_harabasz=np.nan)
    return out


def _fit(model: PersonaModel, X: np.ndarray) -> PersonaModel | None:
    try:
        with warnings.catch_warnings():
            # A restart that stops at max_iter is one restart among several; its BIC still counts.
            warnings.simplefilter("ignore", ConvergenceWarning)
            return model.fit(X)
    except (ValueError, np.linalg.LinAlgError) as exc:
        log.debug("candidate %s failed: %s", model, exc)
        return None


@single_threaded
def select_model(
    X: np.ndarray,
    *,
    algorithms: tuple[str, ...] = ("kmeans", "gmm", "ward", "hdbscan"),
    k_min: int = 2,
    k_max: int = 8,
    gmm_restarts: int = 5,
    min_persona_share: float = 0.03,
    random_state: int = 42,
    sort_feature: int = 0,
) -> Selection:
    """Fit every candidate, tabulate every index, and choose a model by :data:`SELECTION_RULE`.

    Parameters
    ----------
    X : ndarray of shape (n_households, n_features)
        Response features in input units (e.g. High and Low response [%]); no missing values.
    algorithms : tuple of str
        Subset of ``kmeans``, ``gmm``, ``ward``, ``hdbscan``.
    k_min, k_max : int
        Range of the number of personas.
    gmm_restarts : int
        Independent restarts of each mixture (the spread of their BIC is reported).
    min_persona_share : float
        Smallest share of households a persona may hold in an eligible candidate.
    random_state : int
        Seed.
    sort_feature : int
        Column whose persona centres order the personas (ascending).

    Returns
    -------
    Selection
    """
    n = X.shape[0]
    ks = range(int(k_min), int(min(k_max, n - 1)) + 1)
    rows, fitted = _fit_candidates(X, algorithms, ks, gmm_restarts, random_state, sort_feature)
    table = pd.DataFrame(rows, columns=["algorithm", "k", "covariance_type", "index", "value"])
    if table.empty:
        msg = "no clustering candidate could be fitted"
        raise ValueError(msg)
    wide = _eligible_candidates(table, min_persona_share)
    votes = _index_votes(wide)
    chosen_row = _chosen_candidate(wide, votes)
    if (wide["algorithm"] == "gmm").any():  # the chosen mixture's k is the BIC's vote
        votes["bic"] = int(chosen_row["k"])
    votes.update(_internal_majority(votes, int(chosen_row["k"])))
    key = (str(chosen_row["algorithm"]), int(chosen_row["k"]), str(chosen_row["covariance_type"]))
    table["chosen"] = (
        (table["algorithm"] == key[0]) & (table["k"] == key[1]) & (table["covariance_type"] == key[2])
    )
    chosen = {"algorithm": key[0], "k": key[1], "covariance_type": key[2] or None}
    for name in ("silhouette", "davies_bouldin", "calinski_harabasz", "bic", "min_share"):
        v = chosen_row.get(name, np.nan)
        chosen[name] = None if pd.isna(v) else float(v)
    log.info("chosen persona model: %s", chosen)
    return Selection(table=table, model=fitted[key], chosen=chosen, votes=votes)


def _fit_candidates(
    X: np.ndarray, algorithms: tuple[str, ...], ks: range, gmm_restarts: int, random_state: int, sort_feature: int
) -> tuple[list[dict[str, Any]], dict[tuple[str, int, str], PersonaModel]]:
    """Fit every algorithm x k (x covariance type): long rows of their indices, and the models by candidate."""
    rows: list[dict[str, Any]] = []
    fitted: dict[tuple[str, int, str], PersonaModel] = {}

    def record(algo: str, k: int, cov: str, model: PersonaModel, extra: dict[str, float]) -> None:
        Z = model.scaler_.transform(X)
        idx = _indices(Z, model.labels_)
        idx.update(extra)
        key = (algo, int(idx["k_found"]) if algo == "hdbscan" else k, cov)
        fitted[key] = model
        for name, value in idx.items():
            rows.append({"algorithm": algo, "k": key[1], "covariance_type": cov, "index": name, "value": value})

    for k in ks:
        if "kmeans" in algorithms:
            m = _fit(PersonaModel("kmeans", k, n_init=10, sort_feature=sort_feature, random_state=random_state), X)
            if m is not None:
                record("kmeans", k, "", m, {})
        if "gmm" in algorithms:
            for cov in COVARIANCE_TYPES:
                best = _best_mixture(X, k, cov, gmm_restarts, random_state, sort_feature)
                if best is not None:
                    record("gmm", k, cov, *best)
        if "ward" in algorithms:
            m = _fit(PersonaModel("ward", k, sort_feature=sort_feature, random_state=random_state), X)
            if m is not None:
                record("ward", k, "", m, {})
    if "hdbscan" in algorithms:
        m = _fit(PersonaModel("hdbscan", sort_feature=sort_feature, random_state=random_state), X)
        if m is not None:
            record("hdbscan", 0, "", m, {})
    return rows, fitted


def _best_mixture(
    X: np.ndarray, k: int, cov: str, restarts: int, random_state: int, sort_feature: int
) -> tuple[PersonaModel, dict[str, float]] | None:
    """The lowest-BIC restart of a k-component mixture, with that BIC and the spread of the restarts' BIC."""
    best, bics = None, []
    for r in range(int(restarts)):
        m = _fit(PersonaModel("gmm", k, covariance_type=cov, n_init=1, sort_feature=sort_feature,
                                random_state=random_state + r), X)
        if m is None:
            continue
        bic = m.mixture_.bic(m.scaler_.transform(X))
        bics.append(bic)
        if best is None or bic < best[0]:
            best = (bic, m)
    if best is None:
        return None
    b = np.asarray(bics)
    return best[1], {
        "bic": float(best[0]),
        "bic_restart_sd": float(b.std(ddof=1)) if len(b) > 1 else 0.0,
        "bic_restart_range": float(b.max() - b.min()),
    }


def _eligible_candidates(table: pd.DataFrame, min_persona_share: float) -> pd.DataFrame:
    """One row per candidate with its indices, keeping k >= 2 whose smallest persona holds min_persona_share."""
    wide = table.pivot_table(index=["algorithm", "k", "covariance_type"], columns="index", values="value",
                             aggfunc="first").reset_index()
    wide = wide[(wide["k"] >= 2) & (wide["min_share"] >= min_persona_share)]
    if wide.empty:
        msg = (f"every candidate has a persona below min_persona_share = {min_persona_share}; "
               "lower personas.min_persona_share or personas.k_max")
        raise ValueError(msg)
    return wide


def _index_votes(wide: pd.DataFrame) -> dict[str, Any]:
    """The k of the best eligible candidate by silhouette (max), Davies-Bouldin (min), Calinski-Harabasz (max)."""
    votes: dict[str, Any] = {}
    for name, better in (("silhouette", "max"), ("davies_bouldin", "min"), ("calinski_harabasz", "max")):
        col = wide[name].dropna()
        if not col.empty:
            votes[name] = int(wide.loc[col.idxmax() if better == "max" else col.idxmin(), "k"])
    return votes


def _chosen_candidate(wide: pd.DataFrame, votes: dict[str, Any]) -> pd.Series:
    """The candidate :data:`SELECTION_RULE` picks: the lowest-BIC mixture, else the best silhouette at the voted k."""
    gmms = wide[wide["algorithm"] == "gmm"]
    if not gmms.empty:
        return gmms.loc[gmms["bic"].idxmin()]
    counts = pd.Series(list(votes.values())).value_counts()
    k_star = int(min(counts[counts == counts.max()].index))
    at_k = wide[wide["k"] == k_star]
    return at_k.loc[at_k["silhouette"].idxmax()]


def _internal_majority(votes: dict[str, Any], k_star: int) -> dict[str, Any]:
    """The internal indices' majority k (ties to the smaller) and whether it agrees with the BIC's k."""
    internal = [v for name, v in votes.items() if name != "bic"]
    if not internal:
        return {}
    counts = pd.Series(internal).value_counts()
    majority = int(min(counts[counts == counts.max()].index))
    out: dict[str, Any] = {"internal_majority": majority}
    if "bic" in votes:
        out["agree_with_bic"] = bool(majority == k_star)
    return out

"""The seed study's persona procedure, reproduced exactly (METHODS A, ``--method seed``).

1. Households with any missing or infinite seed feature are dropped (the seed did so silently; here each
   gets ``persona_name = "unassigned"`` and an ``unassigned_reason``).
2. z-score (``StandardScaler``) the five response features :data:`SEED_RESPONSE_FEATURES`.
3. k-means for k = 2..10 (``n_init=10, random_state=42``): inertia and silhouette.
4. Gaussian mixtures for k = 2..10 x covariance ``full, tied, diag, spherical`` (``n_init=10,
   random_state=42``) by BIC.
5. Final model = the higher silhouette of k-means(k=4) and the BIC-best mixture (k-means on a tie).
6. PCA to 2-D; profiles (per-persona medians of all features and ratio to the cohort median);
   performance-potential matrix (x = ``base_peak_to_offpeak_ratio``, y = ``peak_reduction_pct_weekday``,
   split at the medians).

flexpersona additions that do not change the seed's personas: ids ``P1..Pk`` ordered by the centre's
``peak_reduction_pct_weekday`` (largest reduction first), names from the naming rules with High response =
minus that centre, soft membership (mixture posterior, or for k-means the equal-weight spherical Gaussian
posterior), the low-confidence flag, the null-structure test and bootstrap stability (reported only).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from sklearn.mixture import GaussianMixture
from sklearn.preprocessing import StandardScaler

from ..config import Config
from ..errors import StageError
from ..features.potential import performance_potential
from .existence import bootstrap_stability, gap_statistic, null_test_summary
from .model import PersonaModel
from .naming import NAMING_RULES, assignment_table, name_personas
from .profiles import pca_coordinates, persona_profiles

log = logging.getLogger(__name__)

#: The five response features the seed clustered on.
SEED_RESPONSE_FEATURES = (
    "peak_reduction_weekday",
    "load_shift_weekday",
    "peak_reduction_weekend",
    "peak_reduction_pct_weekday",
    "peak_reduction_pct_weekend",
)
#: Every seed feature (METHODS A); a household missing any of those present is dropped, as the seed did.
SEED_FEATURES = (
    "base_weekday_peak", "base_weekday_offpeak", "base_weekend_peak", "base_weekend_offpeak",
    "trial_weekday_high", "trial_weekday_low", "trial_weekday_normal", "trial_weekend_high",
    "trial_weekend_low", "trial_weekend_normal", *SEED_RESPONSE_FEATURES, "intrinsic_daily_volatility",
    "intrinsic_load_factor", "base_peak_to_offpeak_ratio", "base_day_to_night_ratio",
    "base_morning_vs_evening_peak_ratio", "estimated_cost_savings_pct", "economic_rationality_score",
)
SEED_K = range(2, 11)
SEED_COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
SEED_RANDOM_STATE = 42
SEED_RULE = (
    "final model = the higher silhouette of k-means(k=4) and the BIC-best Gaussian mixture over k=2..10 x "
    "{full, tied, diag, spherical} (k-means on a tie), on z-scored seed response features"
)


def seed_selection(Z: np.ndarray) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The seed's model search on z-scored response features.

    Parameters
    ----------
    Z : ndarray of shape (n_households, 5)
        z-scored seed response features.

    Returns
    -------
    table : DataFrame
        ``algorithm, k, covariance_type, index, value, chosen`` (k-means inertia and silhouette, mixture
        BIC, and the silhouette of the two finalists).
    chosen : dict
        ``algorithm``, ``k``, ``covariance_type``, ``silhouette_kmeans4``, ``silhouette_gmm``, ``bic``.
    """
    rows: list[dict[str, Any]] = []
    for k in SEED_K:
        km = KMeans(n_clusters=k, n_init=10, random_state=SEED_RANDOM_STATE).fit(Z)
        rows.append({"algorithm": "kmeans", "k": k, "covariance_type": "", "index": "inertia", "value": float(km.inertia_)})
        rows.append({"algorithm": "kmeans", "k": k, "covariance_type": "", "index": "silhouette",
                     "value": float(silhouette_score(Z, km.labels_))})
    best: tuple[float, int, str] | None = None
    for k in SEED_K:
        for cov in SEED_COVARIANCE_TYPES:
            gm = GaussianMixture(n_components=k, covariance_type=cov, n_init=10, random_state=SEED_RANDOM_STATE).fit(Z)
            bic = float(gm.bic(Z))
            rows.append({"algorithm": "gmm", "k": k, "covariance_type": cov, "index": "bic", "value": bic})
            if best is None or bic < best[0]:
                best = (bic, k, cov)
    assert best is not None
    bic, k_g, cov_g = best
    gm = GaussianMixture(n_components=k_g, covariance_type=cov_g, n_init=10, random_state=SEED_RANDOM_STATE).fit(Z)
    gm_labels = gm.predict(Z)
    sil_gmm = float(silhouette_score(Z, gm_labels)) if len(np.unique(gm_labels)) > 1 else float("nan")
    rows.append({"algorithm": "gmm", "k": k_g, "covariance_type": cov_g, "index": "silhouette", "value": sil_gmm})
    table = pd.DataFrame(rows)
    sil_km4 = float(table.query("algorithm == 'kmeans' and k == 4 and index == 'silhouette'")["value"].iloc[0])
    use_kmeans = not (sil_gmm > sil_km4)
    chosen = {
        "algorithm": "kmeans" if use_kmeans else "gmm",
        "k": 4 if use_kmeans else int(k_g),
        "covariance_type": None if use_kmeans else cov_g,
        "silhouette_kmeans4": sil_km4,
        "silhouette_gmm": sil_gmm,
        "gmm_k": int(k_g),
        "gmm_covariance_type": cov_g,
        "bic": bic,
    }
    key = ("kmeans", 4, "") if use_kmeans else ("gmm", int(k_g), cov_g)
    table["chosen"] = (table["algorithm"] == key[0]) & (table["k"] == key[1]) & (table["covariance_type"] == key[2])
    return table, chosen


def seed_personas(features: pd.DataFrame, config: Config):
    """Personas by the seed's procedure (see the module docstring).

    Parameters
    ----------
    features : DataFrame
        ``household_id`` and the seed features (at least :data:`SEED_RESPONSE_FEATURES`).
    config : Config
        Uses ``personas.low_confidence_below``, ``bootstrap_resamples``, ``null_references``, ``names``.

    Returns
    -------
    PersonaResult
    """
    from .stage import PersonaResult, _assemble, _finite_rows

    pc = config.personas
    missing = [c for c in ["household_id", *SEED_RESPONSE_FEATURES] if c not in features.columns]
    if missing:
        msg = (f"the seed path needs {', '.join(missing)} in the features table; re-run the features stage "
               "(it computes the seed columns) or use --method default")
        raise StageError(msg)
    features = features.reset_index(drop=True)
    present = [c for c in SEED_FEATURES if c in features.columns]
    ok, reasons = _finite_rows(features, present)
    n_ok = int(ok.sum())
    if n_ok < 11:
        msg = f"only {n_ok} households have every seed feature; the seed path needs at least 11 (k up to 10)"
        raise StageError(msg)
    cols = list(SEED_RESPONSE_FEATURES)
    ids = features.loc[ok, "household_id"].astype(str)
    X = features.loc[ok, cols].astype(float).to_numpy()
    Z = StandardScaler().fit_transform(X)
    table, chosen = seed_selection(Z)
    sort_col = cols.index("peak_reduction_pct_weekday")
    model = PersonaModel(
        chosen["algorithm"], chosen["k"], covariance_type=chosen["covariance_type"] or "full", scaler="standard",
        n_init=10, sort_feature=sort_col, sort_descending=True, random_state=SEED_RANDOM_STATE,
    ).fit(X)
    proba = model.predict_proba(X)
    labels = proba.argmax(axis=1)
    counts = np.bincount(labels, minlength=model.n_personas_)
    names = name_personas(
        pd.DataFrame({"high": -model.cluster_centers_[:, sort_col], "low": np.nan, "n": counts}),
        overrides=pc.names,
        high_label="weekday peak change (minus peak_reduction_pct_weekday)",
    )
    assigned = assignment_table(ids, names, labels, proba, pc.low_confidence_below)
    personas = _assemble(features, ok, reasons, assigned)
    gap = gap_statistic(Z, k_max=6, n_references=pc.null_references, random_state=pc.seed)
    stability: dict[str, Any] = {
        "method": "seed",
        "features": cols,
        **null_test_summary(gap),
        "chosen": chosen,
        "selection_rule": SEED_RULE,
        "naming_rule": NAMING_RULES,
        "n_households": int(len(features)),
        "n_clustered": n_ok,
        "n_unassigned": int(len(features) - n_ok),
        "low_confidence_below": pc.low_confidence_below,
        "split_half_available": False,
        "split_half_ari": None,
        "split_half_note": "the seed path has no split-half estimate",
    }
    stability.update(bootstrap_stability(model, X, labels, n_resamples=pc.bootstrap_resamples, random_state=pc.seed))
    stability["n_low_confidence"] = int(assigned["low_confidence"].sum())
    stability["personas"] = names[["persona_id", "persona_name", "persona_rationale"]].to_dict("records")
    stability["message"] = (
        f"Seed path: {model.n_personas_} personas ({chosen['algorithm']}, silhouette k-means(4) "
        f"{chosen['silhouette_kmeans4']:.3f} vs mixture {chosen['silhouette_gmm']:.3f}), kept as the seed did "
        "whatever the null test says; "
        + ("the null-structure test finds structure." if gap.structure_found else
           "the null-structure test finds NO persona structure: treat these personas as cuts of a continuum.")
    )
    profiles = persona_profiles(features, personas, names)
    matrix = performance_potential(features, x="base_peak_to_offpeak_ratio", y="peak_reduction_pct_weekday").by_persona(personas)
    pca = pca_coordinates(ids, Z, random_state=SEED_RANDOM_STATE)
    return PersonaResult(
        personas=personas, profiles=profiles, selection=table, stability=stability, model=model, pca=pca,
        matrix=matrix, method="seed", structure_found=bool(gap.structure_found),
        n_unassigned=int(len(features) - n_ok), features=cols,
    )

"""The seed path reproduces the seed's selection logic and outputs (direct scikit-learn re-implementation)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.mixture import GaussianMixture
from sklearn.preprocessing import StandardScaler

from flexpersona import Config
from flexpersona.personas import build_personas
from flexpersona.threads import single_threaded

pytestmark = pytest.mark.slow  # 360 mixtures x 10 restarts, as the seed; about 10 s


def seed_features(n: int = 160, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    group = rng.choice(4, size=n, p=[0.45, 0.3, 0.15, 0.1])
    pct_wd = np.array([2.0, -1.0, 25.0, -15.0])[group] + rng.normal(0, 5, n)
    base_peak = rng.lognormal(-0.9, 0.3, n)
    df = pd.DataFrame({
        "household_id": [f"D{i:04d}" for i in range(n)],
        "peak_reduction_weekday": pct_wd / 100 * base_peak + rng.normal(0, 0.01, n),
        "load_shift_weekday": np.array([0.0, 0.0, 0.05, -0.03])[group] + rng.normal(0, 0.02, n),
        "peak_reduction_weekend": pct_wd / 120 * base_peak + rng.normal(0, 0.02, n),
        "peak_reduction_pct_weekday": pct_wd,
        "peak_reduction_pct_weekend": pct_wd * 0.8 + rng.normal(0, 6, n),
        "base_weekday_peak": base_peak,
        "base_peak_to_offpeak_ratio": rng.lognormal(0.5, 0.3, n),
        "intrinsic_daily_volatility": rng.gamma(2.0, 1.5, n),
        "high_response_pct": -pct_wd,
    })
    df.loc[4, "intrinsic_daily_volatility"] = np.nan  # any seed feature missing: dropped with a reason
    df.loc[9, "peak_reduction_pct_weekend"] = np.inf
    return df


@single_threaded
def direct_seed(df: pd.DataFrame):
    """The seed's procedure written directly in scikit-learn (METHODS A)."""
    cols = ["peak_reduction_weekday", "load_shift_weekday", "peak_reduction_weekend",
            "peak_reduction_pct_weekday", "peak_reduction_pct_weekend"]
    num = df.drop(columns=["household_id"])
    keep = np.isfinite(num.to_numpy(dtype=float)).all(axis=1)
    Z = StandardScaler().fit_transform(df.loc[keep, cols])
    sil = {k: silhouette_score(Z, KMeans(k, n_init=10, random_state=42).fit(Z).labels_) for k in range(2, 11)}
    bics = {(k, c): GaussianMixture(k, covariance_type=c, n_init=10, random_state=42).fit(Z).bic(Z)
            for k in range(2, 11) for c in ("full", "tied", "diag", "spherical")}
    k_g, c_g = min(bics, key=bics.get)
    gm = GaussianMixture(k_g, covariance_type=c_g, n_init=10, random_state=42).fit(Z)
    km4 = KMeans(4, n_init=10, random_state=42).fit(Z)
    sil_g = silhouette_score(Z, gm.predict(Z))
    labels = km4.labels_ if sil[4] >= sil_g else gm.predict(Z)
    pcs = PCA(2).fit_transform(Z)
    return keep, labels, sil, bics, (k_g, c_g), sil_g, pcs


def test_seed_path_matches_direct_reimplementation():
    df = seed_features()
    res = build_personas(df, Config().replace(personas={"method": "seed", "bootstrap_resamples": 5}))
    keep, labels, sil, bics, best, sil_g, pcs = direct_seed(df)
    assert res.method == "seed" and res.n_unassigned == 2
    assert list(res.personas.loc[~keep, "persona_name"]) == ["unassigned", "unassigned"]
    assert "intrinsic_daily_volatility" in res.personas.loc[4, "unassigned_reason"]
    got = res.personas.loc[keep, "persona_id"].to_numpy()
    assert adjusted_rand_score(labels, got) == 1.0  # the same partition (ids are renumbered)
    sel = res.selection
    km_sil = sel.query("algorithm == 'kmeans' and index == 'silhouette'").set_index("k")["value"]
    for k, v in sil.items():
        assert km_sil[k] == pytest.approx(v, abs=1e-12)
    gm_bic = sel.query("algorithm == 'gmm' and index == 'bic'").set_index(["k", "covariance_type"])["value"]
    for key, v in bics.items():
        assert gm_bic[key] == pytest.approx(v, rel=1e-9)
    ch = res.stability["chosen"]
    assert (ch["gmm_k"], ch["gmm_covariance_type"]) == best
    assert ch["silhouette_gmm"] == pytest.approx(sil_g)
    assert ch["algorithm"] == ("kmeans" if sil[4] >= sil_g else "gmm")
    # PCA picture up to the sign of each component
    for j, c in enumerate(("pc1", "pc2")):
        assert abs(np.corrcoef(res.pca[c], pcs[:, j])[0, 1]) == pytest.approx(1.0)
    # ids ordered by largest weekday peak reduction first; names from that centre
    prof = res.profiles.set_index("persona_id")
    med = prof["median_peak_reduction_pct_weekday"]
    assert med.idxmax() == "P1"
    assert prof.loc["P1", "persona_name"].startswith("Strong peak reducers")
    # profiles: medians and ratio to the cohort median
    assigned = res.personas["persona_id"].notna()
    sub = df[assigned.to_numpy()]
    p1 = sub[(res.personas.loc[assigned, "persona_id"] == "P1").to_numpy()]
    assert prof.loc["P1", "median_base_weekday_peak"] == pytest.approx(p1["base_weekday_peak"].median())
    assert prof.loc["P1", "ratio_base_weekday_peak"] == pytest.approx(
        p1["base_weekday_peak"].median() / sub["base_weekday_peak"].median())
    # performance-potential matrix: x = base_peak_to_offpeak_ratio, y = peak_reduction_pct_weekday
    m = res.matrix
    assert m["n"].sum() == keep.sum()
    both = df[["peak_reduction_pct_weekday", "base_peak_to_offpeak_ratio"]].dropna()  # medians of the cohort
    hi_hi = (sub["peak_reduction_pct_weekday"] > both["peak_reduction_pct_weekday"].median()) & (
        sub["base_peak_to_offpeak_ratio"] > both["base_peak_to_offpeak_ratio"].median())  # the median counts low
    assert m.query("quadrant == 'High potential, high performance'")["n"].sum() == hi_hi.sum()

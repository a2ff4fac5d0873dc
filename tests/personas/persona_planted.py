"""Planted-truth feature tables for the persona tests (planted centres + heteroscedastic estimation noise)."""

from __future__ import annotations

import numpy as np
import pandas as pd

#: The simulator's planted personas: (High response %, Low response %) centres.
PLANTED = {
    "engaged_shifter": (-25.0, 20.0),
    "moderate_reducer": (-10.0, 3.0),
    "inert": (0.0, 0.0),
    "contrarian": (12.0, -8.0),
}
SHARES = {"engaged_shifter": 0.2, "moderate_reducer": 0.3, "inert": 0.35, "contrarian": 0.15}


def _noise(rng: np.random.Generator, n: int, *, spread: float, outliers: float,
           est: tuple[float, float] = (1.0, 3.0)) -> np.ndarray:
    """Planted spread (sd ``spread``) + per-household estimation noise (sd uniform in ``est`` pp) + outliers."""
    est_sd = rng.uniform(est[0], est[1], size=(n, 1))
    out = spread * rng.standard_normal((n, 2)) + est_sd * rng.standard_normal((n, 2))
    wild = rng.random(n) < outliers
    out[wild] *= 4.0
    return out


def _extras(rng: np.random.Generator, df: pd.DataFrame) -> pd.DataFrame:
    n = len(df)
    df["high_response_ci_low"] = df["high_response_pct"] - 6.0
    df["base_peak_to_offpeak_ratio"] = rng.lognormal(0.4, 0.3, n)
    df["peak_reduction_pct_weekday"] = -df["high_response_pct"] + rng.normal(0, 5, n)
    df["mean_daily_kwh"] = rng.lognormal(2.2, 0.4, n)
    return df


def planted_features(n: int = 400, seed: int = 0, *, spread: float = 2.0, outliers: float = 0.01,
                     est: tuple[float, float] = (1.0, 3.0)) -> pd.DataFrame:
    """A features table with four planted personas; column ``truth`` holds the planted persona.

    With the defaults (planted sd 2 pp, estimation sd 1-3 pp) the Bayes-optimal classifier reaches an
    adjusted Rand index of about 0.92; with the brief's upper guess (3 pp and 2-4 pp) only about 0.74.
    """
    rng = np.random.default_rng(seed)
    names = list(PLANTED)
    truth = rng.choice(names, size=n, p=[SHARES[k] for k in names])
    centres = np.array([PLANTED[t] for t in truth])
    X = centres + _noise(rng, n, spread=spread, outliers=outliers, est=est)
    df = pd.DataFrame(
        {
            "household_id": [f"D{i:04d}" for i in range(n)],
            "high_response_pct": X[:, 0],
            "low_response_pct": X[:, 1],
        }
    )
    df = _extras(rng, df)
    df["truth"] = truth
    return df


def null_features(n: int = 400, seed: int = 0, *, outliers: float = 0.01,
                  est: tuple[float, float] = (1.0, 3.0)) -> pd.DataFrame:
    """One response distribution (correlated, heteroscedastic, a few outliers): no persona structure."""
    rng = np.random.default_rng(seed)
    cov = np.array([[16.0, -6.0], [-6.0, 9.0]])
    X = np.array([-5.0, 2.0]) + rng.multivariate_normal([0, 0], cov, size=n) + _noise(rng, n, spread=0.0, outliers=outliers, est=est)
    df = pd.DataFrame(
        {
            "household_id": [f"D{i:04d}" for i in range(n)],
            "high_response_pct": X[:, 0],
            "low_response_pct": X[:, 1],
        }
    )
    return _extras(rng, df)

"""Per-persona profiles, the performance-potential matrix and the 2-D PCA picture (METHODS A, kept by B)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA

#: Columns of a features table that are identifiers or labels, never profiled.
_NOT_PROFILED = {"household_id", "responder"}


def persona_profiles(features: pd.DataFrame, personas: pd.DataFrame, names: pd.DataFrame) -> pd.DataFrame:
    """Per persona: households, share, median of every numeric feature and its ratio to the cohort median.

    Parameters
    ----------
    features : DataFrame
        One row per household (``household_id`` + features in their own units).
    personas : DataFrame
        ``household_id``, ``persona_id`` (None for unassigned households, which are left out).
    names : DataFrame
        ``persona_id``, ``persona_name``, ``persona_rationale`` in id order.

    Returns
    -------
    DataFrame
        ``persona_id``, ``persona_name``, ``n``, ``share``, ``median_<feature>``, ``ratio_<feature>``
        (median / cohort median; NaN when the cohort median is 0), ``persona_rationale``.
    """
    numeric = [
        c for c in features.columns
        if c not in _NOT_PROFILED and pd.api.types.is_numeric_dtype(features[c]) and not pd.api.types.is_bool_dtype(features[c])
    ]
    df = features[["household_id", *numeric]].merge(personas[["household_id", "persona_id"]], on="household_id")
    df = df[df["persona_id"].notna()]
    cohort = df[numeric].median()
    rows = []
    for _, nm in names.iterrows():
        sub = df[df["persona_id"] == nm["persona_id"]]
        med = sub[numeric].median()
        row = {"persona_id": nm["persona_id"], "persona_name": nm["persona_name"], "n": int(len(sub)),
               "share": float(len(sub) / max(len(df), 1))}
        row.update({f"median_{c}": float(med[c]) for c in numeric})
        with np.errstate(divide="ignore", invalid="ignore"):
            row.update({f"ratio_{c}": float(med[c] / cohort[c]) if cohort[c] != 0 else np.nan for c in numeric})
        row["persona_rationale"] = nm["persona_rationale"]
        rows.append(row)
    return pd.DataFrame(rows)


def pca_coordinates(household_id: pd.Series, Z: np.ndarray, *, random_state: int = 42) -> pd.DataFrame:
    """First two principal components of the scaled clustering features (``pc2`` = 0 with one feature).

    Returns
    -------
    DataFrame
        ``household_id``, ``pc1``, ``pc2`` [scaled units].
    """
    n_comp = int(min(2, Z.shape[1], Z.shape[0]))
    pcs = PCA(n_components=n_comp, random_state=random_state).fit_transform(Z)
    if n_comp < 2:
        pcs = np.column_stack([pcs, np.zeros(len(pcs))])
    return pd.DataFrame({"household_id": household_id.to_numpy(), "pc1": pcs[:, 0], "pc2": pcs[:, 1]})

"""The seed's stage-2 analysis (METHODS A), reproduced: traits, strategic map, seed random forest,
top barriers and motivations, barrier heatmap, appliance shifting vs routine.

"Motivations" are ranked among the five attitude items (Q180, Q186, Q187, Q189, Q197) by mean agreement,
"barriers" among Q137-Q147, as the seed ranked them (highest mean agreement first).
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.model_selection import train_test_split

from . import survey as sv

logger = logging.getLogger(__name__)

QUADRANTS = {
    (True, False): ("Willing & Able", "ideal target"),
    (True, True): ("Willing but Constrained", "technology"),
    (False, False): ("Able but Unwilling", "automation"),
    (False, True): ("Unwilling & Unable", "avoid/exclude"),
}
STRATEGIC_COLUMNS = ["persona", "n", "n_with_traits", "constraint", "engagement", "quadrant", "lever"]
RANKED_COLUMNS = ["persona", "rank", "item", "label", "mean_agreement", "n"]
APPLIANCE_COLUMNS = ["persona", "appliance", "shifting_mean", "routine_share", "n_shifting", "n_routine"]
RF_SEED_COLUMNS = ["kind", "name", "value", "rank"]


def strategic_map(frame: pd.DataFrame) -> pd.DataFrame:
    """Persona means of the two traits, split at the cohort means into the four strategic quadrants.

    Parameters
    ----------
    frame
        One row per household: ``persona``, ``trait_constraint_score``, ``trait_engagement_score``.
    """
    if not {sv.TRAIT_CONSTRAINT, sv.TRAIT_ENGAGEMENT} <= set(frame.columns):
        return pd.DataFrame(columns=STRATEGIC_COLUMNS)
    ok = frame[[sv.TRAIT_CONSTRAINT, sv.TRAIT_ENGAGEMENT]].notna().all(axis=1)
    if not ok.any():
        return pd.DataFrame(columns=STRATEGIC_COLUMNS)
    c_mean = frame.loc[ok, sv.TRAIT_CONSTRAINT].mean()
    e_mean = frame.loc[ok, sv.TRAIT_ENGAGEMENT].mean()
    rows = []
    for persona, g in frame.groupby("persona", sort=True):
        gg = g.loc[ok.loc[g.index]]
        if gg.empty:
            continue
        c, e = float(gg[sv.TRAIT_CONSTRAINT].mean()), float(gg[sv.TRAIT_ENGAGEMENT].mean())
        quadrant, lever = QUADRANTS[(e >= e_mean, c >= c_mean)]
        rows.append(
            {
                "persona": persona,
                "n": len(g),
                "n_with_traits": len(gg),
                "constraint": c,
                "engagement": e,
                "quadrant": quadrant,
                "lever": lever,
            }
        )
    return pd.DataFrame(rows, columns=STRATEGIC_COLUMNS)


def top_items(frame: pd.DataFrame, items: tuple[str, ...], top: int = 3) -> pd.DataFrame:
    """Per persona, the ``top`` items with the highest mean agreement."""
    items = tuple(i for i in items if i in frame.columns)
    rows = []
    for persona, g in frame.groupby("persona", sort=True):
        means = g[list(items)].mean().dropna().sort_values(ascending=False, kind="stable")
        for r, (item, m) in enumerate(means.head(top).items(), start=1):
            rows.append(
                {
                    "persona": persona,
                    "rank": r,
                    "item": item,
                    "label": sv.LABELS.get(item, item),
                    "mean_agreement": float(m),
                    "n": int(g[item].notna().sum()),
                }
            )
    return pd.DataFrame(rows, columns=RANKED_COLUMNS)


def barrier_heatmap(frame: pd.DataFrame) -> pd.DataFrame:
    """Persona x barrier mean agreement (1-5), personas as rows, barrier items as columns."""
    items = [i for i in sv.BARRIER_ITEMS if i in frame.columns]
    if not items:
        return pd.DataFrame(columns=["persona"])
    return frame.groupby("persona", sort=True)[items].mean().reset_index()


def appliance_shifting(frame: pd.DataFrame) -> pd.DataFrame:
    """Per persona and appliance: mean self-reported shifting (often-scale 1-5) and share with a fixed routine."""
    rows = []
    appliances = ("washing_machine", "tumble_dryer", "dishwasher")
    for persona, g in frame.groupby("persona", sort=True):
        for app, s_item, r_item in zip(appliances, sv.SHIFTING_ITEMS, sv.ROUTINE_ITEMS):
            if s_item not in g.columns or r_item not in g.columns:
                continue
            rows.append(
                {
                    "persona": persona,
                    "appliance": app,
                    "shifting_mean": float(g[s_item].mean()) if g[s_item].notna().any() else np.nan,
                    "routine_share": float(g[r_item].mean()) if g[r_item].notna().any() else np.nan,
                    "n_shifting": int(g[s_item].notna().sum()),
                    "n_routine": int(g[r_item].notna().sum()),
                }
            )
    return pd.DataFrame(rows, columns=APPLIANCE_COLUMNS)


def seed_forest(frame: pd.DataFrame, numeric: list[str], categorical: list[str], seed: int = 42) -> pd.DataFrame:
    """The seed's random forest: 150 trees, balanced class weights, OOB score, 70/30 stratified split.

    Median imputation of numeric predictors, one-hot categorical predictors; impurity importances (top 20).

    Returns
    -------
    DataFrame
        ``kind`` (``metric`` | ``importance``), ``name``, ``value``, ``rank``: test accuracy, OOB score,
        train/test sizes, then the top 20 impurity importances.
    """
    y = frame["persona"].astype(str).to_numpy()
    parts = [frame[numeric].astype("float64")] if numeric else []
    for c in categorical:
        parts.append(pd.get_dummies(frame[c].astype(str), prefix=c, dtype=float))
    if not parts or len(set(y)) < 2:
        return pd.DataFrame(columns=RF_SEED_COLUMNS)
    X = pd.concat(parts, axis=1)
    names = list(X.columns)
    Xv = SimpleImputer(strategy="median", keep_empty_features=True).fit_transform(X)
    counts = pd.Series(y).value_counts()
    stratify = y if counts.min() >= 2 else None
    Xtr, Xte, ytr, yte = train_test_split(Xv, y, test_size=0.3, stratify=stratify, random_state=seed)
    rf = RandomForestClassifier(n_estimators=150, class_weight="balanced", oob_score=True, random_state=seed, n_jobs=1)
    with warnings.catch_warnings():
        # On small cohorts a few rows are in-bag for every tree; the OOB score then uses the others.
        warnings.filterwarnings("ignore", message="Some inputs do not have OOB scores", category=UserWarning)
        rf.fit(Xtr, ytr)
    rows = [
        {"kind": "metric", "name": "test_accuracy", "value": float((rf.predict(Xte) == yte).mean()), "rank": np.nan},
        {"kind": "metric", "name": "oob_score", "value": float(rf.oob_score_), "rank": np.nan},
        {"kind": "metric", "name": "n_train", "value": float(len(ytr)), "rank": np.nan},
        {"kind": "metric", "name": "n_test", "value": float(len(yte)), "rank": np.nan},
    ]
    order = np.argsort(-rf.feature_importances_, kind="stable")[:20]
    for r, j in enumerate(order, start=1):
        rows.append({"kind": "importance", "name": names[j], "value": float(rf.feature_importances_[j]), "rank": r})
    return pd.DataFrame(rows, columns=RF_SEED_COLUMNS)

"""Targeting: predict a household's High-price response from pre-trial data only, validate, rank a book.

The trial's treatment households carry an estimated response (``features.parquet``: ``high_response_pct``,
``high_response_kw``, negative = reduction). A random forest learns it from *pre-trial* lifestyle features
(``lifestyle.parquet``) plus the Acorn group — never from trial-year outcomes. Validation: fit on a training
split of treatment households, rank the held-out split by predicted reduction and draw the cumulative-gain
(Qini) curve of their *estimated* kW reductions against random targeting (the diagonal); report the area
between the two. Every held-out household was treated, so its estimated response is its uplift.

Then the model is refitted on all treatment households and ranks the control households, who stand in for a
supplier's customer book (``targets.csv``). A second forest predicts the dynamic-minus-flat bill change [%]
from the same pre-trial features; a control household with a predicted increase gets the do-no-harm flag.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestRegressor
from sklearn.impute import SimpleImputer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from ..config import Config

log = logging.getLogger(__name__)

#: Names that smell of trial-year outcomes; such columns never enter the targeting model.
_OUTCOME = re.compile(r"(response|^trial_|bill_|responder|rebound|^p_high|^q_high|saving|rationality|reduction|load_shift)")
_NOT_FEATURES = {"household_id", "group", "lifestyle_source", "acorn", "acorn_grouped"}


@dataclass
class TargetingResult:
    """What :func:`fit_targeting` returns.

    Attributes
    ----------
    qini
        The cumulative-gain curve on the held-out treatment households: ``share_targeted`` (0..1),
        ``n_targeted``, ``gain_model_kw``, ``gain_random_kw``, ``gain_perfect_kw`` (summed estimated kW
        reduction of the households targeted so far [kW]).
    targets
        Control households ranked: ``household_id``, ``predicted_response_pct`` (negative = reduction [%]),
        ``predicted_kw`` (mean kW change at High, negative = reduction [kW]), ``predicted_bill_change_pct``
        (dynamic minus flat [%]), ``rank`` (1 = largest predicted reduction), ``do_no_harm`` (True = likely to
        pay more on the dynamic tariff).
    summary
        JSON-able numbers: sizes, features used, Qini area vs random, whether the model beats random.
    """

    qini: pd.DataFrame
    targets: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)


def pretrial_matrix(lifestyle: pd.DataFrame, households: pd.DataFrame | None) -> pd.DataFrame:
    """Pre-trial predictors per household (index ``household_id``): numeric lifestyle columns that are not
    trial outcomes, plus one-hot Acorn groups when ``households`` has them."""
    df = lifestyle.copy()
    df["household_id"] = df["household_id"].astype(str)
    df = df.drop_duplicates("household_id").set_index("household_id")
    cols = [
        c for c in df.columns
        if c not in _NOT_FEATURES and not _OUTCOME.search(c) and pd.api.types.is_numeric_dtype(df[c])
        and not pd.api.types.is_bool_dtype(df[c])
    ]
    X = df[cols].astype(float).replace([np.inf, -np.inf], np.nan)
    X = X.loc[:, X.notna().any()]
    if households is not None and "acorn_grouped" in households.columns:
        h = households.assign(household_id=households["household_id"].astype(str)).drop_duplicates("household_id")
        acorn = h.set_index("household_id")["acorn_grouped"].reindex(X.index).astype(object).fillna("unknown")
        dummies = pd.get_dummies(acorn.astype(str), prefix="acorn", dtype=float)
        X = X.join(dummies)
    return X


def _forest(config: Config) -> Any:
    tk = config.toolkit
    return make_pipeline(
        SimpleImputer(strategy="median", keep_empty_features=True),
        RandomForestRegressor(n_estimators=tk.n_estimators, min_samples_leaf=3, random_state=tk.seed, n_jobs=1),
    )


def qini_curve(predicted_reduction: np.ndarray, actual_reduction: np.ndarray) -> pd.DataFrame:
    """Cumulative gain of targeting by predicted reduction, random targeting and perfect targeting.

    Parameters
    ----------
    predicted_reduction
        Predicted reduction per household (larger = target first) [kW].
    actual_reduction
        Estimated actual reduction per household [kW].
    """
    pred = np.asarray(predicted_reduction, dtype=float)
    act = np.asarray(actual_reduction, dtype=float)
    n = len(act)
    order = np.lexsort((np.arange(n), -pred))  # stable: ties keep input order
    gain = np.concatenate([[0.0], np.cumsum(act[order])])
    perfect = np.concatenate([[0.0], np.cumsum(np.sort(act)[::-1])])
    k = np.arange(n + 1)
    return pd.DataFrame(
        {
            "share_targeted": k / max(n, 1),
            "n_targeted": k,
            "gain_model_kw": gain,
            "gain_random_kw": k / max(n, 1) * act.sum(),
            "gain_perfect_kw": perfect,
        }
    )


def qini_area(qini: pd.DataFrame) -> dict[str, float]:
    """Area between the model's and the random gain curve [kW × share targeted] and the Qini coefficient
    (that area over the perfect model's)."""
    x = qini["share_targeted"].to_numpy()
    model = np.trapezoid(qini["gain_model_kw"] - qini["gain_random_kw"], x)
    perfect = np.trapezoid(qini["gain_perfect_kw"] - qini["gain_random_kw"], x)
    return {
        "area_vs_random_kw": float(model),
        "area_perfect_vs_random_kw": float(perfect),
        "qini_coefficient": float(model / perfect) if perfect > 0 else float("nan"),
    }


def fit_targeting(
    features: pd.DataFrame,
    lifestyle: pd.DataFrame,
    households: pd.DataFrame | None,
    config: Config,
) -> TargetingResult:
    """Fit, validate (Qini on held-out treatment households) and rank the control households.

    Parameters
    ----------
    features
        Treatment households with ``high_response_pct`` [%] and ``high_response_kw`` [kW] (negative =
        reduction); ``bill_dynamic_gbp``/``bill_flat_gbp`` [GBP] for the bill model when present.
    lifestyle
        Pre-trial features of every household (``household_id``, ``group``, ...).
    households
        ``household_id``, ``group``, ``acorn_grouped`` (optional; the control group is taken from here when
        ``lifestyle`` lacks ``group``).
    config
        ``config.toolkit``: ``holdout_share``, ``seed``, ``n_estimators``, ``min_training_households``.
    """
    tk = config.toolkit
    X_all = pretrial_matrix(lifestyle, households)
    empty_targets = pd.DataFrame(
        columns=["household_id", "predicted_response_pct", "predicted_kw", "predicted_bill_change_pct", "rank", "do_no_harm"]
    )
    empty_qini = qini_curve(np.array([]), np.array([]))
    f = features.assign(household_id=features["household_id"].astype(str)).drop_duplicates("household_id")
    f = f.set_index("household_id")
    need = [c for c in ("high_response_pct", "high_response_kw") if c in f.columns]
    if len(need) < 2 or X_all.shape[1] == 0:
        note = "no targeting: features lack high_response_pct/high_response_kw or lifestyle has no pre-trial features"
        log.warning(note)
        return TargetingResult(empty_qini, empty_targets, {"fitted": False, "note": note})
    treated = f.index[f[need].notna().all(axis=1) & np.isfinite(f[need].astype(float)).all(axis=1)]
    treated = treated.intersection(X_all.index)
    if len(treated) < tk.min_training_households:
        note = (f"no targeting: {len(treated)} treatment households with a response and pre-trial features "
                f"(need {tk.min_training_households}; lower toolkit.min_training_households to force it)")
        log.warning(note)
        return TargetingResult(empty_qini, empty_targets, {"fitted": False, "note": note})
    X = X_all.loc[treated]
    y_kw = f.loc[treated, "high_response_kw"].astype(float).to_numpy()
    y_pct = f.loc[treated, "high_response_pct"].astype(float).to_numpy()
    idx_train, idx_test = train_test_split(np.arange(len(treated)), test_size=tk.holdout_share, random_state=tk.seed)
    model_kw = _forest(config).fit(X.iloc[idx_train], y_kw[idx_train])
    pred_test = model_kw.predict(X.iloc[idx_test])
    qini = qini_curve(-pred_test, -y_kw[idx_test])
    area = qini_area(qini)
    corr = float(pd.Series(pred_test).corr(pd.Series(y_kw[idx_test]), method="spearman")) if len(idx_test) > 2 else float("nan")
    summary: dict[str, Any] = {
        "fitted": True,
        "model": f"random forest ({tk.n_estimators} trees, min_samples_leaf=3, median imputation)",
        "target": "high_response_kw (mean kW change during High half-hours; negative = reduction)",
        "features": list(X.columns),
        "n_train": int(len(idx_train)),
        "n_holdout": int(len(idx_test)),
        "holdout_spearman": corr,
        **area,
        "beats_random": bool(area["area_vs_random_kw"] > 0),
    }
    # -- rank the customer book (control households) with models refitted on every treatment household
    if "group" in lifestyle.columns:
        grp = lifestyle.assign(household_id=lifestyle["household_id"].astype(str)).set_index("household_id")["group"]
    elif households is not None and "group" in households.columns:
        grp = households.assign(household_id=households["household_id"].astype(str)).set_index("household_id")["group"]
    else:
        grp = pd.Series(dtype=object)
    book = X_all.index[X_all.index.isin(grp[grp.astype(str) == "control"].index)]
    summary["n_book"] = int(len(book))
    if len(book) == 0:
        summary["note"] = "no control households with pre-trial features: targets.csv is empty"
        return TargetingResult(qini, empty_targets, summary)
    model_kw_all = _forest(config).fit(X, y_kw)
    model_pct_all = _forest(config).fit(X, y_pct)
    Xb = X_all.loc[book]
    targets = pd.DataFrame(
        {
            "household_id": book.astype(str),
            "predicted_response_pct": model_pct_all.predict(Xb),
            "predicted_kw": model_kw_all.predict(Xb),
        }
    )
    bill_change = _bill_change_pct(f.loc[treated])
    if bill_change is not None and bill_change.notna().sum() >= tk.min_training_households:
        ok = bill_change.notna().to_numpy()
        model_bill = _forest(config).fit(X[ok], bill_change[ok].to_numpy())
        targets["predicted_bill_change_pct"] = model_bill.predict(Xb)
        summary["do_no_harm_basis"] = "predicted dynamic-minus-flat bill change > 0 (forest on pre-trial features)"
    else:
        targets["predicted_bill_change_pct"] = np.nan
        summary["do_no_harm_basis"] = "no bill columns in features: no do-no-harm prediction for the book"
    targets = targets.sort_values(["predicted_kw", "household_id"], kind="mergesort").reset_index(drop=True)
    targets["rank"] = np.arange(1, len(targets) + 1)
    targets["do_no_harm"] = targets["predicted_bill_change_pct"].to_numpy() > 0
    summary["n_do_no_harm_book"] = int(targets["do_no_harm"].sum())
    return TargetingResult(qini, targets, summary)


def _bill_change_pct(f: pd.DataFrame) -> pd.Series | None:
    """Dynamic minus flat bill as % of the flat bill per household, or None without bill columns."""
    if not {"bill_dynamic_gbp", "bill_flat_gbp"} <= set(f.columns):
        return None
    flat = f["bill_flat_gbp"].astype(float)
    out = 100 * (f["bill_dynamic_gbp"].astype(float) - flat) / flat.where(flat > 0)
    return out.replace([np.inf, -np.inf], np.nan)

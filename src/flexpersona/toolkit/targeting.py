"""Targeting: predict a household's High-price response from pre-trial data only, validate, rank a book.

The trial's treatment households carry an estimated response (``features.parquet``: ``high_response_pct``,
``high_response_kw``, negative = reduction). Random forests learn it from *pre-trial* lifestyle features
(``lifestyle.parquet``) plus the Acorn group — never from trial-year outcomes (columns whose names look like
outcomes are refused).

Validation by repeated cross-fitting (:func:`cross_fit`): the treatment households are split at random into
``ToolkitConfig.cv_folds`` folds, ``cv_repeats`` times over. In each repeat every household is predicted by
the model fitted on the other folds, so every household has ``cv_repeats`` out-of-fold predictions, none from
a model that saw it. Households are ranked by their out-of-fold prediction averaged over the repeats, and
the cumulative gain (Qini) curve of their *estimated* kW reductions is compared with random targeting (the
diagonal); every household was treated, so its estimated response is its uplift. Intervals:
:func:`qini_bootstrap`.

Placebo check: the identical procedure on the control households' placebo responses (``placebo.parquet``:
each control estimated as if treated). They had no dynamic tariff, so a model must not "find" their
response; an interval that excludes 0 is a warning that the predictors carry trial-year information
(leakage) or that the response estimator's error follows pre-trial load shape.

The customer book (the control households, ``targets.csv``) is ranked by the average prediction of all
``cv_repeats × cv_folds`` fold models — no refit on all households. Forests for the response in % and for
the dynamic-minus-flat bill change [%] are cross-fitted on the same folds; a book household with a
predicted bill increase gets the do-no-harm flag, and the bill model's flag is checked out of fold on the
treatment households.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.ensemble import RandomForestRegressor
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline

from ..config import Config, ToolkitConfig
from ..contracts import is_outcome
from ..stats import row_percentiles
from .model import LEVER_COLUMNS, TargetingModel

log = logging.getLogger(__name__)

#: Identifiers and labels, never predictors (trial outcomes are refused by :func:`flexpersona.contracts.is_outcome`).
_NOT_FEATURES = {"household_id", "group", "lifestyle_source", "acorn", "acorn_grouped"}
TARGET_COLUMNS = ["household_id", "predicted_response_pct", "predicted_kw", "predicted_bill_change_pct", "rank", "do_no_harm"]
QINI_INTERVAL_COLUMNS = ["gain_model_kw_ci_low", "gain_model_kw_ci_high", "gain_over_random_kw_ci_low", "gain_over_random_kw_ci_high"]


@dataclass
class TargetingResult:
    """What :func:`fit_targeting` returns.

    Attributes
    ----------
    qini
        The cumulative-gain curve over all treatment households ranked by their out-of-fold prediction
        (averaged over repeats): ``share_targeted`` (0..1), ``n_targeted``, ``gain_model_kw``,
        ``gain_random_kw``, ``gain_perfect_kw`` (summed estimated kW reduction of the households targeted so
        far [kW]) and 95% bootstrap intervals ``gain_model_kw_ci_low/high`` and
        ``gain_over_random_kw_ci_low/high`` (model minus random [kW]).
    targets
        Control households ranked: ``household_id``, ``predicted_response_pct`` (negative = reduction [%]),
        ``predicted_kw`` (mean kW change at High, negative = reduction [kW]), ``predicted_bill_change_pct``
        (dynamic minus flat [%]), ``rank`` (1 = largest predicted reduction), ``do_no_harm`` (True = likely to
        pay more on the dynamic tariff).
    summary
        JSON-able numbers: sizes, features used, Qini with intervals, placebo check, book counts.
    """

    qini: pd.DataFrame
    targets: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)
    #: The fold models and what scoring needs (:class:`~.model.TargetingModel`); None when not fitted.
    model: TargetingModel | None = None


@dataclass
class CrossFit:
    """Predictions of repeated K-fold cross-fitting (:func:`cross_fit`).

    Attributes
    ----------
    fold
        ``(repeats, n)``: the fold of household i in repeat r.
    oof
        ``{target: (repeats, n)}``: the prediction of household i in repeat r by the model fitted without
        i's fold.
    level
        ``{target: (repeats, folds)}``: each fold model's mean prediction over all n households (its level; it
        uses predictors only, no outcome).
    book
        ``{target: (repeats × folds, m)}``: every fold model's prediction of the book rows.
    """

    fold: np.ndarray
    oof: dict[str, np.ndarray]
    level: dict[str, np.ndarray]
    book: dict[str, np.ndarray]
    #: ``{target: [fitted model i = r × folds + k]}`` when :func:`cross_fit` was asked to keep them.
    models: dict[str, list[Any]] = field(default_factory=dict)

    def oof_relative(self, target: str) -> np.ndarray:
        """Out-of-fold predictions minus their model's level, averaged over repeats (length n).

        What ranks households for the Qini. A fold model's level follows the mean outcome of the *other*
        folds, i.e. it moves against its own fold's mean outcome; left in, that shift ranks whole folds against
        their outcomes, biasing the pooled Qini down and widening its spread beyond what a household bootstrap
        sees. Relative to its level, a model's prediction says who responds more than the average household.
        """
        lvl = np.take_along_axis(self.level[target], self.fold, axis=1)
        return (self.oof[target] - lvl).mean(axis=0)


def pretrial_matrix(lifestyle: pd.DataFrame, households: pd.DataFrame | None) -> pd.DataFrame:
    """Pre-trial predictors per household (index ``household_id``): numeric lifestyle columns that are not
    trial outcomes, plus one-hot Acorn groups when ``households`` has them."""
    df = lifestyle.copy()
    df["household_id"] = df["household_id"].astype(str)
    df = df.drop_duplicates("household_id").set_index("household_id")
    cols = [
        c for c in df.columns
        if c not in _NOT_FEATURES and not is_outcome(c) and pd.api.types.is_numeric_dtype(df[c])
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


#: Settings of every fold model's forest besides ``toolkit.n_estimators``. Each tree sees half the training
#: households and half the columns at each split: cheaper trees that decorrelate well, so that the
#: ``cv_repeats × cv_folds`` fold models stay fast (measured in ``benchmarks/bench_targeting.py``).
FOREST = {"min_samples_leaf": 3, "max_features": 0.5, "max_samples": 0.5}


def forest_factory(config: Config) -> Callable[[int], Any]:
    """``make_model(i)``: the targeting forest (median imputation + random forest) with seed ``seed + i``."""
    tk = config.toolkit

    def make_model(i: int) -> Any:
        return make_pipeline(
            SimpleImputer(strategy="median", keep_empty_features=True),
            RandomForestRegressor(n_estimators=tk.n_estimators, random_state=tk.seed + i, n_jobs=1, **FOREST),
        )

    return make_model


def fold_assignment(n: int, *, repeats: int, folds: int, seed: int) -> np.ndarray:
    """``(repeats, n)`` fold ids: each repeat an independent random partition into near-equal folds."""
    out = np.empty((repeats, n), dtype=np.int64)
    for r in range(repeats):
        out[r, np.random.default_rng([seed, r]).permutation(n)] = np.arange(n) % folds
    return out


def cross_fit(
    X: np.ndarray,
    targets: Mapping[str, np.ndarray],
    *,
    make_model: Callable[[int], Any],
    repeats: int,
    folds: int,
    seed: int,
    book: np.ndarray | None = None,
    n_jobs: int = 1,
    keep_models: bool = False,
) -> CrossFit:
    """Repeated K-fold cross-fitting of one model per target, fold and repeat.

    Parameters
    ----------
    X
        Predictors of the n training households.
    targets
        ``{name: y}`` with y of length n; households with a non-finite y are left out of that target's
        training sets (they still get out-of-fold predictions).
    make_model
        ``make_model(i)`` returns an unfitted estimator (``fit``/``predict``); i = r × folds + k numbers the
        models, for their seeds.
    repeats, folds, seed
        Number of random partitions, folds per partition, seed of the partitions.
    book
        Rows to predict with every fold model (the customer book).
    n_jobs
        Threads fitting the models (joblib); the result does not depend on it.
    keep_models
        Keep every fitted model in :attr:`CrossFit.models` (the saved targeting model scores with them).
    """
    X = np.asarray(X, dtype=float)
    n = len(X)
    fold = fold_assignment(n, repeats=repeats, folds=folds, seed=seed)
    names = list(targets)
    ys = {t: np.asarray(targets[t], dtype=float) for t in names}

    def one(t: str, r: int, k: int) -> tuple[np.ndarray, np.ndarray | None, Any]:
        train = (fold[r] != k) & np.isfinite(ys[t])
        model = make_model(r * folds + k).fit(X[train], ys[t][train])
        pred_all = np.asarray(model.predict(X), dtype=float)
        pred_book = np.asarray(model.predict(book), dtype=float) if book is not None and len(book) else None
        return pred_all, pred_book, model if keep_models else None

    tasks = [(t, r, k) for t in names for r in range(repeats) for k in range(folds)]
    results = Parallel(n_jobs=n_jobs, prefer="threads")(delayed(one)(*task) for task in tasks)
    m = 0 if book is None else len(book)
    oof = {t: np.full((repeats, n), np.nan) for t in names}
    level = {t: np.full((repeats, folds), np.nan) for t in names}
    book_pred = {t: np.full((repeats * folds, m), np.nan) for t in names}
    models: dict[str, list[Any]] = {t: [None] * (repeats * folds) for t in names} if keep_models else {}
    for (t, r, k), (pred_all, pred_book, model) in zip(tasks, results, strict=True):
        test = fold[r] == k
        oof[t][r, test] = pred_all[test]
        level[t][r, k] = pred_all.mean()
        if pred_book is not None:
            book_pred[t][r * folds + k] = pred_book
        if keep_models:
            models[t][r * folds + k] = model
    return CrossFit(fold=fold, oof=oof, level=level, book=book_pred, models=models)


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


def qini_bootstrap(
    predicted_reduction: np.ndarray, actual_reduction: np.ndarray, *, replicates: int, seed: int, chunk: int = 200
) -> dict[str, np.ndarray]:
    """Percentile-bootstrap distribution of the Qini curve, area and coefficient.

    What is resampled: the n households, with replacement, each carrying its pair (predicted reduction,
    estimated reduction); every replicate re-ranks its n draws and recomputes the model, random and perfect
    curves. What is not: the models (predictions stay those of the cross-fitting, models are not refitted)
    and each household's own estimation noise (its estimated response is taken as measured).

    Returns
    -------
    dict
        ``area`` and ``coefficient`` (``replicates``,) and ``gain_model``, ``gain_over_random``
        (``replicates``, n + 1) [kW].
    """
    pred = np.asarray(predicted_reduction, dtype=float)
    act = np.asarray(actual_reduction, dtype=float)
    n = len(act)
    rng = np.random.default_rng([seed, 12])
    x = np.arange(n + 1) / n
    area, coef, gain, over = [], [], [], []
    for start in range(0, replicates, chunk):
        b = min(chunk, replicates - start)
        idx = rng.integers(0, n, size=(b, n))
        p, a = pred[idx], act[idx]
        order = np.argsort(-p, axis=1, kind="stable")
        g = np.concatenate([np.zeros((b, 1)), np.cumsum(np.take_along_axis(a, order, axis=1), axis=1)], axis=1)
        perf = np.concatenate([np.zeros((b, 1)), np.cumsum(-np.sort(-a, axis=1), axis=1)], axis=1)
        rand = x[None, :] * a.sum(axis=1, keepdims=True)
        ar = np.trapezoid(g - rand, x, axis=1)
        ap = np.trapezoid(perf - rand, x, axis=1)
        area.append(ar)
        coef.append(np.where(ap > 0, ar / np.where(ap > 0, ap, 1.0), np.nan))
        gain.append(g)
        over.append(g - rand)
    return {"area": np.concatenate(area), "coefficient": np.concatenate(coef),
            "gain_model": np.concatenate(gain), "gain_over_random": np.concatenate(over)}  # fmt: skip


#: Widening of the household-bootstrap interval of a cross-fitted Qini (see :func:`cross_fitted_qini`).
CROSS_FIT_WIDENING = float(np.sqrt(2.0))


def widened_interval(point: Any, draws: np.ndarray, factor: float, axis: int = 0) -> tuple[Any, Any]:
    """95% interval: the percentile-bootstrap distances below and above ``point`` times ``factor``.

    The percentiles are :func:`numpy.nanpercentile`'s over ``axis`` (NaN and ±inf draws left out), by
    :func:`~flexpersona.stats.row_percentiles`: one sort instead of numpy's loop over the Qini curve's ~1,100
    points at full LCL size (1.3 s of the toolkit stage's profile).
    """
    d = np.moveaxis(np.asarray(draws, dtype=float), axis, -1)
    lo, hi = row_percentiles(d.reshape(-1, d.shape[-1]), [2.5, 97.5], min_finite=1).reshape(2, *d.shape[:-1])
    return point - factor * np.maximum(point - lo, 0.0), point + factor * np.maximum(hi - point, 0.0)


def _json_float(x: Any) -> float | None:
    x = float(x)
    return x if np.isfinite(x) else None


def cross_fitted_qini(
    X: np.ndarray, y_kw: np.ndarray, config: Config, *, book: np.ndarray | None = None,
    extra_targets: Mapping[str, np.ndarray] | None = None, keep_models: bool = False,
) -> tuple[pd.DataFrame, dict[str, Any], CrossFit]:
    """Cross-fit the kW model (and ``extra_targets`` on the same folds), rank the households by their
    out-of-fold prediction (relative to its model's level, averaged over repeats, see
    :meth:`CrossFit.oof_relative`) and bootstrap the Qini curve.

    Intervals: :func:`qini_bootstrap` resamples households with their predictions held fixed, but in
    cross-fitting every pair of households in different folds is used twice — j's outcome shapes the
    prediction of i and i's that of j — and a bootstrap with fixed predictions cannot see that. For a
    statistic linear in the outcomes this at most doubles the variance (Cauchy–Schwarz on the smoother's
    weights), so the bootstrap's distances below and above the point are widened by
    :data:`CROSS_FIT_WIDENING` (√2). Measured on null trials (placebo-like responses, 40–60 seeds,
    200 and 500 households): plain bootstrap intervals excluded 0 in 12–15% of them, widened ones in 5%.

    Returns the curve with interval columns, JSON-able numbers (area and coefficient with 95% intervals,
    the coefficient of each repeat, out-of-fold Spearman) and the :class:`CrossFit`.
    """
    tk = config.toolkit
    cf = cross_fit(X, {"kw": y_kw, **(extra_targets or {})}, make_model=forest_factory(config), repeats=tk.cv_repeats,
                   folds=tk.cv_folds, seed=tk.seed, book=book, n_jobs=tk.n_jobs, keep_models=keep_models)
    pred = cf.oof_relative("kw")
    qini = qini_curve(-pred, -y_kw)
    area = qini_area(qini)
    boot = qini_bootstrap(-pred, -y_kw, replicates=tk.bootstrap_replicates, seed=tk.seed)
    w = CROSS_FIT_WIDENING
    g_lo, g_hi = widened_interval(qini["gain_model_kw"].to_numpy(), boot["gain_model"], w)
    over = (qini["gain_model_kw"] - qini["gain_random_kw"]).to_numpy()
    o_lo, o_hi = widened_interval(over, boot["gain_over_random"], w)
    qini = qini.assign(gain_model_kw_ci_low=g_lo, gain_model_kw_ci_high=g_hi,
                       gain_over_random_kw_ci_low=o_lo, gain_over_random_kw_ci_high=o_hi)
    a_lo, a_hi = widened_interval(area["area_vs_random_kw"], boot["area"], w)
    c_lo, c_hi = widened_interval(area["qini_coefficient"], boot["coefficient"], w)
    rel = cf.oof["kw"] - np.take_along_axis(cf.level["kw"], cf.fold, axis=1)
    by_repeat = [qini_area(qini_curve(-rel[r], -y_kw))["qini_coefficient"] for r in range(tk.cv_repeats)]
    varies = len(pred) > 2 and np.ptp(pred) > 0 and np.ptp(y_kw) > 0
    rho = pd.Series(pred).corr(pd.Series(y_kw), method="spearman") if varies else np.nan
    numbers = {
        "n": int(len(y_kw)),
        "area_vs_random_kw": area["area_vs_random_kw"],
        "area_vs_random_kw_ci_low": float(a_lo),
        "area_vs_random_kw_ci_high": float(a_hi),
        "area_perfect_vs_random_kw": area["area_perfect_vs_random_kw"],
        "qini_coefficient": area["qini_coefficient"],
        "qini_coefficient_ci_low": float(c_lo),
        "qini_coefficient_ci_high": float(c_hi),
        "qini_coefficient_by_repeat": [_json_float(v) for v in by_repeat],
        "oof_spearman": float(rho),
    }
    return qini, numbers, cf


def fit_targeting(
    features: pd.DataFrame,
    lifestyle: pd.DataFrame,
    households: pd.DataFrame | None,
    config: Config,
    placebo: pd.DataFrame | None = None,
) -> TargetingResult:
    """Cross-fit and validate (Qini with intervals, placebo check), then rank the control households.

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
        ``config.toolkit``: ``cv_repeats``, ``cv_folds``, ``n_estimators``, ``n_jobs``,
        ``bootstrap_replicates``, ``seed``, ``min_training_households``.
    placebo
        ``placebo.parquet``: control households' placebo ``high_response_kw`` [kW]; None skips the check.
    """
    tk = config.toolkit  # cv_folds >= 2 and cv_repeats >= 1 are checked when the Config is built
    X_all = pretrial_matrix(lifestyle, households)
    f = features.assign(household_id=features["household_id"].astype(str)).drop_duplicates("household_id")
    f = f.set_index("household_id")
    need = [c for c in ("high_response_pct", "high_response_kw") if c in f.columns]
    if len(need) < 2 or X_all.shape[1] == 0:
        return _not_fitted("no targeting: features lack high_response_pct/high_response_kw or lifestyle has no "
                           "pre-trial features")
    treated = _finite_index(f, need).intersection(X_all.index)
    if len(treated) < max(tk.min_training_households, tk.cv_folds):
        return _not_fitted(
            f"no targeting: {len(treated)} treatment households with a response and pre-trial features "
            f"(need {max(tk.min_training_households, tk.cv_folds)}; lower toolkit.min_training_households to force it)"
        )
    X = X_all.loc[treated]
    y_kw = f.loc[treated, "high_response_kw"].astype(float).to_numpy()
    bill = _bill_change_pct(f.loc[treated])
    has_bill = bill is not None and int(bill.notna().sum()) >= max(tk.min_training_households, tk.cv_folds)
    extra = {"pct": f.loc[treated, "high_response_pct"].astype(float).to_numpy()}
    if has_bill:
        extra["bill"] = bill.to_numpy(dtype=float)
    if "responder" in f.columns:
        extra["responder"] = f.loc[treated, "responder"].map(lambda v: np.nan if pd.isna(v) else float(bool(v))).to_numpy(float)
    book = _book(X_all, lifestyle, households)
    Xb = X_all.loc[book].to_numpy(dtype=float)
    qini, numbers, cf = cross_fitted_qini(X.to_numpy(dtype=float), y_kw, config, book=Xb, extra_targets=extra,
                                          keep_models=True)
    summary = _method_summary(tk, list(X.columns), numbers)
    summary.update(_placebo_check(placebo, X_all, config))
    # -- rank the customer book (control households) with every fold model of the cross-fitting
    summary["n_book"] = int(len(book))
    summary["book_models"] = int(tk.cv_repeats * tk.cv_folds)
    if has_bill:
        summary.update(_do_no_harm_check(bill.to_numpy(dtype=float), cf.oof["bill"].mean(axis=0)))
    else:
        summary["do_no_harm_basis"] = "no bill columns in features: no do-no-harm prediction for the book"
    model = _saved_model(cf, list(X.columns), y_kw, config, lifestyle, qini, summary, treated, book)
    if len(book) == 0:
        summary["note"] = "no control households with pre-trial features: targets.csv is empty"
        summary["n_do_no_harm_book"] = 0
        return TargetingResult(qini, pd.DataFrame(columns=TARGET_COLUMNS), summary, model)
    targets = _ranked_book(book, cf, has_bill)
    summary["n_do_no_harm_book"] = int(targets["do_no_harm"].sum())
    return TargetingResult(qini, targets, summary, model)


def _saved_model(cf: CrossFit, features: list[str], y_kw: np.ndarray, config: Config, lifestyle: pd.DataFrame,
                 qini: pd.DataFrame, summary: dict[str, Any], treated: pd.Index, book: pd.Index) -> TargetingModel:
    """The fold models with what scoring needs (:class:`~.model.TargetingModel`)."""
    import sklearn

    from .._version import __version__

    source = lifestyle["lifestyle_source"].dropna() if "lifestyle_source" in lifestyle.columns else pd.Series([])
    medians = {c: float(pd.to_numeric(lifestyle[c], errors="coerce").median())
               for c in LEVER_COLUMNS if c in lifestyle.columns}
    residuals = (y_kw[None, :] - cf.oof["kw"]).ravel()
    return TargetingModel(
        models=dict(cf.models), features=features, config=config.to_dict(),
        lifestyle_source=str(source.iloc[0]) if len(source) else "halfhourly",
        residuals_kw=residuals[np.isfinite(residuals)], cohort_medians=medians, qini=qini.copy(),
        numbers={k: v for k, v in summary.items() if not isinstance(v, (list, dict))},
        training_ids=[str(i) for i in treated], book_ids=[str(i) for i in book],
        flexpersona_version=__version__, sklearn_version=sklearn.__version__,
    )


def _not_fitted(note: str) -> TargetingResult:
    """An empty result (Qini curve with interval columns, no targets) saying why no model was fitted."""
    log.warning(note)
    empty_qini = qini_curve(np.array([]), np.array([])).assign(**{c: np.nan for c in QINI_INTERVAL_COLUMNS})
    return TargetingResult(empty_qini, pd.DataFrame(columns=TARGET_COLUMNS), {"fitted": False, "note": note})


def _method_summary(tk: ToolkitConfig, features: list[str], numbers: dict[str, Any]) -> dict[str, Any]:
    """The model, target, validation and bootstrap in words, with the cross-fitted Qini's numbers."""
    numbers = dict(numbers)
    n = numbers.pop("n")
    summary: dict[str, Any] = {
        "fitted": True,
        "model": (f"random forest per fold ({tk.n_estimators} trees, min_samples_leaf={FOREST['min_samples_leaf']}, "
                  f"max_features={FOREST['max_features']}, max_samples={FOREST['max_samples']}, median imputation)"),
        "target": "high_response_kw (mean kW change during High half-hours; negative = reduction)",
        "features": features,
        "validation": (f"repeated cross-fitting: {tk.cv_repeats} random partitions into {tk.cv_folds} folds; each "
                       "treatment household is predicted only by models fitted without it, and ranked by its "
                       "out-of-fold prediction averaged over the partitions"),
        "cv_repeats": int(tk.cv_repeats),
        "cv_folds": int(tk.cv_folds),
        "n_treatment": int(n),
        "n_train_per_model": int(round(n * (tk.cv_folds - 1) / tk.cv_folds)),
        "bootstrap": (f"{tk.bootstrap_replicates} resamples of the treatment households with replacement, each "
                      "with its out-of-fold prediction and estimated response (models not refitted); the 95% "
                      f"percentile distances from the point widened by {CROSS_FIT_WIDENING:.2f} for the cross-fitting's "
                      "reuse of every pair of households"),
        **numbers,
    }
    summary["beats_random"] = bool(np.isfinite(summary["qini_coefficient_ci_low"]) and summary["qini_coefficient_ci_low"] > 0)
    return summary


def _do_no_harm_check(bill_change_pct: np.ndarray, oof_bill_change_pct: np.ndarray) -> dict[str, Any]:
    """How often the out-of-fold bill model gets a treatment household's sign of bill change [%] right."""
    ok = np.isfinite(bill_change_pct)
    return {
        "do_no_harm_basis": ("predicted dynamic-minus-flat bill change > 0 (cross-fitted forests on "
                             "pre-trial features, averaged over the fold models)"),
        "do_no_harm_oof_agreement": float(np.mean((oof_bill_change_pct[ok] > 0) == (bill_change_pct[ok] > 0))),
        "do_no_harm_share_treatment": float(np.mean(bill_change_pct[ok] > 0)),
    }


def _ranked_book(book: pd.Index, cf: CrossFit, has_bill: bool) -> pd.DataFrame:
    """The book's predictions averaged over every fold model, ranked by predicted kW (:data:`TARGET_COLUMNS`)."""
    targets = pd.DataFrame(
        {
            "household_id": book.astype(str),
            "predicted_response_pct": cf.book["pct"].mean(axis=0),
            "predicted_kw": cf.book["kw"].mean(axis=0),
            "predicted_bill_change_pct": cf.book["bill"].mean(axis=0) if has_bill else np.nan,
        }
    )
    targets = targets.sort_values(["predicted_kw", "household_id"], kind="mergesort").reset_index(drop=True)
    targets["rank"] = np.arange(1, len(targets) + 1)
    targets["do_no_harm"] = targets["predicted_bill_change_pct"].to_numpy() > 0
    return targets


def _placebo_check(placebo: pd.DataFrame | None, X_all: pd.DataFrame, config: Config) -> dict[str, Any]:
    """The cross-fitted Qini of the control households' placebo responses (must cover 0)."""
    tk = config.toolkit
    if placebo is None or placebo.empty or not {"household_id", "high_response_kw"} <= set(placebo.columns):
        return {"placebo_fitted": False, "placebo_note": "no placebo table with high_response_kw: placebo check skipped"}
    p = placebo.assign(household_id=placebo["household_id"].astype(str)).drop_duplicates("household_id").set_index("household_id")
    ids = _finite_index(p, ["high_response_kw"]).intersection(X_all.index)
    if len(ids) < max(tk.min_training_households, tk.cv_folds):
        return {"placebo_fitted": False,
                "placebo_note": f"placebo check skipped: {len(ids)} control households with a placebo response and pre-trial features"}
    _, numbers, _ = cross_fitted_qini(X_all.loc[ids].to_numpy(dtype=float), p.loc[ids, "high_response_kw"].astype(float).to_numpy(), config)
    lo, hi = numbers["qini_coefficient_ci_low"], numbers["qini_coefficient_ci_high"]
    excludes = bool(lo > 0 or hi < 0)
    if lo > 0:
        note = ("WARNING: the identical model finds a 'response' in control households, which had no dynamic tariff: "
                "the predictors carry trial-year information (leakage) or the response estimator's error follows "
                "pre-trial load shape; part of the treatment Qini may not be response")
    elif hi < 0:
        note = ("WARNING: on control households the model ranks worse than random; the cross-fitting is unstable at "
                "this size, read the treatment Qini with caution")
    else:
        note = "no gain on control households' placebo responses (interval covers 0), as it must be"
    return {
        "placebo_fitted": True,
        "placebo_n": numbers["n"],
        "placebo_qini_coefficient": numbers["qini_coefficient"],
        "placebo_qini_coefficient_ci_low": lo,
        "placebo_qini_coefficient_ci_high": hi,
        "placebo_area_vs_random_kw": numbers["area_vs_random_kw"],
        "placebo_area_vs_random_kw_ci_low": numbers["area_vs_random_kw_ci_low"],
        "placebo_area_vs_random_kw_ci_high": numbers["area_vs_random_kw_ci_high"],
        "placebo_excludes_zero": excludes,
        "placebo_note": note,
    }


def _finite_index(df: pd.DataFrame, cols: list[str]) -> pd.Index:
    v = df[cols].apply(pd.to_numeric, errors="coerce").astype(float)
    return df.index[np.isfinite(v.to_numpy()).all(axis=1)]


def _book(X_all: pd.DataFrame, lifestyle: pd.DataFrame, households: pd.DataFrame | None) -> pd.Index:
    """The control households with pre-trial features (the stand-in customer book)."""
    if "group" in lifestyle.columns:
        src = lifestyle
    elif households is not None and "group" in households.columns:
        src = households
    else:
        return pd.Index([], dtype=object)
    grp = src.assign(household_id=src["household_id"].astype(str)).set_index("household_id")["group"]
    return X_all.index[X_all.index.isin(grp[grp.astype(str) == "control"].index)]


def _bill_change_pct(f: pd.DataFrame) -> pd.Series | None:
    """Dynamic minus flat bill as % of the flat bill per household, or None without bill columns."""
    if not {"bill_dynamic_gbp", "bill_flat_gbp"} <= set(f.columns):
        return None
    flat = f["bill_flat_gbp"].astype(float)
    out = 100 * (f["bill_dynamic_gbp"].astype(float) - flat) / flat.where(flat > 0)
    return out.replace([np.inf, -np.inf], np.nan)

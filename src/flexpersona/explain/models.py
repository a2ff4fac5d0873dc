"""Honest prediction of persona from pre-trial variables: nested CV, baselines, calibration, importance.

Design
------
* Outer loop: stratified ``outer_folds`` folds (shuffled, seeded). Every household is predicted once, by a
  model that never saw it. Preprocessing (median imputation of numeric columns, z-scores for the logistic
  models, one-hot Acorn with missing Acorn as its own level) is fitted on the outer-training part only.
* Candidate models on all pre-trial predictors: regularised multinomial logistic regression (``logit``) and
  a random forest (``forest``, 100 trees), both with balanced class weights.
* Baselines: ``majority`` (always the largest persona, class-prior probabilities), ``acorn_only``,
  ``lifestyle_only`` (baseline-load features) and ``survey_only`` (when a survey exists), each a tuned
  logistic regression on that set.
* Inner tuning: the logistic models choose C in {0.01, 0.1, 1} by the balanced accuracy of pooled
  out-of-fold predictions over ``inner_folds`` stratified folds of the outer-training part; the forest
  chooses its leaf size in {1, 5} by its out-of-bag balanced accuracy (OOB predictions are the forest's own
  inner validation, no refits).
* Calibrated probabilities: a multinomial logistic calibrator fitted on those out-of-fold (logit) or
  out-of-bag (forest) log-probabilities, applied to the held-out fold; Brier score and log-loss reported.
  Labels come from the uncalibrated tuned model (balanced class weights).
* Intervals: percentile bootstrap (``bootstrap_replicates``, seeded, same resamples for every model) of
  balanced accuracy and macro-F1 over the outer-fold predictions.
* Rule for "model A beats baseline B": A's bootstrap lower bound of balanced accuracy exceeds B's point
  estimate (columns ``beats_<baseline>``).
* Best model: the candidate with the highest balanced accuracy; its permutation importance (balanced
  accuracy drop, ``permutation_repeats`` per outer fold, on the held-out fold) is reported with its sd.
* Personas with fewer than ``outer_folds + inner_folds`` households cannot be cross-validated and are left
  out of prediction (listed in the summary).
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import RandomForestClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from ..threads import one_thread

logger = logging.getLogger(__name__)

BASELINES = ("majority", "acorn_only", "lifestyle_only", "survey_only")
CANDIDATES = ("logit", "forest")
FOREST_TREES = 100

COMPARISON_COLUMNS = [
    "model",
    "role",
    "predictors",
    "n_predictors",
    "n",
    "balanced_accuracy",
    "ci_low",
    "ci_high",
    "macro_f1",
    "f1_ci_low",
    "f1_ci_high",
    "brier",
    "log_loss",
    "is_best",
] + [f"beats_{b}" for b in BASELINES]


@dataclass
class PredictionResult:
    """Outcome of :func:`compare_models`.

    Attributes
    ----------
    comparison
        One row per model (:data:`COMPARISON_COLUMNS`).
    importance
        ``variable``, ``importance_mean``, ``importance_sd``, ``rank`` of the best model.
    predictions
        ``household_id``, ``persona``, ``fold`` and the outer-fold prediction of every model.
    best
        Name of the best candidate model (None when nothing could be fitted).
    excluded_personas
        Personas too small to cross-validate.
    """

    comparison: pd.DataFrame
    importance: pd.DataFrame
    predictions: pd.DataFrame
    best: str | None
    excluded_personas: list[str] = field(default_factory=list)


def _preprocessor(numeric: list[str], categorical: list[str], scale: bool) -> ColumnTransformer:
    num_steps: list = [("impute", SimpleImputer(strategy="median", keep_empty_features=True))]
    if scale:
        num_steps.append(("scale", StandardScaler()))
    parts = []
    if numeric:
        parts.append(("num", Pipeline(num_steps), numeric))
    if categorical:
        parts.append(("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), categorical))
    return ColumnTransformer(parts, remainder="drop")


FOREST_LEAVES = (1, 5)
LOGIT_C = (0.01, 0.1, 1.0)


def _scores(true: np.ndarray, pred: np.ndarray, k: int) -> tuple[float, float]:
    """Balanced accuracy and macro-F1 (labels present in truth or prediction) from integer codes."""
    cm = np.bincount(true * k + pred, minlength=k * k).reshape(k, k).astype(float)
    support = cm.sum(axis=1)
    predicted = cm.sum(axis=0)
    tp = np.diag(cm)
    present = support > 0
    bal = float(np.mean(tp[present] / support[present]))
    used = present | (predicted > 0)
    denom = support + predicted
    f1 = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)
    return bal, float(np.mean(f1[used]))


def _bootstrap(true: np.ndarray, pred: np.ndarray, k: int, idx: np.ndarray) -> tuple[float, float, float, float]:
    vals = np.array([_scores(true[i], pred[i], k) for i in idx])
    lo, hi = np.percentile(vals, [2.5, 97.5], axis=0)
    return float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])


def _fit_quietly(est, X, y):
    with warnings.catch_warnings(record=True) as caught:
        # lbfgs may stop short of its tolerance on a fold; the fit is still usable and the fact is logged.
        warnings.simplefilter("always", ConvergenceWarning)
        est.fit(X, y)
    for w in caught:
        if issubclass(w.category, ConvergenceWarning):
            logger.debug("convergence: %s", w.message)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return est


def compare_models(
    frame: pd.DataFrame,
    sets: dict[str, list[str]],
    categorical: list[str],
    *,
    outer_folds: int = 5,
    inner_folds: int = 3,
    bootstrap_replicates: int = 500,
    permutation_repeats: int = 10,
    seed: int = 42,
) -> PredictionResult:
    """Nested cross-validation of persona from pre-trial predictor sets against baselines.

    Parameters
    ----------
    frame
        One row per household: ``household_id``, ``persona`` and the predictor columns.
    sets
        Predictor sets: ``lifestyle``, ``acorn``, ``survey`` and ``all`` (lists of column names).
    categorical
        Which predictors are categorical (one-hot encoded).
    outer_folds, inner_folds, bootstrap_replicates, permutation_repeats, seed
        See :class:`flexpersona.config.ExplainConfig`.

    Returns
    -------
    PredictionResult
    """
    # Small problems: one BLAS/OpenMP thread is ~10x faster than oversubscribed threads on a shared machine.
    with one_thread():
        return _compare(frame, sets, categorical, outer_folds, inner_folds, bootstrap_replicates, permutation_repeats, seed)


def _compare(frame, sets, categorical, outer_folds, inner_folds, bootstrap_replicates, permutation_repeats, seed):
    """Nested cross-validation of every model spec; see :func:`compare_models`."""
    min_size = outer_folds + inner_folds
    counts = frame["persona"].value_counts()
    small = sorted(counts.index[counts < min_size].astype(str))
    data = frame.loc[~frame["persona"].isin(small)].reset_index(drop=True)
    classes = sorted(data["persona"].astype(str).unique())
    empty_imp = pd.DataFrame(columns=["variable", "importance_mean", "importance_sd", "rank"])
    if len(classes) < 2:
        logger.warning("fewer than two personas large enough to cross-validate; no prediction")
        return PredictionResult(pd.DataFrame(columns=COMPARISON_COLUMNS), empty_imp, pd.DataFrame(), None, small)
    y = data["persona"].astype(str).map({c: i for i, c in enumerate(classes)}).to_numpy()
    k = len(classes)
    specs = _model_specs(sets)
    X_all = data.drop(columns=["persona"])
    folds, preds, probs, fitted = _outer_predictions(X_all, y, k, specs, categorical, outer_folds, inner_folds, seed)
    comp, best_name = _comparison_table(specs, y, k, preds, probs, bootstrap_replicates, seed)
    importance = empty_imp
    if best_name is not None:
        importance = _permutation(fitted[best_name], X_all, y, specs[best_name][1], k, permutation_repeats, seed)
    pred_frame = pd.DataFrame({"household_id": data["household_id"], "persona": data["persona"], "fold": folds})
    for name in specs:
        pred_frame[f"pred_{name}"] = [classes[i] for i in preds[name]]
    return PredictionResult(comp, importance, pred_frame, best_name, small)


def _model_specs(sets: dict[str, list[str]]) -> dict[str, tuple[str, list[str]]]:
    """Model name -> (kind, predictors): the baselines whose predictor set exists, then the candidates."""
    specs: dict[str, tuple[str, list[str]]] = {"majority": ("majority", [])}
    if sets.get("acorn"):
        specs["acorn_only"] = ("logit", sets["acorn"])
    if sets.get("lifestyle"):
        specs["lifestyle_only"] = ("logit", sets["lifestyle"])
    if sets.get("survey"):
        specs["survey_only"] = ("logit", sets["survey"])
    if sets.get("all"):
        for cand in CANDIDATES:
            specs[cand] = (cand, sets["all"])
    return specs


def _outer_predictions(X_all, y, k, specs, categorical, outer_folds, inner_folds, seed):
    """Outer fold per household, never-seen labels and probabilities per model, its pipelines per outer fold."""
    outer = StratifiedKFold(n_splits=outer_folds, shuffle=True, random_state=seed)
    folds = np.empty(len(y), dtype=int)
    preds = {name: np.empty(len(y), dtype=int) for name in specs}
    probs = {name: np.zeros((len(y), k)) for name in specs}
    fitted: dict[str, list] = {name: [] for name in specs}
    for f, (tr, te) in enumerate(outer.split(np.zeros(len(y)), y)):
        folds[te] = f
        for name, (kind, cols) in specs.items():
            X = X_all[cols] if cols else pd.DataFrame({"const": np.zeros(len(X_all))})
            Xtr, Xte = X.iloc[tr], X.iloc[te]
            if kind == "majority":
                best = Pipeline([("model", DummyClassifier(strategy="prior"))]).fit(Xtr, y[tr])
                probs[name][te] = best.predict_proba(Xte)
            else:
                num = [c for c in cols if c not in categorical]
                cat = [c for c in cols if c in categorical]
                prep = _preprocessor(num, cat, scale=kind == "logit").fit(Xtr)
                Ztr, Zte = prep.transform(Xtr), prep.transform(Xte)
                fit = _fit_forest if kind == "forest" else _fit_logit
                model, probs[name][te] = fit(Ztr, y[tr], Zte, k, inner_folds, seed)
                best = Pipeline([("prep", prep), ("model", model)])
            preds[name][te] = best.predict(Xte)
            fitted[name].append((best, te))
    return folds, preds, probs, fitted


def _comparison_table(specs, y, k, preds, probs, bootstrap_replicates, seed) -> tuple[pd.DataFrame, str | None]:
    """Scores per model with bootstrap intervals and baselines beaten (:data:`COMPARISON_COLUMNS`); the best."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(y), size=(bootstrap_replicates, len(y)))
    onehot = np.eye(k)[y]
    rows = []
    for name, (_, cols) in specs.items():
        bal, f1 = _scores(y, preds[name], k)
        lo, hi, flo, fhi = _bootstrap(y, preds[name], k, idx)
        p = np.clip(probs[name], 1e-15, 1)
        p = p / p.sum(axis=1, keepdims=True)
        rows.append(
            {
                "model": name,
                "role": "baseline" if name in BASELINES else "candidate",
                "predictors": ", ".join(cols) if cols else "(none)",
                "n_predictors": len(cols),
                "n": len(y),
                "balanced_accuracy": bal,
                "ci_low": lo,
                "ci_high": hi,
                "macro_f1": f1,
                "f1_ci_low": flo,
                "f1_ci_high": fhi,
                "brier": float(np.mean(np.sum((probs[name] - onehot) ** 2, axis=1))),
                "log_loss": float(-np.mean(np.log(p[np.arange(len(y)), y]))),
            }
        )
    comp = pd.DataFrame(rows)
    cands = comp[comp["role"] == "candidate"]
    best_name = str(cands.sort_values("balanced_accuracy", ascending=False).iloc[0]["model"]) if len(cands) else None
    comp["is_best"] = comp["model"] == best_name
    point = dict(zip(comp["model"], comp["balanced_accuracy"], strict=True))
    for b in BASELINES:
        comp[f"beats_{b}"] = (
            comp["ci_low"] > point[b] if b in point else pd.Series(pd.NA, index=comp.index, dtype="boolean")
        )
        comp[f"beats_{b}"] = comp[f"beats_{b}"].astype("boolean").mask(comp["model"] == b, pd.NA)
    return comp[COMPARISON_COLUMNS], best_name


def _calibrate(oof: np.ndarray, ytr: np.ndarray, test: np.ndarray, k: int) -> np.ndarray:
    """Multinomial logistic calibrator on log out-of-fold probabilities, applied to the held-out fold."""
    ok = np.isfinite(oof).all(axis=1) & (oof.sum(axis=1) > 0)
    calibrator = LogisticRegression(C=1.0, max_iter=2000)
    calibrator.fit(np.log(np.clip(oof[ok], 1e-3, 1)), ytr[ok])
    cal = np.zeros((len(test), k))
    cal[:, calibrator.classes_] = calibrator.predict_proba(np.log(np.clip(test, 1e-3, 1)))
    return cal


def _fit_logit(Ztr: np.ndarray, ytr: np.ndarray, Zte: np.ndarray, k: int, inner_folds: int, seed: int):
    """Tune C over inner stratified folds (balanced accuracy of the pooled out-of-fold predictions), refit,
    and calibrate on the out-of-fold probabilities of the chosen C (no extra fits).

    Preprocessing (median imputation, scaling, one-hot) was fitted on the whole outer-training part; this
    touches only the choice of C, never the outer estimate.
    """
    inner = StratifiedKFold(n_splits=inner_folds, shuffle=True, random_state=seed)
    oof = {c: np.zeros((len(ytr), k)) for c in LOGIT_C}
    for itr, iva in inner.split(Ztr, ytr):
        for c in LOGIT_C:
            m = _fit_quietly(LogisticRegression(C=c, class_weight="balanced", max_iter=2000), Ztr[itr], ytr[itr])
            oof[c][np.ix_(iva, m.classes_)] = m.predict_proba(Ztr[iva])
    score = {c: _scores(ytr, np.argmax(oof[c], axis=1), k)[0] for c in LOGIT_C}
    best_c = max(LOGIT_C, key=lambda c: (score[c], -c))
    model = _fit_quietly(LogisticRegression(C=best_c, class_weight="balanced", max_iter=2000), Ztr, ytr)
    return model, _calibrate(oof[best_c], ytr, model.predict_proba(Zte), k)


def _fit_forest(Ztr: np.ndarray, ytr: np.ndarray, Zte: np.ndarray, k: int, inner_folds: int, seed: int):
    """Tune the forest by its out-of-bag balanced accuracy and calibrate on its out-of-bag probabilities.

    The out-of-bag predictions of the outer-training part play the role of the inner folds (no refits):
    the leaf size with the higher OOB balanced accuracy is kept, and the calibrator is fitted on its log
    OOB probabilities. ``inner_folds`` is unused (kept for a common signature).
    """
    best, best_score = None, -np.inf
    for leaf in FOREST_LEAVES:
        cand = RandomForestClassifier(
            n_estimators=FOREST_TREES,
            min_samples_leaf=leaf,
            class_weight="balanced",
            oob_score=True,
            random_state=seed,
            n_jobs=1,
        )
        with warnings.catch_warnings():
            # Rows that are in-bag for every tree have no OOB prediction; they are skipped below.
            warnings.filterwarnings("ignore", message="Some inputs do not have OOB scores", category=UserWarning)
            cand.fit(Ztr, ytr)
        oob = cand.oob_decision_function_
        ok = np.isfinite(oob).all(axis=1) & (oob.sum(axis=1) > 0)
        score = _scores(ytr[ok], np.argmax(oob[ok], axis=1), k)[0]
        if score > best_score:
            best, best_score = cand, score
    return best, _calibrate(best.oob_decision_function_, ytr, best.predict_proba(Zte), k)


def _permutation(
    fits: list, X: pd.DataFrame, y: np.ndarray, cols: list[str], k: int, repeats: int, seed: int
) -> pd.DataFrame:
    """Permutation importance on the held-out folds: drop in balanced accuracy when a column is shuffled.

    All permuted copies of a fold are stacked (block ``(j, r)`` has column ``j`` shuffled, repeat ``r``) and
    predicted in one call (fast for forests).
    """
    rng = np.random.default_rng(seed)
    per_var: dict[str, list[float]] = {c: [] for c in cols}
    for est, te in fits:
        Xte = X.iloc[te][cols].reset_index(drop=True)
        yte = y[te]
        base = _scores(yte, est.predict(Xte), k)[0]
        n, blocks = len(Xte), len(cols) * repeats
        stacked = {}
        for j, c in enumerate(cols):
            base_col = Xte[c].to_numpy()
            arr = np.tile(base_col, blocks)
            for r in range(repeats):
                start = (j * repeats + r) * n
                arr[start : start + n] = base_col[rng.permutation(n)]
            stacked[c] = arr
        pred = est.predict(pd.DataFrame(stacked)).reshape(len(cols), repeats, n)
        for j, c in enumerate(cols):
            per_var[c] += [base - _scores(yte, pred[j, r], k)[0] for r in range(repeats)]
    rows = [
        {"variable": c, "importance_mean": float(np.mean(v)), "importance_sd": float(np.std(v, ddof=1))}
        for c, v in per_var.items()
    ]
    imp = pd.DataFrame(rows).sort_values("importance_mean", ascending=False, kind="stable").reset_index(drop=True)
    imp["rank"] = np.arange(1, len(imp) + 1)
    return imp

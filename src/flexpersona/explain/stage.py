"""Stage 2: explain personas with pre-trial variables (METHODS A and B.5).

Entry point: :func:`explain_personas`. Tables it returns (``ExplainResult.tables``):

``tests``, ``posthoc``          the test battery with q-values and effect sizes (:mod:`.tests_battery`)
``model_comparison``            nested-CV comparison of models and baselines (:mod:`.models`)
``importance``                  permutation importance of the best model
``logit``                       multinomial logit odds ratios (:mod:`.logit`)
``barriers``, ``motivations``   top-3 per persona; ``barrier_heatmap``; ``appliance_shifting``
``strategic_map``               persona traits and quadrant (:mod:`.seed`)
``rf_seed``                     the seed's random forest (accuracy, OOB, impurity importances)
``survey_coverage``             who answered the survey, by persona
``survey_unknown``              answers outside the codebook, per item (for the ledger)
``predictors``                  every predictor used, with its set
``predictions``                 outer-fold (never-seen) prediction of every model for every household

``ExplainResult.summary`` holds plain-language statements whose numbers all come from these tables.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from scipy import stats

from ..config import Config
from ..threads import one_thread
from . import survey as sv
from .logit import multinomial_logit
from .models import BASELINES, PredictionResult, compare_models
from .seed import (
    APPLIANCE_COLUMNS,
    RANKED_COLUMNS,
    appliance_shifting,
    barrier_heatmap,
    seed_forest,
    strategic_map,
    top_items,
)
from .tests_battery import run_battery
from .variables import PredictorTable, assemble_predictors, is_outcome

logger = logging.getLogger(__name__)

__all__ = [
    "BEAT_RULE",
    "TEST_RULE",
    "ExplainResult",
    "explain_personas",
]

BEAT_RULE = (
    "a model beats a baseline when the lower bound of its 95% bootstrap interval of balanced accuracy "
    "exceeds the baseline's point estimate"
)
TEST_RULE = (
    "ANOVA + Tukey HSD when Shapiro-Wilk on residuals and Levene both give p >= 0.01, else Kruskal-Wallis + "
    "Dunn (Holm); chi-squared + Cramér's V for categorical variables; Benjamini-Hochberg across all tests"
)


@dataclass
class ExplainResult:
    """Result of :func:`explain_personas`.

    Attributes
    ----------
    tables
        Name -> table (see the module docstring).
    summary
        Plain-language statements and the numbers behind them (JSON-able).
    """

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)

    def artifacts(self) -> dict[str, Any]:
        """What the stage writes into a run folder: ``explain/<table>.csv`` then ``explain/summary.json``."""
        return {"explain": self.tables, "explain_summary": self.summary}

    def as_mapping(self) -> dict[str, Any]:
        """Tables by name plus ``summary`` (what the toolkit reads)."""
        return {**self.tables, "summary": self.summary}


def _coverage(frame: pd.DataFrame, answered_ids: set[str] | None) -> tuple[pd.DataFrame, float | None]:
    answered = frame["household_id"].isin(answered_ids or set())
    g = pd.DataFrame({"persona": frame["persona"], "answered": answered})
    tab = g.groupby("persona", sort=True)["answered"].agg(["size", "sum"]).reset_index()
    tab.columns = ["persona", "n", "answered"]
    tab["not_answered"] = tab["n"] - tab["answered"]
    tab["answered_pct"] = 100.0 * tab["answered"] / tab["n"]
    total = pd.DataFrame(
        {
            "persona": ["(all)"],
            "n": [int(tab["n"].sum())],
            "answered": [int(tab["answered"].sum())],
            "not_answered": [int(tab["not_answered"].sum())],
        }
    )
    total["answered_pct"] = 100.0 * total["answered"] / total["n"]
    p = None
    cont = tab[["answered", "not_answered"]].to_numpy()
    if answered_ids is not None and len(tab) > 1 and (cont.sum(axis=0) > 0).all():
        p = float(stats.chi2_contingency(cont).pvalue)
    return pd.concat([tab, total], ignore_index=True), p


def _fmt(x: float) -> str:
    return f"{x:.3f}"


def explain_personas(
    personas: Any,
    lifestyle: Any = None,
    households: pd.DataFrame | None = None,
    survey: pd.DataFrame | None = None,
    config: Config | None = None,
) -> ExplainResult:
    """Explain personas with pre-trial variables: seed analysis, honest tests and honest prediction.

    Parameters
    ----------
    personas
        A :class:`~flexpersona.personas.PersonaResult` or its ``personas`` table: ``household_id``,
        ``persona_id`` (None = unassigned: excluded and counted), ``persona_name``, ``membership``,
        ``low_confidence``.
    lifestyle
        A :class:`~flexpersona.features.FeatureResult` (its ``lifestyle`` table) or a table of ``household_id``
        and the pre-trial lifestyle features (all-NaN columns dropped and listed).
    households
        ``household_id``, ``group``, ``acorn``, ``acorn_grouped``.
    survey
        Raw survey answer texts (``household_id`` + ``Q..`` columns) or None.
    config
        Run configuration; ``config.explain`` is used.

    Returns
    -------
    ExplainResult
    """
    personas = getattr(personas, "personas", personas)
    lifestyle = getattr(lifestyle, "lifestyle", lifestyle)
    # Small problems: one BLAS/OpenMP thread is ~10x faster than oversubscribed threads on a shared machine.
    with one_thread():
        return _explain(personas, lifestyle, households, survey, (config or Config()).explain)


def _explain(personas, lifestyle, households, survey, cfg) -> ExplainResult:
    enc = sv.encode_survey(survey) if survey is not None else None
    pt: PredictorTable = assemble_predictors(personas, lifestyle, households, enc.items if enc else None)
    frame = pt.frame
    for name in pt.predictors:  # belt and braces: the allow-list already guarantees this
        assert not is_outcome(name), name
    var_set = {c: s for s in ("lifestyle", "acorn", "survey") for c in pt.sets[s]}
    tables: dict[str, pd.DataFrame] = {}
    tables["predictors"] = pd.DataFrame(
        {
            "variable": pt.predictors,
            "variable_set": [var_set[c] for c in pt.predictors],
            "kind": ["categorical" if c in pt.categorical else "numeric" for c in pt.predictors],
            "label": [sv.LABELS.get(c, c) for c in pt.predictors],
        }
    )
    # -- tests battery -----------------------------------------------------------------------------
    categorical = set(pt.categorical) | {c for c in sv.BINARY_ITEMS if c in frame.columns}
    tests, posthoc = run_battery(frame, var_set, categorical, alpha=cfg.fdr_alpha, seed=cfg.seed)
    tables["tests"], tables["posthoc"] = tests, posthoc
    # -- prediction ----------------------------------------------------------------------------------
    pred = compare_models(
        frame,
        pt.sets,
        pt.categorical,
        outer_folds=cfg.outer_folds,
        inner_folds=cfg.inner_folds,
        bootstrap_replicates=cfg.bootstrap_replicates,
        permutation_repeats=cfg.permutation_repeats,
        seed=cfg.seed,
    )
    tables["model_comparison"] = pred.comparison
    tables["predictions"] = pred.predictions
    imp = pred.importance.copy()
    imp.insert(1, "variable_set", [var_set.get(v, "") for v in imp["variable"]])
    imp.insert(0, "model", pred.best or "")
    tables["importance"] = imp
    # -- multinomial logit ---------------------------------------------------------------------------
    logit_numeric = pt.sets["lifestyle"] + [t for t in sv.TRAITS if t in pt.sets["survey"]]
    logit_cat = "acorn_grouped" if "acorn_grouped" in pt.categorical else None
    tables["logit"], logit_note = multinomial_logit(frame, logit_numeric, logit_cat)
    # -- seed analysis ---------------------------------------------------------------------------------
    tables["strategic_map"] = strategic_map(frame)
    tables["barriers"] = top_items(frame, sv.BARRIER_ITEMS) if enc else pd.DataFrame(columns=RANKED_COLUMNS)
    tables["motivations"] = top_items(frame, sv.ATTITUDE_ITEMS) if enc else pd.DataFrame(columns=RANKED_COLUMNS)
    tables["barrier_heatmap"] = barrier_heatmap(frame)
    tables["appliance_shifting"] = appliance_shifting(frame) if enc else pd.DataFrame(columns=APPLIANCE_COLUMNS)
    seed_cat = ["acorn_grouped"] if "acorn_grouped" in pt.categorical else []
    tables["rf_seed"] = seed_forest(frame, pt.numeric, seed_cat, seed=42)
    # -- survey coverage -------------------------------------------------------------------------------
    answered_ids = None
    if enc is not None:
        items = enc.items
        has_any = items[list(sv.ITEM_NAMES)].notna().any(axis=1)
        answered_ids = set(items.loc[has_any, "household_id"].astype(str))
    tables["survey_coverage"], coverage_p = _coverage(frame, answered_ids)
    tables["survey_unknown"] = enc.unknown if enc else sv.empty_unknown()
    summary = _summary(pt, enc, tables, pred, coverage_p, logit_note, cfg.fdr_alpha)
    return ExplainResult(tables=tables, summary=summary)


def _summary(pt, enc, tables, pred, coverage_p, logit_note, alpha) -> dict[str, Any]:
    """``ExplainResult.summary``: the rules, then one statement per section, its numbers taken from ``tables``."""
    s: dict[str, Any] = {"test_rule": TEST_RULE, "beat_rule": BEAT_RULE}
    s.update(_households_summary(pt))
    s.update(_survey_summary(enc, tables["survey_coverage"], tables["survey_unknown"], coverage_p))
    s.update(_tests_summary(tables["tests"], alpha))
    s.update(_prediction_summary(pred, tables["model_comparison"], tables["importance"]))
    s["logit_statement"] = logit_note
    s.update(_seed_summary(tables["rf_seed"], tables["strategic_map"]))
    return s


def _households_summary(pt: PredictorTable) -> dict[str, Any]:
    """Households analysed, excluded and flagged per persona, and the predictors used or dropped."""
    frame = pt.frame
    counts = frame["persona"].value_counts().sort_index()
    s: dict[str, Any] = {
        "n_households": int(len(frame)),
        "n_unassigned_excluded": pt.n_unassigned,
        "n_without_lifestyle": pt.n_without_lifestyle,
        "persona_counts": {str(k): int(v) for k, v in counts.items()},
        "predictors": pt.predictors,
        "dropped_all_nan_columns": pt.dropped_all_nan,
        "refused_outcome_columns": pt.refused,
        "n_low_confidence": pt.n_low_confidence,
        "households_statement": (
            f"{len(frame)} households with a persona were analysed ({pt.n_low_confidence} flagged low-confidence, "
            f"kept); {pt.n_unassigned} without a persona were excluded."
        ),
    }
    if pt.dropped_all_nan:
        s["dropped_statement"] = (
            f"{len(pt.dropped_all_nan)} lifestyle features had no value for any household and were dropped: "
            + ", ".join(pt.dropped_all_nan)
            + "."
        )
    return s


def _survey_summary(
    enc: sv.SurveyEncoding | None, coverage: pd.DataFrame, unknown: pd.DataFrame, coverage_p: float | None
) -> dict[str, Any]:
    """Survey response rate (overall and by persona, with the chi-squared p), unknown answers, duplicates."""
    if enc is None:
        return {
            "survey_given": False,
            "survey_statement": (
                "No survey was given: the explanation uses lifestyle features and Acorn only; no traits, barriers, "
                "motivations or strategic map."
            ),
        }
    allrow = coverage[coverage["persona"] == "(all)"].iloc[0]
    n_unknown = int(unknown["n_unknown"].sum()) if len(unknown) else 0
    per = coverage[coverage["persona"] != "(all)"]
    bits = ", ".join(f"{r.persona} {r.answered_pct:.1f}%" for r in per.itertuples())
    return {
        "survey_given": True,
        "survey_answered": int(allrow["answered"]),
        "survey_unknown_answers": n_unknown,
        "survey_duplicates": enc.n_duplicates,
        "survey_statement": (
            f"A survey was given: {int(allrow['answered'])} of {int(allrow['n'])} analysed households answered "
            f"({allrow['answered_pct']:.1f}%); {n_unknown} answers outside the codebook became missing; "
            f"{enc.n_duplicates} duplicated survey rows were dropped."
        ),
        "coverage_statement": (
            f"Survey response by persona: {bits}"
            + (f" (chi-squared p = {coverage_p:.3g})." if coverage_p is not None else ".")
        ),
        "coverage_p": coverage_p,
    }


def _tests_summary(tests: pd.DataFrame, alpha: float) -> dict[str, Any]:
    """How many variables differ between personas at the battery's false-discovery rate, and which."""
    sig = tests.loc[tests["significant"], "variable"].tolist() if len(tests) else []
    return {
        "n_tested": int(len(tests)),
        "significant_variables": sig,
        "tests_statement": (
            f"{len(sig)} of {len(tests)} variables differ between personas at {alpha:.0%} FDR"
            + (": " + ", ".join(sig) if sig else "")
            + "."
        ),
    }


def _prediction_summary(pred: PredictionResult, comp: pd.DataFrame, importance: pd.DataFrame) -> dict[str, Any]:
    """The best model's balanced accuracy with its interval, which baselines it beats, its top predictors."""
    s: dict[str, Any] = {"best_model": pred.best, "excluded_from_prediction": pred.excluded_personas}
    if pred.best is None:
        s["prediction_statement"] = "Persona could not be predicted: too few households per persona."
        s["beats_all_baselines"] = False
    else:
        best = comp[comp["model"] == pred.best].iloc[0]
        s["best_balanced_accuracy"] = float(best["balanced_accuracy"])
        s["best_ci"] = [float(best["ci_low"]), float(best["ci_high"])]
        s["best_macro_f1"] = float(best["macro_f1"])
        beats, parts = _baseline_verdicts(best, comp)
        s["beats_baselines"] = beats
        s["beats_all_baselines"] = bool(beats) and all(beats.values())
        s["prediction_statement"] = (
            f"Best model {pred.best}: balanced accuracy {_fmt(best['balanced_accuracy'])} "
            f"(95% CI {_fmt(best['ci_low'])}-{_fmt(best['ci_high'])}), macro-F1 {_fmt(best['macro_f1'])}; "
            + "; ".join(parts)
            + "."
        )
        if len(importance):
            s["top_importance"] = importance["variable"].head(5).tolist()
    if pred.excluded_personas:
        s["excluded_statement"] = (
            "Personas too small to cross-validate, left out of prediction: " + ", ".join(pred.excluded_personas)
        )
    return s


def _baseline_verdicts(best: pd.Series, comp: pd.DataFrame) -> tuple[dict[str, bool], list[str]]:
    """Whether the best model beats each fitted baseline (:data:`BEAT_RULE`), with one phrase per baseline."""
    beats, parts = {}, []
    for b in BASELINES:
        row = comp[comp["model"] == b]
        if row.empty:
            continue
        won = bool(best[f"beats_{b}"])
        beats[b] = won
        parts.append(f"{'beats' if won else 'does not beat'} {b} ({_fmt(float(row['balanced_accuracy'].iloc[0]))})")
    return beats, parts


def _seed_summary(rf: pd.DataFrame, strategic: pd.DataFrame) -> dict[str, Any]:
    """The seed analysis in words: its random forest's accuracies and each persona's strategic quadrant."""
    s: dict[str, Any] = {}
    if len(rf):
        m = dict(zip(rf.loc[rf["kind"] == "metric", "name"], rf.loc[rf["kind"] == "metric", "value"], strict=True))
        s["rf_seed_statement"] = (
            f"Seed random forest: test accuracy {m['test_accuracy']:.1%}, OOB {m['oob_score']:.1%} "
            "(plain accuracy, not balanced; the seed reported 55.5% and 59.6%)."
        )
    if len(strategic):
        s["strategic_statement"] = "; ".join(f"{r.persona}: {r.quadrant} ({r.lever})" for r in strategic.itertuples())
    return s

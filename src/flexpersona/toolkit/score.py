"""Score a customer book with a run's saved targeting model (``flexpersona score RUN DATA --out FILE``).

:func:`score` reads half-hourly readings of any households (any supported layout, through the ingest's readers
and row rules: rejected rows go to the issue list with their file and line, a structural problem is an
:class:`~flexpersona.errors.InputError`), computes their pre-trial features with the features stage's SQL and
engine (:func:`flexpersona.features.pretrial.pretrial_features`), and predicts with every fold model the run
saved (:mod:`.model`). No tariff, group or trial is needed.

Per household (:data:`SCORE_COLUMNS`)
-------------------------------------
``predicted_high_response_kw`` / ``_pct``
    Mean over the run's ``cv_repeats × cv_folds`` fold models of the predicted change in load during High-price
    half-hours [kW] / [%] (negative = reduction) — the same average that ranks the run's own book in
    ``targets.csv``, so a household of that book gets its ``predicted_kw`` back.
``predicted_ci_low`` / ``predicted_ci_high``
    95% prediction interval of the household's High response [kW] *as the trial would have estimated it*:
    the prediction plus the 2.5th and 97.5th percentiles of the kW model's out-of-fold residuals on the
    run's treatment households (split-conformal). It covers household-to-household variation and the trial's
    estimation noise, for households drawn like the trial's; it does not cover a shift between the trial's
    population or year and the book's.
``p_responder``
    Mean over the fold models of a forest fitted to the run's ``responder`` label (0/1, the placebo-calibrated
    significant reducers); NaN when the run has no label.
``lever``
    The toolkit's documented fallback rules (:func:`~.levers.choose_lever`, ``R1``–``R5``) applied to the
    household's predictions: predicted %, ``p_responder`` as the responder share, the 95% spread of the fold
    models' kW predictions as the interval, and its pre-trial load shape against the run's cohort medians. No
    survey quadrant (a new customer has no survey).
``do_no_harm``
    Predicted dynamic-minus-flat bill change > 0 (mean of the bill fold models), as in ``targets.csv``.
``rank``
    1 = largest predicted reduction, among scored households.
``reason``
    Why a household has no score (empty otherwise): too few readings in the lifestyle window (the ledger's
    coverage rule, ``data.min_baseline_coverage``).

Summary (:func:`enrolment`)
---------------------------
For the top N households (and the top x %): ``expected_mw`` = −Σ predicted kW / 1000 with a 95% interval
from the spread of that sum over the fold models plus household noise (n × the variance of the out-of-fold
residuals, households independent); and ``validated_mw``: n × the mean estimated reduction the run's own
treatment households at the same share achieved when ranked out of fold (its Qini curve), with the Qini
curve's 95% interval (household bootstrap, widened for cross-fitting). The first trusts the model for this
book; the second trusts only the run's validation and assumes the book resembles the trial's households.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..config import Config, from_dict
from ..errors import InputError
from ..features.lifestyle import LIFESTYLE_COLUMNS
from ..features.pretrial import pretrial_features, required_coverage
from .levers import choose_lever
from .model import TargetingModel, load_model
from .targeting import pretrial_matrix

SCORE_COLUMNS = [
    "household_id", "predicted_high_response_kw", "predicted_high_response_pct", "predicted_ci_low",
    "predicted_ci_high", "p_responder", "lever", "do_no_harm", "rank", "reason",
]  # fmt: skip
#: Shares of the scored book the summary reports by default [%].
DEFAULT_TOP_SHARES = (10.0, 25.0, 50.0, 100.0)
INTERVAL = ("prediction plus the 2.5th/97.5th percentiles of the kW model's out-of-fold residuals on the run's "
            "treatment households (split-conformal 95% interval of the household's High response as the trial "
            "would estimate it; households like the trial's)")


@dataclass
class ScoreResult:
    """What :func:`score` returns: ``scores`` (:data:`SCORE_COLUMNS`, scored households ranked first),
    ``summary`` (JSON-able) and ``issues`` (rejected input rows, the ingest's issue columns)."""

    scores: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)
    issues: pd.DataFrame = field(default_factory=pd.DataFrame)

    def write(self, out: str | Path) -> list[Path]:
        """Write ``FILE`` (CSV), ``FILE``'s ``<stem>_summary.json`` and ``<stem>_issues.csv`` next to it."""
        from ..store import write_csv, write_json

        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        paths = [write_csv(self.scores, out), write_json(self.summary, summary_path(out))]
        paths.append(write_csv(self.issues, out.with_name(f"{out.stem}_issues.csv")))
        return paths


def summary_path(out: str | Path) -> Path:
    """``scores.csv`` → ``scores_summary.json`` (next to it)."""
    out = Path(out)
    return out.with_name(f"{out.stem}_summary.json")


def score(
    run: str | Path,
    readings: Any,
    *,
    households: pd.DataFrame | str | Path | None = None,
    layout: str | None = None,
    column_map: str | dict[str, str] | None = None,
    engine: str | None = None,
    strict: bool | None = None,
    top_n: Sequence[int] = (),
    top_share: Sequence[float] = DEFAULT_TOP_SHARES,
) -> ScoreResult:
    """Score households with a run's saved targeting model.

    Parameters
    ----------
    run
        The run folder (its ``targeting_model.pkl``; ``store/tariff`` when the run's lifestyle window needs it).
    readings
        Canonical readings (DataFrame with ``household_id``, ``ts``, ``kwh``) or file(s)/folder(s) in any
        supported layout (read as :func:`flexpersona.read_readings` reads them).
    households
        Optional households table or file with ``acorn_grouped`` (the model's Acorn predictors; without it
        every household counts as Acorn unknown).
    layout, column_map, strict
        As for :func:`flexpersona.read_readings`.
    engine
        ``duckdb`` (default: the run's) or ``spark``.
    top_n, top_share
        Enrolment sizes of the summary: numbers of households and shares of the scored book [%].

    Raises
    ------
    StageError
        The run has no targeting model, or one of another format version (re-run the toolkit stage).
    InputError
        A structural problem with the readings (unknown layout, missing column: the file and the fix).
    """
    from ..runfolder import RunFolder

    rf = RunFolder(run)
    model = load_model(rf.file("targeting_model"))
    cfg = from_dict(model.config)
    if engine:
        cfg = cfg.replace(features={"engine": engine})
    frame, issues = _readings(readings, layout, column_map, cfg, strict)
    tariff = rf.load("tariff", required=False) if model.lifestyle_source == "within_trial_normal" else None
    pre = pretrial_features(frame, cfg, lifestyle_source=model.lifestyle_source, tariff=tariff)
    hh = _households(households, pre["household_id"])
    scores, kw_models = _score_table(model, pre, hh, cfg)
    summary = _summary(model, scores, kw_models, pre, issues, cfg, top_n=top_n, top_share=top_share)
    return ScoreResult(scores, summary, issues)


def _readings(readings: Any, layout, column_map, cfg: Config, strict) -> tuple[Any, pd.DataFrame]:
    """Canonical readings and the issue list of the rows the readers rejected."""
    from ..io.readings import read_readings_with_issues
    from ..io.result import empty_issues

    if isinstance(readings, pd.DataFrame):
        missing = [c for c in ("household_id", "ts", "kwh") if c not in readings.columns]
        if missing:
            raise InputError("<readings DataFrame>", f"missing column(s) {', '.join(missing)}",
                             "pass canonical readings (household_id, ts, kwh) or a readings file")
        return readings, empty_issues()
    return read_readings_with_issues(readings, layout, column_map=column_map, config=cfg, strict=strict)


def _households(households: Any, ids: pd.Series) -> pd.DataFrame:
    """``household_id``, ``acorn_grouped`` of the scored households (unknown when not given)."""
    if isinstance(households, (str, Path)):
        from ..io.households import read_households

        households = read_households(households)
    base = pd.DataFrame({"household_id": ids.astype(str).to_numpy()})
    if households is None or "acorn_grouped" not in households.columns:
        return base.assign(acorn_grouped=None)
    h = households.assign(household_id=households["household_id"].astype(str)).drop_duplicates("household_id")
    return base.merge(h[["household_id", "acorn_grouped"]], on="household_id", how="left")


def _score_table(model: TargetingModel, pre: pd.DataFrame, hh: pd.DataFrame,
                 cfg: Config) -> tuple[pd.DataFrame, np.ndarray]:
    """The scores (:data:`SCORE_COLUMNS`, ranked) and the fold models' kW predictions in the same row order."""
    ok = pre[pre["sufficient"]].reset_index(drop=True)
    X = pretrial_matrix(ok[["household_id", *LIFESTYLE_COLUMNS]], hh)
    pred = model.predict(X.loc[ok["household_id"].astype(str)])
    kw_all = pred["kw"]
    kw = kw_all.mean(axis=0) if len(ok) else np.array([])
    q_lo, q_hi = np.percentile(model.residuals_kw, [2.5, 97.5]) if len(model.residuals_kw) else (np.nan, np.nan)
    mean = lambda t: pred[t].mean(axis=0) if t in pred and len(ok) else np.full(len(ok), np.nan)
    p_resp = np.clip(mean("responder"), 0.0, 1.0)
    scored = pd.DataFrame({
        "household_id": ok["household_id"].astype(str).to_numpy(),
        "predicted_high_response_kw": kw, "predicted_high_response_pct": mean("pct"),
        "predicted_ci_low": kw + q_lo, "predicted_ci_high": kw + q_hi, "p_responder": p_resp,
        "lever": _levers(ok, kw_all, mean("pct"), p_resp, model, cfg),
        "do_no_harm": mean("bill") > 0, "reason": "",
    })  # fmt: skip
    order = np.lexsort((scored["household_id"].to_numpy(), scored["predicted_high_response_kw"].to_numpy()))
    scored = scored.iloc[order].reset_index(drop=True)
    kw_all = kw_all[:, order] if len(ok) else kw_all
    scored["rank"] = pd.array(np.arange(1, len(scored) + 1), dtype="Int64")
    short = pre[~pre["sufficient"]]
    need = required_coverage(cfg, model.lifestyle_source)
    window = _window_text(model, cfg)
    unscored = pd.DataFrame({
        "household_id": short["household_id"].astype(str).to_numpy(),
        "do_no_harm": False, "rank": pd.array([pd.NA] * len(short), dtype="Int64"),
        "reason": [f"too short: readings for {c:.0%} of {window} (the ledger needs {need:.0%})"
                   for c in short["coverage"].to_numpy(dtype=float)],
    })  # fmt: skip
    parts = [p for p in (scored, unscored.sort_values("household_id")) if len(p)]
    out = pd.concat(parts, ignore_index=True) if parts else scored
    return out.reindex(columns=SCORE_COLUMNS), kw_all


def _window_text(model: TargetingModel, cfg: Config) -> str:
    if model.lifestyle_source == "halfhourly":
        return f"the {cfg.data.baseline_year} half-hours (the run's pre-trial year)"
    if model.lifestyle_source == "daily":
        return f"the complete days of {cfg.data.baseline_year} (the run's pre-trial year, as daily totals)"
    return f"the event-free days of {cfg.data.trial_year} (the run's lifestyle window)"


def _levers(ok: pd.DataFrame, kw_all: np.ndarray, pct: np.ndarray, p_resp: np.ndarray, model: TargetingModel,
            cfg: Config) -> list[str]:
    """The toolkit's fallback lever rules on each household's predictions (see the module docstring)."""
    if len(ok) == 0:
        return []
    lo, hi = np.percentile(-kw_all, [2.5, 97.5], axis=0)  # interval of the expected kW *reduction*
    med = model.cohort_medians
    above = lambda c: (pd.to_numeric(ok[c], errors="coerce").to_numpy(float) > med[c]) if c in med and c in ok \
        else np.zeros(len(ok), dtype=bool)
    peak = above("evening_share") | above("base_peak_to_offpeak_ratio")
    base = above("baseload_kwh")
    return [choose_lever({"mean_response_pct": pct[i], "kw_ci_low": lo[i], "kw_ci_high": hi[i],
                          "responder_share": p_resp[i], "quadrant": None, "peak_heavy": bool(peak[i]),
                          "high_baseload": bool(base[i])}, cfg)[0] for i in range(len(ok))]


def enrolment(kw: np.ndarray, kw_models: np.ndarray, residuals: np.ndarray, qini: pd.DataFrame,
              n: int) -> dict[str, Any]:
    """Expected MW of enrolling the top ``n`` ranked households, with intervals (module docstring).

    ``kw`` and the columns of ``kw_models`` are in rank order [kW, negative = reduction].
    """
    n = int(min(max(n, 0), len(kw)))
    out: dict[str, Any] = {"n": n, "share_of_scored": n / len(kw) if len(kw) else None}
    expected = float(-kw[:n].sum() / 1000)
    sums = -kw_models[:, :n].sum(axis=1) / 1000 if n else np.zeros(1)
    var = (np.var(sums, ddof=1) if len(sums) > 1 else 0.0) + n * float(np.var(residuals)) / 1e6
    half = 1.96 * np.sqrt(var)
    out.update(expected_mw=expected, expected_mw_ci_low=expected - half, expected_mw_ci_high=expected + half)
    n_train = int(qini["n_targeted"].max()) if len(qini) else 0
    if n and n_train:
        k = max(1, int(round(n / len(kw) * n_train)))
        row = qini.loc[qini["n_targeted"] == k].iloc[0]
        per = {c: float(row[c]) / k for c in ("gain_model_kw", "gain_model_kw_ci_low", "gain_model_kw_ci_high")}
        out.update(validated_mw=n * per["gain_model_kw"] / 1000, validated_mw_ci_low=n * per["gain_model_kw_ci_low"] / 1000,
                   validated_mw_ci_high=n * per["gain_model_kw_ci_high"] / 1000, validated_share_of_trial=k / n_train)
    return out


def _summary(model: TargetingModel, scores: pd.DataFrame, kw_models: np.ndarray, pre: pd.DataFrame,
             issues: pd.DataFrame, cfg: Config, *, top_n: Sequence[int], top_share: Sequence[float]) -> dict[str, Any]:
    """The JSON summary: counts, the model's provenance and validation, enrolment options."""
    scored = scores[scores["rank"].notna()]
    kw = scored["predicted_high_response_kw"].to_numpy(dtype=float)
    sizes = [("top_n", int(v)) for v in top_n] + [
        (f"top_{float(s):g}pct", int(round(float(s) / 100 * len(kw)))) for s in top_share]
    ids = set(scored["household_id"])
    return {
        "n_households": int(len(scores)),
        "n_scored": int(len(scored)),
        "n_not_scored": int(len(scores) - len(scored)),
        "n_in_training": len(ids & set(model.training_ids)),
        "n_in_run_book": len(ids & set(model.book_ids)),
        "n_issue_rows": int(issues["count"].sum()) if len(issues) and "count" in issues else 0,
        "lifestyle_source": model.lifestyle_source,
        "pretrial_window": _window_text(model, cfg),
        "engine": cfg.features.engine,
        "model": {"flexpersona_version": model.flexpersona_version, "format_version": model.format_version,
                  "n_fold_models": len(model.models.get("kw", [])), "features": model.features,
                  "qini_coefficient": model.numbers.get("qini_coefficient"),
                  "qini_coefficient_ci_low": model.numbers.get("qini_coefficient_ci_low"),
                  "qini_coefficient_ci_high": model.numbers.get("qini_coefficient_ci_high"),
                  "beats_random": model.numbers.get("beats_random"),
                  "placebo_excludes_zero": model.numbers.get("placebo_excludes_zero")},
        "interval": INTERVAL,
        "enrolment_intervals": ("expected_mw: spread of the summed prediction over the fold models plus household "
                                "noise (out-of-fold residual variance, households independent); validated_mw: the "
                                "run's out-of-fold Qini gain per household at the same share, with its 95% interval"),
        "enrolment": {name: enrolment(kw, kw_models, model.residuals_kw, model.qini, n) for name, n in sizes},
        "lever_counts": {str(k): int(v) for k, v in scored["lever"].value_counts().items()},
        "n_do_no_harm": int(scored["do_no_harm"].sum()),
        "n_training_note": ("households the run's models were trained on get an in-sample average over fold "
                            "models (not their out-of-fold prediction)"),
        "not_scored": {str(r): int(c) for r, c in scores.loc[scores["rank"].isna(), "reason"].str.split(":").str[0]
                       .value_counts().items()},
    }

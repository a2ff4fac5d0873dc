"""Stage 1: features of demand flexibility (METHODS A and B.1-B.3), on DuckDB (default) or Spark.

:func:`compute_features` reads a :class:`~flexpersona.store.Store`, pushes every pass over the half-hourly
readings into the SQL engine (:mod:`.definitions`, the single source of the feature definitions, run by
:mod:`.engine`), and finishes on small per-household tables in numpy/pandas: responses and their day-block
bootstrap (:mod:`.response`), placebo calibration (:mod:`.placebo`), bill decomposition (:mod:`.bills`),
seed-compatible features (:mod:`.seed`) and lifestyle features (:mod:`.lifestyle`).

Example
-------
>>> from flexpersona.store import Store
>>> from flexpersona.features import compute_features
>>> res = compute_features(Store("run/store"), Config())  # doctest: +SKIP
>>> res.features[["household_id", "high_response_pct", "responder"]]  # doctest: +SKIP
"""

from __future__ import annotations

import itertools
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import contracts
from ..config import Config
from ..errors import ConfigError, StageError
from ..quality import input_households, ledger_from_readings
from ..schema import CONTROL, GROUPS, TREATMENT
from ..store import MemoryStore, Store
from ..sufficiency import check_store
from . import counterfactual as cf
from . import definitions as q
from . import nocontrol
from .bills import bill_decomposition
from .calendar import TOD_NAMES, build_calendar
from .engine import Engine, make_engine
from .lifestyle import LIFESTYLE_COLUMNS, lifestyle_from_daily, lifestyle_from_halfhourly
from .persistence import persistence
from .placebo import calibrate
from .posterior import (
    HALVES,
    PREVALENCE,
    control_shift_sd,
    crossfit_noise,
    group_posteriors,
    group_prevalence,
    null_noise,
)
from .progress import STEP_SECONDS, feature_bar, tracked
from .response import (
    adjust_events,
    day_adjustment,
    day_arrays,
    estimate_responses,
    event_table,
    events_per_household,
    make_weights,
)
from .seed import SEED_COLUMNS, seed_features
from .validation import temporal_validation

logger = logging.getLogger(__name__)

__all__ = ["LIFESTYLE_COLUMNS", "RESPONSE_COLUMNS", "SEED_COLUMNS", "FeatureResult", "compute_features"]

#: Column lists of ``features.parquet`` / ``placebo.parquet`` (defined once, in :mod:`flexpersona.contracts`).
RESPONSE_COLUMNS = contracts.RESPONSE_COLUMNS
POSTERIOR_COLUMNS = contracts.POSTERIOR_COLUMNS


@dataclass
class FeatureResult:
    """Tables of stage 1 (contracts in ``docs/architecture.md``).

    Attributes
    ----------
    features
        One row per kept treatment household.
    events
        One row per tariff event (High or Low run) with the cohort response and interval.
    lifestyle
        Pre-trial intrinsic features of every kept household (treatment and control).
    placebo
        The response estimator run on control households (pseudo-treated), with p/q/responder.
    info
        JSON-able facts for the manifest: reference chosen and why, coverage, cell fallbacks, cohort
        responses, placebo calibration, posteriors and prevalence, control changes, lifestyle source, timings.
    prior
        The deconvolved priors (``prior.csv``): ``grid`` [%], ``weight``, ``band`` (High | Low), ``group``.
    replicates
        Day-block bootstrap replicates per household (``replicates.parquet``): ``household_id``, ``group``,
        ``replicate`` and, per measure of :data:`flexpersona.features.response.REPLICATE_MEASURES`,
        ``{measure}_kw`` [kW] and ``{measure}_pct`` [%]; every household shares the replicate's day weights.
    event_households
        Per treatment household and tariff event (``event_households.parquet``): ``household_id``,
        ``event_id``, ``sy`` (Σy), ``syh`` (Σŷ) [kWh], ``n`` (half-hours): the persistence of personas.
    """

    features: pd.DataFrame
    events: pd.DataFrame
    lifestyle: pd.DataFrame
    placebo: pd.DataFrame
    info: dict[str, Any] = field(default_factory=dict)
    prior: pd.DataFrame = field(default_factory=pd.DataFrame)
    replicates: pd.DataFrame = field(default_factory=pd.DataFrame)
    event_households: pd.DataFrame = field(default_factory=pd.DataFrame)

    def artifacts(self) -> dict[str, Any]:
        """What the stage writes into a run folder, by artifact name (:mod:`flexpersona.runfolder`)."""
        out: dict[str, Any] = {name: getattr(self, name) for name in ("features", "events", "lifestyle", "placebo")}
        out["prior"] = self.prior
        for name in ("replicates", "event_households"):
            if not getattr(self, name).empty:
                out[name] = getattr(self, name)
        out["features_info"] = self.info
        return out


def _kept_households(store: Store, *, need_control: bool = True) -> pd.DataFrame:
    hh = store.read("households")
    ledger = store.read_optional("ledger")
    if ledger is not None and "status" in ledger.columns:
        kept = ledger.loc[ledger["status"] == "kept", "household_id"].astype(str)
        hh = hh[hh["household_id"].astype(str).isin(set(kept))]
    hh = hh[hh["group"].isin(GROUPS)]
    out = pd.DataFrame(
        {"household_id": hh["household_id"].astype(str).to_numpy(), "grp": hh["group"].astype(str).to_numpy()}
    )
    out = out.drop_duplicates("household_id").sort_values("household_id").reset_index(drop=True)
    for g in GROUPS:
        if g == CONTROL and not need_control:
            continue
        if not (out["grp"] == g).any():
            msg = (
                f"the store {store.path} has no kept {g} households; the response estimator needs both groups "
                "(check the households table and the ledger of the ingest)"
            )
            raise StageError(msg)
    return out


def _choose_reference(
    coverage: pd.DataFrame, hh: pd.DataFrame, n_base: int, config: Config, *, no_control: bool = False
) -> dict[str, Any]:
    cov = coverage.set_index("household_id").reindex(hh["household_id"].to_numpy())
    share = pd.to_numeric(cov["n_base"], errors="coerce").fillna(0).to_numpy(dtype=float) / max(n_base, 1)
    ok = share >= config.data.min_baseline_coverage
    is_t = hh["grp"].to_numpy() == TREATMENT
    share_t = float(ok[is_t].mean()) if is_t.any() else 0.0
    share_c = float(ok[~is_t].mean()) if (~is_t).any() else 0.0
    has_base = share_t >= config.features.auto_baseline_share and (
        share_c >= config.features.auto_baseline_share or (no_control and not (~is_t).any()))
    requested = config.features.reference
    if no_control:
        if requested == "baseline":
            msg = ("features.reference = baseline needs a control group: without one nothing carries the baseline "
                   "year's level into the trial year; use --reference within_trial or auto with --no-control")
            raise ConfigError(msg)
        chosen, why = "within_trial", ("no control group: the counterfactual is each household's baseline model "
                                       "of its Normal half-hours in the trial year")
    elif requested == "auto":
        chosen = "baseline" if has_base else "within_trial"
        why = (
            f"{share_t:.0%} of treatment and {share_c:.0%} of control households have half-hourly baseline-year "
            f"coverage >= {config.data.min_baseline_coverage:.0%} (auto picks baseline at >= "
            f"{config.features.auto_baseline_share:.0%})"
        )
    else:
        chosen, why = requested, "set by features.reference"
        if chosen == "baseline" and not (ok[is_t].any() and ok[~is_t].any()):
            msg = (
                f"features.reference = baseline, but no treatment or no control household has half-hourly "
                f"readings in the baseline year {config.data.baseline_year}; use --reference within_trial or auto"
            )
            raise ConfigError(msg)
    return {
        "reference": chosen,
        "reference_requested": requested,
        "reference_reason": why,
        "baseline_halfhourly": bool(has_base),
        "baseline_coverage_share_treatment": share_t,
        "baseline_coverage_share_control": share_c,
    }


def _run_engine(engine: Engine, store: Store, hh: pd.DataFrame, config: Config, *, no_control: bool = False
                ) -> dict[str, Any]:
    """All passes over the readings; returns small pandas tables and the calendar (and those of the
    comparison reference, ``comparison``, when ``features.compare_references``)."""
    out: dict[str, Any] = {}
    # hid: the household's position, part of the integer cell key ``hcell`` of the SQL
    engine.register("hh", hh.assign(hid=np.arange(len(hh), dtype="int64")))
    engine.readings(store.readings_source)
    tariff = store.read("tariff")
    cal0 = build_calendar(tariff, config, reference="baseline", lifestyle_source="halfhourly")
    engine.register("cal", cal0.table)
    cf.readings_view(engine, cf.keyed_readings_path(store, hh, cal0.table))
    # pass 1: per household x day and per household x class of half-hours (any reference)
    for name, sql in q.PASS1:
        engine.table(name, sql)
    engine.view("hday_l", q.with_life("hday", "halfhourly"))
    coverage = engine.fetch(q.COVERAGE)
    n_base = int((cal0.table["is_base"] == 1).sum())
    choice = _choose_reference(coverage, hh, n_base, config, no_control=no_control)
    daily = store.read_optional("daily")
    if choice["baseline_halfhourly"]:
        life_source = "halfhourly"
    elif daily is not None and (pd.to_datetime(daily["day"]).dt.year == config.data.baseline_year).any():
        life_source = "daily"
    else:
        life_source = "within_trial_normal"
    choice["lifestyle_source"] = life_source
    engine.view("hday_l", q.with_life("hday", life_source))
    engine.view("hcls_l", q.with_life("hcls", life_source))
    out["household_means"] = engine.fetch(q.HOUSEHOLD_MEANS)
    out["seed_daily"] = engine.fetch(q.SEED_DAILY)
    out["daily_stats"] = engine.fetch(q.DAILY_STATS) if life_source != "daily" else None
    # every relation is dropped as soon as no later query reads it (bounded memory at full scale)
    engine.drop("hday", "hcls")
    cal = build_calendar(tariff, config, reference=choice["reference"], lifestyle_source=life_source)
    weather = store.read_optional("weather") if no_control else None
    tdev = nocontrol.temperature_deviation(cal.table, weather) if weather is not None else None
    if no_control:
        out["weather"] = nocontrol.weather_info(weather, tdev, int((cal.table["is_trial"] == 1).sum()))
    if config.features.compare_references:
        alt_ref, alt_days = cf.alternative_reference(choice["reference"], config.features.reference_days)
        cal2 = build_calendar(tariff, config, reference=alt_ref, lifestyle_source=life_source, reference_days=alt_days)
        if no_control:
            out.update(cf.reference_passes(engine, cal.table, no_control=True, tdev=tdev))
            tdev2 = nocontrol.temperature_deviation(cal2.table, weather) if weather is not None else None
            other = cf.reference_passes(engine, cal2.table, no_control=True, tdev=tdev2, events=False)
        else:  # one scan of the trial readings for both references
            first, other = cf.reference_pair(engine, cal.table, cal2.table)
            out.update(first)
        out["comparison"] = {
            "label": cf.reference_label(alt_ref, alt_days), "calendar": cal2, "within_trial": alt_ref == "within_trial",
            **other,
        }  # fmt: skip
    else:
        out.update(cf.reference_passes(engine, cal.table, no_control=no_control, tdev=tdev))
    out["coverage"] = coverage
    out["calendar"] = cal
    out["choice"] = choice
    out["daily"] = daily
    return out


def _reference_comparison(
    raw: dict[str, Any], hh: pd.DataFrame, cohort: dict[str, Any], reference: str, config: Config, *, has_events: bool
) -> dict[str, Any]:
    """``reference_comparison`` and ``spillover`` of ``info`` (:mod:`.counterfactual`)."""
    f = config.features
    primary = (cf.reference_label(reference, f.reference_days), cohort)
    other = None
    comp = raw.get("comparison")
    if comp is not None:
        arr = day_arrays(comp.pop("day_agg"), comp.pop("ref_influence"), hh, comp["calendar"].table,
                         within_trial=comp["within_trial"])
        if f.day_adjustment == "same_day":
            arr, _ = day_adjustment(arr, shrink=f.day_adjustment_shrink)
        w = make_weights(arr, replicates=f.bootstrap_replicates, block_days=f.bootstrap_block_days, seed=f.seed)
        other = (comp["label"], estimate_responses(arr, w)[1])
    event_free = next((c for c in (primary, other) if c is not None and c[0] == "within_trial_event_free"), None)
    comparison = cf.compare_references(primary, other, treatment=TREATMENT)
    shares = {primary[0]: raw["calendar"].info.get("reference_event_day_share")}
    if comp is not None:
        shares[comp["label"]] = comp["calendar"].info.get("reference_event_day_share")
    comparison["reference_event_day_share"] = shares
    return {
        "reference_comparison": comparison,
        "spillover": cf.spillover(event_free, treatment=TREATMENT, control=CONTROL, has_events=has_events,
                                  used=primary[0], all_days_share=shares.get("within_trial_all")),
    }


def _cell_levels(day_agg: pd.DataFrame, hh: pd.DataFrame, coverage: pd.DataFrame) -> dict[str, int]:
    """Trial half-hours per group by the reference cell level used (and without any reference)."""
    names = {1: "period", 2: "season", 3: "all_months"}
    # group code x level keys, counted with bincount (exact: whole numbers far below 2^53); day_agg has millions
    # of rows at full LCL size, where the string keys of a pandas groupby took 2 s
    groups, code = np.unique(hh["grp"].to_numpy().astype(str), return_inverse=True)
    levels, lidx = np.unique(day_agg["lvl"].to_numpy(), return_inverse=True)
    key = code[day_agg["hid"].to_numpy()] * len(levels) + lidx  # day_agg's hid: position in hh
    size = len(groups) * len(levels)
    n = np.bincount(key, weights=day_agg["n"].to_numpy(dtype=float), minlength=size).astype(np.int64)
    rows = np.bincount(key, minlength=size)
    out = {f"{g}_{names.get(int(lv), lv)}": int(n[k]) for k, (g, lv) in enumerate(itertools.product(groups, levels))
           if rows[k]}
    used = dict(zip(groups, n.reshape(len(groups), len(levels)).sum(axis=1), strict=True))
    for g, nt in coverage.groupby("grp")["n_trial"].sum().items():
        out[f"{g}_no_reference"] = int(nt) - int(used.get(g, 0))
    return out


def _rename_responses(per: pd.DataFrame, n_events: pd.DataFrame) -> pd.DataFrame:
    ne = n_events.set_index("household_id").reindex(per["household_id"].to_numpy())
    nh = ne["n_high_events"].to_numpy(dtype=float)
    nl = ne["n_low_events"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        r: dict[str, Any] = {"household_id": per["household_id"].to_numpy()}  # columns built as a dict: one block
        r["high_response_pct"] = per["high_pct"].to_numpy()
        r["high_response_ci_low"] = per["high_ci_low"].to_numpy()
        r["high_response_ci_high"] = per["high_ci_high"].to_numpy()
        r["high_response_se"] = per["high_se"].to_numpy()
        r["low_response_pct"] = per["low_pct"].to_numpy()
        r["low_response_ci_low"] = per["low_ci_low"].to_numpy()
        r["low_response_ci_high"] = per["low_ci_high"].to_numpy()
        r["low_response_se"] = per["low_se"].to_numpy()
        nh1, nl1 = np.where(nh > 0, nh, 1), np.where(nl > 0, nl, 1)
        r["high_response_kwh_per_event"] = np.where(nh > 0, per["high_kwh"].to_numpy() / nh1, np.nan)
        r["low_response_kwh_per_event"] = np.where(nl > 0, per["low_kwh"].to_numpy() / nl1, np.nan)
        hn = per["high_n"].to_numpy(dtype=float)
        r["high_response_kw"] = np.where(hn > 0, 2.0 * per["high_kwh"].to_numpy() / np.where(hn > 0, hn, 1), np.nan)
        r["high_response_pct_weekday"] = per["high_weekday_pct"].to_numpy()
        r["high_response_pct_weekend"] = per["high_weekend_pct"].to_numpy()
        for t in TOD_NAMES:
            r[f"high_response_pct_{t}"] = per[f"high_{t}_pct"].to_numpy()
        r["rebound_pct"] = per["rebound_pct"].to_numpy()
        r["rebound_ci_low"] = per["rebound_ci_low"].to_numpy()
        r["rebound_ci_high"] = per["rebound_ci_high"].to_numpy()
        r["normal_response_pct"] = per["normal_pct"].to_numpy()
        r["spill_response_pct"] = per["spill_pct"].to_numpy()
        for m in ("high", "low"):
            for h in ("h1", "h2"):
                r[f"{m}_response_pct_{h}"] = per[f"{m}_{h}_pct"].to_numpy()
        r["n_high_halfhours"] = per["high_n"].to_numpy(dtype="int64")
        r["n_low_halfhours"] = per["low_n"].to_numpy(dtype="int64")
        r["high_response_pct_peak"] = per["high_peak_pct"].to_numpy()
        r["high_response_se_peak"] = per["high_peak_se"].to_numpy()
        r["high_response_kw_peak"] = _kw(per, "high_peak")
        r["n_high_halfhours_peak"] = per["high_peak_n"].to_numpy(dtype="int64")
        for t in TOD_NAMES:
            r[f"high_response_kw_{t}"] = _kw(per, f"high_{t}")
        r["high_baseline_kw"] = _kw(per, "high", "yhat_kwh")
        r["high_baseline_kw_peak"] = _kw(per, "high_peak", "yhat_kwh")
        for t in TOD_NAMES:
            r[f"high_baseline_kw_{t}"] = _kw(per, f"high_{t}", "yhat_kwh")
        for b in ("high", "low"):
            for h in HALVES:
                r[f"{b}_response_se_{h}"] = per[f"{b}_{h}_se"].to_numpy()
            for h in ("wa", "wb"):
                r[f"{b}_response_pct_{h}"] = per[f"{b}_{h}_pct"].to_numpy()
        for h in ("wa", "wb"):
            r[f"high_response_kw_{h}"] = _kw(per, f"high_{h}")
            r[f"high_response_kw_peak_{h}"] = _kw(per, f"high_peak_{h}")
    return pd.DataFrame({c: r[c] for c in ("household_id", *RESPONSE_COLUMNS)})


def _kw(per: pd.DataFrame, m: str, sums: str = "kwh") -> np.ndarray:
    """Mean kW per half-hour of measure ``m``: ``2 · Σ / n`` of the change ``Σ(y − ŷ)`` (``sums="kwh"``,
    negative = reduction) or of the counterfactual ``Σŷ`` (``sums="yhat_kwh"``)."""
    n = per[f"{m}_n"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, 2.0 * per[f"{m}_{sums}"].to_numpy(dtype=float) / np.where(n > 0, n, 1.0), np.nan)


def compute_features(
    readings: Any,
    households: Any = None,
    tariff: pd.DataFrame | None = None,
    config: Config | None = None,
    *,
    ledger: pd.DataFrame | None = None,
    daily: pd.DataFrame | None = None,
    weather: pd.DataFrame | None = None,
    progress: bool = False,
) -> FeatureResult:
    """Compute stage-1 features of in-memory tables or of an ingest store.

    Two forms: ``compute_features(readings, households, tariff, config)`` on canonical tables (as
    :func:`flexpersona.read_readings` and friends return them, or a simulated trial's), and
    ``compute_features(store, config)`` on the ingest store of a run.

    Parameters
    ----------
    readings
        Canonical readings (``household_id``, ``ts``, ``kwh``) as a pandas DataFrame or an Arrow table — read
        in place by DuckDB, never copied — or a :class:`~flexpersona.store.Store`.
    households, tariff
        Canonical households (``household_id``, ``group``, ...) and tariff (``ts``, ``band``, ``price``) tables;
        with a store, ``households`` may be the config instead.
    config
        ``config.data`` (years, prices, bank holidays, coverage) and ``config.features`` (engine, reference,
        bootstrap, FDR, rebound window, time placebo, seed).
    ledger
        The quality ledger (households with ``status`` ``kept`` are used); in-memory tables without one get
        :func:`flexpersona.quality.ledger_from_readings` (the ingest's exclusion rules).
    daily, weather
        Optional daily aggregates (a baseline when there is no half-hourly one) and hourly temperature.
    progress
        Show a progress bar with an ETA on stderr (display only; :mod:`.progress`).

    Returns
    -------
    FeatureResult
        ``features`` (treatment households), ``events``, ``lifestyle`` (all households), ``placebo``
        (control households) and ``info``.

    Raises
    ------
    StageError
        When the store lacks readings, tariff or households, or has no kept treatment or control household
        (:class:`flexpersona.sufficiency.NothingToAnalyse`, naming the fix).
    ConfigError
        For an invalid option (engine, reference, bootstrap sizes, alpha).
    """
    if isinstance(households, Config):  # the store form: compute_features(store, config)
        households, config = None, households
    config = config or Config()  # options are validated when a Config is built
    store = _source(readings, households, tariff, config, ledger=ledger, daily=daily, weather=weather)
    t0 = time.perf_counter()
    if not store.has("readings"):
        msg = f"the store {store.path} has no readings; run flexpersona ingest first"
        raise StageError(msg)
    mode = nocontrol.choose_counterfactual(store, config)
    no_control = mode["method"] == "no_control"
    check_store(store, config, need_control=not no_control)  # nothing to analyse: a message with the fix
    hh = _kept_households(store, need_control=not no_control)
    run_config = nocontrol.placebo_days(config, mode["method"])  # pseudo events are the null without controls
    bar = feature_bar(config, no_control=no_control, households=len(hh), enabled=progress)
    engine = tracked(make_engine(config), bar)
    try:
        raw = _run_engine(engine, store, hh, run_config, no_control=no_control)
    finally:
        engine.close()
    t_engine = time.perf_counter() - t0
    cal, choice = raw["calendar"], raw["choice"]
    info: dict[str, Any] = {"engine": config.features.engine, **choice, **cal.info, "counterfactual": mode,
                            "n_households": {g: int((hh["grp"] == g).sum()) for g in GROUPS}}
    if no_control:
        mode.update(weather=raw["weather"], statement=nocontrol.cost_statement(
            temperature=bool(raw["weather"]["temperature"]), placebo_days=int(cal.info.get("time_placebo_days", 0)),
            reference_days=config.features.reference_days))
    with bar.step(STEP_SECONDS["responses"]):
        per, cohort, reps, event_agg = _responses(raw, hh, config, info)
    is_t = per["grp"].to_numpy() == TREATMENT
    resp = _rename_responses(per, events_per_household(event_agg, cal.events))
    labels, placebo_rows, post_per, post_is_t = _placebo(per, is_t, cohort, mode, config, info)
    t_post = time.perf_counter()
    with bar.step(STEP_SECONDS["posteriors"]):
        post_t, post_c, prior, pst = _posteriors(post_per, post_is_t, config)
    if no_control:  # the null's rows stand where the controls' stand
        pst["posterior"]["null_source"] = "pseudo_events"
        if "group" in prior.columns:
            prior["group"] = prior["group"].replace({CONTROL: "pseudo_events"})
    info.update(pst)
    t_post = time.perf_counter() - t_post
    lifestyle = _lifestyle(raw, hh, config, info)
    feats = _assemble(raw, per, is_t, pd.concat([resp[is_t].reset_index(drop=True), post_t], axis=1), labels,
                      lifestyle, config, info)
    placebo = _placebo_table(resp[~is_t].reset_index(drop=True), placebo_rows, post_c, no_control)
    events = event_table(event_agg, cal.events, replicates=config.features.bootstrap_replicates, seed=config.features.seed)
    event_households = event_agg[["household_id", "event_id", "sy", "syh", "n"]].astype(
        {"household_id": str, "event_id": "int64"}).sort_values(["household_id", "event_id"]).reset_index(drop=True)
    info["persistence"] = persistence(event_households, cal.events, replicates=config.features.bootstrap_replicates,
                                      seed=config.features.seed)[1]["all"]
    info["validation"] = temporal_validation(feats, cohort.get(TREATMENT))
    info["timings_s"] = {"engine": round(t_engine, 3), "posteriors": round(t_post, 3),
                         "total": round(time.perf_counter() - t0, 3)}
    bar.close()
    logger.info("features: %d treatment, %d control households, reference %s, cohort High %.2f%%", len(feats),
                len(placebo), choice["reference"], cohort.get(TREATMENT, {}).get("high", {}).get("pct", float("nan")))
    return FeatureResult(features=feats, events=events, lifestyle=lifestyle, placebo=placebo, info=_jsonable(info),
                         prior=prior, replicates=_replicate_table(per, reps), event_households=event_households)


def _responses(raw: dict[str, Any], hh: pd.DataFrame, config: Config, info: dict[str, Any]):
    """Per-household and cohort responses with their day-block bootstrap (METHODS B.1); fills ``info``.

    Returns the per-household table, the cohort responses, the kept replicates and the per-event sums.
    """
    f, cal, choice = config.features, raw["calendar"], raw["choice"]
    levels = _cell_levels(raw["day_agg"], hh, raw["coverage"])
    # each engine table is released once it is pivoted, each pivot once it is estimated (memory, issue 14)
    arr = day_arrays(raw.pop("day_agg"), raw.pop("ref_influence"), hh, cal.table,
                     within_trial=choice["reference"] == "within_trial")
    event_agg = raw["event_agg"]
    if f.day_adjustment == "same_day":
        arr, factor = day_adjustment(arr, shrink=f.day_adjustment_shrink)
        tdays = np.sort(cal.table.loc[cal.table["is_trial"] == 1, "day"].unique())
        event_agg = adjust_events(event_agg, cal.events, arr, factor, tdays)
        fin = factor[arr.groups == TREATMENT]
        info["day_adjustment"] = {"method": "same_day", "shrink": f.day_adjustment_shrink,
                                  "factor_p05_p50_p95": np.percentile(fin, [5, 50, 95]).round(4).tolist()}  # fmt: skip
    else:
        info["day_adjustment"] = {"method": "none"}
    weights = make_weights(arr, replicates=f.bootstrap_replicates, block_days=f.bootstrap_block_days, seed=f.seed)
    per, cohort, reps = estimate_responses(arr, weights)
    del arr, weights
    info["cohort_response"] = cohort
    info.update(_reference_comparison(raw, hh, cohort, choice["reference"], config, has_events=len(cal.events) > 0))
    info["households_all_zero_trial"] = per.loc[per["all_zero_trial"], "household_id"].astype(str).tolist()
    info["reference_cell_levels"] = levels
    return per, cohort, reps, event_agg


def _placebo(per: pd.DataFrame, is_t: np.ndarray, cohort: dict[str, Any], mode: dict[str, Any], config: Config,
             info: dict[str, Any]):
    """Placebo calibration (METHODS B.2): responder labels of the treatment households and the null's rows.

    With a control group the null is the controls (each against the others); without one, the treatment
    households' own responses to pseudo events on event-free days. Returns the labels, the null's label rows,
    and the table (and treatment mask) the posteriors are fitted on — the null in the controls' place.
    """
    f = config.features
    if mode["method"] == "no_control":
        null = nocontrol.pseudo_null(per[is_t])
        labels, placebo, pinfo = nocontrol.pseudo_event_calibration(per[is_t], null, alpha=f.fdr_alpha)
        if (~is_t).any():  # --no-control on data with controls: what the missing control group costs, measured
            mode["control_households_high_pct"] = cohort.get(CONTROL, {}).get("high")
        post_per = pd.concat([per[is_t], null], ignore_index=True)
        post_is_t = np.arange(len(post_per)) < int(is_t.sum())
    else:
        cols = ["household_id", "high_pct", "high_se"]
        labels, placebo, pinfo = calibrate(per[is_t][cols], per[~is_t][cols], alpha=f.fdr_alpha)
        pinfo["null_source"] = "control_households"
        post_per, post_is_t = per, is_t
    info["placebo"] = pinfo
    return labels, placebo, post_per, post_is_t


def _lifestyle(raw: dict[str, Any], hh: pd.DataFrame, config: Config, info: dict[str, Any]) -> pd.DataFrame:
    """Pre-trial lifestyle features of every kept household, from the source the reference choice named."""
    life_source = raw["choice"]["lifestyle_source"]
    if life_source == "daily":
        lifestyle, linfo = lifestyle_from_daily(raw["daily"], hh, year=config.data.baseline_year)
        info.update(linfo)
    else:
        lifestyle = lifestyle_from_halfhourly(raw["household_means"], raw["daily_stats"], source=life_source)
        lifestyle = lifestyle.set_index("household_id").reindex(hh["household_id"].to_numpy())
        lifestyle["group"] = hh["grp"].to_numpy()
        lifestyle["lifestyle_source"] = life_source
        lifestyle = lifestyle.rename_axis("household_id").reset_index()
        info["lifestyle_missing"] = {}
    return lifestyle[["household_id", "group", "lifestyle_source", *LIFESTYLE_COLUMNS]]


def _assemble(raw: dict[str, Any], per: pd.DataFrame, is_t: np.ndarray, resp_t: pd.DataFrame, labels: pd.DataFrame,
              lifestyle: pd.DataFrame, config: Config, info: dict[str, Any]) -> pd.DataFrame:
    """``features``: seed, response, posterior, label, bill and lifestyle columns of the treatment households."""
    bills = bill_decomposition(per[is_t].reset_index(drop=True), config)
    seed, cc = seed_features(raw["household_means"], raw["seed_daily"], flat_price=config.data.flat_price)
    info["control_changes"] = cc
    if not raw["choice"]["baseline_halfhourly"]:
        info["seed_missing"] = (
            f"no half-hourly readings of the baseline year {config.data.baseline_year} for most households: the "
            "base_* columns and the seed features built on them are NaN"
        )
    feats = seed.merge(resp_t, on="household_id", how="right")
    feats = feats.merge(labels[["household_id", "p_high", "q_high", "responder"]], on="household_id", how="left")
    feats = feats.merge(bills, on="household_id", how="left")
    extra = [c for c in LIFESTYLE_COLUMNS if c not in SEED_COLUMNS]
    feats = feats.merge(lifestyle[["household_id", "lifestyle_source", *extra]], on="household_id", how="left")
    cols = ["household_id", *SEED_COLUMNS, *RESPONSE_COLUMNS, *POSTERIOR_COLUMNS, "p_high", "q_high", "responder"]
    cols += [c for c in bills.columns if c != "household_id"] + ["lifestyle_source", *extra]
    feats = feats[cols].sort_values("household_id").reset_index(drop=True)
    feats["responder"] = feats["responder"].fillna(False).astype(bool)
    return feats


def _placebo_table(resp_c: pd.DataFrame, placebo_rows: pd.DataFrame, post_c: pd.DataFrame,
                   no_control: bool) -> pd.DataFrame:
    """``placebo``: the null's responses, labels and posteriors (control households, or pseudo events)."""
    if no_control:
        placebo = pd.concat([placebo_rows.reset_index(drop=True), post_c], axis=1)
    else:
        placebo = pd.concat([resp_c, post_c], axis=1).merge(placebo_rows, on="household_id", how="left")
        placebo.insert(1, "null_source", "control_households")
    placebo = placebo.sort_values("household_id").reset_index(drop=True)
    placebo["responder"] = placebo["responder"].fillna(False).astype(bool)
    return placebo


def _source(readings: Any, households: Any, tariff: Any, config: Config, **tables: Any) -> Any:
    """The store to read: an ingest store as it is, in-memory tables wrapped in a :class:`MemoryStore`."""
    if isinstance(readings, (Store, MemoryStore)):
        return readings
    if households is None or tariff is None:
        msg = "compute_features on tables needs readings, households and tariff (or pass an ingest Store)"
        raise StageError(msg)
    if tables.get("ledger") is None:
        tables["ledger"] = ledger_from_readings(readings, households, config)
    # as the ingest stores it: a households file listing other households too counts only the input's
    return MemoryStore(readings, input_households(households, tables["ledger"]), tariff, **tables)


def _posteriors(
    per: pd.DataFrame, is_t: np.ndarray, config: Config
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Posterior columns of treatment and control households, the priors, and what goes to ``info``.

    With ``features.posterior_calibration = "placebo"`` the estimation error is modelled by the placebo null of
    each measure (the controls' standardised estimates, :func:`~flexpersona.features.posterior.null_noise`);
    control households get a prior of their own by the same procedure, each judged against the null of the
    other half of the controls: their prior should collapse near zero.
    """
    f = config.features
    ctl = per[~is_t].reset_index(drop=True)
    trt = per[is_t].reset_index(drop=True)
    measures = ["high", "low", *(f"{b}_{h}" for b in ("high", "low") for h in HALVES)]
    cal = f.posterior_calibration
    noise_t = {m: null_noise(ctl, m, calibration=cal) for m in measures}
    noise_c = {m: crossfit_noise(ctl, m, calibration=cal) for m in ("high", "low")}
    shift = {b: control_shift_sd(ctl, b, seed=f.seed) for b in ("high", "low")}
    post_t, pri_t = group_posteriors(trt, noise_t, shift_sd=shift)
    post_c, pri_c = group_posteriors(ctl, noise_c, halves=())
    # controls: no half posteriors (nothing downstream uses them)
    post_c = post_c.assign(**{f"{b}_response_post_{h}": np.nan for h in HALVES for b in ("high", "low")})
    prior = pd.concat(
        [p.table(b.capitalize()).assign(group=g) for g, pri in ((TREATMENT, pri_t), ("control", pri_c))
         for b, p in pri.items()],
        ignore_index=True,
    ) if (pri_t or pri_c) else pd.DataFrame(columns=["grid", "weight", "band", "group"])
    prev = group_prevalence(trt, pri_t, replicates=f.prevalence_replicates, seed=f.seed)
    info = {
        "posterior": {
            "method": "NPMLE on a grid (Kiefer-Wolfowitz, EM + SQUAREM), Gaussian-smoothed; per band and group",
            "calibration": cal,
            "noise": {b: noise_t[b].moments() for b in ("high", "low")},
            "control_mean_error_sd": shift,
            "treatment": {b: p.info for b, p in pri_t.items()},
            "control": {b: p.info for b, p in pri_c.items()},
            "control_posterior_mean_sd": {
                b: float(np.nanstd(post_c[f"{b}_response_post"], ddof=1)) if len(post_c) > 1 else None
                for b in ("high", "low")
            },
            "treatment_median_post_ci_width": {
                b: float(np.nanmedian(post_t[f"{b}_response_post_ci_high"] - post_t[f"{b}_response_post_ci_low"]))
                if len(post_t) else None for b in ("high", "low")
            },
        },
        "prevalence": prev,
        "prevalence_placebo": {k: pri_c[b].mass(t, d) if b in pri_c else None for k, (b, t, d) in PREVALENCE.items()},
    }
    return post_t, post_c, prior, info


def _replicate_table(per: pd.DataFrame, reps: dict[str, dict[str, np.ndarray]]) -> pd.DataFrame:
    """Long table of the kept bootstrap replicates: one row per household x replicate (float32 values)."""
    if not reps:
        return pd.DataFrame()
    H = len(per)
    R = next(iter(reps.values()))["kw"].shape[1]
    out = pd.DataFrame({
        "household_id": np.repeat(per["household_id"].astype(str).to_numpy(), R),
        "group": np.repeat(per["grp"].astype(str).to_numpy(), R),
        "replicate": np.tile(np.arange(R, dtype=np.int32), H),
    })
    for m, d in reps.items():
        out[f"{m}_kw"] = d["kw"].astype(np.float32).ravel()
        out[f"{m}_pct"] = d["pct"].astype(np.float32).ravel()
    return out


def _jsonable(obj: Any) -> Any:
    """NaN/inf floats become None so that the manifest is strict JSON."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (float, np.floating)):
        return float(obj) if np.isfinite(obj) else None
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def save_features(result: FeatureResult, out_dir: str | Path) -> list[Path]:
    """Write the stage's artifacts into a run folder (:meth:`FeatureResult.artifacts`, validated against their
    contracts): features, events, lifestyle, placebo (Parquet + CSV twin), prior, replicates, event households
    and ``features_info.json``."""
    from ..runfolder import RunFolder

    return RunFolder(out_dir).save_many(result.artifacts())

"""The report's sections, one function each, in page order after "How far to trust this"
(:func:`flexpersona.report.trust.trust_section`).

Each takes the run's tables (:class:`~flexpersona.report.run_tables.RunTables`) and the config and returns
its :class:`~flexpersona.report.blocks.Section` with its figures and facts (or None when the run has nothing
for it). Every number in the text is computed here from the run's tables; a table the run lacks becomes a
note, never an error. :func:`flexpersona.report.html.build_report` lists them in order.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from .. import eda
from ..config import Config
from ..features.potential import performance_potential
from . import figures as F
from . import trust as T
from .blocks import Section, flatten, fmt, table_html
from .counterfactual import counterfactual_text, features_info
from .run_tables import RunTables

log = logging.getLogger(__name__)


# -- data and trial ----------------------------------------------------------------------------------------
def quality_section(t: RunTables, config: Config) -> Section:
    """Data quality: the ledger's kept and excluded households with reasons, and the manifest's counts."""
    s = Section("quality", "Data quality")
    facts = s.facts
    if t.ledger is not None and {"status"} <= set(t.ledger.columns):
        led = t.ledger
        facts["n_input_households"] = fmt(len(led), ",d")
        facts["n_kept"] = fmt(int((led["status"] == "kept").sum()), ",d")
        facts["n_excluded"] = fmt(int((led["status"] != "kept").sum()), ",d")
        s.paragraphs.append(
            f"The ledger holds {facts['n_input_households']} input households: {facts['n_kept']} kept and "
            f"{facts['n_excluded']} excluded (row counts in = kept + rejected)."
        )
        by = [c for c in ("group", "status") if c in led.columns]
        s.tables.append(("Households by group and status", table_html(led.groupby(by, dropna=False).size().rename("households").reset_index())))
        if "reason" in led.columns and led["reason"].notna().any():
            reasons = led.dropna(subset=["reason"]).groupby("reason").size().rename("households").reset_index()
            s.tables.append(("Exclusion reasons", table_html(reasons.sort_values("households", ascending=False))))
    else:
        s.notes.append("No ledger.parquet in this run folder: data quality is not reported.")
    counts = t.manifest.get("counts")
    if isinstance(counts, dict) and counts:
        rows = pd.DataFrame(flatten(counts), columns=["count", "value"]).astype(str)
        s.tables.append(("Run counts (manifest.json)", table_html(rows, max_rows=40)))
    return s


def _mean_ci(v: pd.Series) -> tuple[float, float, float]:
    v = v.replace([np.inf, -np.inf], np.nan).dropna().astype(float)
    if len(v) < 2:
        return (float(v.mean()) if len(v) else float("nan"), float("nan"), float("nan"))
    m, se = float(v.mean()), float(v.std(ddof=1) / np.sqrt(len(v)))
    return m, m - 1.96 * se, m + 1.96 * se


def trial_section(t: RunTables, config: Config) -> Section:
    """Trial summary: households, the median and mean High and Low responses, responders, events and the
    counterfactual (control group or not, references, spillover)."""
    s = Section("trial", "Trial summary")
    f, facts = t.features, s.facts
    n_c = int((t.lifestyle["group"] == "control").sum()) if t.lifestyle is not None and "group" in t.lifestyle.columns else None
    facts["n_treatment"] = fmt(len(f), ",d")
    facts["n_control"] = fmt(n_c, ",d") if n_c is not None else "n/a"
    text = f"{facts['n_treatment']} treatment households have response estimates; {facts['n_control']} control households have pre-trial features."
    if "high_response_pct" in f.columns:
        m, lo, hi = _mean_ci(f["high_response_pct"])
        facts.update(mean_high=fmt(m), mean_high_lo=fmt(lo), mean_high_hi=fmt(hi), median_high=fmt(f["high_response_pct"].median()))
        text += (f" Median household High-price response {facts['median_high']}% (negative means less load than the "
                 f"counterfactual). The mean, {facts['mean_high']}% (95% interval over households "
                 f"{facts['mean_high_lo']}% to {facts['mean_high_hi']}%), is pulled by the households with the largest responses.")
        cohort = (t.feature_info or {}).get("cohort_response", {}).get("treatment", {}).get("high") or {}
        if cohort.get("pct") is not None:
            text += (f" The cohort as a whole (total load against total counterfactual) responded {fmt(cohort['pct'])}% "
                     f"(95% interval {fmt(cohort.get('ci_low'))}% to {fmt(cohort.get('ci_high'))}%).")
    if "low_response_pct" in f.columns:
        m, lo, hi = _mean_ci(f["low_response_pct"])
        facts.update(mean_low=fmt(m), mean_low_lo=fmt(lo), mean_low_hi=fmt(hi))
        text += f" Mean Low-price response {facts['mean_low']}% ({facts['mean_low_lo']}% to {facts['mean_low_hi']}%)."
    if "responder" in f.columns:
        facts["n_responders"] = fmt(int(f["responder"].astype("boolean").fillna(False).astype(bool).sum()), ",d")
        facts["share_responders"] = fmt(100 * f["responder"].astype("boolean").fillna(False).astype(bool).mean(), ".0f")
        text += f" {facts['n_responders']} households ({facts['share_responders']}%) are significant responders after the placebo calibration."
    if t.events is not None and "band" in t.events.columns:
        counts = t.events["band"].astype(str).value_counts()
        facts["n_high_events"], facts["n_low_events"] = fmt(int(counts.get("High", 0)), ",d"), fmt(int(counts.get("Low", 0)), ",d")
        text += f" The tariff had {facts['n_high_events']} High and {facts['n_low_events']} Low events."
    s.paragraphs.append(text)
    cf_paragraphs, cf_notes = counterfactual_text(features_info(t.run_dir, t.manifest))
    s.paragraphs.extend(cf_paragraphs)
    s.notes.extend(cf_notes)
    return s


# -- responses -------------------------------------------------------------------------------------------------
def responses_section(t: RunTables, config: Config) -> Section:
    """Response distributions: every household's High response with its interval, histograms, and the null
    (the placebo households' spread)."""
    s = Section("responses", "Response distributions")
    s.add_figure("caterpillar", F.caterpillar(t.features, t.personas))
    s.add_figure("response_hist", F.response_histogram(t.features))
    if t.placebo is not None and "high_response_pct" in t.placebo.columns:
        s.facts["placebo_sd"] = sd = fmt(t.placebo["high_response_pct"].std(ddof=1))
        if "null_source" in t.placebo.columns and (t.placebo["null_source"] == "pseudo_events").any():
            s.paragraphs.append(f"Without a control group the null is the {fmt(len(t.placebo), ',d')} treatment households' "
                                f"own response to pseudo events on event-free days: the same estimator gives a spread "
                                f"(standard deviation) of {sd}% around zero.")
        else:
            s.paragraphs.append(f"On {fmt(len(t.placebo), ',d')} control households treated as pseudo-treatment, the same "
                                f"estimator gives a spread (standard deviation) of {sd}% around zero: the null.")
    return s


def events_section(t: RunTables, config: Config) -> Section:
    """Event-level response: the cohort's response per tariff event and its persistence over the trial."""
    s = Section("events", "Event-level response")
    if s.add_figure("events", F.event_chart(t.events)):
        ycol = F.first_column(t.events, ("response_pct", "cohort_response_pct", "mean_response_pct"))
        if ycol and "band" in t.events.columns:
            g = t.events.groupby(t.events["band"].astype(str))[ycol].mean()
            s.paragraphs.append("Mean cohort response per event: " + "; ".join(f"{b} {fmt(v)}%" for b, v in g.items()) + ".")
    else:
        s.notes.append("No event-level table (events.parquet with a response column) in this run.")
    s.add_figure("persistence", T.persistence_figure(t.persistence_events, t.persistence))
    s.paragraphs += T.persistence_paragraphs(t.persistence)
    return s


# -- personas ------------------------------------------------------------------------------------------------
def _structure_found(t: RunTables) -> bool:
    found = [v for k, v in flatten(t.stability) if k.split(".")[-1] == "structure_found" and v is not None]
    if found:  # top level or nested (e.g. {"existence": {"structure_found": ...}})
        return bool(found[0])
    return t.personas is not None and t.personas["persona_id"].nunique() > 1


def _map_columns(features: pd.DataFrame, config: Config) -> list[str]:
    """The clustering features of the persona map (the response scores when fewer than two are present)."""
    cols = config.personas.features if config.personas.method != "seed" else (
        "peak_reduction_weekday", "load_shift_weekday", "peak_reduction_weekend", "peak_reduction_pct_weekday", "peak_reduction_pct_weekend")
    cols = [c for c in cols if c in features.columns]
    if len(cols) < 2:
        cols = [c for c in ("high_response_pct", "low_response_pct", "rebound_pct", "high_response_pct_weekday", "high_response_pct_weekend") if c in features.columns]
    return cols


def _profile_table(prof: pd.DataFrame) -> str:
    """``persona_profiles.csv``; of the personas stage's wide profile (median_ and ratio_ of every feature)
    only the key medians."""
    key = [c for c in prof.columns if c.startswith("median_") and c.removeprefix("median_") in F.PROFILE_FEATURES]
    if key:
        ids = [c for c in ("persona_id", "persona_name", "n", "share") if c in prof.columns]
        prof = prof[ids + key + [c for c in ("persona_rationale",) if c in prof.columns]]
    return table_html(prof)


def personas_section(t: RunTables, config: Config) -> Section:
    """Personas: model selection, existence and stability, sizes, the persona map, profiles and responses."""
    s = Section("personas", "Personas: selection, existence and stability")
    structure = _structure_found(t)
    s.facts["structure_found"] = structure
    s.add_figure("selection", F.selection_chart(t.selection))
    if isinstance(t.stability.get("message"), str):
        s.paragraphs.append(t.stability["message"])
    if t.stability:
        s.tables.append(("Existence and stability, summarised (stability.json)", table_html(T.stability_rows(t.stability).astype(str))))
    if not structure:
        s.paragraphs.append("No persona structure: the existence test found no clusters beyond what structureless data "
                            "would give, so households are described by their continuous response scores, not personas.")
    elif t.personas is not None:
        sizes = t.personas.groupby("persona_name" if "persona_name" in t.personas.columns else "persona_id").size()
        s.facts["n_personas"] = fmt(len(sizes), ",d")
        s.paragraphs.append(f"{s.facts['n_personas']} personas: " + "; ".join(f"{k} ({fmt(v, ',d')} households)" for k, v in sizes.items()) + ".")
        if "low_confidence" in t.personas.columns:
            s.facts["n_low_confidence"] = fmt(int(t.personas["low_confidence"].astype("boolean").fillna(False).astype(bool).sum()), ",d")
            s.paragraphs.append(f"{s.facts['n_low_confidence']} households have a low-confidence assignment (soft membership below the threshold).")
    f, persona_tbl = t.features, (t.personas if structure else None)
    profiles_fig = F.persona_profiles(f, persona_tbl, lifestyle=t.lifestyle) if structure else None
    s.add_figure("pca_map", F.pca_map(f, persona_tbl, _map_columns(f, config)))
    s.add_figure("persona_profiles", profiles_fig)
    s.add_figure("response_by_persona", F.response_by_persona(f, persona_tbl))
    if structure and t.profiles is not None:
        s.tables.append(("Persona profiles (persona_profiles.csv; key medians)", _profile_table(t.profiles)))
    return s


def matrix_section(t: RunTables, config: Config) -> Section:
    """The performance–potential matrix, with households per persona and quadrant (one rule:
    :func:`flexpersona.features.potential.performance_potential`)."""
    s = Section("matrix", "Performance–potential matrix")
    pp = performance_potential(t.features)
    persona_tbl = t.personas if _structure_found(t) else None
    if not s.add_figure("performance_potential", F.performance_potential(pp, persona_tbl)):
        s.notes.append(f"No matrix: {pp.reason}.")
        return s
    if persona_tbl is not None and t.persona_matrix is not None and not t.persona_matrix.empty:
        s.tables.append(("Households per persona and quadrant (persona_matrix.csv)", table_html(t.persona_matrix)))
    elif persona_tbl is not None:
        tbl = pp.by_persona(persona_tbl.assign(persona_id=persona_tbl.get("persona_id", persona_tbl["persona_name"])))
        s.tables.append(("Households per persona and quadrant (row %)", table_html(tbl)))
    else:
        s.tables.append(("Households per quadrant", table_html(pp.counts())))
    s.facts["matrix_x_median"], s.facts["matrix_y_median"] = fmt(pp.x_median, ".3g"), fmt(pp.y_median)
    s.paragraphs.append(f"Split at the medians: {pp.x_label} {s.facts['matrix_x_median']}, "
                        f"{pp.y_label} {s.facts['matrix_y_median']}. A value at the median counts as low.")
    return s


# -- explanation ---------------------------------------------------------------------------------------------
def _statements(summary: dict[str, Any]) -> list[str]:
    """Plain-language statements of explain/summary.json (their numbers come from the explain tables)."""
    out: list[str] = []
    for key in ("statements", "notes"):
        v = summary.get(key)
        if isinstance(v, list):
            out += [str(x) for x in v]
        elif isinstance(v, str):
            out.append(v)
    for k, v in summary.items():
        if k.endswith("_statement") and isinstance(v, str):
            out.append(v)
    return out


def explain_section(t: RunTables, config: Config) -> Section:
    """Explanation (stage 2): the strategic persona map and barrier heatmap (survey), statements, tables."""
    s = Section("explain", "Explanation (stage 2)")
    if not s.add_figure("strategic_map", F.strategic_map_figure(t.explain.get("strategic_map"))):
        s.notes.append("No survey traits in this run: no strategic persona map.")
    if not s.add_figure("barrier_heatmap", F.barrier_heatmap_figure(t.explain.get("barrier_heatmap"))):
        s.notes.append("No survey barriers in this run: no barrier heatmap.")
    s.paragraphs += _statements(t.explain_summary)
    for name, df in t.explain.items():
        s.tables.append((f"explain/{name}.csv", table_html(df)))
    if not t.explain:
        s.notes.append("No explain/ tables in this run.")
    return s


# -- toolkit -------------------------------------------------------------------------------------------------
def _toolkit_in_memory(t: RunTables, config: Config) -> dict[str, Any] | None:
    """``toolkit.json`` computed for the report when the run lacks it (its targets and Qini curve go to ``t``)."""
    try:
        from ..toolkit import build_toolkit

        res = build_toolkit(t.features, t.personas, {**t.explain, "summary": t.explain_summary}, config=config,
                            lifestyle=t.lifestyle, households=t.households, placebo=t.placebo)
    except Exception as exc:
        log.warning("toolkit could not be computed for the report: %s", exc)
        return None
    t.targets, t.qini = res.targets, res.qini
    return res.toolkit


def _toolkit_total(s: Section, tk: dict[str, Any]) -> None:
    """The expected kW per 1,000 households and MW at the population, in words, and the per-persona figure."""
    tot = tk.get("total", {})
    facts = s.facts
    facts.update(kw_per_1000=fmt(tot.get("kw_per_1000")), kw_lo=fmt(tot.get("kw_per_1000_ci_low")), kw_hi=fmt(tot.get("kw_per_1000_ci_high")),
                 mw=fmt(tot.get("mw_at_population"), ",.2f"), mw_lo=fmt(tot.get("mw_ci_low"), ",.2f"), mw_hi=fmt(tot.get("mw_ci_high"), ",.2f"),
                 population=fmt(tk.get("population"), ",d"))
    s.paragraphs.append(
        f"Across all treatment households, the expected reduction during High half-hours is {facts['kw_per_1000']} kW per "
        f"1,000 households (95% interval {facts['kw_lo']} to {facts['kw_hi']}); scaled to {facts['population']} customers, "
        f"{facts['mw']} MW ({facts['mw_lo']} to {facts['mw_hi']}). Levers from: {tk.get('rule_basis', 'n/a')}."
    )
    s.add_figure("toolkit_kw", F.toolkit_kw_figure(tk))


def _toolkit_levers(s: Section, tk: dict[str, Any]) -> None:
    """Levers and expected reductions per persona (cross-fitted), kW by time of day, and the lever rules."""
    per = pd.DataFrame(tk.get("personas", []))
    keep = [c for c in ("persona_name", "n_households", "quadrant", "lever", "rule", "kw_per_1000", "kw_per_1000_ci_low",
                        "kw_per_1000_ci_high", "kw_per_1000_insample", "kw_per_1000_peak", "kw_per_1000_peak_ci_low",
                        "kw_per_1000_peak_ci_high", "mw_at_population", "bill_change_gbp_mean", "share_paying_more")
            if c in per.columns]
    if "kw_per_1000_insample" in per.columns:
        s.paragraphs.append("Persona kW are cross-fitted: each household is assigned to a persona on alternate weeks of "
                            "the trial and measured on the other weeks, so the numbers do not inherit the luck that put "
                            "it there (kw_per_1000_insample is the selection-biased figure, for comparison).")
    tod = tk.get("total", {}).get("kw_by_time_of_day") or {}
    if tod:
        s.paragraphs.append("kW per 1,000 households by the time of day of the High half-hour: " + "; ".join(
            f"{k} {T.interval(v, 'kw_per_1000', spec='.1f', unit=' kW')}" for k, v in tod.items()) + ".")
    s.tables.append(("Levers and expected reductions per persona", table_html(per[keep] if keep else per)))
    s.tables.append(("Lever rules", table_html(pd.DataFrame(list(tk.get("rules", {}).items()), columns=["rule", "meaning"]))))


def targeting_paragraphs(g: dict[str, Any], facts: dict[str, Any]) -> list[str]:
    """Targeting in words: the cross-fitted Qini with its interval, the placebo check, the book (numbers to ``facts``)."""
    facts.update(qini_area=fmt(g.get("area_vs_random_kw"), ".3f"), qini_coef=fmt(g.get("qini_coefficient"), ".2f"),
                 qini_coef_lo=fmt(g.get("qini_coefficient_ci_low"), ".2f"),
                 qini_coef_hi=fmt(g.get("qini_coefficient_ci_high"), ".2f"), n_book=fmt(g.get("n_book"), ",d"))
    book = (f"it ranks {facts['n_book']} control households standing in for a supplier's customer book (targets.csv)"
            + (f", by the average of its {g['book_models']} fold models." if g.get("book_models") else "."))
    if "cv_folds" not in g:  # a toolkit.json written before cross-fitting: say what it is
        facts["n_holdout"] = fmt(g.get("n_holdout"), ",d")
        return [f"Targeting (an older toolkit.json, validated on a single split of {facts['n_holdout']} held-out treatment "
                f"households, without an interval): Qini coefficient {facts['qini_coef']}; re-run the toolkit stage "
                f"for a cross-fitted estimate with its interval; {book}"]
    facts.update(n_targeting=fmt(g.get("n_treatment"), ",d"))
    verdict = ("beats random targeting: the whole interval is above 0" if g.get("beats_random")
               else "is not shown to beat random targeting: the interval reaches 0")
    out = [f"Targeting: a model on pre-trial data only, checked on all {facts['n_targeting']} treatment households, each "
           f"predicted by models that never saw it ({g['cv_repeats']} random splits into {g['cv_folds']} folds), "
           f"{verdict} (Qini coefficient {facts['qini_coef']}, 95% interval {facts['qini_coef_lo']} to "
           f"{facts['qini_coef_hi']}; area between the curves {facts['qini_area']} kW); {book}"]
    if g.get("placebo_fitted"):
        facts.update(placebo_qini=fmt(g.get("placebo_qini_coefficient"), ".2f"),
                     placebo_lo=fmt(g.get("placebo_qini_coefficient_ci_low"), ".2f"),
                     placebo_hi=fmt(g.get("placebo_qini_coefficient_ci_high"), ".2f"))
        said = ("Warning: " + g.get("placebo_note", "").removeprefix("WARNING: ")) if g.get("placebo_excludes_zero") else (
            "no gain, as it must be for households that had no dynamic tariff")
        out.append(f"Placebo check: the same procedure on {fmt(g.get('placebo_n'), ',d')} control households' placebo "
                   f"responses gives a Qini coefficient of {facts['placebo_qini']} ({facts['placebo_lo']} to "
                   f"{facts['placebo_hi']}): {said}.")
    elif g.get("placebo_note"):
        out.append(f"Placebo check: {g['placebo_note']}.")
    return out


def toolkit_section(t: RunTables, config: Config) -> Section:
    """Intervention toolkit: expected kW and MW, levers per persona, do no harm, targeting and its Qini curve
    (``toolkit.json``, or computed for the report when the run lacks it)."""
    s = Section("toolkit", "Intervention toolkit")
    tk = t.toolkit
    if tk is None:
        tk = _toolkit_in_memory(t, config)
        if tk is not None:
            s.notes.append("toolkit.json was absent: the toolkit below was computed for this report (not saved).")
    if not tk:
        s.notes.append("No toolkit in this run.")
        return s
    _toolkit_total(s, tk)
    _toolkit_levers(s, tk)
    harm = tk.get("do_no_harm", {})
    if harm.get("n_paying_more") is not None:
        s.facts["n_paying_more"] = fmt(harm["n_paying_more"], ",d")
        s.facts["share_paying_more"] = fmt(100 * harm["share_paying_more"], ".0f")
        s.paragraphs.append(f"Do no harm: {s.facts['n_paying_more']} treatment households ({s.facts['share_paying_more']}%) paid more on the "
                            "dynamic tariff than they would have on the flat one.")
    g = tk.get("targeting", {})
    if g.get("fitted"):
        s.paragraphs += targeting_paragraphs(g, s.facts)
    elif g:
        s.notes.append(f"No targeting model: {g.get('note', 'not fitted')}.")
    s.add_figure("qini", F.qini_figure(t.qini))
    if t.targets is not None and not t.targets.empty:
        s.tables.append(("Top targets (targets.csv)", table_html(t.targets, max_rows=15)))
    return s


# -- exploration ---------------------------------------------------------------------------------------------
def exploration_section(t: RunTables, config: Config) -> Section:
    """Exploration: the eda stage's tables, figures and captions (``RUN/eda/``), computed here when the run
    lacks them or they are older than ``features.parquet``; a failing exploration becomes a note."""
    s = Section("exploration", "Exploration")
    try:
        res = eda.load_eda(t.run_dir) or eda.explore(t.features, config, lifestyle=t.lifestyle)
    except Exception as exc:
        log.warning("exploration failed: %s", exc)
        s.notes.append(f"The exploration could not run on this run's features: {exc}")
        return s
    captions = getattr(res, "captions", {}) or {}
    for name, fig in res.figures.items():
        s.add_figure(f"eda_{name}", fig)
    for name, df in res.tables.items():
        title = f"eda/{name}.csv" + (f" — {captions[name]}" if name in captions else "")
        s.tables.append((title, table_html(df)))
    s.paragraphs += [str(captions[n]) for n in res.figures if n in captions]
    return s

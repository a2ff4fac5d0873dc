"""``report.html``: one self-contained offline page built from a run folder's tables.

The page inlines plotly.js once (no CDN, no network fetch) and all CSS; every figure is interactive (hover
shows household ids and values) and is also written as ``figures/<name>.png`` and ``.svg``
(:func:`flexpersona.plotting.save_figure`). Every number in the text is computed here from the run's
tables and passed to the template (``templates/report.html.j2``) as a variable — none is typed in.

Optional parts are optional: without a survey the strategic map and barrier heatmap say so; without persona
structure (``stability.json``: ``structure_found`` false) the persona section says "no persona structure"
and the responses stay continuous scores; a missing ``toolkit.json`` is computed in memory; the Exploration
section appears when :func:`flexpersona.eda.explore` is importable.
"""

from __future__ import annotations

import datetime as _dt
import html as _html
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from jinja2 import Environment, FileSystemLoader, select_autoescape

from ..config import Config
from ..plotting import figure_html, plotlyjs_source, save_figure
from ..explain.runfolder import read_explain_tables
from ..store import atomic_path, read_json, read_optional_table, run_features_path
from ..simulate.recovery import find_truth
from . import figures as F
from . import trust as T
from .first_screen import first_screen_cards
from .recovery import recovery_section, truth_table
from .counterfactual import counterfactual_text, features_info

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"
MAX_TABLE_ROWS = 25


@dataclass
class RunTables:
    """The tables of a run folder (``None`` when absent)."""

    run_dir: Path
    features: pd.DataFrame
    ledger: pd.DataFrame | None = None
    lifestyle: pd.DataFrame | None = None
    events: pd.DataFrame | None = None
    placebo: pd.DataFrame | None = None
    personas: pd.DataFrame | None = None
    profiles: pd.DataFrame | None = None
    selection: pd.DataFrame | None = None
    stability: dict[str, Any] = field(default_factory=dict)
    explain: dict[str, pd.DataFrame] = field(default_factory=dict)
    explain_summary: dict[str, Any] = field(default_factory=dict)
    toolkit: dict[str, Any] | None = None
    targets: pd.DataFrame | None = None
    qini: pd.DataFrame | None = None
    manifest: dict[str, Any] = field(default_factory=dict)
    households: pd.DataFrame | None = None
    persona_matrix: pd.DataFrame | None = None
    #: ``features_info.json`` (cohort responses with intervals, reference, placebo calibration, prevalence).
    feature_info: dict[str, Any] = field(default_factory=dict)
    validation: dict[str, Any] = field(default_factory=dict)
    persistence: dict[str, Any] = field(default_factory=dict)
    persistence_events: pd.DataFrame | None = None
    prior: pd.DataFrame | None = None
    #: The simulator's planted truth when the run's input holds one (``truth.csv``), else None.
    truth: pd.DataFrame | None = None
    truth_path: Path | None = None


def load_run(run_dir: str | Path) -> RunTables:
    """Read every table the report uses from a run folder.

    Raises
    ------
    StageError
        When ``features.parquet`` is missing (nothing to report).
    """
    run = Path(run_dir)
    run_features_path(run, then=f", then flexpersona report {run}")

    def table(name: str) -> pd.DataFrame | None:
        return read_optional_table(run / name)

    def js(name: str) -> Any:
        p = run / name
        return read_json(p) if p.exists() else None

    explain = read_explain_tables(run)
    manifest = js("manifest.json") or {}
    info = js("features_info.json") or manifest.get("stages", {}).get("features", {}).get("counts", {}).get("info") or {}
    truth_path = find_truth(run, manifest.get("inputs", {}).get("inputs") or [])
    personas = table("personas.parquet")
    pca = table("persona_pca.csv")  # the personas stage's PCA picture (household_id, pc1, pc2)
    if personas is not None and pca is not None and {"pc1", "pc2"} <= set(pca.columns) and "pc1" not in personas.columns:
        personas = personas.merge(pca[["household_id", "pc1", "pc2"]], on="household_id", how="left")
    return RunTables(
        run_dir=run, features=table("features.parquet"), ledger=table("ledger.parquet"),
        lifestyle=table("lifestyle.parquet"), events=table("events.parquet"), placebo=table("placebo.parquet"),
        personas=personas, profiles=table("persona_profiles.csv"), persona_matrix=table("persona_matrix.csv"), selection=table("selection.csv"),
        stability=js("stability.json") or {}, explain=explain, explain_summary=js("explain/summary.json") or {},
        toolkit=js("toolkit.json"), targets=table("targets.csv"), qini=table("qini.csv"),
        manifest=manifest, households=table("store/households.parquet"),
        feature_info=info, validation=js("validation.json") or {},
        persistence=js("persistence.json") or {}, persistence_events=table("persistence.csv"), prior=table("prior.csv"),
        truth=truth_table(truth_path) if truth_path else None, truth_path=truth_path,
    )


# -- formatting --------------------------------------------------------------------------------------
def fmt(x: Any, spec: str = ",.1f") -> str:
    """A number for the text ("n/a" for missing)."""
    if x is None:
        return "n/a"
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    if not np.isfinite(v):
        return "n/a"
    return format(int(round(v)), spec) if spec.endswith("d") else format(v, spec)


def _cell_text(v: Any) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)) or (not isinstance(v, str) and pd.isna(v) is True):
        return "–"
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (float, np.floating)):
        return f"{float(v):,.3g}"
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}" if abs(int(v)) >= 10_000 else str(int(v))
    return str(v)


def table_html(df: pd.DataFrame | None, *, max_rows: int = MAX_TABLE_ROWS) -> str:
    """A DataFrame as a compact escaped HTML table (first ``max_rows`` rows, with a note when cut).

    No row is taller than two lines of text: each cell's text is clamped to two lines (the full text is its
    tooltip), and column names may break after an underscore.
    """
    if df is None or df.empty:
        return '<p class="note">(empty table)</p>'
    shown = df.head(max_rows)
    esc = _html.escape
    head = "".join(
        f'<th title="{esc(str(c))}"><div class="c">{esc(str(c)).replace("_", "_<wbr>")}</div></th>' for c in shown.columns
    )
    rows = []
    for rec in shown.itertuples(index=False, name=None):
        cells = []
        for v in rec:
            text = esc(_cell_text(v))
            num = isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))
            cls = ' class="n"' if num else ""
            cells.append(f'<td{cls} title="{text}"><div class="c">{text}</div></td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    body = f'<table class="tbl"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    if len(df) > max_rows:
        body += f'<p class="note">showing {max_rows} of {len(df):,} rows</p>'
    return body


def _flatten(d: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out += _flatten(v, key + ".")
        elif isinstance(v, list):
            if all(not isinstance(x, (dict, list)) for x in v) and len(v) <= 12:
                out.append((key, ", ".join(map(str, v))))
        else:
            out.append((key, v))
    return out


# -- sections ------------------------------------------------------------------------------------------
@dataclass
class Section:
    """One section of the page: anchor id, title, paragraphs (escaped text), figure names, tables (HTML)."""

    id: str
    title: str
    paragraphs: list[str] = field(default_factory=list)
    figures: list[str] = field(default_factory=list)
    tables: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _mean_ci(v: pd.Series) -> tuple[float, float, float]:
    v = v.replace([np.inf, -np.inf], np.nan).dropna().astype(float)
    if len(v) < 2:
        return (float(v.mean()) if len(v) else float("nan"), float("nan"), float("nan"))
    m, se = float(v.mean()), float(v.std(ddof=1) / np.sqrt(len(v)))
    return m, m - 1.96 * se, m + 1.96 * se


def _structure_found(t: RunTables) -> bool:
    found = [v for k, v in _flatten(t.stability) if k.split(".")[-1] == "structure_found" and v is not None]
    if found:  # top level or nested (e.g. {"existence": {"structure_found": ...}})
        return bool(found[0])
    return t.personas is not None and t.personas["persona_id"].nunique() > 1


def build_report(t: RunTables, config: Config) -> tuple[list[Section], dict[str, Any], dict[str, Any]]:
    """Sections, figures (name → plotly figure) and facts (name → formatted number) of the report."""
    figs: dict[str, Any] = {}
    facts: dict[str, Any] = {}
    sections: list[Section] = []
    f = t.features

    # 0. how far to trust this (issue 12): every first-screen number with its interval, in words
    tk0 = t.toolkit if t.toolkit is not None else None
    facts.update(T.headline_facts(t.feature_info, tk0))
    s = Section("trust", "How far to trust this")
    s.paragraphs += T.trust_paragraphs(t.feature_info, t.validation, tk0, t.persistence)
    fig = T.prior_figure(t.prior, f)
    if fig is not None:
        figs["prior_high"] = fig
        s.figures.append("prior_high")
    if not s.paragraphs:
        s.notes.append("No features_info.json / validation.json in this run: re-run the features and personas stages.")
    sections.append(s)

    # 1. data quality
    s = Section("quality", "Data quality")
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
        rows = pd.DataFrame(_flatten(counts), columns=["count", "value"]).astype(str)
        s.tables.append(("Run counts (manifest.json)", table_html(rows, max_rows=40)))
    sections.append(s)

    # 2. trial summary
    s = Section("trial", "Trial summary")
    n_t = len(f)
    n_c = int((t.lifestyle["group"] == "control").sum()) if t.lifestyle is not None and "group" in t.lifestyle.columns else None
    facts["n_treatment"] = fmt(n_t, ",d")
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
    sections.append(s)

    # 2b. planted vs recovered (simulated input with its truth file only)
    s = recovery_section(t, figs, facts)
    if s is not None:
        sections.append(s)

    # 3. responses
    s = Section("responses", "Response distributions")
    for name, fig in (("caterpillar", F.caterpillar(f, t.personas)), ("response_hist", F.response_histogram(f))):
        if fig is not None:
            figs[name] = fig
            s.figures.append(name)
    if t.placebo is not None and "high_response_pct" in t.placebo.columns:
        facts["placebo_sd"] = fmt(t.placebo["high_response_pct"].std(ddof=1))
        if "null_source" in t.placebo.columns and (t.placebo["null_source"] == "pseudo_events").any():
            s.paragraphs.append(f"Without a control group the null is the {fmt(len(t.placebo), ',d')} treatment households' "
                                f"own response to pseudo events on event-free days: the same estimator gives a spread "
                                f"(standard deviation) of {facts['placebo_sd']}% around zero.")
        else:
            s.paragraphs.append(f"On {fmt(len(t.placebo), ',d')} control households treated as pseudo-treatment, the same "
                                f"estimator gives a spread (standard deviation) of {facts['placebo_sd']}% around zero: the null.")
    sections.append(s)

    # 4. events
    s = Section("events", "Event-level response")
    fig = F.event_chart(t.events)
    if fig is not None:
        figs["events"] = fig
        s.figures.append("events")
        ycol = F.first_column(t.events, ("response_pct", "cohort_response_pct", "mean_response_pct"))
        if ycol and "band" in t.events.columns:
            g = t.events.groupby(t.events["band"].astype(str))[ycol].mean()
            s.paragraphs.append("Mean cohort response per event: " + "; ".join(f"{b} {fmt(v)}%" for b, v in g.items()) + ".")
    else:
        s.notes.append("No event-level table (events.parquet with a response column) in this run.")
    fig = T.persistence_figure(t.persistence_events, t.persistence)
    if fig is not None:
        figs["persistence"] = fig
        s.figures.append("persistence")
    s.paragraphs += T.persistence_paragraphs(t.persistence)
    sections.append(s)

    # 5. personas: selection, existence/stability, PCA, profiles, by persona
    structure = _structure_found(t)
    facts["structure_found"] = structure
    s = Section("personas", "Personas: selection, existence and stability")
    fig = F.selection_chart(t.selection)
    if fig is not None:
        figs["selection"] = fig
        s.figures.append("selection")
    if isinstance(t.stability.get("message"), str):
        s.paragraphs.append(t.stability["message"])
    if t.stability:
        s.tables.append(("Existence and stability, summarised (stability.json)", table_html(T.stability_rows(t.stability).astype(str))))
    if not structure:
        s.paragraphs.append("No persona structure: the existence test found no clusters beyond what structureless data "
                            "would give, so households are described by their continuous response scores, not personas.")
    elif t.personas is not None:
        sizes = t.personas.groupby("persona_name" if "persona_name" in t.personas.columns else "persona_id").size()
        facts["n_personas"] = fmt(len(sizes), ",d")
        s.paragraphs.append(f"{facts['n_personas']} personas: " + "; ".join(f"{k} ({fmt(v, ',d')} households)" for k, v in sizes.items()) + ".")
        if "low_confidence" in t.personas.columns:
            facts["n_low_confidence"] = fmt(int(t.personas["low_confidence"].astype("boolean").fillna(False).astype(bool).sum()), ",d")
            s.paragraphs.append(f"{facts['n_low_confidence']} households have a low-confidence assignment (soft membership below the threshold).")
    persona_tbl = t.personas if structure else None
    cols = config.personas.features if config.personas.method != "seed" else (
        "peak_reduction_weekday", "load_shift_weekday", "peak_reduction_weekend", "peak_reduction_pct_weekday", "peak_reduction_pct_weekend")
    cols = [c for c in cols if c in f.columns]
    if len(cols) < 2:
        cols = [c for c in ("high_response_pct", "low_response_pct", "rebound_pct", "high_response_pct_weekday", "high_response_pct_weekend") if c in f.columns]
    profiles_fig = F.persona_profiles(f, persona_tbl, lifestyle=t.lifestyle) if structure else None
    for name, fig in (("pca_map", F.pca_map(f, persona_tbl, cols)), ("persona_profiles", profiles_fig),
                      ("response_by_persona", F.response_by_persona(f, persona_tbl))):
        if fig is not None:
            figs[name] = fig
            s.figures.append(name)
    if structure and t.profiles is not None:
        prof = t.profiles
        key = [c for c in prof.columns if c.startswith("median_") and c.removeprefix("median_") in F.PROFILE_FEATURES]
        if key:  # the personas stage's wide profile (median_ and ratio_ of every feature): the key medians only
            ids = [c for c in ("persona_id", "persona_name", "n", "share") if c in prof.columns]
            prof = prof[ids + key + [c for c in ("persona_rationale",) if c in prof.columns]]
        s.tables.append(("Persona profiles (persona_profiles.csv; key medians)", table_html(prof)))
    sections.append(s)

    # 6. performance-potential
    s = Section("matrix", "Performance–potential matrix")
    fig = F.performance_potential(f, persona_tbl)
    if fig is not None:
        figs["performance_potential"] = fig
        s.figures.append("performance_potential")
        x, y = "base_peak_to_offpeak_ratio", "peak_reduction_pct_weekday"
        d = f[["household_id", x, y]].replace([np.inf, -np.inf], np.nan).dropna()
        quad = np.where(d[x] >= d[x].median(), "high potential", "low potential").astype(object) + " / " + np.where(
            d[y] >= d[y].median(), "high performance", "low performance").astype(object)
        if persona_tbl is not None and t.persona_matrix is not None and not t.persona_matrix.empty:
            s.tables.append(("Households per persona and quadrant (persona_matrix.csv)", table_html(t.persona_matrix)))
        elif persona_tbl is not None:
            d = d.merge(persona_tbl[["household_id", "persona_name"]], on="household_id", how="left")
            ct = pd.crosstab(d["persona_name"].fillna("unassigned"), quad)
            pct = (100 * ct.div(ct.sum(axis=1), axis=0)).round(1)
            s.tables.append(("Households per persona and quadrant (row %)", table_html(pct.reset_index())))
        facts["matrix_x_median"], facts["matrix_y_median"] = fmt(d[x].median(), ".2f"), fmt(d[y].median())
        s.paragraphs.append(f"Split at the medians: peak/off-peak ratio {facts['matrix_x_median']}, weekday peak reduction {facts['matrix_y_median']}%.")
    else:
        s.notes.append("The seed columns base_peak_to_offpeak_ratio and peak_reduction_pct_weekday are absent: no matrix.")
    sections.append(s)

    # 7. explanation: strategic map, barriers, tables
    s = Section("explain", "Explanation (stage 2)")
    strategic = t.explain.get("strategic_map")
    fig = F.strategic_map_figure(strategic)
    if fig is not None:
        figs["strategic_map"] = fig
        s.figures.append("strategic_map")
    else:
        s.notes.append("No survey traits in this run: no strategic persona map.")
    fig = F.barrier_heatmap_figure(t.explain.get("barrier_heatmap"))
    if fig is not None:
        figs["barrier_heatmap"] = fig
        s.figures.append("barrier_heatmap")
    else:
        s.notes.append("No survey barriers in this run: no barrier heatmap.")
    for stmt in _statements(t.explain_summary):
        s.paragraphs.append(stmt)
    for name, df in t.explain.items():
        s.tables.append((f"explain/{name}.csv", table_html(df)))
    if not t.explain:
        s.notes.append("No explain/ tables in this run.")
    sections.append(s)

    # 8. toolkit
    s = Section("toolkit", "Intervention toolkit")
    tk = t.toolkit
    if tk is None:
        tk = _toolkit_in_memory(t, config)
        if tk is not None:
            s.notes.append("toolkit.json was absent: the toolkit below was computed for this report (not saved).")
    if tk:
        tot = tk.get("total", {})
        facts.update(kw_per_1000=fmt(tot.get("kw_per_1000")), kw_lo=fmt(tot.get("kw_per_1000_ci_low")), kw_hi=fmt(tot.get("kw_per_1000_ci_high")),
                     mw=fmt(tot.get("mw_at_population"), ",.2f"), mw_lo=fmt(tot.get("mw_ci_low"), ",.2f"), mw_hi=fmt(tot.get("mw_ci_high"), ",.2f"),
                     population=fmt(tk.get("population"), ",d"))
        s.paragraphs.append(
            f"Across all treatment households, the expected reduction during High half-hours is {facts['kw_per_1000']} kW per "
            f"1,000 households (95% interval {facts['kw_lo']} to {facts['kw_hi']}); scaled to {facts['population']} customers, "
            f"{facts['mw']} MW ({facts['mw_lo']} to {facts['mw_hi']}). Levers from: {tk.get('rule_basis', 'n/a')}."
        )
        fig = F.toolkit_kw_figure(tk)
        if fig is not None:
            figs["toolkit_kw"] = fig
            s.figures.append("toolkit_kw")
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
        harm = tk.get("do_no_harm", {})
        if harm.get("n_paying_more") is not None:
            facts["n_paying_more"] = fmt(harm["n_paying_more"], ",d")
            facts["share_paying_more"] = fmt(100 * harm["share_paying_more"], ".0f")
            s.paragraphs.append(f"Do no harm: {facts['n_paying_more']} treatment households ({facts['share_paying_more']}%) paid more on the "
                                "dynamic tariff than they would have on the flat one.")
        g = tk.get("targeting", {})
        if g.get("fitted"):
            s.paragraphs += _targeting_paragraphs(g, facts)
        elif g:
            s.notes.append(f"No targeting model: {g.get('note', 'not fitted')}.")
        fig = F.qini_figure(t.qini)
        if fig is not None:
            figs["qini"] = fig
            s.figures.append("qini")
        if t.targets is not None and not t.targets.empty:
            s.tables.append(("Top targets (targets.csv)", table_html(t.targets, max_rows=15)))
    else:
        s.notes.append("No toolkit in this run.")
    sections.append(s)

    # 9. exploration (EDA)
    s = _exploration(t, config, figs)
    if s is not None:
        sections.append(s)
    return sections, figs, facts


def _targeting_paragraphs(g: dict[str, Any], facts: dict[str, Any]) -> list[str]:
    """Targeting in words: the cross-fitted Qini with its interval, the placebo check, the book."""
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


def _toolkit_in_memory(t: RunTables, config: Config) -> dict[str, Any] | None:
    try:
        from ..toolkit import build_toolkit

        res = build_toolkit(t.features, t.personas, {**t.explain, "summary": t.explain_summary}, config=config,
                            lifestyle=t.lifestyle, households=t.households, placebo=t.placebo)
    except Exception as exc:  # noqa: BLE001 - the report must render whatever the toolkit's problem
        log.warning("toolkit could not be computed for the report: %s", exc)
        return None
    t.targets, t.qini = res.targets, res.qini
    return res.toolkit


def _exploration(t: RunTables, config: Config, figs: dict[str, Any]) -> Section | None:
    try:
        from ..eda import explore, load_eda
    except ImportError:
        log.info("flexpersona.eda not available: no Exploration section")
        return None
    s = Section("exploration", "Exploration")
    try:
        # the eda stage's own output when it is there (the same numbers as RUN/eda/), else computed here
        res = load_eda(t.run_dir) or explore(t.features, config, lifestyle=t.lifestyle)
    except Exception as exc:  # noqa: BLE001 - one broken exploration must not cost the whole report
        log.warning("exploration failed: %s", exc)
        s.notes.append(f"The exploration could not run on this run's features: {exc}")
        return s
    captions = getattr(res, "captions", {}) or {}
    for name, fig in res.figures.items():
        key = f"eda_{name}"
        figs[key] = fig
        s.figures.append(key)
    for name, df in res.tables.items():
        title = f"eda/{name}.csv" + (f" — {captions[name]}" if name in captions else "")
        s.tables.append((title, table_html(df)))
    s.paragraphs += [str(captions[n]) for n in res.figures if n in captions]
    return s


# -- writing -------------------------------------------------------------------------------------------
def write_report(run_dir: str | Path, config: Config | None = None) -> Path:
    """Write ``report.html`` and ``figures/<name>.png|svg`` into a run folder.

    Parameters
    ----------
    run_dir
        A run folder holding at least ``features.parquet`` (see ``docs/architecture.md``).
    config
        Run configuration (``config.report.title``; defaults when None).

    Returns
    -------
    Path
        The report.

    Raises
    ------
    StageError
        When the run folder lacks ``features.parquet``.
    """
    config = config or Config()
    t = load_run(run_dir)
    sections, figs, facts = build_report(t, config)
    fig_dir = t.run_dir / "figures"
    fig_html: dict[str, str] = {}
    for name, fig in figs.items():
        if name.startswith("eda_") and (fig_dir / f"{name}.png").exists() and (fig_dir / f"{name}.svg").exists():
            pass  # the eda stage saved it already
        else:
            save_figure(fig, fig_dir / name)
        fig_html[name] = figure_html(fig, div_id=f"fig-{name}")
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html", "j2"]),
                      trim_blocks=True, lstrip_blocks=True)
    page = env.get_template("report.html.j2").render(
        title=config.report.title, run=str(t.run_dir.name), sections=sections, figures=fig_html, facts=facts,
        cards=first_screen_cards(t, facts),
        plotlyjs=plotlyjs_source(), created=t.manifest.get("created") or _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        version=t.manifest.get("versions", {}).get("flexpersona", ""), esc=_html.escape,
    )
    target = t.run_dir / "report.html"
    with atomic_path(target) as tmp:
        tmp.write_text(page, encoding="utf-8")
    log.info("report: %s (%d figures)", target, len(figs))
    return target

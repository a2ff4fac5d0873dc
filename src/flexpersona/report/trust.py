"""The report's honest-numbers parts (issue 12): "How far to trust this", the household posteriors and
prevalence, persistence over the trial, and the stability summary in words.

:func:`trust_section` is the report's first section; the other helpers give paragraphs, figures and tables
to the events, personas and toolkit sections. Everything comes from the run folder's ``features_info.json``,
``validation.json``, ``persistence.json`` / ``persistence.csv``, ``prior.csv`` and ``stability.json``; every
number comes with its interval.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..config import Config
from .blocks import Section
from .run_tables import RunTables


def trust_section(t: RunTables, config: Config) -> Section:
    """The "How far to trust this" section (issue 12): every first-screen number with its interval, in words."""
    s = Section("trust", "How far to trust this")
    s.facts.update(headline_facts(t.feature_info, t.toolkit))
    s.paragraphs += trust_paragraphs(t.feature_info, t.validation, t.toolkit, t.persistence)
    s.add_figure("prior_high", prior_figure(t.prior, t.features))
    if not s.paragraphs:
        s.notes.append("No features_info.json / validation.json in this run: re-run the features and personas stages.")
    return s


def _f(x: Any, spec: str = "+.1f") -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "n/a"
    return format(v, spec) if np.isfinite(v) else "n/a"


def interval(d: dict[str, Any] | None, key: str = "pct", lo: str = "ci_low", hi: str = "ci_high", spec: str = "+.1f",
             unit: str = "%") -> str:
    """``"-4.0% (95% interval -5.1 to -2.9)"`` from a dict with a value and its interval."""
    if not d or d.get(key) is None:
        return "n/a"
    return f"{_f(d[key], spec)}{unit} (95% interval {_f(d.get(lo), spec)} to {_f(d.get(hi), spec)})"


def share_text(p: dict[str, Any] | None) -> str:
    """``"38% (95% interval 30 to 45%)"`` of a prevalence entry (shares 0..1)."""
    if not p or p.get("share") is None:
        return "n/a"
    return f"{100 * p['share']:.0f}% (95% interval {100 * p['ci_low']:.0f} to {100 * p['ci_high']:.0f}%)"


def headline_facts(info: dict[str, Any] | None, toolkit: dict[str, Any] | None) -> dict[str, str]:
    """First-screen numbers with their intervals: cohort High/Low response, prevalence, kW per 1,000."""
    facts: dict[str, str] = {}
    info = info or {}
    coh = (info.get("cohort_response") or {}).get("treatment", {})
    if coh.get("high"):
        facts["cohort_high"] = _f(coh["high"]["pct"])
        facts["cohort_high_ci"] = f"{_f(coh['high']['ci_low'])} to {_f(coh['high']['ci_high'])}"
    if coh.get("low"):
        facts["cohort_low"] = _f(coh["low"]["pct"])
        facts["cohort_low_ci"] = f"{_f(coh['low']['ci_low'])} to {_f(coh['low']['ci_high'])}"
    prev = (info.get("prevalence") or {}).get("high_below_-5")
    if prev and prev.get("share") is not None:
        facts["prevalence_high5"] = f"{100 * prev['share']:.0f}"
        facts["prevalence_high5_ci"] = f"{100 * prev['ci_low']:.0f} to {100 * prev['ci_high']:.0f}"
    tot = (toolkit or {}).get("total", {})
    if tot.get("kw_per_1000") is not None:
        facts["kw_total"] = _f(tot["kw_per_1000"], ".1f")
        facts["kw_total_ci"] = f"{_f(tot.get('kw_per_1000_ci_low'), '.1f')} to {_f(tot.get('kw_per_1000_ci_high'), '.1f')}"
    if tot.get("kw_per_1000_peak") is not None:
        facts["kw_peak"] = _f(tot["kw_per_1000_peak"], ".1f")
        facts["kw_peak_ci"] = f"{_f(tot.get('kw_per_1000_peak_ci_low'), '.1f')} to {_f(tot.get('kw_per_1000_peak_ci_high'), '.1f')}"
        hrs = tot.get("system_peak_hours") or [16, 20]
        facts["peak_window"] = f"{int(hrs[0]):02d}:00-{int(hrs[1]):02d}:00"
    return facts


def trust_paragraphs(info: dict[str, Any] | None, validation: dict[str, Any] | None, toolkit: dict[str, Any] | None,
                     persistence: dict[str, Any] | None) -> list[str]:
    """"How far to trust this" in plain words for a supplier."""
    info = info or {}
    out = []
    coh = (info.get("cohort_response") or {}).get("treatment", {})
    if coh.get("high"):
        out.append(
            f"During High prices the dynamic-tariff households' use differed from their counterfactual by "
            f"{interval(coh['high'])} (negative = less), during Low prices by {interval(coh.get('low'))}. These cohort "
            "numbers are the most reliable in the report."
        )
    post = info.get("posterior") or {}
    width = (post.get("treatment_median_post_ci_width") or {}).get("high")
    if width is not None:
        out.append(
            f"Each household's own number is far less certain: its 95% interval is typically {width:.0f} percentage "
            "points wide even after shrinkage towards what similar households do (the posterior). Act on groups and "
            "probabilities, not on one household's point estimate."
        )
    csd = (post.get("control_posterior_mean_sd") or {}).get("high")
    if csd is not None and csd > 1.0:
        out.append(
            f"Run through the same procedure, control households (who saw no prices) still differ by {csd:.1f} "
            "percentage points (sd of their posterior means) in how they use power at High times: part of each "
            "treatment household's number is that difference, not a response to the price."
        )
    prev = info.get("prevalence") or {}
    if prev.get("high_below_-5"):
        out.append(
            f"Share of households that truly cut their High-price use by more than 5%: {share_text(prev['high_below_-5'])}; "
            f"by more than 10%: {share_text(prev.get('high_below_-10'))}. This is estimated from the whole distribution "
            "of responses, not by counting significant households."
        )
    plac = info.get("placebo") or {}
    if plac.get("n_responders") is not None:
        out.append(
            f"{plac['n_responders']} households pass the placebo-calibrated responder test; at the p-value cut-off "
            f"used, {100 * (plac.get('false_responder_rate_at_cutoff') or 0):.1f}% of control households would pass "
            f"too, so up to {plac.get('expected_false_labels', 0):.0f} of the labels may be false."
        )
    out += (validation or {}).get("trust", [])
    tot = (toolkit or {}).get("total", {})
    if tot.get("kw_per_1000") is not None:
        basis = tot.get("kw_basis", "")
        out.append(
            f"Expected reduction during High half-hours: {interval(tot, 'kw_per_1000', 'kw_per_1000_ci_low', 'kw_per_1000_ci_high', '.1f', ' kW')} "
            f"per 1,000 households ({basis})"
            + (f"; in the system-peak window: {interval(tot, 'kw_per_1000_peak', 'kw_per_1000_peak_ci_low', 'kw_per_1000_peak_ci_high', '.1f', ' kW')}."
               if tot.get("kw_per_1000_peak") is not None else ".")
        )
    coh_trend = (persistence or {}).get("all", {}).get("High") or (info.get("persistence") or {}).get("High")
    if coh_trend:
        out.append(f"Over the trial the cohort's High-price response {coh_trend['verdict']}.")
    return out


def stability_rows(stability: dict[str, Any]) -> pd.DataFrame:
    """The existence and stability results as a short table in words (not the raw keys of stability.json)."""
    rows = []

    def add(what: str, value: Any, meaning: str) -> None:
        rows.append({"check": what, "result": value, "what it means": meaning})

    if "decision" in stability:
        add("Do personas exist?", stability.get("decision"),
            f"gap statistic {_f(stability.get('statistic'), '.2f')} (structure when >= 2 or Tibshirani's k > 1)")
    if stability.get("chosen"):
        ch = stability["chosen"]
        add("Model", f"{ch.get('algorithm')}, k = {ch.get('k')}", stability.get("selection_rule", "")[:140])
    if stability.get("bootstrap_ari_mean") is not None:
        add("Stable when households are resampled?", f"mean ARI {_f(stability['bootstrap_ari_mean'], '.2f')}",
            "1 = identical personas every time; below 0.6 the personas are fragile")
    cf = stability.get("crossfit") or {}
    for key, label in (("agreement_year_halves", "first vs second half of the trial"),
                       ("agreement_weeks", "alternate weeks")):
        a = cf.get(key) or {}
        if a.get("ari") is not None:
            add(f"Same persona in {label}?", f"ARI {a['ari']:.2f}; {100 * a['same_share']:.0f}% identical",
                f"{a['n']} households; persona numbers are cross-fitted on these halves")
    if stability.get("split_half_ari") is not None:
        add("Personas refitted on each half of the year", f"ARI {_f(stability['split_half_ari'], '.2f')}",
            "a model fitted on each half separately")
    if stability.get("n_low_confidence") is not None:
        add("Households with uncertain membership", stability["n_low_confidence"],
            f"membership below {stability.get('low_confidence_below')}")
    return pd.DataFrame(rows)


def prior_figure(prior: pd.DataFrame | None, features: pd.DataFrame, band: str = "High") -> go.Figure | None:
    """The deconvolved prior of the true responses against the histogram of the raw estimates."""
    col = f"{band.lower()}_response_pct"
    if prior is None or prior.empty or col not in features.columns:
        return None
    p = prior[(prior["band"] == band) & (prior.get("group", "treatment") == "treatment")]
    if p.empty:
        return None
    raw = pd.to_numeric(features[col], errors="coerce").dropna()
    lo, hi = np.percentile(raw, [0.5, 99.5]) if len(raw) else (p["grid"].min(), p["grid"].max())
    step = float(p["grid"].iloc[1] - p["grid"].iloc[0]) if len(p) > 1 else 1.0
    width = max(2.0, (hi - lo) / 40)
    fig = go.Figure()
    fig.add_trace(go.Histogram(x=raw.clip(lo, hi), xbins={"size": width}, histnorm="probability density",
                               name="raw estimates", opacity=0.5))
    sel = (p["grid"] >= lo) & (p["grid"] <= hi)
    fig.add_trace(go.Scatter(x=p.loc[sel, "grid"], y=p.loc[sel, "weight"] / step, mode="lines",
                             name="deconvolved prior (true responses)"))
    fig.update_layout(title=f"{band} response: raw estimates vs the deconvolved distribution of true responses",
                      xaxis_title=f"{band} response [%]", yaxis_title="density", bargap=0.02)
    return fig


def persistence_figure(per_event: pd.DataFrame | None, trend: dict[str, Any] | None) -> go.Figure | None:
    """The cohort's response per event against months in the trial, with its fitted trend."""
    if per_event is None or per_event.empty:
        return None
    fig = go.Figure()
    for band in ("High", "Low"):
        d = per_event[(per_event["group"] == "all") & (per_event["band"] == band)]
        if d.empty:
            continue
        fig.add_trace(go.Scatter(x=d["months"], y=d["response_pct"], mode="markers", name=f"{band} events"))
        tr = ((trend or {}).get("all") or {}).get(band)
        if tr and tr.get("slope_pct_per_month") is not None and np.isfinite(tr["slope_pct_per_month"]):
            xs = np.array([d["months"].min(), d["months"].max()])
            fig.add_trace(go.Scatter(x=xs, y=tr["intercept_pct"] + tr["slope_pct_per_month"] * xs, mode="lines",
                                     name=f"{band} trend"))
    fig.update_layout(title="Response per event over the trial", xaxis_title="months since the first event",
                      yaxis_title="cohort response [%]")
    return fig


def persistence_paragraphs(trend: dict[str, Any] | None) -> list[str]:
    """The trend of the cohort and of every persona, in words."""
    out = []
    for group, bands in (trend or {}).items():
        if not isinstance(bands, dict):
            continue
        for band, tr in bands.items():
            if isinstance(tr, dict) and "verdict" in tr:
                who = "The cohort's" if group == "all" else f"{group}'s"
                out.append(f"{who} {band}-price response {tr['verdict']} ({tr['n_events']} events).")
    return out

"""The report's "Planted vs recovered" section: only for runs on simulated data with the planted truth.

When the run's input folder holds the simulator's ``truth.csv`` (:func:`flexpersona.simulate.recovery.find_truth`),
this section compares the estimates with what was planted: the recovered against the planted High response of
every household (with its 95% interval), the confusion table of planted against recovered personas with the
adjusted Rand index, and how often the intervals cover the planted value.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go

from ..config import Config
from ..simulate.recovery import RecoveryResult, compare_with_truth
from .blocks import Section, fmt, table_html
from .figures import hover_ids, persona_colors
from .run_tables import RunTables


def recovery_figure(rec: RecoveryResult) -> go.Figure | None:
    """Estimated against planted High response per household, with 95% intervals and the identity line."""
    d = rec.households
    if d.empty or "estimated_high" not in d.columns:
        return None
    d = d.assign(persona_name=d["persona_name"].fillna("no persona").astype(str))
    colors = persona_colors(d["persona_name"])
    fig = go.Figure()
    for name in sorted(colors):
        g = d[d["persona_name"] == name]
        err = None
        if {"estimated_high_ci_low", "estimated_high_ci_high"} <= set(g.columns):
            err = {"type": "data", "array": (g["estimated_high_ci_high"] - g["estimated_high"]).clip(lower=0),
                   "arrayminus": (g["estimated_high"] - g["estimated_high_ci_low"]).clip(lower=0),
                   "thickness": 1, "width": 0}
        custom = np.column_stack([hover_ids(g["household_id"]), g["planted_persona"].astype(str)])
        fig.add_trace(go.Scatter(
            x=g["planted_high"], y=g["estimated_high"], mode="markers", name=name, error_y=err, customdata=custom,
            marker={"color": colors[name], "size": 6},
            hovertemplate="household %{customdata[0]} (planted %{customdata[1]})<br>planted %{x:.1f}%<br>"
                          "estimated %{y:.1f}%<extra>" + name + "</extra>",
        ))
    lo = float(np.nanmin(d[["planted_high", "estimated_high"]].to_numpy(dtype=float)))
    hi = float(np.nanmax(d[["planted_high", "estimated_high"]].to_numpy(dtype=float)))
    fig.add_trace(go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", name="estimated = planted", hoverinfo="skip",
                             line={"color": "grey", "dash": "dash", "width": 1}))
    fig.update_layout(title="Recovered vs planted High response per household (95% intervals)", height=440,
                      xaxis_title="planted High effect [%]", yaxis_title="estimated High response [%]")
    return fig


def _pct(x: Any) -> str:
    return "n/a" if x is None else f"{fmt(100 * float(x), '.0f')}%"


def recovery_section(t: RunTables, config: Config) -> Section | None:
    """The section with its figure and its numbers (``facts["recovery"]``), or None without a truth file."""
    if t.truth is None:
        return None
    rec = compare_with_truth(t.features, t.personas, t.truth)
    s = Section("recovery", "Planted vs recovered")
    sm = rec.summary
    hi, lo = sm.get("high", {}), sm.get("low", {})
    s.paragraphs.append(
        f"This run's input is simulated: the simulator planted each household's response and wrote it to "
        f"{t.truth_path.name if t.truth_path else 'truth.csv'}, so the estimates can be checked against the truth. "
        f"{fmt(sm['n_households'], ',d')} treatment households in {fmt(sm.get('n_planted_personas'), ',d')} planted "
        "personas."
    )
    if hi.get("n", 0) >= 3:
        s.paragraphs.append(
            f"High response, estimated against planted: rank correlation {fmt(hi['spearman'], '.2f')}, bias "
            f"{fmt(hi['bias_pp'], '+.1f')} pp, error spread (sd) {fmt(hi['error_sd_pp'])} pp against a median "
            f"bootstrap standard error of {fmt(hi.get('median_se_pp'))} pp. The 95% intervals cover the planted value "
            f"for {_pct(hi.get('coverage'))} of households (Low response: {_pct(lo.get('coverage'))}; 95% expected)."
        )
    post = sm.get("high_post", {})
    if post.get("n", 0) >= 3:
        text = (f"Posterior means (empirical Bayes, high_response_post): error spread {fmt(post['error_sd_pp'])} pp, "
                f"rank correlation {fmt(post['spearman'], '.2f')}")
        if post.get("coverage") is not None:
            text += f"; their 95% intervals cover the planted value for {_pct(post['coverage'])} of households"
        s.paragraphs.append(text + ".")
    if sm.get("separation_se") is not None:
        ratio = sm["nearest_centres_pp"] / hi["error_sd_pp"] if hi.get("error_sd_pp") else float("nan")
        verdict = ("far enough apart to be told apart at this noise" if ratio >= 4
                   else "too close for this noise to tell every household apart")
        s.paragraphs.append(
            f"The nearest planted persona centres are {fmt(sm['nearest_centres_pp'])} pp apart: {fmt(ratio)} times "
            f"the error spread of a household's estimate ({fmt(sm['separation_se'])} median standard errors), "
            f"{verdict}.")
    if sm.get("persona_ari") is not None:
        s.paragraphs.append(
            f"Personas: adjusted Rand index {fmt(sm['persona_ari'], '.2f')} between planted and recovered personas "
            f"(1 = the same partition, 0 = chance); {fmt(sm['n_recovered_personas'], ',d')} personas recovered.")
        conf = rec.confusion.reset_index()
        s.tables.append(("Households by planted persona (rows) and recovered persona (columns)", table_html(conf)))
    else:
        s.notes.append("No personas in this run: only the responses are compared.")
    planted = rec.planted.rename(columns={"planted_persona": "planted persona", "centre_high": "centre High [%]",
                                          "centre_low": "centre Low [%]"})
    s.tables.append(("Planted personas (truth.csv)", table_html(planted)))
    s.add_figure("recovery", recovery_figure(rec))
    s.facts["recovery"] = sm
    return s


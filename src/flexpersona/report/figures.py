"""The report's plotly figures: each builder takes run tables and returns a plotly figure, or None when the
tables lack what the figure needs.

Every figure is interactive in ``report.html`` (hover shows the household id and values); the page embeds it
with :func:`flexpersona.plotting.figure_html` and saves it as PNG/SVG with :func:`flexpersona.plotting.save_figure`.
The figures of the trust, recovery and exploration sections live with their sections
(:mod:`flexpersona.report.trust`, :mod:`flexpersona.report.recovery`, :mod:`flexpersona.eda.figures`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .. import contracts
from ..plotting import COLORWAY


# -- shared by the builders ---------------------------------------------------------------------------
def hover_ids(ids: Sequence[Any]) -> np.ndarray:
    """Household (or event) ids as text for ``customdata``, so that hovering names them."""
    return np.asarray([str(i) for i in ids], dtype=object)


def persona_colors(names: Sequence[str]) -> dict[str, str]:
    """A colour of the cycle per persona name, by sorted name (the same persona has the same colour everywhere)."""
    return {n: COLORWAY[i % len(COLORWAY)] for i, n in enumerate(sorted(set(map(str, names))))}


def first_column(df: pd.DataFrame, candidates: Sequence[str]) -> str | None:
    """The first of ``candidates`` that is a column of ``df`` (the run's tables name some columns in more than one way)."""
    return next((c for c in candidates if c in df.columns), None)


# -- figures ------------------------------------------------------------------------------------------
def caterpillar(features: pd.DataFrame, personas: pd.DataFrame | None = None, *, column: str = "high_response_pct") -> go.Figure | None:
    """Household responses sorted, with their 95% intervals; hover shows the household id [%]."""
    if column not in features.columns:
        return None
    f = features.copy()
    f = f[np.isfinite(f[column].astype(float))].sort_values(column, kind="mergesort").reset_index(drop=True)
    lo, hi = f.get(column.replace("_pct", "_ci_low")), f.get(column.replace("_pct", "_ci_high"))
    rank = np.arange(1, len(f) + 1)
    err = None
    if lo is not None and hi is not None:
        err = {"type": "data", "array": (hi - f[column]).clip(lower=0).to_numpy(),
               "arrayminus": (f[column] - lo).clip(lower=0).to_numpy(), "thickness": 1, "width": 0}
    resp = f["responder"].astype("boolean").fillna(False).astype(bool) if "responder" in f.columns else pd.Series(False, index=f.index)
    fig = go.Figure()
    for flag, name, color in ((True, "significant responder", COLORWAY[0]), (False, "other", "#999999")):
        m = (resp == flag).to_numpy()
        if not m.any():
            continue
        e = None if err is None else {**err, "array": err["array"][m], "arrayminus": err["arrayminus"][m]}
        fig.add_trace(go.Scatter(
            x=rank[m], y=f.loc[m, column], mode="markers", name=name, marker={"color": color, "size": 5},
            error_y=e, customdata=hover_ids(f.loc[m, "household_id"]),
            hovertemplate="household %{customdata}<br>response %{y:.1f}%<br>rank %{x}<extra></extra>",
        ))
    fig.add_hline(y=0, line={"color": "grey", "dash": "dash", "width": 1})
    fig.update_layout(title="High-price response per household (95% intervals)", height=420,
                      xaxis_title="household (sorted by response)", yaxis_title="response during High [%]")
    return fig


def response_histogram(features: pd.DataFrame) -> go.Figure | None:
    """Distribution of the High and Low responses [%]."""
    cols = [c for c in ("high_response_pct", "low_response_pct") if c in features.columns]
    if not cols:
        return None
    fig = go.Figure()
    for c in cols:
        fig.add_trace(go.Histogram(x=features[c], name=c.split("_")[0].title(), opacity=0.6, nbinsx=30,
                                   hovertemplate="%{x}: %{y} households<extra></extra>"))
    fig.update_layout(barmode="overlay", title="Response distributions", height=360,
                      xaxis_title="response [%] (negative = less load than the counterfactual)", yaxis_title="households")
    return fig


def response_by_persona(features: pd.DataFrame, personas: pd.DataFrame | None) -> go.Figure | None:
    """Box plot of the High response per persona; hover shows household ids."""
    if personas is None or "high_response_pct" not in features.columns:
        return None
    d = features.merge(personas[["household_id", "persona_name"]], on="household_id", how="inner")
    if d.empty:
        return None
    fig = go.Figure()
    colors = persona_colors(d["persona_name"])
    for name, g in d.groupby("persona_name", sort=True):
        fig.add_trace(go.Box(y=g["high_response_pct"], name=str(name), boxpoints="all", jitter=0.4,
                             marker={"color": colors[str(name)], "size": 4}, customdata=hover_ids(g["household_id"]),
                             hovertemplate="household %{customdata}<br>%{y:.1f}%<extra></extra>"))
    fig.update_layout(title="High-price response by persona", height=380, yaxis_title="response during High [%]",
                      showlegend=False)
    return fig


def event_chart(events: pd.DataFrame | None) -> go.Figure | None:
    """Cohort response per tariff event over the trial year, with intervals, by band."""
    if events is None or events.empty:
        return None
    tcol = first_column(events, ("start", "ts", "date", "day"))
    ycol = first_column(events, ("response_pct", "cohort_response_pct", "mean_response_pct", "response"))
    if ycol is None:
        ycol = next((c for c in events.columns if "response" in c and "ci" not in c and pd.api.types.is_numeric_dtype(events[c])), None)
    if tcol is None or ycol is None:
        return None
    lo = first_column(events, ("ci_low", ycol + "_ci_low", "response_ci_low"))
    hi = first_column(events, ("ci_high", ycol + "_ci_high", "response_ci_high"))
    band = events["band"].astype(str) if "band" in events.columns else pd.Series("event", index=events.index)
    fig = go.Figure()
    colors = {"High": COLORWAY[1], "Low": COLORWAY[2]}
    for b, g in events.groupby(band, sort=True):
        err = None
        if lo and hi:
            err = {"type": "data", "array": (g[hi] - g[ycol]).clip(lower=0), "arrayminus": (g[ycol] - g[lo]).clip(lower=0),
                   "thickness": 1, "width": 0}
        eid = g["event_id"] if "event_id" in g.columns else g.index
        fig.add_trace(go.Scatter(x=pd.to_datetime(g[tcol]), y=g[ycol], mode="markers", name=str(b), error_y=err,
                                 marker={"color": colors.get(str(b), COLORWAY[3]), "size": 6}, customdata=hover_ids(eid),
                                 hovertemplate="event %{customdata}<br>%{x}<br>response %{y:.1f}%<extra></extra>"))
    fig.add_hline(y=0, line={"color": "grey", "dash": "dash", "width": 1})
    fig.update_layout(title="Cohort response per tariff event (95% intervals)", height=380,
                      xaxis_title="event start (GMT)", yaxis_title="response [%]")
    return fig


def selection_chart(selection: pd.DataFrame | None) -> go.Figure | None:
    """Elbow (inertia), silhouette and BIC against the number of personas k, one line per algorithm."""
    if selection is None or selection.empty or "k" not in selection.columns:
        return None
    if {"index", "value"} <= set(selection.columns):  # long form: algorithm, k, covariance_type, index, value
        keys = [c for c in ("algorithm", "method", "k", "covariance", "covariance_type") if c in selection.columns]
        selection = selection.pivot_table(index=keys, columns="index", values="value", aggfunc="first", dropna=False)
        selection = selection.reset_index()
        selection.columns.name = None
    metrics = [m for m in ("inertia", "silhouette", "bic", "davies_bouldin", "calinski_harabasz")
               if m in selection.columns and pd.to_numeric(selection[m], errors="coerce").notna().any()]
    if not metrics:
        return None
    from plotly.subplots import make_subplots

    ncols = min(len(metrics), 3)
    nrows = math.ceil(len(metrics) / ncols)
    titles = [{"bic": "BIC (lower = better)", "inertia": "inertia (elbow)", "silhouette": "silhouette (higher = better)",
               "davies_bouldin": "Davies-Bouldin (lower = better)", "calinski_harabasz": "Calinski-Harabasz (higher = better)"}[m]
              for m in metrics]
    fig = make_subplots(rows=nrows, cols=ncols, subplot_titles=titles)
    label_cols = [c for c in ("algorithm", "method", "covariance", "covariance_type") if c in selection.columns]
    groups = selection.groupby(label_cols, dropna=False, sort=True) if label_cols else [((("all",)), selection)]
    groups = list(groups)
    shown: set[str] = set()
    for i, m in enumerate(metrics):
        row, col = i // ncols + 1, i % ncols + 1
        for j, (key, g) in enumerate(groups):
            g = g.assign(**{m: pd.to_numeric(g[m], errors="coerce")}).dropna(subset=[m]).sort_values("k")
            if g.empty:
                continue
            name = " ".join(str(x) for x in (key if isinstance(key, tuple) else (key,)) if pd.notna(x) and str(x))
            fig.add_trace(go.Scatter(x=g["k"], y=g[m], mode="lines+markers", name=name, legendgroup=name,
                                     showlegend=name not in shown, line={"color": COLORWAY[j % len(COLORWAY)]},
                                     hovertemplate=f"{name}<br>k=%{{x}}<br>{m} %{{y:.3g}}<extra></extra>"), row, col)
            shown.add(name)
        fig.update_xaxes(title_text="k", row=row, col=col)
    fig.update_layout(title="Selection diagnostics", height=340 * nrows)
    return fig


def pca_map(features: pd.DataFrame, personas: pd.DataFrame | None, columns: Sequence[str]) -> go.Figure | None:
    """Households on the first two principal components of the (z-scored) clustering features.

    Uses the personas stage's ``pc1``/``pc2`` (columns of ``personas``) when present, else computes them.
    """
    cols = [c for c in columns if c in features.columns]
    if len(cols) < 2:
        return None
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler

    d = features[["household_id", *cols]].replace([np.inf, -np.inf], np.nan).dropna()
    if len(d) < 3:
        return None
    given = personas is not None and {"pc1", "pc2"} <= set(personas.columns)
    if personas is not None:
        keep = ["household_id", "persona_name", *(("pc1", "pc2") if given else ())]
        d = d.merge(personas[keep], on="household_id", how="inner" if given else "left")
    else:
        d["persona_name"] = "all"
    d["persona_name"] = d["persona_name"].fillna("unassigned").astype(str)
    if given:
        d = d.dropna(subset=["pc1", "pc2"])
        xy = d[["pc1", "pc2"]].to_numpy(dtype=float)
        ev = None
    else:
        pca = PCA(n_components=2, random_state=0)
        xy = pca.fit_transform(StandardScaler().fit_transform(d[cols].astype(float)))
        ev = pca.explained_variance_ratio_
    fig = go.Figure()
    colors = persona_colors(d["persona_name"])
    custom = np.column_stack([d["household_id"].astype(str), *(d[c].round(3).astype(str) for c in cols)])
    hover = "household %{customdata[0]}<br>" + "<br>".join(f"{c} %{{customdata[{i + 1}]}}" for i, c in enumerate(cols))
    for name in sorted(colors):
        m = (d["persona_name"] == name).to_numpy()
        fig.add_trace(go.Scatter(x=xy[m, 0], y=xy[m, 1], mode="markers", name=name, customdata=custom[m],
                                 marker={"color": colors[name], "size": 6}, hovertemplate=hover + "<extra>" + name + "</extra>"))
    fig.update_layout(title="Persona map (PCA of the clustering features)", height=440,
                      xaxis_title="PC1" if ev is None else f"PC1 ({100 * ev[0]:.0f}% of variance)",
                      yaxis_title="PC2" if ev is None else f"PC2 ({100 * ev[1]:.0f}% of variance)")
    return fig


#: Features the persona profile chart and table show when present (response first, then pre-trial load shape).
#: Key features of a persona profile: outcomes, then pre-trial lifestyle (each declared in :mod:`..contracts`,
#: which the report checks when this module is imported).
PROFILE_FEATURES = contracts.declared(
    "high_response_pct", "low_response_pct", "rebound_pct", "high_response_kw", "bill_saving_behavioural_pct",
    "baseload_kwh", "evening_share", "mean_daily_kwh", "weekend_weekday_ratio", "winter_summer_ratio",
    "intrinsic_daily_volatility", "base_peak_to_offpeak_ratio",
)


def persona_profiles(features: pd.DataFrame, personas: pd.DataFrame | None, *,
                     lifestyle: pd.DataFrame | None = None) -> go.Figure | None:
    """Each persona's median of the key features against all households (robust z-score), as grouped bars.

    For feature f and persona p the bar is ``(median_p(f) - median_all(f)) / s(f)``, with ``s`` the
    interquartile range / 1.349 of all households (the standard deviation when that is 0): 0 is the typical
    household, and the bars keep their meaning with any number of personas (two included), unlike a 0-1
    scale across persona medians. ``lifestyle`` fills pre-trial features that ``features`` lacks.
    Hover shows the persona's median and the all-household median in the feature's own units.
    """
    if personas is None or "persona_name" not in personas.columns:
        return None
    d = features.copy()
    if lifestyle is not None:
        extra = [c for c in PROFILE_FEATURES if c in lifestyle.columns and c not in d.columns]
        if extra:
            d = d.merge(lifestyle[["household_id", *extra]], on="household_id", how="left")
    d = d.merge(personas[["household_id", "persona_name"]], on="household_id", how="inner")
    d = d[d["persona_name"].notna() & (d["persona_name"].astype(str) != "unassigned")]
    if d.empty or d["persona_name"].nunique() < 1:
        return None
    rows = []
    for c in PROFILE_FEATURES:
        if c not in d.columns:
            continue
        v = pd.to_numeric(d[c], errors="coerce").replace([np.inf, -np.inf], np.nan)
        if v.notna().sum() < 3:
            continue
        q1, med, q3 = v.quantile([0.25, 0.5, 0.75])
        scale = (q3 - q1) / 1.349
        if not np.isfinite(scale) or scale <= 0:
            scale = v.std(ddof=1)
        if not np.isfinite(scale) or scale <= 0:
            continue
        for name, g in v.groupby(d["persona_name"].astype(str)):
            pm = g.median()
            rows.append((c, name, (pm - med) / scale, pm, med, contracts.unit_of(c)))
    if not rows:
        return None
    z = pd.DataFrame(rows, columns=["feature", "persona", "z", "median", "median_all", "unit"])
    feats = list(dict.fromkeys(z["feature"]))
    colors = persona_colors(z["persona"])
    fig = go.Figure()
    for name in sorted(colors):
        g = z[z["persona"] == name].set_index("feature").reindex(feats)
        fig.add_trace(go.Bar(
            y=feats, x=g["z"], orientation="h", name=name, marker={"color": colors[name]},
            customdata=np.column_stack([g["median"], g["median_all"], g["unit"]]),
            hovertemplate=name + "<br>%{y}: median %{customdata[0]:.3g} %{customdata[2]} "
                                 "(all households %{customdata[1]:.3g})"
                          "<br>%{x:+.2f} robust sd from all households<extra></extra>",
        ))
    fig.add_vline(x=0, line={"color": "grey", "width": 1})
    fig.update_layout(
        title="Persona profiles: each persona's median against all households", barmode="group",
        height=max(360, 28 * len(feats) * max(1, len(colors)) // 2 + 140),
        xaxis_title="(persona median − all-household median) / robust sd of all households",
        yaxis={"autorange": "reversed"}, legend={"orientation": "h", "y": -0.2},
    )
    return fig


def performance_potential(pp: Any, personas: pd.DataFrame | None) -> go.Figure | None:
    """Performance-potential matrix (a :class:`~flexpersona.features.potential.PerformancePotential`): households
    by potential (x) and performance (y), coloured by persona, with the two median splits."""
    d = pp.assignment
    if d.empty:
        return None
    d = d.merge(personas[["household_id", "persona_name"]], on="household_id", how="left") if personas is not None else d.assign(persona_name="all")
    d["persona_name"] = d["persona_name"].fillna("unassigned").astype(str)
    colors = persona_colors(d["persona_name"])
    fig = go.Figure()
    for name in sorted(colors):
        g = d[d["persona_name"] == name]
        fig.add_trace(go.Scatter(x=g["potential"], y=g["performance"], mode="markers", name=name,
                                 marker={"color": colors[name], "size": 6}, customdata=hover_ids(g["household_id"]),
                                 hovertemplate=f"household %{{customdata}}<br>{pp.x} %{{x:.2f}}<br>{pp.y} %{{y:.1f}}<extra></extra>"))
    fig.add_vline(x=pp.x_median, line={"color": "grey", "dash": "dash", "width": 1})
    fig.add_hline(y=pp.y_median, line={"color": "grey", "dash": "dash", "width": 1})
    fig.update_layout(title="Performance-potential matrix (split at the medians)", height=440,
                      xaxis_title=f"potential: {pp.x_label}", yaxis_title=f"performance: {pp.y_label}")
    return fig


def strategic_map_figure(strategic: pd.DataFrame | None) -> go.Figure | None:
    """Persona means of engagement against constraint, split at the cohort means (survey traits)."""
    if strategic is None or strategic.empty:
        return None
    e = first_column(strategic, ("engagement", "trait_engagement_score"))
    c = first_column(strategic, ("constraint", "trait_constraint_score"))
    name = first_column(strategic, ("persona", "persona_name", "persona_id"))
    if e is None or c is None or name is None:
        return None
    d = strategic.dropna(subset=[e, c])
    if d.empty:
        return None
    w = d[first_column(d, ("n_with_traits", "n")) or e].astype(float) if first_column(d, ("n_with_traits", "n")) else pd.Series(1.0, index=d.index)
    em, cm = float(np.average(d[e], weights=w)), float(np.average(d[c], weights=w))
    quad = d["quadrant"].astype(str) if "quadrant" in d.columns else pd.Series("", index=d.index)
    size = (10 + 30 * np.sqrt(w / w.max())).to_numpy()
    fig = go.Figure(go.Scatter(
        x=d[c], y=d[e], mode="markers+text", text=d[name].astype(str), textposition="top center",
        marker={"size": size, "color": [COLORWAY[i % len(COLORWAY)] for i in range(len(d))]},
        customdata=np.column_stack([d[name].astype(str), quad]),
        hovertemplate="%{customdata[0]}<br>constraint %{x:.2f}<br>engagement %{y:.2f}<br>%{customdata[1]}<extra></extra>",
    ))
    fig.add_vline(x=cm, line={"color": "grey", "dash": "dash", "width": 1})
    fig.add_hline(y=em, line={"color": "grey", "dash": "dash", "width": 1})
    for qx, qy, text in ((0.02, 0.98, "Willing & Able"), (0.98, 0.98, "Willing but Constrained"),
                         (0.02, 0.02, "Able but Unwilling"), (0.98, 0.02, "Unwilling & Unable")):
        fig.add_annotation(x=qx, y=qy, xref="paper", yref="paper", text=text, showarrow=False,
                           xanchor="left" if qx < 0.5 else "right", font={"color": "grey"})
    for axis, col in (("xaxis", c), ("yaxis", e)):
        lo, hi = float(d[col].min()), float(d[col].max())
        pad = 0.3 * (hi - lo) if hi > lo else 0.5
        fig.update_layout(**{axis: {"range": [lo - pad, hi + pad]}})
    fig.update_layout(title="Strategic persona map (survey traits; lines at the cohort means)", height=440, showlegend=False,
                      xaxis_title="constraint score (higher = more constrained)", yaxis_title="engagement score (higher = more willing)")
    return fig


def barrier_heatmap_figure(heat: pd.DataFrame | None) -> go.Figure | None:
    """Persona × barrier mean agreement (1-5)."""
    if heat is None or heat.empty:
        return None
    name = first_column(heat, ("persona", "persona_name", "persona_id"))
    items = [c for c in heat.columns if c != name and pd.api.types.is_numeric_dtype(heat[c])]
    if name is None or not items:
        return None
    z = heat[items].astype(float).to_numpy()
    fig = go.Figure(go.Heatmap(z=z, x=[i.replace("_", " ") for i in items], y=heat[name].astype(str).tolist(),
                               colorscale="Reds", zmin=1, zmax=5, texttemplate="%{z:.1f}",
                               hovertemplate="%{y}<br>%{x}: %{z:.2f}<extra></extra>"))
    fig.update_layout(title="Barriers: mean agreement by persona (1 = strongly disagree, 5 = strongly agree)", height=380)
    return fig


def qini_figure(qini: pd.DataFrame | None) -> go.Figure | None:
    """Cumulative kW reduction of the treatment households targeted by the model (ranked by out-of-fold
    predictions), at random and perfectly. When ``qini.csv`` has it, a band: the random line plus the 95%
    interval of the model's gain over random (the band clear of the random line = better than random there)."""
    if qini is None or qini.empty or len(qini) < 2:
        return None
    fig = go.Figure()
    if {"gain_over_random_kw_ci_low", "gain_over_random_kw_ci_high"} <= set(qini.columns):
        x = qini["share_targeted"].tolist()
        hi = (qini["gain_random_kw"] + qini["gain_over_random_kw_ci_high"]).tolist()
        lo = (qini["gain_random_kw"] + qini["gain_over_random_kw_ci_low"]).tolist()
        fig.add_trace(go.Scatter(x=x + x[::-1], y=hi + lo[::-1], fill="toself", mode="lines", line={"width": 0},
                                 opacity=0.25, name="model, 95% interval of its gain over random", hoverinfo="skip"))
    for col, name, dash in (("gain_model_kw", "model", None), ("gain_random_kw", "random", "dash"), ("gain_perfect_kw", "perfect", "dot")):
        fig.add_trace(go.Scatter(x=qini["share_targeted"], y=qini[col], mode="lines", name=name, line={"dash": dash},
                                 hovertemplate=f"{name}<br>%{{x:.0%}} targeted<br>%{{y:.3f}} kW<extra></extra>"))
    fig.update_layout(title="Qini / cumulative gain on treatment households, out-of-fold (cross-fitted)", height=380,
                      xaxis_title="share of treatment households targeted", yaxis_title="cumulative kW reduction at High")
    return fig


def toolkit_kw_figure(toolkit: dict[str, Any] | None) -> go.Figure | None:
    """Expected kW reduction at High per 1,000 households, per persona, with intervals, coloured by lever."""
    if not toolkit or not toolkit.get("personas"):
        return None
    d = pd.DataFrame(toolkit["personas"])
    lo = (d["kw_per_1000"] - d["kw_per_1000_ci_low"]).clip(lower=0).fillna(0)
    hi = (d["kw_per_1000_ci_high"] - d["kw_per_1000"]).clip(lower=0).fillna(0)
    lever_colors = {lv: COLORWAY[i] for i, lv in enumerate(("automation", "enabling technology", "price signal", "information", "exclude"))}
    fig = go.Figure(go.Bar(
        y=d["persona_name"].astype(str), x=d["kw_per_1000"], orientation="h",
        marker={"color": [lever_colors.get(lv, "#999999") for lv in d["lever"]]},
        error_x={"type": "data", "array": hi, "arrayminus": lo},
        customdata=np.column_stack([d["lever"].astype(str), d["n_households"].astype(str)]),
        hovertemplate="%{y}<br>%{x:.1f} kW per 1,000<br>lever %{customdata[0]}<br>%{customdata[1]} households<extra></extra>",
    ))
    fig.update_layout(title="Expected kW reduction at High per 1,000 households (95% intervals; colour = lever)",
                      height=120 + 50 * len(d), xaxis_title="kW per 1,000 households")
    return fig

"""``fp.design``: the design table over a grid, optionally checked by simulation, and its files.

Example
-------
>>> import flexpersona as fp
>>> res = fp.design(n_treatment=[200, 400], n_events=[35, 69])
>>> list(res.table.columns[:3])
['n_treatment', 'n_control', 'n_events']
"""

from __future__ import annotations

import base64
import html
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..plotting import COLORWAY, save_figure
from .calibration import LCL, Calibration, calibrate_run
from .model import (
    DEFAULT_EVENTS,
    DEFAULT_SEPARATION,
    DEFAULT_SIZES,
    DEFAULT_SPREAD,
    design_grid,
    predict,
)
from .simulation import NOISE_SCALE, simulation_check

log = logging.getLogger(__name__)


@dataclass
class DesignResult:
    """What :func:`design` computed.

    Attributes
    ----------
    table
        ``design.csv``: the columns of :data:`~flexpersona.trialdesign.model.DESIGN_COLUMNS`, then ``method``
        (``analytic``; with a simulation check also ``simulated`` and ``analytic (simulator-calibrated)``),
        ``calibrating`` (the calibrating trial's own point) and the check's ``n_replicates`` and sds.
    calibration
        The :class:`~flexpersona.trialdesign.calibration.Calibration` used.
    figure
        Cohort half-width and household SE against the number of households, one line per event count.
    """

    table: pd.DataFrame
    calibration: Calibration
    figure: go.Figure

    def own_point(self) -> dict[str, float]:
        """The analytic prediction at the calibrating trial's own sizes and event count."""
        c = self.calibration
        return predict(c, c.n_treatment, c.n_control, c.n_events)


def design(
    calibrate: str | Path | Calibration | None = None,
    *,
    n_treatment: Iterable[int] = DEFAULT_SIZES,
    n_control: Iterable[int] | None = None,
    n_events: Iterable[int] = DEFAULT_EVENTS,
    separation: float = DEFAULT_SEPARATION,
    spread: float = DEFAULT_SPREAD,
    simulate: int = 0,
    seed: int = 0,
    cache: str | Path | None = None,
) -> DesignResult:
    """Power analysis of the next trial: expected interval widths and recovery over a grid of designs.

    Parameters
    ----------
    calibrate
        A run folder (its features stage calibrates the model), a :class:`Calibration`, or None for the numbers
        measured on the whole LCL 2013 trial (:data:`~flexpersona.trialdesign.calibration.LCL`).
    n_treatment, n_control, n_events
        The grid: treatment and control sizes and High event counts (None control = the same as treatment).
        The calibrating trial's own point is always added.
    separation, spread
        Planted persona separation and within-persona spread [pp] of ``persona_recovery_ari``.
    simulate
        Replicates of the simulation check (0 = none; each replicate simulates three small trials, at the
        simulator's noise scaled to the calibration's median household SE, and runs the features stage on
        them, ≈ 40 s on an idle core).
    seed, cache
        Seed of the simulated trials and a folder keeping their measurements (re-runs are free).
    """
    cal = calibrate if isinstance(calibrate, Calibration) else LCL if calibrate is None else calibrate_run(calibrate)
    table = design_grid(cal, n_treatment, n_control, n_events, include_calibration=True,
                        separation=separation, spread=spread)
    if simulate:
        # the simulator's noise scaled to the calibration's household SE (1.6 ≈ LCL's 5.05 pp)
        noise = min(max(NOISE_SCALE * cal.se_median / LCL.se_median, 0.5), 4.0)
        check = simulation_check(simulate, seed=seed, separation=separation, spread=spread, cache=cache,
                                 noise_scale=round(noise, 3))
        table = pd.concat([table, check], ignore_index=True)
    return DesignResult(table=table, calibration=cal, figure=design_figure(table[table["method"] == "analytic"], cal))


def design_figure(table: pd.DataFrame, cal: Calibration) -> go.Figure:
    """Cohort interval half-width [pp] and household SE [pp] against households, one line per event count."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Cohort 95% interval half-width (pp)", "Household SE (pp)"))
    balanced = table[table["n_treatment"] == table["n_control"]]
    for i, (e, g) in enumerate(balanced.groupby("n_events")):
        g = g.sort_values("n_treatment")
        color = COLORWAY[i % len(COLORWAY)]
        fig.add_trace(go.Scatter(x=g["n_treatment"], y=g["cohort_ci_halfwidth_pp"], mode="lines+markers",
                                 name=f"{e} High events", line={"color": color}), row=1, col=1)
    se = table.drop_duplicates("n_events").sort_values("n_events")
    fig.add_trace(go.Scatter(x=se["n_events"], y=se["household_se_pp"], mode="lines+markers", name="household SE",
                             line={"color": "#444444"}, showlegend=False), row=1, col=2)
    fig.update_xaxes(title_text="households per arm", type="log", row=1, col=1)
    fig.update_xaxes(title_text="High events", row=1, col=2)
    fig.update_layout(title=f"Trial design (calibration: {cal.source})", width=1000, height=420)
    return fig


def _summary_lines(result: DesignResult) -> list[str]:
    """Plain-language lines of the page: the calibration and what the calibrating trial measured."""
    c = result.calibration
    own = result.own_point()
    m = c.measured
    lines = [f"Calibration: {c.source} — {c.n_treatment} treatment / {c.n_control} control households, "
             f"{c.n_events} High events; median household SE {c.se_median:.2f} pp; spread of true responses "
             f"(sd of the deconvolved prior) {c.prior_var ** 0.5:.2f} pp."]
    if m.get("cohort_ci_halfwidth_pp") == m.get("cohort_ci_halfwidth_pp"):  # not NaN
        lines.append(f"At its own size the model predicts a cohort half-width of {own['cohort_ci_halfwidth_pp']:.2f} pp "
                     f"(the trial measured {m['cohort_ci_halfwidth_pp']:.2f} pp without and the model adds the "
                     f"control group's mean error) and a household SE of {own['household_se_pp']:.2f} pp "
                     f"(measured {m['household_se_pp']:.2f}).")
    double_n = predict(c, 2 * c.n_treatment, 2 * c.n_control, c.n_events)
    double_e = predict(c, c.n_treatment, c.n_control, 2 * c.n_events)
    lines.append(f"Twice the households: cohort half-width {double_n['cohort_ci_halfwidth_pp']:.2f} pp; twice the "
                 f"events: {double_e['cohort_ci_halfwidth_pp']:.2f} pp and household SE {double_e['household_se_pp']:.2f} pp.")
    return lines


def design_html(result: DesignResult, png: Path | None) -> str:
    """A small self-contained page: the summary, the figure (inline PNG) and the table."""
    img = ""
    if png is not None and png.exists():
        img = f'<img alt="design figure" src="data:image/png;base64,{base64.b64encode(png.read_bytes()).decode()}">'
    t = result.table.copy()
    for col in t.select_dtypes("float").columns:
        t[col] = t[col].round(3)
    paras = "".join(f"<p>{html.escape(s)}</p>" for s in _summary_lines(result))
    return ("<!doctype html><html><head><meta charset='utf-8'><title>flexpersona trial design</title>"
            "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto}table{border-collapse:collapse;"
            "font-size:12px}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}img{max-width:100%}</style>"
            f"</head><body><h1>Trial design</h1>{paras}{img}<h2>design.csv</h2>"
            f"{t.to_html(index=False, border=0)}<p>Formulas: docs/design.md.</p></body></html>")


def save_design(result: DesignResult, out: str | Path) -> dict[str, Path]:
    """Write ``design.csv``, ``calibration.json``, ``design.png``/``.svg`` and ``design.html`` into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"csv": out / "design.csv", "calibration": out / "calibration.json", "html": out / "design.html"}
    result.table.to_csv(paths["csv"], index=False)
    paths["calibration"].write_text(json.dumps(result.calibration.to_dict(), indent=2), encoding="utf-8")
    try:
        saved = save_figure(result.figure, out / "design")
        paths["png"] = next(p for p in saved if p.suffix == ".png")
    except Exception as exc:  # the page and the table matter more than the picture
        log.warning("design: figure not written (%s)", exc)
    paths["html"].write_text(design_html(result, paths.get("png")), encoding="utf-8")
    return paths




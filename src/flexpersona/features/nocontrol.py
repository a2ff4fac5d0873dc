"""The counterfactual without a control group (issue 17; see ``docs/counterfactual.md``).

Many programmes have no control group (an opt-in tariff, a scheme offered to every customer). Then the
counterfactual of household h at trial half-hour t is its own baseline model fitted on the Normal
half-hours of the trial year's reference days (``features.reference_days``: all days by default, or the
non-event days with ``event_free``; the run reports both): ``ŷ_h(t) = B_h(cell)`` — the mean of the cell slot x day type (weekday/weekend) x month, falling back
to season and all months as with a control group — and, when a weather file is in the store,
``ŷ_h(t) = B_h(cell) · (1 + β_h,season · ΔT(t))`` with ``ΔT`` the day's mean temperature minus its mean over
the cell's reference days and ``β`` the household's weighted least-squares slope per season (clipped to
±5 % per °C). It is the same SQL with ``C(t)/B_C`` replaced by 1 or by the temperature factor
(:func:`flexpersona.features.definitions.reference_tables`), so the bootstrap, events, bills, personas and
everything downstream run unchanged.

What it costs: shocks common to every household — weather beyond the temperature model, holidays, news,
a trend within a month — are no longer differenced out, so they bias the cohort response by their size on
event days and widen its interval; and there is no control group to calibrate the responder test, so the
placebo null is the treatment households' own response to **pseudo events** (the windows of real High events
on event-free days, ``features.no_control_placebo_days`` of them unless ``time_placebo_days`` is set).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from ..config import CHOICES, Config
from ..errors import StageError
from ..schema import CONTROL
from ..store import Store
from .placebo import calibrate

logger = logging.getLogger(__name__)

COUNTERFACTUALS = CHOICES[("features", "counterfactual")]

#: What a run without a control group gives up (report and manifest quote it).
COST = (
    "No control group was used: the counterfactual is each household's own baseline model of its Normal "
    "half-hours ({days}; time of day x weekday/weekend x month{temperature}). Shocks common to every household "
    "(weather{beyond}, holidays, trends within a month) are not differenced out, so they bias the cohort "
    "response by their size on event days and widen its interval, and the responder test is calibrated on "
    "pseudo events on {n} event-free days instead of on control households."
)


def choose_counterfactual(store: Store, config: Config) -> dict[str, Any]:
    """Control group or not, and why.

    Parameters
    ----------
    store
        The ingest store: its ``households`` table says whether the input held control households at all.
    config
        ``features.counterfactual``: ``auto`` (no control group only when the input holds no control
        household at all — an input whose control households were all excluded by the ledger is an error
        of the feature stage, not a trial without controls), ``control_group`` or ``no_control``.

    Returns
    -------
    dict
        ``method`` (``control_group`` | ``no_control``), ``requested``, ``reason`` and
        ``input_control_households``.
    """
    requested = config.features.counterfactual
    hh = store.read("households")
    n_input_control = int((hh["group"].astype(str) == CONTROL).sum()) if "group" in hh.columns else 0
    if requested == "no_control":
        method, why = "no_control", "set by features.counterfactual (--no-control)"
    elif requested == "auto" and n_input_control == 0:
        method, why = "no_control", "the input holds no control households"
    else:
        method = "control_group"
        why = ("set by features.counterfactual" if requested == "control_group"
               else f"the input holds {n_input_control} control households")
    return {"method": method, "requested": requested, "reason": why, "input_control_households": n_input_control}


def placebo_days(config: Config, method: str) -> Config:
    """The config the calendar is built with: pseudo events switched on without a control group."""
    f = config.features
    if method == "no_control" and f.time_placebo_days == 0:
        return config.replace(features={"time_placebo_days": int(f.no_control_placebo_days)})
    return config


def temperature_deviation(calendar: pd.DataFrame, weather: pd.DataFrame) -> pd.DataFrame:
    """``ΔT`` of every trial half-hour: the day's mean temperature minus its mean over the cell's reference days.

    Parameters
    ----------
    calendar
        The calendar table (``ts``, ``day``, ``is_trial``, ``ref``, ``cell``, ``slot``, ``wkend``, ``season``).
    weather
        ``ts``, ``temperature_c`` [°C] (hourly or finer, GMT); days without a value get ``ΔT = 0``.

    Returns
    -------
    pandas.DataFrame
        ``ts``, ``tdev`` [°C] for the trial half-hours whose day has a temperature.
    """
    w = weather[["ts", "temperature_c"]].dropna()
    day = ((pd.to_datetime(w["ts"]) - pd.Timestamp("1970-01-01")) // pd.Timedelta(days=1)).astype("int64")
    day_t = w.groupby(day.to_numpy())["temperature_c"].mean()
    cal = calendar.loc[calendar["is_trial"] == 1, ["ts", "day", "ref", "cell", "slot", "wkend", "season"]].copy()
    cal["t"] = day_t.reindex(cal["day"].to_numpy()).to_numpy()
    ref = cal[(cal["ref"] == 1) & cal["t"].notna()]
    # the reference mean of the cell the household's B_h comes from (period, else season, else all months)
    m_cell = ref.groupby("cell")["t"].mean()
    m_season = ref.groupby(["slot", "wkend", "season"])["t"].mean()
    m_all = ref.groupby(["slot", "wkend"])["t"].mean()
    mean = m_cell.reindex(cal["cell"].to_numpy()).to_numpy()
    idx_s = pd.MultiIndex.from_frame(cal[["slot", "wkend", "season"]])
    mean = np.where(np.isnan(mean), m_season.reindex(idx_s).to_numpy(), mean)
    idx_a = pd.MultiIndex.from_frame(cal[["slot", "wkend"]])
    mean = np.where(np.isnan(mean), m_all.reindex(idx_a).to_numpy(), mean)
    cal["tdev"] = cal["t"].to_numpy() - mean
    out = cal.loc[cal["tdev"].notna(), ["ts", "tdev"]].reset_index(drop=True)
    return out.astype({"tdev": "float64"})


def weather_info(weather: pd.DataFrame | None, tdev: pd.DataFrame | None, n_trial_halfhours: int) -> dict[str, Any]:
    """What the temperature model had to work with (for ``info``)."""
    if weather is None:
        return {"temperature": False, "reason": "no weather table in the store (ingest --weather FILE)"}
    n = 0 if tdev is None else len(tdev)
    return {
        "temperature": n > 0,
        "weather_rows": int(len(weather)),
        "trial_halfhours_with_temperature": int(n),
        "trial_halfhours": int(n_trial_halfhours),
        "tdev_sd_c": float(tdev["tdev"].std(ddof=1)) if n > 1 else None,
    }


def pseudo_null(per: pd.DataFrame) -> pd.DataFrame:
    """The pseudo-event null in the shape of control households' response rows.

    Every measure the placebo calibration and the posteriors read from control households (``high``,
    ``low`` and their halves: ``{m}_pct``, ``{m}_se``, ``{m}_ci_low``, ``{m}_ci_high``, ``{m}_kwh``,
    ``{m}_yhat_kwh``, ``{m}_n``) is the household's pseudo-event response: without a control group the
    estimator's behaviour where nothing was planted is measured on pseudo events, for every measure alike.
    Rows: treatment households with a finite pseudo-event response, in ``per`` order; ``grp`` is ``pseudo``.
    """
    ok = np.isfinite(per["pseudo_pct"].to_numpy(dtype=float)) & np.isfinite(per["pseudo_se"].to_numpy(dtype=float))
    src = per.loc[ok].reset_index(drop=True)
    if src.empty:
        msg = ("no treatment household has a pseudo-event response: without a control group the placebo needs "
               "event-free trial days with readings (features.no_control_placebo_days, time_placebo_days)")
        raise StageError(msg)
    out = {"household_id": src["household_id"].to_numpy(), "grp": "pseudo"}
    measures = sorted({c.rsplit("_", 1)[0] for c in per.columns if c.endswith("_pct")}
                      & {c.rsplit("_", 1)[0] for c in per.columns if c.endswith("_se")})
    stats = ("pct", "se", "ci_low", "ci_high", "kwh", "yhat_kwh", "n")
    for m in measures:
        for st in stats:
            if f"pseudo_{st}" in src.columns:
                out[f"{m}_{st}"] = src[f"pseudo_{st}"].to_numpy()
    return pd.DataFrame(out)


def pseudo_event_calibration(
    per: pd.DataFrame, null: pd.DataFrame, *, alpha: float
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Responder labels of treatment households against the null of their own pseudo-event responses.

    Parameters
    ----------
    per
        Per-household responses of the treatment households (``household_id``, ``high_pct``, ``high_se``, ...).
    null
        :func:`pseudo_null` of them.
    alpha
        False discovery rate of the responder label.

    Returns
    -------
    labels
        ``household_id``, ``z_high``, ``p_high``, ``q_high``, ``responder`` (as
        :func:`~flexpersona.features.placebo.calibrate`).
    placebo
        One row per row of ``null``: ``household_id``, ``null_source`` (``pseudo_events``),
        ``high_response_pct``, ``high_response_ci_low``, ``high_response_ci_high``, ``high_response_se`` (its
        pseudo-event response), ``n_high_halfhours`` (pseudo half-hours), ``high_response_kw`` (mean kW change in
        them; the toolkit's placebo check), ``z_high``, ``p_high``, ``q_high``,
        ``responder`` (each against the other households' pseudo events).
    info
        As :func:`calibrate` plus ``null_source``.
    """
    labels, plabels, info = calibrate(per[["household_id", "high_pct", "high_se"]],
                                      null[["household_id", "high_pct", "high_se"]], alpha=alpha)
    placebo = pd.DataFrame({
        "household_id": null["household_id"].to_numpy(),
        "null_source": "pseudo_events",
        "high_response_pct": null["high_pct"].to_numpy(dtype=float),
        "high_response_ci_low": null["high_ci_low"].to_numpy(dtype=float),
        "high_response_ci_high": null["high_ci_high"].to_numpy(dtype=float),
        "high_response_se": null["high_se"].to_numpy(dtype=float),
        "n_high_halfhours": null["high_n"].to_numpy(dtype="int64"),
    })  # fmt: skip
    with np.errstate(invalid="ignore", divide="ignore"):  # mean kW change in the pseudo half-hours
        n = placebo["n_high_halfhours"].to_numpy(dtype=float)
        placebo["high_response_kw"] = np.where(n > 0, 2.0 * null["high_kwh"].to_numpy(dtype=float) / np.maximum(n, 1), np.nan)
    placebo = pd.concat([placebo, plabels.drop(columns="household_id")], axis=1)
    info["null_source"] = "pseudo_events"
    return labels, placebo, info


def cost_statement(*, temperature: bool, placebo_days: int, reference_days: str = "all") -> str:
    """The sentence the report and the manifest carry about a run without a control group."""
    return COST.format(
        days="event-free days" if reference_days == "event_free" else "all days outside events and rebound windows",
        temperature=" plus temperature" if temperature else "",
        beyond=" beyond the temperature model" if temperature else "",
        n=placebo_days,
    )

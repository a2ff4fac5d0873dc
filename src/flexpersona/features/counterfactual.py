"""The counterfactual's reference-dependent passes, the comparison of within-trial references, and the
event-day spillover (issue 17; the reasoning is in ``docs/counterfactual.md``).

The reference of the within-trial counterfactual is the Normal half-hours of the trial year. Which days lend
them is ``features.reference_days``: ``event_free`` (days without any High or Low half-hour, ±
``features.reference_margin_days``) or ``all``. When households change their use on the whole of an event day
(all-day conservation, pre-loading, rebound beyond the rebound window) the ``all`` reference takes in that
change and the High response is biased towards it by about the share of reference half-hours on event days
times the spillover; the ``event_free`` reference is not.

With ``features.compare_references`` (default on) the run makes the counterfactual twice — with its own
reference and with the other one (``event_free`` <-> ``all``; a baseline-year run is compared with the
within-trial ``event_free`` reference) — and reports both cohort responses side by side
(``info["reference_comparison"]``) and the **spillover** (``info["spillover"]``): the response of the Normal
half-hours of event days (category ``spill``) against the ``event_free`` reference, i.e. Normal-hour use on
event days relative to non-event days (control-adjusted when there is a control group), with its day-block
bootstrap interval. The cost is the reference-dependent passes run a second time, except the trial's sums: with a
control group both references' come from one scan (:func:`reference_pair`), so 3 more scans of the readings
(``ref_m``, ``rk``, ``ref_influence``), not 4.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..store import file_fingerprint
from . import definitions as q
from .engine import Engine

logger = logging.getLogger(__name__)

#: Measures summarised in the comparison of references.
COMPARED_MEASURES = ("high", "low", "rebound", "spill", "normal", "normal_free", "pseudo")


def readings_view(engine: Engine, path: Path | None = None) -> None:
    """``rd``: the readings with the registered ``cal``'s attributes, read from ``rdk`` (:data:`~.definitions.RDK`,
    the readings keyed by integers), which the engine's first call writes from ``readings_raw``, ``hh`` and ``cal``
    (at ``path`` when given, and read from there when it exists: :func:`keyed_readings_path`).

    ``rdk`` holds no calendar attribute, only the half-hour's number ``t``, so every calendar of the run (same
    years, other reference or lifestyle days) reads it; full LCL size: 5.9 s to write it when first measured, 11-14 s
    on 2026-12-02 (4.5-5.5 s to make the rows, the rest the Parquet write, whatever the codec), then every scan
    of the readings 2-3x faster than through the text ids and timestamps (the feature stage 67 -> 57 s).
    """
    engine.spill("rdk", q.RDK, path)
    engine.view("rd", q.RD)


def keyed_readings_path(store: Any, hh: pd.DataFrame, calendar: pd.DataFrame) -> Path | None:
    """Where a store keeps the keyed readings between runs (a re-run of the features re-uses them), named by a
    key over all they are made of: the readings files (name, size, modification time, content fingerprint), the
    households in ``hh``'s order (``hid``), the calendar's half-hours and the SQL; None for in-memory readings."""
    source = store.readings_source
    if not isinstance(source, str):
        return None
    h = hashlib.blake2b(digest_size=12)
    h.update(q.RDK.encode())
    for part in sorted(Path(source).parent.glob(Path(source).name)):
        st = part.stat()
        h.update(f"{part.name}:{st.st_size}:{st.st_mtime_ns}:{file_fingerprint(part)}\n".encode())
    h.update("\n".join(hh["household_id"].astype(str)).encode())
    ts = calendar["ts"]
    h.update(f"|{len(ts)}:{ts.min()}:{ts.max()}".encode())
    return store.cache_path("rdk", h.hexdigest())


def _reference_tables(
    engine: Engine, calendar: pd.DataFrame, *, no_control: bool, tdev: pd.DataFrame | None, reuse: tuple[str, ...]
) -> bool:
    """``cal`` and ``rd`` of ``calendar``, then ``ref_m``, ``bsel`` (and ``ctl_t``, ``tbeta``); returns whether the
    temperature variant is used."""
    temperature = no_control and tdev is not None
    engine.register("cal", calendar)
    readings_view(engine)
    if temperature:
        engine.register("tdev", tdev)
    for name, sql in q.reference_tables(no_control=no_control, temperature=temperature):
        if name not in reuse:
            engine.table(name, sql)
    engine.drop("ref_s", "ref_a", "ctl_m", "ctl_s", "ctl_a")
    return temperature


def _trial_views(engine: Engine, *, no_control: bool, temperature: bool) -> None:
    """``tc`` (the trial readings with ``C(t)``: read twice, so cached on Spark) and its views ``tr``, ``trh``."""
    (engine.table if engine.cache_reused else engine.view)(q.REUSED, q.trial_view(no_control=no_control,
                                                                                 temperature=temperature))
    for name, sql in q.TRIAL_VIEWS:
        engine.view(name, sql)


def _influence(engine: Engine, keep: tuple[str, ...], *, k_sums: bool = True) -> pd.DataFrame:
    """``ref_influence`` (after ``tc``): the trial's ``C(t)`` sums per household x cell (``kc``, unless ``k_sums`` is
    false: kept from the other reference of :func:`reference_pair`, whose cells are the same), divided by ``B_C``
    into the reference cells (``rk``), then per household x reference day. Tables not in ``keep`` are dropped once
    ``rk`` is made."""
    if k_sums:
        engine.table("kc", q.KC)
    engine.table("rk", q.RK)
    engine.drop("ref_m", *(n for n in (q.REUSED, "kc", "bsel", "tbeta", "ctl_t") if n not in keep))
    out = engine.fetch(q.REF_INFLUENCE)
    engine.drop("rk")
    return out


def reference_passes(
    engine: Engine,
    calendar: pd.DataFrame,
    *,
    no_control: bool = False,
    tdev: pd.DataFrame | None = None,
    events: bool = True,
) -> dict[str, pd.DataFrame]:
    """Run the passes that depend on the reference (scans 3-7 of :mod:`.definitions`) on ``calendar``.

    Parameters
    ----------
    engine
        An engine with ``hh`` and ``readings_raw`` registered.
    calendar
        The calendar table (:func:`~flexpersona.features.calendar.build_calendar`) whose ``ref`` column is the
        reference.
    no_control
        The counterfactual without a control group (``C(t)/B_C`` = 1, or the temperature factor).
    tdev
        ``ts``, ``tdev`` [°C] (no control group only): the temperature deviation of every trial half-hour.
    events
        Also fetch ``event_agg`` (per household x event sums).

    Returns
    -------
    dict
        ``day_agg``, ``ref_influence`` and (with ``events``) ``event_agg``.
    """
    out: dict[str, pd.DataFrame] = {}
    temperature = _reference_tables(engine, calendar, no_control=no_control, tdev=tdev, reuse=())
    _trial_views(engine, no_control=no_control, temperature=temperature)
    engine.table("tagg", q.TAGG)
    out["day_agg"] = engine.fetch(q.DAY_AGG)
    if events:
        out["event_agg"] = engine.fetch(q.EVENT_AGG)
    engine.drop("tagg")
    out["ref_influence"] = _influence(engine, keep=())
    return out


def reference_pair(
    engine: Engine, calendar: pd.DataFrame, other: pd.DataFrame
) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    """:func:`reference_passes` of the run's reference (``calendar``, with ``event_agg``) and of the comparison
    (``other``) with a control group, the trial's sums of both from one scan (:data:`~.definitions.TAGG_PAIR`),
    and the trial's ``C(t)`` sums of both from one ``kc`` (``other`` must have the calendar's cells: the same
    ``features.reference_period``; a ``ValueError`` otherwise).

    The comparison's ``ref_m`` and ``bsel`` are made first and kept aside (``*_2``); both sides' tables are bit for
    bit those of two calls of :func:`reference_passes` (full LCL size: one scan of the trial readings instead of
    two, ``tagg_pair`` 11.3 s where the two ``tagg`` took 9.5 + 11.2 s; issue 14).
    """
    cols = ["t", "cell", "cat", "is_trial"]
    if not calendar[cols].reset_index(drop=True).equals(other[cols].reset_index(drop=True)):
        msg = ("reference_pair needs two calendars of the same half-hours, cells and categories (one scan of the "
               "trial readings keys both references by the run's cells); build both with the same "
               "features.reference_period, or call reference_passes once per calendar")
        raise ValueError(msg)
    second = q.SECOND
    _reference_tables(engine, other, no_control=False, tdev=None, reuse=())
    for name in ("ref_m", "bsel"):
        engine.rename(name, name + second)
    _reference_tables(engine, calendar, no_control=False, tdev=None, reuse=("ctl_t",))
    _trial_views(engine, no_control=False, temperature=False)
    engine.table("tagg_pair", q.TAGG_PAIR)
    first = {"day_agg": engine.fetch(q.day_agg_sql(q.PAIR_SIDES[1])),
             "event_agg": engine.fetch(q.event_agg_sql(q.PAIR_SIDES[1]))}
    other_out = {"day_agg": engine.fetch(q.day_agg_sql(q.PAIR_SIDES[2]))}
    engine.drop("tagg_pair")
    first["ref_influence"] = _influence(engine, keep=("kc",))
    # the comparison's influence: its calendar (``ref``) and its kept tables under their own names; its K sums
    # are the run's (``kc``: the same cells)
    engine.register("cal", other)
    readings_view(engine)
    for name in ("ref_m", "bsel"):
        engine.rename(name + second, name)
    other_out["ref_influence"] = _influence(engine, keep=(), k_sums=False)
    return first, other_out


def alternative_reference(reference: str, reference_days: str) -> tuple[str, str]:
    """The reference a run is compared with: the other within-trial days, or within-trial event-free."""
    if reference == "within_trial":
        return "within_trial", ("all" if reference_days == "event_free" else "event_free")
    return "within_trial", "event_free"


def reference_label(reference: str, reference_days: str) -> str:
    """``baseline``, ``within_trial_event_free`` or ``within_trial_all``."""
    return "baseline" if reference == "baseline" else f"within_trial_{reference_days}"


def _summary(cohort: dict[str, Any]) -> dict[str, Any]:
    return {g: {m: cohort[g][m] for m in COMPARED_MEASURES if m in cohort[g]} for g in cohort}


def compare_references(
    primary: tuple[str, dict[str, Any]], other: tuple[str, dict[str, Any]] | None, *, treatment: str
) -> dict[str, Any]:
    """The cohort responses of the run's reference and the other one, side by side.

    Parameters
    ----------
    primary, other
        ``(label, cohort)`` with ``cohort`` as :func:`~flexpersona.features.response.estimate_responses`
        returns it (group -> measure -> pct, ci_low, ci_high, n_households).

    Returns
    -------
    dict
        ``used`` (label of the run's reference), ``compared`` (the other label or None), ``cohort``
        (label -> group -> measure -> values) and ``high_difference_pct`` (High response of the run's
        reference minus the other's, treatment cohort, percentage points).
    """
    out: dict[str, Any] = {"used": primary[0], "compared": None, "cohort": {primary[0]: _summary(primary[1])}}
    if other is not None:
        out["compared"] = other[0]
        out["cohort"][other[0]] = _summary(other[1])
        a = primary[1].get(treatment, {}).get("high", {}).get("pct", np.nan)
        b = other[1].get(treatment, {}).get("high", {}).get("pct", np.nan)
        out["high_difference_pct"] = float(a - b)
    return out


def spillover(
    event_free: tuple[str, dict[str, Any]] | None,
    *,
    treatment: str,
    control: str,
    has_events: bool,
    used: str | None = None,
    all_days_share: float | None = None,
) -> dict[str, Any]:
    """The event-day spillover: cohort response of the ``spill`` category against the event-free reference.

    Returns
    -------
    dict
        ``pct``, ``ci_low``, ``ci_high`` [%] (treatment cohort; negative = less Normal-hour load on event days
        than on other days), ``n_households``, ``control`` (the same for control households: ≈ 0 when the
        estimator is sound), ``reference`` (label), ``significant`` (the interval excludes 0), or ``reason``
        when it could not be computed. When the spillover is significant and the run used the all-days
        reference (``used``), ``bias_pct`` (≈ ``all_days_share`` x spillover: what it does to the High
        response) and ``advice`` (use ``features.reference_days = "event_free"``).
    """
    if event_free is None:
        return {"pct": None, "reason": "no pass used the within-trial event-free reference "
                                      "(features.compare_references is off)"}
    if not has_events:
        return {"pct": None, "reason": "the trial year has no High or Low event"}
    label, cohort = event_free
    t = cohort.get(treatment, {}).get("spill")
    if t is None:
        return {"pct": None, "reason": "no treatment household has Normal half-hours on event days"}
    out = {**t, "reference": label, "significant": bool(t["ci_low"] > 0 or t["ci_high"] < 0)}
    c = cohort.get(control, {}).get("spill")
    if c is not None:
        out["control"] = c
    if out["significant"] and used == "within_trial_all" and all_days_share is not None:
        out["bias_pct"] = float(-all_days_share * t["pct"])
        out["advice"] = (
            f"Households change their Normal-hour use on event days ({t['pct']:.1f}%): the all-days reference "
            f"({all_days_share:.0%} of its half-hours on event days) {'understates' if out['bias_pct'] > 0 else 'overstates'}"
            f" the High reduction by about {abs(out['bias_pct']):.1f} pp. For cohort numbers use features.reference_days = \"event_free\" "
            "(--reference-days event_free); see docs/counterfactual.md."
        )
    return out

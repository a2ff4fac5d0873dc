"""Which intervention lever fits each persona: documented rules over stage-1 and stage-2 evidence.

Levers
------
``price signal``
    The persona already cuts High-price load, or says it is willing and able to: a dynamic tariff works.
``enabling technology``
    Willing but constrained (routines, work, children): storage, smart appliances, heat-pump controls
    remove the constraint.
``automation``
    Able but unwilling (convenience first): direct load control / automated response, opt-out based.
``information``
    Weak or uncertain responders without a clearer barrier: feedback, event notices, education.
``exclude``
    Unwilling and unable, or households that use *more* at High price: do not target them.

Rules (applied in this order; the first that matches wins, and its id is recorded in ``toolkit.json``)
----------------------------------------------------------------------------------------------------
With the survey's strategic quadrant of the persona (METHODS A: persona means of
``trait_engagement_score`` and ``trait_constraint_score`` split at the cohort means):

* ``Q1`` Unwilling & Unable → exclude.
* ``Q2`` Willing but Constrained → enabling technology.
* ``Q3`` Able but Unwilling → automation.
* ``Q4`` Willing & Able and a strong, significant response → price signal.
* ``Q5`` Willing & Able but a weak or uncertain response → information.

Without a survey (fallback on response and pre-trial lifestyle; the toolkit says so):

* ``R1`` consumption at High price significantly *up* (interval above zero) → exclude.
* ``R2`` strong, significant reduction → price signal.
* ``R3`` weak/uncertain, and a peak-heavy load (evening share or peak/off-peak ratio above the cohort
  median) → automation (there is load at peak that control can move).
* ``R4`` weak/uncertain, and a high baseload (above the cohort median) → enabling technology (always-on
  load that storage or smarter appliances can shift).
* ``R5`` otherwise → information.

"Strong" means a mean High response of at least ``ToolkitConfig.strong_response_pct`` percent reduction and,
where the ``responder`` label exists, at least ``ToolkitConfig.min_responder_share`` responders;
"significant" means the persona's kW-reduction interval excludes zero.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..config import Config

log = logging.getLogger(__name__)

LEVERS = ("automation", "enabling technology", "price signal", "information", "exclude")

WILLING_ABLE = "Willing & Able"
WILLING_CONSTRAINED = "Willing but Constrained"
ABLE_UNWILLING = "Able but Unwilling"
UNWILLING_UNABLE = "Unwilling & Unable"
QUADRANTS = (WILLING_ABLE, WILLING_CONSTRAINED, ABLE_UNWILLING, UNWILLING_UNABLE)

RULES = {
    "Q1": "survey quadrant Unwilling & Unable -> exclude",
    "Q2": "survey quadrant Willing but Constrained -> enabling technology",
    "Q3": "survey quadrant Able but Unwilling -> automation",
    "Q4": "survey quadrant Willing & Able with a strong, significant High reduction -> price signal",
    "Q5": "survey quadrant Willing & Able but a weak or uncertain High response -> information",
    "R1": "no survey: consumption at High price significantly up -> exclude",
    "R2": "no survey: strong, significant High reduction -> price signal",
    "R3": "no survey: weak/uncertain response and a peak-heavy pre-trial load -> automation",
    "R4": "no survey: weak/uncertain response and a high pre-trial baseload -> enabling technology",
    "R5": "no survey: weak/uncertain response otherwise -> information",
}

TRAIT_ENGAGEMENT = "trait_engagement_score"
TRAIT_CONSTRAINT = "trait_constraint_score"
_QUADRANT_COLUMNS = ("quadrant", "strategic_quadrant", "strategic_group")
_PERSONA_KEYS = ("persona_id", "persona_name", "persona")


def quadrant_of(engagement: float, constraint: float, engagement_mean: float, constraint_mean: float) -> str:
    """The seed's strategic quadrant: willing = engagement at or above the cohort mean; able = constraint
    below the cohort mean."""
    willing = engagement >= engagement_mean
    able = constraint < constraint_mean
    if willing and able:
        return WILLING_ABLE
    if willing:
        return WILLING_CONSTRAINED
    if able:
        return ABLE_UNWILLING
    return UNWILLING_UNABLE


def strategic_quadrants(explain: Mapping[str, Any] | None) -> pd.Series | None:
    """Persona → strategic quadrant, found in the explain tables, or ``None`` without a survey.

    Looks for a table keyed by ``persona_id`` or ``persona`` (the explain stage's persona label: name, else
    id) with a quadrant column (``quadrant``/``strategic_quadrant``), e.g. ``explain/strategic_map.csv``;
    else for a table with the persona means of the two traits (``engagement``/``trait_engagement_score``
    and ``constraint``/``trait_constraint_score``) and splits them at the cohort means (weighted by an
    ``n``/``n_households`` column when present). The index holds the persona key as text.
    """
    if not explain:
        return None
    tables = []
    for v in explain.values():
        if isinstance(v, pd.DataFrame) and not v.empty:
            key = next((k for k in _PERSONA_KEYS if k in v.columns), None)
            if key is not None:
                tables.append((key, v))
    for key, df in tables:
        col = next((c for c in _QUADRANT_COLUMNS if c in df.columns), None)
        if col is not None and df[col].notna().any():
            d = df.dropna(subset=[col]).drop_duplicates(key)
            return pd.Series(d[col].astype(str).to_numpy(), index=d[key].astype(str).to_numpy(), dtype=object)
    for key, df in tables:
        e_col = next((c for c in (TRAIT_ENGAGEMENT, "engagement") if c in df.columns), None)
        c_col = next((c for c in (TRAIT_CONSTRAINT, "constraint") if c in df.columns), None)
        if e_col is None or c_col is None:
            continue
        d = df.dropna(subset=[e_col, c_col]).drop_duplicates(key)
        if d.empty:
            continue
        wcol = next((c for c in ("n_with_traits", "n_households", "n", "count") if c in d.columns), None)
        w = d[wcol].astype(float).to_numpy() if wcol else np.ones(len(d))
        e_mean = float(np.average(d[e_col].astype(float), weights=w))
        c_mean = float(np.average(d[c_col].astype(float), weights=w))
        out = {
            str(r[key]): quadrant_of(float(r[e_col]), float(r[c_col]), e_mean, c_mean) for _, r in d.iterrows()
        }
        return pd.Series(out, dtype=object)
    return None


def choose_lever(evidence: Mapping[str, Any], config: Config) -> tuple[str, str]:
    """The lever and the id of the rule that chose it, for one persona's evidence.

    Parameters
    ----------
    evidence
        ``mean_response_pct`` (mean ``high_response_pct``, negative = reduction [%]), ``kw_ci_low`` and
        ``kw_ci_high`` (interval of the mean kW *reduction* per household [kW]), ``responder_share``
        (share of significant responders, NaN when unknown), ``quadrant`` (str or None),
        ``peak_heavy`` and ``high_baseload`` (bool, pre-trial load shape against the cohort median).
    config
        Thresholds in ``config.toolkit``.

    Returns
    -------
    (lever, rule_id)
    """
    tk = config.toolkit
    pct = float(evidence.get("mean_response_pct", np.nan))
    lo, hi = float(evidence.get("kw_ci_low", np.nan)), float(evidence.get("kw_ci_high", np.nan))
    share = evidence.get("responder_share", np.nan)
    share = np.nan if share is None else float(share)
    significant = np.isfinite(lo) and lo > 0
    strong = (
        np.isfinite(pct)
        and -pct >= tk.strong_response_pct
        and (not np.isfinite(share) or share >= tk.min_responder_share)
    )
    quadrant = evidence.get("quadrant")
    if isinstance(quadrant, str) and quadrant in QUADRANTS:
        if quadrant == UNWILLING_UNABLE:
            return "exclude", "Q1"
        if quadrant == WILLING_CONSTRAINED:
            return "enabling technology", "Q2"
        if quadrant == ABLE_UNWILLING:
            return "automation", "Q3"
        if strong and significant:
            return "price signal", "Q4"
        return "information", "Q5"
    if np.isfinite(hi) and hi < 0:
        return "exclude", "R1"
    if strong and significant:
        return "price signal", "R2"
    if evidence.get("peak_heavy"):
        return "automation", "R3"
    if evidence.get("high_baseload"):
        return "enabling technology", "R4"
    return "information", "R5"


def lifestyle_flags(lifestyle: pd.DataFrame | None, members: pd.Series) -> dict[str, bool]:
    """``peak_heavy`` / ``high_baseload`` of a persona: its median pre-trial feature above the cohort's.

    Parameters
    ----------
    lifestyle
        Pre-trial features of the cohort (``household_id`` plus ``evening_share``,
        ``base_peak_to_offpeak_ratio``, ``baseload_kwh`` where available).
    members
        Household ids of the persona.
    """
    out = {"peak_heavy": False, "high_baseload": False}
    if lifestyle is None or lifestyle.empty:
        return out
    mine = lifestyle[lifestyle["household_id"].astype(str).isin(set(members.astype(str)))]
    if mine.empty:
        return out
    for col in ("evening_share", "base_peak_to_offpeak_ratio"):
        if col in lifestyle.columns and mine[col].notna().any():
            if float(mine[col].median()) > float(lifestyle[col].median()):
                out["peak_heavy"] = True
    if "baseload_kwh" in lifestyle.columns and mine["baseload_kwh"].notna().any():
        out["high_baseload"] = float(mine["baseload_kwh"].median()) > float(lifestyle["baseload_kwh"].median())
    return out

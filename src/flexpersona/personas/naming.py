"""Persona names from the meaning of their centres, with a one-sentence rationale and stable ids.

Ids: personas are ordered by their centre's High response, most negative (strongest peak reduction) first,
and numbered ``P1``, ``P2``, ...

Names (first rule that matches; ``h`` = centre High response, ``l`` = centre Low response, both [%] of the
counterfactual, negative = less consumption):

==============================  ==========================
rule                            name
==============================  ==========================
h <= -15 and l >= +5            Engaged shifters
h <= -15                        Strong peak reducers
h <= -5                         Peak reducers
h >= +5                         Contrarians
l >= +5                         Off-peak loaders
l <= -5                         Off-peak savers
otherwise (abs(h) < 5)          Inert
==============================  ==========================

When the Low response is not among the clustering features, ``l`` is taken as 0. ``PersonasConfig.names``
overrides a name by id.

Two personas never share a name. When the rule gives several personas the same name, each is qualified by its
centre on the axis where their centres differ most (``Engaged shifters (High -52%)`` and ``Engaged shifters
(High -31%)``); centres that round alike on that axis are qualified on both axes, and names still equal
after that (or an override that repeats another name) get their id appended.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence

import pandas as pd

#: Thresholds of the naming rules [% of counterfactual].
STRONG_HIGH = -15.0
REDUCE_HIGH = -5.0
INCREASE_HIGH = 5.0
LOW_SHIFT = 5.0

NAMING_RULES = (
    f"High <= {STRONG_HIGH:g}% and Low >= +{LOW_SHIFT:g}%: Engaged shifters; High <= {STRONG_HIGH:g}%: "
    f"Strong peak reducers; High <= {REDUCE_HIGH:g}%: Peak reducers; High >= +{INCREASE_HIGH:g}%: Contrarians; "
    f"Low >= +{LOW_SHIFT:g}%: Off-peak loaders; Low <= -{LOW_SHIFT:g}%: Off-peak savers; otherwise Inert"
)


def persona_name(high: float, low: float | None = None) -> tuple[str, str]:
    """Name of a persona from its centre, and the rule that gave it.

    Parameters
    ----------
    high : float
        Centre High response [% of counterfactual; negative = reduction].
    low : float or None
        Centre Low response [%]; ``None``/NaN counts as 0.

    Returns
    -------
    (name, reason)

    Examples
    --------
    >>> persona_name(-25.0, 20.0)[0]
    'Engaged shifters'
    >>> persona_name(12.0, -8.0)[0]
    'Contrarians'
    """
    lo = 0.0 if low is None or (isinstance(low, float) and math.isnan(low)) else float(low)
    if high <= STRONG_HIGH and lo >= LOW_SHIFT:
        return "Engaged shifters", f"High <= {STRONG_HIGH:g}% with Low >= +{LOW_SHIFT:g}%"
    if high <= STRONG_HIGH:
        return "Strong peak reducers", f"High <= {STRONG_HIGH:g}%"
    if high <= REDUCE_HIGH:
        return "Peak reducers", f"{STRONG_HIGH:g}% < High <= {REDUCE_HIGH:g}%"
    if high >= INCREASE_HIGH:
        return "Contrarians", f"High >= +{INCREASE_HIGH:g}%"
    if lo >= LOW_SHIFT:
        return "Off-peak loaders", f"|High| < {INCREASE_HIGH:g}% with Low >= +{LOW_SHIFT:g}%"
    if lo <= -LOW_SHIFT:
        return "Off-peak savers", f"|High| < {INCREASE_HIGH:g}% with Low <= -{LOW_SHIFT:g}%"
    return "Inert", f"|High| < {INCREASE_HIGH:g}% and |Low| < {LOW_SHIFT:g}%"


def name_personas(
    centres: pd.DataFrame,
    *,
    overrides: Mapping[str, str] | None = None,
    high_label: str = "High response",
    low_label: str = "Low response",
) -> pd.DataFrame:
    """Ids, names and rationales of personas from their centres.

    Parameters
    ----------
    centres : DataFrame
        One row per persona in id order (ascending centre High response), columns ``high`` [%], ``low``
        [%] (may be NaN), ``n`` (households); the rows are numbered ``P1..Pk`` in that order.
    overrides : mapping of str to str, optional
        Names by persona id (``{"P1": "Night owls"}``).
    high_label, low_label : str
        How the two axes are called in the rationale.

    Returns
    -------
    DataFrame
        ``persona_id``, ``persona_name``, ``persona_rationale``, ``high``, ``low``, ``n``, in id order.
    """
    df = centres.reset_index(drop=True)
    df["persona_id"] = [f"P{i + 1}" for i in range(len(df))]
    total = max(int(df["n"].sum()), 1)
    named = [persona_name(float(h), None if pd.isna(lo) else float(lo)) for h, lo in zip(df["high"], df["low"])]
    overrides = dict(overrides or {})
    names = distinct_names(
        [str(overrides[p]) if p in overrides else n for (n, _), p in zip(named, df["persona_id"])],
        df["high"].astype(float).tolist(), df["low"].astype(float).tolist(), list(df["persona_id"]),
        fixed=[p in overrides for p in df["persona_id"]],
    )
    rationales = []
    for i, row in df.iterrows():
        pid = row["persona_id"]
        low_txt = "" if pd.isna(row["low"]) else f" and {low_label} {row['low']:+.1f}%"
        rule = named[i][1]
        if pid in overrides:
            rule = f"name set in the config; rule would give {named[i][0]!r}: {rule}"
        rationales.append(
            f"{pid} '{names[i]}' ({int(row['n'])} households, {100 * row['n'] / total:.0f}%): centre "
            f"{high_label} {row['high']:+.1f}%{low_txt} ({rule})."
        )
    df["persona_name"] = names
    df["persona_rationale"] = rationales
    return df[["persona_id", "persona_name", "persona_rationale", "high", "low", "n"]]


def distinct_names(
    names: Sequence[str],
    high: Sequence[float],
    low: Sequence[float],
    ids: Sequence[str],
    *,
    fixed: Sequence[bool] | None = None,
) -> list[str]:
    """Make persona names unique: rule names shared by several personas are qualified by their centres.

    Parameters
    ----------
    names
        Name of each persona (from :func:`persona_name` or an override).
    high, low
        Centre High and Low responses [%] (Low may be NaN: counted as 0).
    ids
        Persona ids (``P1``...), appended as the last resort.
    fixed
        True for names set by the config: not qualified, but their id is appended if they repeat another name.

    Returns
    -------
    list of str
        Names, all different.

    Examples
    --------
    >>> distinct_names(["Inert", "Inert", "Contrarians"], [-1.0, 3.0, 9.0], [8.0, -6.0, 0.0], ["P1", "P2", "P3"])
    ['Inert (Low +8%)', 'Inert (Low -6%)', 'Contrarians']
    """
    fixed = list(fixed) if fixed is not None else [False] * len(names)
    lo = [0.0 if v is None or math.isnan(v) else float(v) for v in low]
    out = list(names)
    groups: dict[str, list[int]] = defaultdict(list)
    for i, n in enumerate(names):
        if not fixed[i]:
            groups[n].append(i)
    for name, idx in groups.items():
        if len(idx) < 2:
            continue
        dh = max(high[i] for i in idx) - min(high[i] for i in idx)
        dl = max(lo[i] for i in idx) - min(lo[i] for i in idx)
        axis, vals = ("High", high) if dh >= dl else ("Low", lo)
        labels = [f"{name} ({axis} {vals[i]:+.0f}%)" for i in idx]
        if len(set(labels)) < len(labels):
            labels = [f"{name} (High {high[i]:+.1f}%, Low {lo[i]:+.1f}%)" for i in idx]
        for i, lab in zip(idx, labels):
            out[i] = lab
    counts = Counter(out)
    return [f"{n} ({pid})" if counts[n] > 1 else n for n, pid in zip(out, ids)]


def assignment_table(ids: pd.Series, names: pd.DataFrame, labels, proba, low_confidence_below: float) -> pd.DataFrame:
    """One row per clustered household: its persona id, name and rationale (from ``names``, indexed by cluster
    label), soft membership (the largest posterior, 0-1) and the low-confidence flag."""
    import numpy as np

    membership = np.asarray(proba).max(axis=1)
    return pd.DataFrame({
        "household_id": ids.to_numpy(),
        "persona_id": names["persona_id"].to_numpy()[labels],
        "persona_name": names["persona_name"].to_numpy()[labels],
        "membership": membership,
        "low_confidence": membership < low_confidence_below,
        "persona_rationale": names["persona_rationale"].to_numpy()[labels],
    })

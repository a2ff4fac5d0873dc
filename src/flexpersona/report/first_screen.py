"""The report's first screen: the headline cards under the title.

One small function per card; each takes the run's tables (:class:`~flexpersona.report.run_tables.RunTables`) and
the facts the sections computed, and returns a :class:`Card` or None when the run lacks what it needs.
:data:`CARDS` lists them in page order: add a card by adding a function there.

The cohort card gives the treatment cohort's High response with its interval (``features_info.json``, through
:func:`flexpersona.report.trust.headline_facts`); the household card the *median* household (a few extreme
households drag the mean: on the real 2013 data the mean is -6.1% and the median -4.0%), the median posterior
mean when ``features.parquet`` has ``high_response_post``, with a household-bootstrap interval; the prevalence card (share of households below -5%,
with interval) replaces the count of significant responders when the features stage wrote it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .blocks import fmt
from .run_tables import RunTables


@dataclass(frozen=True)
class Card:
    """One headline number: ``value`` (formatted, with unit), ``label`` (what it is), ``detail`` (one short
    line of context), ``id`` (stable, for tests and styling)."""

    id: str
    value: str
    label: str
    detail: str = ""


def _finite(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s, errors="coerce").replace([np.inf, -np.inf], np.nan).dropna()


def median_interval(values: pd.Series, *, replicates: int = 1000, seed: int = 0) -> tuple[float, float, float]:
    """Median of ``values`` with a 95% percentile-bootstrap interval over households [same units]."""
    v = _finite(values).to_numpy(dtype=float)
    if v.size == 0:
        return float("nan"), float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    meds = np.median(v[rng.integers(0, v.size, size=(replicates, v.size))], axis=1)
    lo, hi = np.quantile(meds, [0.025, 0.975])
    return float(np.median(v)), float(lo), float(hi)


def wilson_interval(k: int, n: int) -> tuple[float, float]:
    """95% Wilson interval of a share ``k / n`` (0..1)."""
    if n <= 0:
        return float("nan"), float("nan")
    z, p = 1.959964, k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(centre - half), float(centre + half)


def households_card(t: RunTables, facts: dict[str, Any]) -> Card | None:
    detail = ""
    if facts.get("n_control") not in (None, "n/a"):
        detail = f"against {facts['n_control']} control households"
    if facts.get("n_excluded") is not None:
        detail += ("; " if detail else "") + f"{facts['n_excluded']} excluded by the ledger"
    return Card("households", facts.get("n_treatment", "n/a"), "treatment households analysed", detail)


def cohort_card(t: RunTables, facts: dict[str, Any]) -> Card | None:
    """The cohort's High response with its interval (``features_info.json``; :func:`trust.headline_facts`)."""
    if facts.get("cohort_high") is None:
        return None
    detail = f"95% interval {facts.get('cohort_high_ci', 'n/a')}"
    if facts.get("cohort_low") is not None:
        detail += f"; Low {facts['cohort_low']}% ({facts.get('cohort_low_ci', 'n/a')})"
    return Card("cohort_high", f"{facts['cohort_high']}%", "cohort High response", detail)


def high_response_card(t: RunTables, facts: dict[str, Any]) -> Card | None:
    """The median household's High response (the median posterior mean when there are posteriors)."""
    f = t.features
    post = "high_response_post" in f.columns and _finite(f["high_response_post"]).size > 0
    col = "high_response_post" if post else "high_response_pct"
    if col not in f.columns or _finite(f[col]).empty:
        return None
    med, lo, hi = median_interval(f[col])
    label = ("median household High response (posterior mean, noise shrunk)" if post
             else "median household High response")
    detail = f"95% interval {fmt(lo)} to {fmt(hi)}"
    if "high_response_pct" in f.columns:
        raw = _finite(f["high_response_pct"])
        detail += (f"; raw estimates: median {fmt(raw.median())}%, mean {fmt(raw.mean())}%" if post
                   else f"; mean {fmt(raw.mean())}%, pulled by the largest responses")
    return Card("high_response", f"{fmt(med)}%", label, detail)


def prevalence_card(t: RunTables, facts: dict[str, Any]) -> Card | None:
    """Share of households cutting High use by more than 5% (empirical-Bayes prevalence, with interval)."""
    if facts.get("prevalence_high5") is None:
        return None
    return Card("prevalence", f"{facts['prevalence_high5']}%", "of households cut High use by more than 5%",
                f"95% interval {facts.get('prevalence_high5_ci', 'n/a')}%")


def responders_card(t: RunTables, facts: dict[str, Any]) -> Card | None:
    """Placebo-calibrated significant responders (only without the prevalence, which answers it better)."""
    if facts.get("share_responders") is None or facts.get("prevalence_high5") is not None:
        return None
    flags = t.features["responder"].astype("boolean").fillna(False).astype(bool)
    lo, hi = wilson_interval(int(flags.sum()), int(len(flags)))
    return Card("responders", f"{facts['share_responders']}%", "significant responders",
                f"95% interval {fmt(100 * lo, '.0f')} to {fmt(100 * hi, '.0f')}%; {facts.get('n_responders', 'n/a')} "
                "households, placebo-calibrated")


def kw_card(t: RunTables, facts: dict[str, Any]) -> Card | None:
    if facts.get("kw_per_1000") is None:
        return None
    detail = f"95% interval {facts.get('kw_lo', 'n/a')} to {facts.get('kw_hi', 'n/a')} kW"
    if facts.get("kw_peak") is not None:
        detail += f"; {facts['kw_peak']} kW at {facts.get('peak_window', 'peak')} ({facts.get('kw_peak_ci', 'n/a')})"
    return Card("kw", f"{facts['kw_per_1000']} kW", "less load per 1,000 households at High", detail)


def mw_card(t: RunTables, facts: dict[str, Any]) -> Card | None:
    if facts.get("mw") is None:
        return None
    return Card("mw", f"{facts['mw']} MW", f"at {facts.get('population', 'n/a')} customers",
                f"95% interval {facts.get('mw_lo', 'n/a')} to {facts.get('mw_hi', 'n/a')} MW")


def personas_card(t: RunTables, facts: dict[str, Any]) -> Card | None:
    if facts.get("structure_found") is False:
        return Card("personas", "none", "persona structure", "households stay on a continuous response scale")
    if facts.get("n_personas") is None:
        return None
    return Card("personas", facts["n_personas"], "personas", "see Personas below")


#: The cards of the first screen, in page order.
CARDS: tuple[Callable[[RunTables, dict[str, Any]], Card | None], ...] = (
    households_card, cohort_card, high_response_card, prevalence_card, responders_card, kw_card, mw_card,
    personas_card,
)


def first_screen_cards(t: RunTables, facts: dict[str, Any]) -> list[Card]:
    """Every card of :data:`CARDS` the run has the numbers for."""
    return [c for c in (build(t, facts) for build in CARDS) if c is not None]

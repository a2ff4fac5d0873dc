"""The feature stage's progress bar: the weight of each SQL statement and numpy step, and an engine that moves it.

The weights are the seconds each step took at 1/10 of the London trial (557 households, 21.5 M half-hours, 2
threads; issue 14), so that the bar's ETA is meaningful. :class:`TrackedEngine` wraps any engine: each
``table`` and ``fetch`` is a step of the bar, and on DuckDB the running statement moves the bar within its
step (``query_progress``); on Spark the bar moves per statement. Display only: the SQL and the results are
those of the wrapped engine.
"""

from __future__ import annotations

from typing import Any

from ..config import Config
from ..progress import QUIET, Bar, bar
from . import definitions as q

#: Seconds of each statement (materialised table or fetch) at 1/10 size.
SQL_SECONDS: dict[str, float] = {
    "hday": 2.3, "hcls": 2.0, "coverage": 0.05, "household_means": 0.1, "seed_daily": 0.05, "daily_stats": 0.05,
    "cells": 0.01, "ref_m": 1.4, "ref_s": 0.3, "ref_a": 0.2, "ctl_m": 0.01, "ctl_s": 0.01, "ctl_a": 0.01,
    "ctl_t": 1.0, "bsel": 0.4, "tbeta": 0.4, "tagg": 3.3, "tagg_pair": 5.0, "day_agg": 0.45, "event_agg": 0.05,
    "kc": 2.0, "rk": 0.6, "ref_influence": 3.0,
}  # fmt: skip
# (``tagg_pair``, both references' trial sums, measured 1.67 × the former ``rk`` at 1/10 size, ~5 s; ``kc`` and
# ``rk`` by their ratio to ``tagg_pair`` in a later run at 1/10 size, 0.51 and 0.15 s against 1.26 s)
#: Seconds of the numpy steps after the engine: responses with their bootstrap (both references), posteriors,
#: and the rest (placebo, tables, events, persistence).
STEP_SECONDS: dict[str, float] = {"responses": 5.4, "posteriors": 1.7, "tables": 0.4}
#: Households of the measured run.
MEASURED_HOUSEHOLDS = 557
#: A statement not listed above.
OTHER_SECONDS = 0.05


def _fetch_names() -> dict[str, str]:
    return {q.COVERAGE: "coverage", q.HOUSEHOLD_MEANS: "household_means", q.SEED_DAILY: "seed_daily",
            q.DAILY_STATS: "daily_stats", q.DAY_AGG: "day_agg", q.EVENT_AGG: "event_agg",
            q.REF_INFLUENCE: "ref_influence", q.day_agg_sql(q.PAIR_SIDES[1]): "day_agg",
            q.day_agg_sql(q.PAIR_SIDES[2]): "day_agg", q.event_agg_sql(q.PAIR_SIDES[1]): "event_agg"}


def planned_seconds(config: Config, *, no_control: bool) -> float:
    """The stage's total weight: pass 1, the reference passes (twice when references are compared), numpy."""
    w = SQL_SECONDS.get
    pass1 = sum(w(n, 0.0) for n in ("hday", "hcls", "coverage", "household_means", "seed_daily", "daily_stats"))
    tables = [n for n, _ in q.reference_tables(no_control=no_control)] + [n for n, _ in q.TABLES_AFTER_TRH]
    ref = sum(w(n, OTHER_SECONDS) for n in (*tables, "day_agg", "event_agg", "ref_influence"))
    # the comparison reuses the control sums (ctl_t) and fetches no events; with a control group both references'
    # trial sums come from one scan (tagg_pair instead of two tagg), and one kc serves both
    comparison = ref - w("ctl_t", 0.0) * (not no_control) - w("event_agg", 0.0)
    if config.features.compare_references and not no_control:
        comparison += w("tagg_pair", 0.0) - 2 * w("tagg", 0.0) - w("kc", 0.0)
    return pass1 + ref + comparison * bool(config.features.compare_references) + sum(STEP_SECONDS.values())


def feature_bar(config: Config, *, no_control: bool, households: int, enabled: bool) -> Bar | Any:
    """The stage's bar (:data:`flexpersona.progress.QUIET` when ``enabled`` is false); before its first step
    ends it expects the measured seconds scaled by the number of households."""
    return bar("features", planned_seconds(config, no_control=no_control), enabled=enabled,
               seconds_per_unit=households / MEASURED_HOUSEHOLDS)


class TrackedEngine:
    """An engine whose statements move a progress bar; everything else is the wrapped engine's."""

    def __init__(self, engine: Any, progress: Bar) -> None:
        self._engine, self._bar = engine, progress
        self._con = getattr(engine, "con", None)  # DuckDB: polled for the running statement's progress
        self._fetches = _fetch_names()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)

    def table(self, name: str, sql: str) -> None:
        with self._bar.step(SQL_SECONDS.get(name, OTHER_SECONDS), self._con):
            self._engine.table(name, sql)

    def fetch(self, sql: str) -> Any:
        name = self._fetches.get(sql, "")
        with self._bar.step(SQL_SECONDS.get(name, OTHER_SECONDS), self._con):
            return self._engine.fetch(sql)


def tracked(engine: Any, progress: Any) -> Any:
    """``engine`` itself when the bar is off (no wrapper, no cost), else a :class:`TrackedEngine`."""
    return engine if progress is QUIET else TrackedEngine(engine, progress)

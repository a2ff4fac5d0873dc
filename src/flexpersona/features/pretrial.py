"""Pre-trial (lifestyle) features of any households from their readings alone: no tariff, no groups.

The same SQL as the features stage (:mod:`.definitions`: pass 1 ``hday``/``hcls``, then ``HOUSEHOLD_MEANS``
and ``DAILY_STATS`` over the lifestyle half-hours) on the same calendar (:func:`.calendar.build_calendar` with
the reference ``baseline``, as the stage's pass 1 uses it), on the same engine (DuckDB, or Spark), then
:func:`.lifestyle.lifestyle_from_halfhourly`. So a household of a run gets the very features the run computed
for it (up to the floating-point order of sums), and a household that never was in a trial gets features
defined exactly as the targeting model was trained on.

Sufficiency: the lifestyle window is the half-hours that feed the features (``life = 1`` in the calendar: the
baseline year for ``halfhourly``, the trial year's event-free days for ``within_trial_normal``). A household
with fewer non-missing readings in it than ``data.min_baseline_coverage`` (``halfhourly``; the ledger's
``insufficient_baseline`` rule) or ``data.min_trial_coverage`` (``within_trial_normal``) of its half-hours is
too short to score.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..config import Config
from ..errors import StageError
from . import definitions as q
from .calendar import build_calendar
from .counterfactual import readings_view
from .engine import make_engine
from .lifestyle import LIFESTYLE_COLUMNS, lifestyle_from_daily, lifestyle_from_halfhourly

#: Group label of households scored outside a trial (the SQL groups by it; it means nothing else).
BOOK = "book"
SOURCES = ("halfhourly", "within_trial_normal", "daily")

#: Daily totals of the readings (the Kaggle daily table's definition: kWh summed over a day's half-hours, and
#: how many there were), for runs whose lifestyle came from the daily table (``lifestyle_source = daily``); an
#: exact sum (:func:`.definitions.fixed_sum`), so the same on any engine and thread count.
DAILY_SQL = """
SELECT CAST(household_id AS VARCHAR) AS household_id, CAST(ts AS DATE) AS day, {kwh_sum} AS kwh_sum,
  CAST(COUNT(kwh) AS BIGINT) AS n_readings
FROM readings_raw WHERE year(ts) = {year}
GROUP BY CAST(household_id AS VARCHAR), CAST(ts AS DATE) ORDER BY household_id, day
"""

COVERAGE_SQL = """
SELECT household_id, CAST(SUM(CASE WHEN life = 1 THEN n ELSE 0 END) AS BIGINT) AS n_life,
  CAST(SUM(n) AS BIGINT) AS n_calendar
FROM hday_l GROUP BY household_id
"""


def required_coverage(config: Config, lifestyle_source: str) -> float:
    """Share of the lifestyle window's half-hours a household needs to be scored (the ledger's rules)."""
    if lifestyle_source == "within_trial_normal":
        return config.data.min_trial_coverage
    return config.data.min_baseline_coverage


def lifestyle_window(config: Config, lifestyle_source: str, tariff: pd.DataFrame | None = None) -> pd.DataFrame:
    """The calendar of the run (reference ``baseline``) for a lifestyle source.

    Raises
    ------
    StageError
        For the ``daily`` source (the features came from a daily table, not from half-hours) or
        ``within_trial_normal`` without the trial's tariff (its event days define the window).
    """
    if lifestyle_source not in SOURCES:
        msg = (f"the run's lifestyle features came from an unknown source {lifestyle_source!r}; "
               f"known: {', '.join(SOURCES)}")
        raise StageError(msg)
    if tariff is None:
        if lifestyle_source == "within_trial_normal":
            msg = ("the run's lifestyle features came from the trial year's event-free days; scoring needs the "
                   "run's tariff (RUN/store/tariff) to find them")
            raise StageError(msg)
        tariff = pd.DataFrame({"ts": pd.Series(dtype="datetime64[us]"), "band": pd.Series(dtype=object),
                               "price": pd.Series(dtype="float64")})
    return build_calendar(tariff, config, reference="baseline", lifestyle_source=lifestyle_source).table


def pretrial_features(
    readings: Any,
    config: Config,
    *,
    lifestyle_source: str = "halfhourly",
    tariff: pd.DataFrame | None = None,
    household_ids: list[str] | None = None,
) -> pd.DataFrame:
    """Lifestyle features and the coverage of the lifestyle window of every household in ``readings``.

    Parameters
    ----------
    readings
        Canonical readings (``household_id``, ``ts``, ``kwh``): a pandas DataFrame or Arrow table (read in
        place) or a Parquet glob.
    config
        The run's config (years, bank holidays, ``features.engine``, minimum coverages).
    lifestyle_source
        The run's source (``features_info.json``: ``lifestyle_source``).
    tariff
        The run's tariff; needed for ``within_trial_normal`` only.
    household_ids
        Households to compute (default: every household of ``readings``).

    Returns
    -------
    pandas.DataFrame
        ``household_id``, ``lifestyle_source``, :data:`~.lifestyle.LIFESTYLE_COLUMNS`, ``n_life`` (non-missing
        readings in the window), ``window_halfhours``, ``coverage`` (their ratio) and ``sufficient`` (bool).
    """
    if lifestyle_source == "daily":
        return _pretrial_from_daily(readings, config, household_ids)
    cal = lifestyle_window(config, lifestyle_source, tariff)
    engine = make_engine(config)
    try:
        engine.readings(readings)
        if household_ids is None:
            ids = engine.fetch("SELECT DISTINCT household_id FROM readings_raw")
            household_ids = ids["household_id"].astype(str).tolist()
        hh = pd.DataFrame({"household_id": sorted(set(household_ids))}).assign(grp=BOOK)
        engine.register("hh", hh.assign(hid=np.arange(len(hh), dtype="int64")))
        engine.register("cal", cal)
        readings_view(engine)
        for name, sql in q.PASS1:
            engine.table(name, sql)
        engine.view("hday_l", q.with_life("hday", lifestyle_source))
        engine.view("hcls_l", q.with_life("hcls", lifestyle_source))
        means = engine.fetch(q.HOUSEHOLD_MEANS)
        daily = engine.fetch(q.DAILY_STATS)
        cover = engine.fetch(COVERAGE_SQL)
    finally:
        engine.close()
    life = lifestyle_from_halfhourly(means, daily, source=lifestyle_source)
    out = hh[["household_id"]].merge(life.drop(columns=["group"]), on="household_id", how="left")
    out["lifestyle_source"] = lifestyle_source
    cover = cover.assign(household_id=cover["household_id"].astype(str)).set_index("household_id")
    out["n_life"] = cover["n_life"].reindex(out["household_id"]).fillna(0).astype("int64").to_numpy()
    window = int((cal["life"] == 1).sum())
    out["window_halfhours"] = window
    out["coverage"] = out["n_life"] / max(window, 1)
    out["sufficient"] = (out["coverage"] >= required_coverage(config, lifestyle_source)) & (out["n_life"] > 0)
    return out[["household_id", "lifestyle_source", *LIFESTYLE_COLUMNS, "n_life", "window_halfhours", "coverage",
                "sufficient"]]


def _pretrial_from_daily(readings: Any, config: Config, household_ids: list[str] | None) -> pd.DataFrame:
    """The ``daily`` source: the readings' daily totals of the baseline year through the stage's own
    :func:`.lifestyle.lifestyle_from_daily` (complete days only); coverage = complete days / days of the year."""
    engine = make_engine(config)
    try:
        engine.readings(readings)
        daily = engine.fetch(DAILY_SQL.format(kwh_sum=q.fixed_sum("kwh"), year=int(config.data.baseline_year)))
        ids = engine.fetch("SELECT DISTINCT CAST(household_id AS VARCHAR) AS h FROM readings_raw")["h"].tolist()
    finally:
        engine.close()
    hh = pd.DataFrame({"household_id": sorted(set(ids if household_ids is None else household_ids))}).assign(grp=BOOK)
    life, _ = lifestyle_from_daily(daily, hh, year=config.data.baseline_year)
    out = life.drop(columns=["group"])
    complete = daily[daily["n_readings"] == 48].groupby("household_id").size()
    days = pd.Timestamp(f"{config.data.baseline_year}-12-31").day_of_year
    out["n_life"] = (48 * complete.reindex(out["household_id"]).fillna(0)).astype("int64").to_numpy()
    out["window_halfhours"] = 48 * days
    out["coverage"] = out["n_life"] / out["window_halfhours"]
    out["sufficient"] = (out["coverage"] >= required_coverage(config, "daily")) & (out["n_life"] > 0)
    return out[["household_id", "lifestyle_source", *LIFESTYLE_COLUMNS, "n_life", "window_halfhours", "coverage",
                "sufficient"]]

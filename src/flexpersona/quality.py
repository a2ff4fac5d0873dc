"""The quality ledger: one row per input household, with its data-quality counts and kept|excluded status.

Later stages use only households whose ledger ``status`` is ``kept`` (join on ``household_id``); readings of
excluded households may stay in the store.

Exclusion reasons, in the order they are checked:

``in_both_groups``
    the sources say treatment and control.
``unknown_group``
    no source gives a group.
``no_readings``
    not one non-missing reading was kept.
``insufficient_baseline``
    coverage of the baseline year below ``Config.data.min_baseline_coverage`` -- only checked when the
    ingest holds half-hourly baseline data at all (real 2013-only files have none; then no household is
    excluded for lacking it).
``insufficient_trial``
    coverage of the trial year below ``Config.data.min_trial_coverage``.
"""

from __future__ import annotations

import calendar
import logging

import numpy as np
import pandas as pd

from .config import Config

logger = logging.getLogger(__name__)

KEPT, EXCLUDED = "kept", "excluded"
REASONS = ("in_both_groups", "unknown_group", "no_readings", "insufficient_baseline", "insufficient_trial")

#: Columns of the ledger that always exist (``readings_<year>`` columns follow, one per year seen).
LEDGER_COLUMNS = [
    "household_id", "group", "acorn", "acorn_grouped", "source_layout", "first_reading", "last_reading",
    "n_readings", "n_values", "n_missing", "missing_share", "coverage_baseline", "coverage_trial",
    "has_halfhourly_baseline", "n_duplicates", "n_conflicting", "n_negative", "n_above_cap",
    "n_unparseable_timestamp", "n_unparseable_value", "n_off_grid", "n_malformed", "status", "reason",
]
_COUNTS = ["n_readings", "n_values", "n_duplicates", "n_conflicting", "n_negative", "n_above_cap",
           "n_unparseable_timestamp", "n_unparseable_value", "n_off_grid", "n_malformed", "values_baseline",
           "values_trial"]


def half_hours_in_year(year: int) -> int:
    """Number of half-hours of a calendar year (GMT, no daylight saving): 17,520 or 17,568."""
    return (366 if calendar.isleap(year) else 365) * 48


def build_ledger(
    stats: pd.DataFrame,
    households: pd.DataFrame,
    config: Config,
    *,
    in_both_groups: set[str] | frozenset[str] = frozenset(),
    baseline_halfhourly: bool | None = None,
) -> pd.DataFrame:
    """Build the ledger from per-household counts and the households table.

    Parameters
    ----------
    stats
        One row per input household: ``household_id``, ``source_layout``, ``first_reading``,
        ``last_reading``, the counts ``n_readings`` (kept half-hours), ``n_values`` (non-missing),
        ``values_baseline``, ``values_trial``, ``n_duplicates``, ``n_conflicting``, ``n_negative``,
        ``n_above_cap``, ``n_unparseable_timestamp``, ``n_unparseable_value``, ``n_off_grid``, ``n_malformed``
        (rows or cells of the household rejected for a missing or extra field or a cut last line; missing counts
        are 0), and ``readings_<year>`` columns (non-missing values per calendar year).
    households
        Canonical households table (``group`` None when unknown or conflicting).
    config
        ``config.data`` gives the years and minimum coverages.
    in_both_groups
        Households the sources put in both groups.
    baseline_halfhourly
        Whether the ingest has half-hourly data in the baseline year at all; None = decide from ``stats``.

    Returns
    -------
    pandas.DataFrame
        :data:`LEDGER_COLUMNS` plus ``readings_<year>``, one row per household of ``stats``.
    """
    d = config.data
    led = stats.copy()
    for c in _COUNTS:
        if c not in led:
            led[c] = 0
        led[c] = led[c].fillna(0).astype("int64")
    hh = households.drop_duplicates("household_id").set_index("household_id")
    for c in ("group", "acorn", "acorn_grouped"):
        led[c] = led["household_id"].map(hh[c]) if c in hh else None
        led[c] = led[c].astype(object).where(led[c].notna(), None)
    first = pd.to_datetime(led["first_reading"])
    last = pd.to_datetime(led["last_reading"])
    expected = ((last - first) / pd.Timedelta(minutes=30)).fillna(-1).astype("int64") + 1
    led["n_missing"] = (expected - led["n_values"]).clip(lower=0).astype("int64")
    led["missing_share"] = np.where(expected > 0, led["n_missing"] / expected.where(expected > 0, 1), np.nan)
    led["coverage_baseline"] = led["values_baseline"] / half_hours_in_year(d.baseline_year)
    led["coverage_trial"] = led["values_trial"] / half_hours_in_year(d.trial_year)
    led["has_halfhourly_baseline"] = led["values_baseline"] > 0
    if baseline_halfhourly is None:
        baseline_halfhourly = bool(led["has_halfhourly_baseline"].any())
    reason = pd.Series([None] * len(led), index=led.index, dtype=object)
    checks = [
        ("in_both_groups", led["household_id"].isin(set(in_both_groups))),
        ("unknown_group", led["group"].isna()),
        ("no_readings", led["n_values"] == 0),
        ("insufficient_baseline",
         pd.Series(baseline_halfhourly, index=led.index) & (led["coverage_baseline"] < d.min_baseline_coverage)),
        ("insufficient_trial", led["coverage_trial"] < d.min_trial_coverage),
    ]
    for code, mask in checks:
        reason = reason.where(~(mask & reason.isna()), code)
    led["reason"] = reason
    led["status"] = np.where(reason.isna(), KEPT, EXCLUDED)
    years = sorted(c for c in led.columns if c.startswith("readings_"))
    for c in years:
        led[c] = led[c].fillna(0).astype("int64")
    led = led[LEDGER_COLUMNS + years].sort_values("household_id", ignore_index=True)
    logger.info("ledger: %d households, %d kept", len(led), int((led["status"] == KEPT).sum()))
    return led


def summarize_ledger(ledger: pd.DataFrame) -> pd.DataFrame:
    """Households per group x status x reason, with their non-missing readings.

    Returns
    -------
    pandas.DataFrame
        ``group``, ``status``, ``reason``, ``households``, ``values`` (sorted; ``group``/``reason`` shown as
        ``"-"`` when missing).
    """
    df = ledger.assign(group=ledger["group"].fillna("-"), reason=ledger["reason"].fillna("-"))
    out = (df.groupby(["group", "status", "reason"], dropna=False)
           .agg(households=("household_id", "size"), values=("n_values", "sum"))
           .reset_index())
    return out.sort_values(["status", "group", "reason"], ignore_index=True)


def kept_households(ledger: pd.DataFrame) -> pd.DataFrame:
    """The rows of the ledger with ``status == "kept"``."""
    return ledger.loc[ledger["status"] == KEPT].reset_index(drop=True)


def input_households(households: pd.DataFrame, ledger: pd.DataFrame) -> pd.DataFrame:
    """The households table as the ingest keeps it: the rows of the households in the ledger, i.e. those of the
    input's readings (a households file may list every household of the trial, 5,566 in the LCL one)."""
    ids = set(ledger["household_id"].astype(str))
    return households[households["household_id"].astype(str).isin(ids)].reset_index(drop=True)


def summarize_store(store_dir: str) -> pd.DataFrame:
    """:func:`summarize_ledger` of the ledger in an ingest store (the ``flexpersona quality`` table).

    Raises
    ------
    flexpersona.errors.StageError
        When the store has no ledger (ingest first).
    """
    from .store import Store

    return summarize_ledger(Store(store_dir).read("ledger"))


def ledger_from_readings(readings, households: pd.DataFrame, config: Config) -> pd.DataFrame:
    """The quality ledger of canonical in-memory readings (as :func:`flexpersona.read_readings` returns them).

    The readings are already clean (rejected rows and merged duplicates are the ingest's business), so the
    row-problem counts are zero; coverage, groups and the exclusion rules are those of :func:`build_ledger`.
    ``readings`` is a pandas DataFrame or an Arrow table (read in place by DuckDB, never copied).
    """
    import duckdb

    con = duckdb.connect()
    try:
        con.register("rd", readings)
        y = con.execute("""
            SELECT CAST(household_id AS VARCHAR) AS household_id, year(ts) AS y, count(*) AS n_readings,
                   count(kwh) AS n_values, min(ts) AS first, max(ts) AS last
            FROM rd GROUP BY ALL
        """).df()
    finally:
        con.close()
    g = y.groupby("household_id")
    stats = pd.DataFrame({
        "first_reading": g["first"].min(), "last_reading": g["last"].max(),
        "n_readings": g["n_readings"].sum(), "n_values": g["n_values"].sum(),
    })
    vals = y.pivot_table(index="household_id", columns="y", values="n_values", aggfunc="sum", fill_value=0)
    b, t = config.data.baseline_year, config.data.trial_year
    stats["values_baseline"] = vals[b] if b in vals else 0
    stats["values_trial"] = vals[t] if t in vals else 0
    for c in vals.columns:
        stats[f"readings_{int(c)}"] = vals[c]
    stats["source_layout"] = "memory"
    stats = stats.rename_axis("household_id").reset_index()
    known = households.assign(household_id=households["household_id"].astype(str))
    return build_ledger(stats, known, config)

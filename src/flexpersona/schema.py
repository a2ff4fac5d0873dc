"""Canonical data model of flexpersona.

Every reader maps its layout onto these tables once, at ingest; every later stage sees only these names.

Tables
------
readings
    ``household_id`` (str), ``ts`` (timestamp, naive, GMT, start of the half-hour), ``kwh`` (float64, kWh in
    the half-hour; missing stays missing, never zero). The store's readings files also say where each reading
    came from (:data:`SOURCE_COLUMNS`); readers select the three canonical columns.
households
    ``household_id`` (str), ``group`` (``treatment`` | ``control``), ``acorn`` (str, nullable),
    ``acorn_grouped`` (str, nullable).
tariff
    ``ts`` (timestamp, GMT, start of the half-hour), ``band`` (``High`` | ``Normal`` | ``Low``),
    ``price`` (float64, GBP/kWh).
survey
    ``household_id`` (str) and one string column per question (``Q01`` .. ``Q335``), one row per household.
daily
    ``household_id`` (str), ``day`` (date), ``kwh_sum`` (float64, kWh), ``n_readings`` (int, half-hours that
    made the sum; 48 = complete day), plus ``kwh_mean``, ``kwh_max``, ``kwh_min``, ``kwh_std`` where known.
"""

from __future__ import annotations

import pyarrow as pa

TREATMENT = "treatment"
CONTROL = "control"
GROUPS = (TREATMENT, CONTROL)

HIGH, NORMAL, LOW = "High", "Normal", "Low"
BANDS = (HIGH, NORMAL, LOW)

#: Real 2013 dToU prices [GBP/kWh].
BAND_PRICES = {HIGH: 0.6720, NORMAL: 0.1176, LOW: 0.0399}
#: Flat tariff of the control group in 2013 [GBP/kWh].
FLAT_PRICE = 0.14228

HALF_HOURS_PER_DAY = 48

READINGS_SCHEMA = pa.schema(
    [
        pa.field("household_id", pa.string(), nullable=False),
        pa.field("ts", pa.timestamp("us"), nullable=False),
        pa.field("kwh", pa.float64()),
    ]
)

#: Where each ingested reading came from, written by the ingest after the canonical columns of its readings files
#: (name -> DuckDB type): the file's index in the ingest (``ingest.json``'s files) and the group and Acorn texts
#: of the reading's line, trimmed -- the text columns that the ingest's files have
#: (:func:`flexpersona.io.spec.source_columns`; NULL for a file without it, and all NULL for a half-hour merged
#: from duplicate rows). The ingest counts the group labels from them instead of reading the text twice.
SOURCE_COLUMNS = {"file_idx": "INTEGER", "source_group": "VARCHAR", "source_acorn": "VARCHAR",
                  "source_acorn_grouped": "VARCHAR"}

HOUSEHOLDS_SCHEMA = pa.schema(
    [
        pa.field("household_id", pa.string(), nullable=False),
        pa.field("group", pa.string()),
        pa.field("acorn", pa.string()),
        pa.field("acorn_grouped", pa.string()),
    ]
)

TARIFF_SCHEMA = pa.schema(
    [
        pa.field("ts", pa.timestamp("us"), nullable=False),
        pa.field("band", pa.string(), nullable=False),
        pa.field("price", pa.float64(), nullable=False),
    ]
)

DAILY_SCHEMA = pa.schema(
    [
        pa.field("household_id", pa.string(), nullable=False),
        pa.field("day", pa.date32(), nullable=False),
        pa.field("kwh_sum", pa.float64()),
        pa.field("n_readings", pa.int64()),
        pa.field("kwh_mean", pa.float64()),
        pa.field("kwh_max", pa.float64()),
        pa.field("kwh_min", pa.float64()),
        pa.field("kwh_std", pa.float64()),
    ]
)


def band_from_price(price: float) -> str:
    """Tariff band of a UK Data Service price [GBP/kWh]: > 0.6 High, < 0.04 Low, else Normal."""
    if price > 0.6:
        return HIGH
    if price < 0.04:
        return LOW
    return NORMAL

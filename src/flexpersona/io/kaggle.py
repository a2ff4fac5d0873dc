"""Kaggle "Smart meters in London": ``halfhourly_dataset`` (long), ``hhblock_dataset`` (day x ``hh_0..hh_47``)
and ``daily_dataset`` (daily aggregates, kept as the ``daily`` table)."""

from __future__ import annotations

import duckdb
import pandas as pd

from ..errors import InputError
from .sources import SourceFile, read_header, register_relation
from .spec import DAY_SLOTS, LONG, LayoutSpec, find_column
from .staging import id_sql, input_error_from_duckdb, kwh_sql, line_sql

HALFHOURLY = "kaggle_halfhourly"
HHBLOCK = "kaggle_hhblock"
DAILY = "kaggle_daily"

DAILY_COLUMNS = {  # Kaggle name -> canonical daily name
    "LCLid": "household_id",
    "day": "day",
    "energy_sum": "kwh_sum",
    "energy_count": "n_readings",
    "energy_mean": "kwh_mean",
    "energy_max": "kwh_max",
    "energy_min": "kwh_min",
    "energy_std": "kwh_std",
}


def hh_slot_of(name: str) -> int | None:
    """Half-hour of the day of a ``hh_<n>`` column name (``"hh_1"`` -> 1), None for other names."""
    low = name.strip().lower()
    if not low.startswith("hh_") or not low[3:].isdigit():
        return None
    s = int(low[3:])
    return s if s < 48 else None


HALFHOURLY_SPEC = LayoutSpec(
    name=HALFHOURLY,
    shape=LONG,
    household="LCLid",
    timestamp="tstp",
    value_prefix="energy(",
    description="Kaggle halfhourly_dataset (LCLid, tstp, energy(kWh/hh))",
)
HHBLOCK_SPEC = LayoutSpec(
    name=HHBLOCK,
    shape=DAY_SLOTS,
    household="LCLid",
    timestamp="day",
    slot_of=hh_slot_of,
    description="Kaggle hhblock_dataset (LCLid, day, hh_0 .. hh_47)",
)


def matches_halfhourly(header: list[str]) -> bool:
    return HALFHOURLY_SPEC.matches(header)


def matches_hhblock(header: list[str]) -> bool:
    return HHBLOCK_SPEC.matches(header)


def matches_daily(header: list[str]) -> bool:
    low = {h.lower() for h in header}
    return {"lclid", "day", "energy_sum"} <= low


def daily_select(rel: str, header: list[str], file_idx: int, file: str) -> str:
    """SELECT mapping one Kaggle ``daily_dataset`` file onto the canonical daily columns (+ ``file_idx``, ``line``)."""
    sel = [f"{file_idx} AS file_idx", f"{line_sql()} AS line"]
    for kag, canon in DAILY_COLUMNS.items():
        i = find_column(header, kag, file, required=canon in ("household_id", "day", "kwh_sum"))
        if i is None:
            sel.append(f"NULL AS {canon}")
        elif canon == "household_id":
            sel.append(f"{id_sql(f'c{i}')} AS {canon}")
        elif canon == "day":
            sel.append(f"try_cast(trim(c{i}) AS DATE) AS {canon}")
        elif canon == "n_readings":
            sel.append(f"try_cast(trim(c{i}) AS BIGINT) AS {canon}")
        else:
            sel.append(f"CAST({kwh_sql(f'c{i}')} AS DOUBLE) AS {canon}")
    return f"SELECT {', '.join(sel)} FROM {rel}"


def read_daily(path: str | SourceFile) -> pd.DataFrame:
    """Read one Kaggle ``daily_dataset`` file as the canonical daily table (per household-day; small).

    Returns
    -------
    pandas.DataFrame
        ``household_id``, ``day``, ``kwh_sum`` [kWh], ``n_readings``, ``kwh_mean``, ``kwh_max``, ``kwh_min``,
        ``kwh_std`` [kWh]; rows whose household or day is blank or unparseable are dropped.
    """
    from pathlib import Path

    src = path if isinstance(path, SourceFile) else SourceFile(Path(path))
    header = read_header(src)
    if not matches_daily(header):
        raise InputError(src.name, f"not a Kaggle daily_dataset file (header: {', '.join(header)})",
                         "pass daily_dataset block files (LCLid, day, energy_sum, ...)", line=1)
    con = duckdb.connect()
    try:
        rel, params = register_relation(con, src, header)
        df = con.execute(f"SELECT * EXCLUDE (file_idx, line) FROM ({daily_select(rel, header, 0, src.name)}) "
                         "WHERE household_id IS NOT NULL AND day IS NOT NULL", params).df()
    except duckdb.Error as exc:
        raise input_error_from_duckdb(src.name, exc) from None
    finally:
        con.close()
    return df

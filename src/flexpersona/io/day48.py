"""Day x 48 wide CSV: ``LCLid,Date,00:00:00..23:30:00`` (kWh per half-hour, one row per household-day).

A household straddling two pieces has its straddled day in both files, each with part of the values; the
ingest merges the copies value by value (non-null wins), so no value is lost.
"""

from __future__ import annotations

from ..errors import InputError
from .staging import bad_value_sql, find_column, id_sql, kwh_sql, line_sql

LAYOUT = "day48"
SLOT_NAMES = [f"{h:02d}:{m:02d}:00" for h in range(24) for m in (0, 30)]


def matches(header: list[str]) -> bool:
    low = [h.lower() for h in header]
    return "lclid" in low and "date" in low and "00:00:00" in low


def _slot_of(name: str) -> int | None:
    parts = name.strip().split(":")
    try:
        h, m = int(parts[0]), int(parts[1])
    except (ValueError, IndexError):
        return None
    if m not in (0, 30) or not 0 <= h < 24:
        return None
    return h * 2 + m // 30


def staged_select(rel: str, header: list[str], file_idx: int, file: str) -> str:
    hid = find_column(header, "LCLid", file)
    day = find_column(header, "Date", file)
    slots: dict[int, int] = {}
    for i, h in enumerate(header):
        if i in (hid, day):
            continue
        s = _slot_of(h)
        if s is None:
            raise InputError(file, f"column {h!r} is not a half-hour (HH:MM:SS)",
                             "use the original day x 48 file", line=1, column=i + 1)
        slots[s] = i
    if len(slots) != 48:
        missing = [SLOT_NAMES[s] for s in range(48) if s not in slots]
        raise InputError(file, f"missing half-hour columns {', '.join(missing[:5])}",
                         "use the original day x 48 file with 48 value columns", line=1)
    cols = ", ".join(f'c{i} AS "{s}"' for s, i in sorted(slots.items()))
    names = ", ".join(f'"{s}"' for s in sorted(slots))
    inner = (f"SELECT {line_sql()} AS line, {id_sql(f'c{hid}')} AS household_id, c{day} AS ts_raw, "
             f"{cols} FROM {rel}")
    return (
        f"SELECT {file_idx} AS file_idx, line, household_id, ts_raw, CAST(slot AS INTEGER) AS slot, "
        f"{kwh_sql('raw')} AS kwh, {bad_value_sql('raw')} AS bad_value, NULL AS grp_raw, NULL AS acorn, "
        f"NULL AS acorn_grouped FROM ({inner}) UNPIVOT INCLUDE NULLS (raw FOR slot IN ({names}))"
    )

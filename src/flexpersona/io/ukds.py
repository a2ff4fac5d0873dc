"""UK Data Service SN 7857: ``consumption_d.csv`` / ``consumption_n.csv`` (``GMT`` then one column per
household: ``D####`` treatment, ``N####`` control). ``tariff_d.csv`` is read by :mod:`.tariff`,
``survey_answers.csv`` by :mod:`.survey`."""

from __future__ import annotations

import re

from ..errors import InputError
from .staging import bad_value_sql, find_column, kwh_sql, line_sql

LAYOUT = "ukds"
_ID = re.compile(r"^([DNdn])0*(\d+)$")
#: UKDS id prefix -> group.
PREFIX_GROUPS = {"D": "treatment", "N": "control"}


def normalise_id(raw: str) -> str:
    """Canonical UKDS household id: ``D31`` -> ``D0031`` (other ids only stripped)."""
    s = str(raw).strip()
    m = _ID.match(s)
    if not m:
        return s
    return f"{m.group(1).upper()}{int(m.group(2)):04d}"


def matches(header: list[str]) -> bool:
    return bool(header) and header[0].upper() == "GMT" and len(header) > 1 and all(
        _ID.match(h) for h in header[1:] if h)


def staged_select(rel: str, header: list[str], file_idx: int, file: str) -> str:
    gmt = find_column(header, "GMT", file)
    cols: list[str] = []
    names: list[str] = []
    seen: set[str] = set()
    for i, h in enumerate(header):
        if i == gmt:
            continue
        hid = normalise_id(h)
        if not _ID.match(hid):
            raise InputError(file, f"column {h!r} is not a household id (D#### or N####)",
                             "use the original consumption file", line=1, column=i + 1)
        if hid in seen:
            raise InputError(file, f"household column {hid} appears twice", "remove the duplicate column",
                             line=1, column=i + 1)
        seen.add(hid)
        cols.append(f'c{i} AS "{hid}"')
        names.append(f'"{hid}"')
    if not cols:
        raise InputError(file, "no household columns after GMT", "use the original consumption file", line=1)
    inner = f"SELECT {line_sql()} AS line, c{gmt} AS ts_raw, {', '.join(cols)} FROM {rel}"
    names_sql = ", ".join(names)
    return (
        f"SELECT {file_idx} AS file_idx, line, household_id, ts_raw, 0 AS slot, {kwh_sql('raw')} AS kwh, "
        f"{bad_value_sql('raw')} AS bad_value, left(household_id, 1) AS grp_raw, NULL AS acorn, "
        f"NULL AS acorn_grouped FROM ({inner}) UNPIVOT INCLUDE NULLS (raw FOR household_id IN ({names_sql}))"
    )

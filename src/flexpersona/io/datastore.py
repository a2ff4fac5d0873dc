"""London Datastore long CSV: ``LCLid,stdorToU,DateTime,KWH/hh (per half hour) [,Acorn,Acorn_grouped]``.

Quirks handled: the value header's trailing space, CRLF, ``.0000000`` fractional seconds, space-padded
values, ``Null`` for missing, many pieces (``LCL-June2015v2_N.csv``) with households straddling two, and
copies without ``stdorToU`` (the group then comes from a households file).
"""

from __future__ import annotations

from .staging import bad_value_sql, find_column, id_sql, kwh_sql, line_sql

LAYOUT = "datastore"
VALUE_COLUMN = "KWH/hh (per half hour)"


def matches(header: list[str]) -> bool:
    low = {h.lower() for h in header}
    return "lclid" in low and "datetime" in low and VALUE_COLUMN.lower() in low


def staged_select(rel: str, header: list[str], file_idx: int, file: str) -> str:
    """SELECT mapping one London Datastore file onto the staging columns."""
    hid = find_column(header, "LCLid", file)
    ts = find_column(header, "DateTime", file)
    val = find_column(header, VALUE_COLUMN, file)
    grp = find_column(header, "stdorToU", file, required=False)
    acorn = find_column(header, "Acorn", file, required=False)
    acg = find_column(header, "Acorn_grouped", file, required=False)
    opt = lambda i: id_sql(f"c{i}") if i is not None else "NULL"  # noqa: E731
    return (
        f"SELECT {file_idx} AS file_idx, {line_sql()} AS line, {id_sql(f'c{hid}')} AS household_id, "
        f"c{ts} AS ts_raw, 0 AS slot, {kwh_sql(f'c{val}')} AS kwh, {bad_value_sql(f'c{val}')} AS bad_value, "
        f"{opt(grp)} AS grp_raw, {opt(acorn)} AS acorn, {opt(acg)} AS acorn_grouped FROM {rel}"
    )

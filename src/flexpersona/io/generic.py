"""Generic long CSV/Parquet with a column map (``--map household_id=meter,ts=time,kwh=value``).

The group comes from a households file (``--households``)."""

from __future__ import annotations

from ..errors import ConfigError
from .staging import bad_value_sql, find_column, id_sql, kwh_sql, line_sql

LAYOUT = "generic"
REQUIRED = ("household_id", "ts", "kwh")


def parse_column_map(text: str | dict[str, str] | None) -> dict[str, str] | None:
    """``"household_id=meter,ts=time,kwh=value"`` -> dict; validates the canonical names."""
    if text is None:
        return None
    if isinstance(text, dict):
        mapping = dict(text)
    else:
        mapping = {}
        for part in text.split(","):
            if not part.strip():
                continue
            if "=" not in part:
                msg = f"--map entry {part!r} is not canonical=source; e.g. --map household_id=meter,ts=time,kwh=value"
                raise ConfigError(msg)
            k, v = part.split("=", 1)
            mapping[k.strip()] = v.strip()
    unknown = set(mapping) - set(REQUIRED) - {"group"}
    missing = [k for k in REQUIRED if k not in mapping]
    if unknown or missing:
        msg = (f"--map must name household_id, ts and kwh (optionally group); "
               f"unknown: {sorted(unknown)}, missing: {missing}")
        raise ConfigError(msg)
    return mapping


def staged_select(rel: str, header: list[str], file_idx: int, file: str, mapping: dict[str, str]) -> str:
    hid = find_column(header, mapping["household_id"], file)
    ts = find_column(header, mapping["ts"], file)
    val = find_column(header, mapping["kwh"], file)
    grp = find_column(header, mapping["group"], file) if "group" in mapping else None
    g = f"NULLIF(trim(c{grp}), '')" if grp is not None else "NULL"
    return (
        f"SELECT {file_idx} AS file_idx, {line_sql()} AS line, {id_sql(f'c{hid}')} AS household_id, "
        f"c{ts} AS ts_raw, 0 AS slot, {kwh_sql(f'c{val}')} AS kwh, {bad_value_sql(f'c{val}')} AS bad_value, "
        f"{g} AS grp_raw, NULL AS acorn, NULL AS acorn_grouped FROM {rel}"
    )

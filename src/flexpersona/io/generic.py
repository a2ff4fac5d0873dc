"""Generic long CSV/Parquet with a column map (``--map household_id=meter,ts=time,kwh=value``).

The group comes from a households file (``--households``)."""

from __future__ import annotations

from ..errors import ConfigError
from .spec import LONG, LayoutSpec

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


def spec(mapping: dict[str, str]) -> LayoutSpec:
    """The layout of generic long files under a column map (from :func:`parse_column_map`)."""
    return LayoutSpec(
        name=LAYOUT,
        shape=LONG,
        household=mapping["household_id"],
        timestamp=mapping["ts"],
        value=mapping["kwh"],
        group=mapping.get("group"),
        description="generic long file (--map household_id=COL,ts=COL,kwh=COL)",
    )

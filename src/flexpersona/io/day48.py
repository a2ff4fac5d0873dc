"""Day x 48 wide CSV: ``LCLid,Date,00:00:00..23:30:00`` (kWh per half-hour, one row per household-day).

A household straddling two pieces has its straddled day in both files, each with part of the values; the
ingest merges the copies value by value (non-null wins), so no value is lost.
"""

from __future__ import annotations

from .spec import DAY_SLOTS, LayoutSpec

LAYOUT = "day48"
SLOT_NAMES = [f"{h:02d}:{m:02d}:00" for h in range(24) for m in (0, 30)]


def slot_of(name: str) -> int | None:
    """Half-hour of the day of a ``HH:MM[:SS]`` column name (``"00:30:00"`` -> 1), None for other names."""
    parts = name.strip().split(":")
    try:
        h, m = int(parts[0]), int(parts[1])
    except (ValueError, IndexError):
        return None
    if m not in (0, 30) or not 0 <= h < 24:
        return None
    return h * 2 + m // 30


SPEC = LayoutSpec(
    name=LAYOUT,
    shape=DAY_SLOTS,
    household="LCLid",
    timestamp="Date",
    slot_of=slot_of,
    description="day x 48 (LCLid, Date, 00:00:00 .. 23:30:00)",
)


def matches(header: list[str]) -> bool:
    return SPEC.matches(header)

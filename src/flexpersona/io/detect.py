"""Layout detection from file names and headers (``--layout`` forces one for readings files)."""

from __future__ import annotations

from ..errors import InputError
from . import datastore, day48, households, kaggle, survey, tariff, ukds, weather
from .sources import SourceFile

#: Layouts of readings files.
READINGS_LAYOUTS = (datastore.LAYOUT, kaggle.HALFHOURLY, kaggle.HHBLOCK, day48.LAYOUT, ukds.LAYOUT, "generic")
#: Names accepted by ``--layout``.
FORCEABLE = ("datastore", "kaggle", "day48", "ukds", "generic")
#: Side files recognised inside an INPUT.
SIDE_KINDS = ("households", "tariff", "survey", "daily", "weather")


def detect_kind(src: SourceFile, header: list[str], *, forced: str | None = None,
                column_map: dict[str, str] | None = None) -> str:
    """What ``src`` holds: a readings layout of :data:`READINGS_LAYOUTS` or a side kind of :data:`SIDE_KINDS`.

    Raises
    ------
    InputError
        When nothing matches (the message lists the header and the known layouts).
    """
    if forced is not None and forced not in FORCEABLE:
        raise InputError(src.name, f"unknown layout {forced!r}", f"use --layout one of {', '.join(FORCEABLE)}")
    if src.suffix == ".xlsx" or tariff.matches(header):
        return "tariff"
    if survey.matches(header):
        return "survey"
    if kaggle.matches_daily(header):
        return "daily"
    if weather.matches(header):
        return "weather"
    if households.matches(header) and not datastore.matches(header):
        return "households"
    if forced == "generic" or (column_map is not None and forced is None and not _auto(header)):
        return "generic"
    if forced == "kaggle":
        return kaggle.HHBLOCK if kaggle.matches_hhblock(header) else kaggle.HALFHOURLY
    if forced is not None:
        return forced
    found = _auto(header)
    if found is None:
        raise InputError(
            src.name, f"unknown layout (header: {', '.join(header[:8])}{'...' if len(header) > 8 else ''})",
            "pass --layout datastore|kaggle|day48|ukds, or --map household_id=COL,ts=COL,kwh=COL for a generic "
            "long file", line=1)
    return found


def _auto(header: list[str]) -> str | None:
    if datastore.matches(header):
        return datastore.LAYOUT
    if kaggle.matches_halfhourly(header):
        return kaggle.HALFHOURLY
    if kaggle.matches_hhblock(header):
        return kaggle.HHBLOCK
    if day48.matches(header):
        return day48.LAYOUT
    if ukds.matches(header):
        return ukds.LAYOUT
    return None

"""Layout detection from file names and headers (``--layout`` forces one for readings files)."""

from __future__ import annotations

from ..errors import InputError
from . import datastore, day48, generic, households, kaggle, survey, tariff, ukds, weather
from .sources import SourceFile
from .spec import LayoutSpec

#: The layouts with fixed columns, by name (``generic`` gets its spec from the column map: :func:`layout_specs`).
SPECS: dict[str, LayoutSpec] = {s.name: s for s in (datastore.SPEC, kaggle.HALFHOURLY_SPEC, kaggle.HHBLOCK_SPEC,
                                                    day48.SPEC, ukds.SPEC)}
#: Layouts of readings files.
READINGS_LAYOUTS = (*SPECS, generic.LAYOUT)
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


def layout_specs(column_map: dict[str, str] | None = None) -> dict[str, LayoutSpec]:
    """Every readings layout's :class:`LayoutSpec` by name (``generic`` only with a column map)."""
    specs = dict(SPECS)
    if column_map is not None:
        specs[generic.LAYOUT] = generic.spec(column_map)
    return specs


def _auto(header: list[str]) -> str | None:
    """The first layout (in :data:`SPECS` order) whose columns are all in ``header``."""
    return next((name for name, spec in SPECS.items() if spec.matches(header)), None)

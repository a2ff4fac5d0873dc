"""UK Data Service SN 7857: ``consumption_d.csv`` / ``consumption_n.csv`` (``GMT`` then one column per
household: ``D####`` treatment, ``N####`` control). ``tariff_d.csv`` is read by :mod:`.tariff`,
``survey_answers.csv`` by :mod:`.survey`."""

from __future__ import annotations

import re

from .spec import HOUSEHOLD_COLUMNS, LayoutSpec

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


def household_of(name: str) -> str | None:
    """Canonical household id of a consumption file's column (``D31`` -> ``D0031``), None for other names."""
    hid = normalise_id(name)
    return hid if _ID.match(hid) else None


SPEC = LayoutSpec(
    name=LAYOUT,
    shape=HOUSEHOLD_COLUMNS,
    timestamp="GMT",
    household_of=household_of,
    group_from_id=True,
    description="UK Data Service consumption (GMT, D####/N#### columns)",
)


def matches(header: list[str]) -> bool:
    return SPEC.matches(header)

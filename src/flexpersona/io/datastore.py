"""London Datastore long CSV: ``LCLid,stdorToU,DateTime,KWH/hh (per half hour) [,Acorn,Acorn_grouped]``.

Quirks handled: the value header's trailing space, CRLF, ``.0000000`` fractional seconds, space-padded
values, ``Null`` for missing, many pieces (``LCL-June2015v2_N.csv``) with households straddling two, and
copies without ``stdorToU`` (the group then comes from a households file).
"""

from __future__ import annotations

from .spec import LONG, LayoutSpec

LAYOUT = "datastore"
VALUE_COLUMN = "KWH/hh (per half hour)"

SPEC = LayoutSpec(
    name=LAYOUT,
    shape=LONG,
    household="LCLid",
    timestamp="DateTime",
    value=VALUE_COLUMN,
    group="stdorToU",
    acorn="Acorn",
    acorn_grouped="Acorn_grouped",
    description="London Datastore (LCLid, stdorToU, DateTime, KWH/hh)",
)


def matches(header: list[str]) -> bool:
    return SPEC.matches(header)

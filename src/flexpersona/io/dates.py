"""Inference of the date-time format of a whole timestamp column (METHODS section 0).

Copies of the LCL data write the same instants as ISO (``2012-10-12 00:30:00.0000000``), as day-first
``D/M/YYYY H:MM`` or as month-first ``M/D/YY H:MM``. The format is decided once per column from *all* its
distinct values, never row by row: any first field above 12 settles day-first, any second field above 12
settles month-first; when neither does, the reading that makes the parsed values the more regular
half-hourly (or daily) sequence wins.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass

logger = logging.getLogger(__name__)

_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
_SLASH = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{2}|\d{4})(?: (\d{1,2}):(\d{2})(?::(\d{2}))?)?$")

ISO = "ISO"


@dataclass(frozen=True)
class DateFormat:
    """The format of a timestamp column.

    Attributes
    ----------
    name
        ``"ISO"`` or a strptime pattern such as ``"%d/%m/%Y %H:%M"`` (the one recorded in ``ingest.json``).
    patterns
        strptime patterns to try in order (empty for ISO, which DuckDB casts directly).
    ambiguous
        True when no field settled the order and the sequence test decided it.
    """

    name: str
    patterns: tuple[str, ...] = ()
    ambiguous: bool = False

    def sql(self, expr: str) -> str:
        """A DuckDB expression parsing the VARCHAR ``expr`` with this format (NULL when it fails)."""
        if self.name == ISO:
            return f"try_cast(replace({expr}, 'T', ' ') AS TIMESTAMP)"
        pats = ", ".join("'" + p + "'" for p in self.patterns)
        return f"try_strptime({expr}, [{pats}])"

    def parse(self, value: str) -> dt.datetime | None:
        """Parse one string in Python (the reference for :meth:`sql`); None when it does not parse."""
        v = value.strip()
        if self.name == ISO:
            if not _ISO.match(v):
                return None
            v = v.replace("T", " ")
            if "." in v:
                head, frac = v.split(".", 1)
                v = head + "." + (frac + "000000")[:6]
            try:
                return dt.datetime.fromisoformat(v)
            except ValueError:
                return None
        for p in self.patterns:
            try:
                return dt.datetime.strptime(v, p)
            except ValueError:
                continue
        return None


def _slash_patterns(dayfirst: bool, year4: bool, has_time: bool, has_seconds: bool) -> tuple[str, ...]:
    d = "%d/%m" if dayfirst else "%m/%d"
    y = "%Y" if year4 else "%y"
    if not has_time:
        return (f"{d}/{y}",)
    pats = [f"{d}/{y} %H:%M"]
    if has_seconds:
        pats.insert(0, f"{d}/{y} %H:%M:%S")
    return tuple(pats)


def _regularity(values: list[dt.datetime], has_time: bool) -> int:
    """Number of consecutive gaps equal to the expected step (30 min, or 1 day for dates)."""
    step = dt.timedelta(minutes=30) if has_time else dt.timedelta(days=1)
    s = sorted(set(values))
    return sum(1 for a, b in zip(s, s[1:]) if b - a == step)


def infer_datetime_format(values: Iterable[str | None], *, source: str = "column") -> DateFormat:
    """Decide the format of a timestamp column from all its (distinct) values.

    Parameters
    ----------
    values
        The column's values (duplicates and blanks allowed; only distinct non-blank strings matter).
    source
        Name used in the error message.

    Returns
    -------
    DateFormat

    Raises
    ------
    ValueError
        When no value looks like a date, or the slash-dates contradict each other (a first field > 12 and
        a second field > 12 in the same column, or 2- and 4-digit years mixed).
    """
    distinct = {v.strip() for v in values if v is not None and v.strip()}
    iso = [v for v in distinct if _ISO.match(v)]
    slash = [m for m in (_SLASH.match(v) for v in distinct) if m]
    if not iso and not slash:
        example = next(iter(distinct), "<empty>")
        msg = f"{source}: no value looks like a date (e.g. {example!r}); expected ISO, D/M/YYYY H:MM or M/D/YY H:MM"
        raise ValueError(msg)
    if len(iso) >= len(slash):
        return DateFormat(ISO)
    first = max(int(m.group(1)) for m in slash)
    second = max(int(m.group(2)) for m in slash)
    years = {len(m.group(3)) for m in slash}
    if len(years) > 1:
        msg = f"{source}: 2- and 4-digit years are mixed in one column"
        raise ValueError(msg)
    year4 = years == {4}
    has_time = any(m.group(4) is not None for m in slash)
    has_seconds = any(m.group(6) is not None for m in slash)
    if first > 12 and second > 12:
        msg = f"{source}: both the first (up to {first}) and the second field (up to {second}) exceed 12"
        raise ValueError(msg)
    if first > 12:
        return DateFormat(_slash_patterns(True, year4, has_time, has_seconds)[-1],
                          _slash_patterns(True, year4, has_time, has_seconds))
    if second > 12:
        return DateFormat(_slash_patterns(False, year4, has_time, has_seconds)[-1],
                          _slash_patterns(False, year4, has_time, has_seconds))
    scores = {}
    for dayfirst in (True, False):
        f = DateFormat("x", _slash_patterns(dayfirst, year4, has_time, has_seconds))
        parsed = [p for p in (f.parse(m.group(0)) for m in slash) if p is not None]
        scores[dayfirst] = _regularity(parsed, has_time)
    dayfirst = scores[True] >= scores[False]
    pats = _slash_patterns(dayfirst, year4, has_time, has_seconds)
    logger.info("%s: day/month order not settled by any field > 12; sequence test chose %s", source, pats[-1])
    return DateFormat(pats[-1], pats, ambiguous=True)

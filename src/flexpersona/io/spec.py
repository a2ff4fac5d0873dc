"""What a readings layout is: its columns, declared once (:class:`LayoutSpec`), and where they sit in a file.

Every readings layout module (:mod:`.datastore`, :mod:`.kaggle`, :mod:`.day48`, :mod:`.ukds`, :mod:`.generic`)
declares one :class:`LayoutSpec` -- the source column of each canonical column, as pvlib's ``iotools`` map a
vendor's names onto their own. Detection (:meth:`LayoutSpec.matches`), the general staging path
(:mod:`.staging`) and the streaming path (:mod:`.fastpath`) all read the columns from it, through
:meth:`LayoutSpec.locate`, which turns the names into positions in one file's header (:class:`Columns`).

Three shapes cover every layout:

``long``
    one row per household x half-hour (``household``, ``timestamp``, ``value`` columns);
``day_slots``
    one row per household x day, one column per half-hour of the day (``slot_of`` maps a header name to the
    half-hour, 0..47);
``household_columns``
    one row per half-hour, one column per household (``household_of`` maps a header name to the household id).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..errors import InputError
from ..schema import HALF_HOURS_PER_DAY, SOURCE_COLUMNS
from .rejects import id_sql

LONG, DAY_SLOTS, HOUSEHOLD_COLUMNS = "long", "day_slots", "household_columns"
SHAPES = (LONG, DAY_SLOTS, HOUSEHOLD_COLUMNS)


def find_column(header: list[str], name: str, file: str, *, required: bool = True) -> int | None:
    """Index of ``name`` in ``header`` (case-insensitive, spaces stripped); InputError when required."""
    low = [h.strip().lower() for h in header]
    key = name.strip().lower()
    if key in low:
        return low.index(key)
    if required:
        raise InputError(file, f"missing column {name!r} (header has: {', '.join(header)})",
                         "use the original file, or --map/--layout to say which column is which",
                         line=1, column=name)
    return None


#: The text columns a readings file may have (:class:`Columns` attributes) and the source column
#: (:data:`~flexpersona.schema.SOURCE_COLUMNS`) each becomes in the store's readings.
SOURCE_TEXTS = dict(zip(("group", "acorn", "acorn_grouped"), list(SOURCE_COLUMNS)[1:], strict=True))


def text_sql(position: int | None) -> str:
    """SQL of a text column of a file read as ``c0..cN`` (trimmed, NULL when blank), or a VARCHAR NULL when the
    file has no such column (``position`` None)."""
    return "CAST(NULL AS VARCHAR)" if position is None else id_sql(f"c{position}")


@dataclass(frozen=True)
class Columns:
    """Positions (0-based) of a layout's columns in one file's header.

    Attributes
    ----------
    n
        Fields in the header (every well-formed row has as many).
    timestamp
        The timestamp column (``long``), the date (``day_slots``) or the ``GMT`` column (``household_columns``).
    household, value, group, acorn, acorn_grouped
        Columns of a ``long`` or ``day_slots`` file; None when the file has none.
    slots
        ``(half-hour of the day, position)`` pairs of a ``day_slots`` file, by half-hour.
    households
        ``(household id, position)`` pairs of a ``household_columns`` file, in header order.
    """

    n: int
    timestamp: int
    household: int | None = None
    value: int | None = None
    group: int | None = None
    acorn: int | None = None
    acorn_grouped: int | None = None
    slots: tuple[tuple[int, int], ...] = ()
    households: tuple[tuple[str, int], ...] = ()

    def texts(self) -> dict[str, int | None]:
        """Position of each text column (group, Acorn, Acorn grouped) by the source column it becomes
        (:data:`SOURCE_TEXTS`); None where the file has none."""
        return {name: getattr(self, attr) for attr, name in SOURCE_TEXTS.items()}

    @property
    def cells_per_row(self) -> int:
        """Readings one row holds: 1 (long), 48 (day x 48) or one per household column."""
        if self.slots:
            return len(self.slots)
        if self.households:
            return len(self.households)
        return 1


def source_columns(columns: Iterable[Columns]) -> list[str]:
    """The :data:`~flexpersona.schema.SOURCE_COLUMNS` of the readings files of an ingest whose files have
    ``columns``: ``file_idx``, and each text column that at least one file has (a column that no file has is left
    out: two empty text columns beside the group label made the typed pass of 1/10 of the London files 12.4 s
    instead of 6.8 s under its 1 GB memory limit)."""
    columns = list(columns)
    texts = [name for name in SOURCE_TEXTS.values() if any(c.texts()[name] is not None for c in columns)]
    return ["file_idx", *texts]


@dataclass(frozen=True)
class LayoutSpec:
    """The columns of one readings layout, by their names in the source files.

    Attributes
    ----------
    name
        Layout name (``datastore``, ``kaggle_halfhourly``, ...), as in the ingest report and the ledger.
    shape
        ``long``, ``day_slots`` or ``household_columns`` (module docstring).
    timestamp
        Source name of the timestamp (``long``), date (``day_slots``) or GMT column (``household_columns``).
    household, value
        Source names of the household id and the kWh value (``long``; ``day_slots`` has no value column).
    value_prefix
        Instead of ``value``: the value column is the one whose name starts with this (Kaggle's
        ``energy(kWh/hh)``).
    group, acorn, acorn_grouped
        Optional columns: group label (``ToU``/``Std``), Acorn code and group.
    slot_of
        ``day_slots``: header name -> half-hour of the day (0..47), None for a name that is not a half-hour.
    household_of
        ``household_columns``: header name -> canonical household id, None for a name that is not one.
    group_from_id
        The group label is the first letter of the household id (UK Data Service ``D``/``N``).
    description
        One line for messages and docs.
    """

    name: str
    shape: str
    timestamp: str
    household: str | None = None
    value: str | None = None
    value_prefix: str | None = None
    group: str | None = None
    acorn: str | None = None
    acorn_grouped: str | None = None
    slot_of: Callable[[str], int | None] | None = None
    household_of: Callable[[str], str | None] | None = None
    group_from_id: bool = False
    description: str = ""

    def __post_init__(self) -> None:
        if self.shape not in SHAPES:  # pragma: no cover - a programming error
            msg = f"unknown layout shape {self.shape!r}"
            raise ValueError(msg)

    @property
    def unit(self) -> str:
        """What the row accounting counts: ``rows`` (long) or ``cells`` (wide layouts)."""
        return "rows" if self.shape == LONG else "cells"

    def _value_index(self, low: list[str]) -> int | None:
        if self.value is not None:
            key = self.value.strip().lower()
            return low.index(key) if key in low else None
        if self.value_prefix is not None:
            return next((i for i, h in enumerate(low) if h.startswith(self.value_prefix.lower())), None)
        return None

    def matches(self, header: list[str]) -> bool:
        """Whether ``header`` is this layout's (every required column present)."""
        low = [h.strip().lower() for h in header]
        if self.shape == HOUSEHOLD_COLUMNS:
            assert self.household_of is not None
            return bool(header) and low[0] == self.timestamp.lower() and len(header) > 1 and all(
                self.household_of(h) is not None for h in header[1:] if h)
        if self.household is None or self.household.lower() not in low or self.timestamp.lower() not in low:
            return False
        if self.shape == LONG:
            return self._value_index(low) is not None
        assert self.slot_of is not None
        slots = {self.slot_of(h) for h in header}
        return 0 in slots and HALF_HOURS_PER_DAY - 1 in slots

    def locate(self, header: list[str], file: str) -> Columns:
        """Positions of this layout's columns in ``header``.

        Raises
        ------
        InputError
            A required column is missing, a wide file has a column that is neither an id, a date nor a
            half-hour (household), or a household column appears twice.
        """
        ts = find_column(header, self.timestamp, file)
        assert ts is not None
        if self.shape == HOUSEHOLD_COLUMNS:
            return Columns(n=len(header), timestamp=ts, households=self._household_columns(header, ts, file))
        hid = find_column(header, self.household or "", file)
        opt = {k: find_column(header, getattr(self, k), file, required=False) if getattr(self, k) else None
               for k in ("group", "acorn", "acorn_grouped")}
        if self.shape == LONG:
            val = self._value_index([h.strip().lower() for h in header])
            if val is None:
                find_column(header, self.value or f"{self.value_prefix}...", file)  # raises, naming the column
            return Columns(n=len(header), timestamp=ts, household=hid, value=val, **opt)
        return Columns(n=len(header), timestamp=ts, household=hid, slots=self._slot_columns(header, {hid, ts}, file),
                       **opt)

    def _slot_columns(self, header: list[str], skip: set[int | None], file: str) -> tuple[tuple[int, int], ...]:
        assert self.slot_of is not None
        slots: dict[int, int] = {}
        for i, h in enumerate(header):
            if i in skip:
                continue
            s = self.slot_of(h)
            if s is None:
                raise InputError(file, f"column {h!r} is not a half-hour of the day",
                                 f"use the original {self.description or self.name} file", line=1, column=i + 1)
            slots[s] = i
        if len(slots) != HALF_HOURS_PER_DAY:
            missing = [s for s in range(HALF_HOURS_PER_DAY) if s not in slots]
            raise InputError(file, f"missing half-hour columns (half-hours {missing[:5]} of the day)",
                             f"use the original {self.description or self.name} file with 48 value columns", line=1)
        return tuple(sorted(slots.items()))

    def _household_columns(self, header: list[str], ts: int, file: str) -> tuple[tuple[str, int], ...]:
        assert self.household_of is not None
        out: list[tuple[str, int]] = []
        seen: set[str] = set()
        for i, h in enumerate(header):
            if i == ts:
                continue
            hid = self.household_of(h)
            if hid is None:
                raise InputError(file, f"column {h!r} is not a household id",
                                 f"use the original {self.description or self.name} file", line=1, column=i + 1)
            if hid in seen:
                raise InputError(file, f"household column {hid} appears twice", "remove the duplicate column",
                                 line=1, column=i + 1)
            seen.add(hid)
            out.append((hid, i))
        if not out:
            raise InputError(file, f"no household columns after {self.timestamp}",
                             f"use the original {self.description or self.name} file", line=1)
        return tuple(out)

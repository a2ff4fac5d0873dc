"""The row rules, written once: how a value is read, and what makes a readings row rejected, with which reason.

Both readings paths (:mod:`.staging`, :mod:`.fastpath`) classify rows with :func:`reason_code_sql` (the value
rules, in SQL) and :func:`shape_problem` (rows the CSV reader set aside), so a row gets the same reason
whichever path reads it. A rejected row is never in ``readings/``; it is counted in the ingest's row
accounting and listed (file, line, household) in ``issues.parquet``.

Reasons, in the order they are checked (the first that applies):

=====================  ===================================================================================
``blank_line``         a line with nothing on it (or only spaces)
``truncated_last_line`` the file's last line has no line break and too few fields (a partial download)
``missing_field``      a row with fewer fields than the header
``extra_field``        a row with more fields than the header
``missing_household_id`` no household id
``unparseable_timestamp`` a timestamp that does not parse in the file's format
``off_grid_timestamp`` a timestamp not on the half-hour grid (:00 / :30)
``unparseable_value``  a value that is not a number (``Null``, ``NA``, blank are missing values, kept)
``negative_value``     a value below 0
``above_cap``          a value above ``data.kwh_cap``
``duplicate_timestamp`` a second row of one household x half-hour (merged value by value, first kept)
=====================  ===================================================================================

A row-level defect rejects every reading the row should hold: one for long layouts, 48 for day x 48 files,
one per household column for UK Data Service files (their accounting counts cells).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from ..errors import InputError

#: Rows the CSV reader cannot split into the header's fields (or that hold nothing).
SHAPE_REASONS = ("blank_line", "truncated_last_line", "missing_field", "extra_field")
#: Rows whose fields do not make a reading, in the order they are checked (:func:`reason_code_sql`).
VALUE_REASONS = ("missing_household_id", "unparseable_timestamp", "off_grid_timestamp", "unparseable_value",
                 "negative_value", "above_cap")
DUPLICATE = "duplicate_timestamp"
#: Every rejection reason.
REJECT_REASONS = (*SHAPE_REASONS, *VALUE_REASONS, DUPLICATE)
#: Reasons that ``strict`` turns into an error (a duplicate half-hour is merged, not an error).
STRICT_REASONS = (*SHAPE_REASONS, *VALUE_REASONS)
#: Ledger column counting each reason per household (rows, or cells of wide layouts).
LEDGER_COUNTS = {
    "negative_value": "n_negative", "above_cap": "n_above_cap", "unparseable_timestamp": "n_unparseable_timestamp",
    "unparseable_value": "n_unparseable_value", "off_grid_timestamp": "n_off_grid",
    "missing_field": "n_malformed", "extra_field": "n_malformed", "truncated_last_line": "n_malformed",
}
#: What each reason means, for messages.
DESCRIPTIONS = {
    "blank_line": "a blank line",
    "truncated_last_line": "the last line is cut short (no line break, too few fields): a partial download?",
    "missing_field": "a row with fewer fields than the header",
    "extra_field": "a row with more fields than the header",
    "missing_household_id": "a row without a household id",
    "unparseable_timestamp": "a timestamp that does not parse",
    "off_grid_timestamp": "a timestamp off the half-hour grid",
    "unparseable_value": "a value that is not a number",
    "negative_value": "a negative value",
    "above_cap": "a value above data.kwh_cap",
}

#: Strings read as missing (after trimming, case-insensitive).
MISSING_TOKENS = ("", "null", "nan", "na", "n/a")


# -- values -------------------------------------------------------------------------------------------------
def _blank_sql(expr: str) -> str:
    toks = ", ".join(f"'{t}'" for t in MISSING_TOKENS)
    return f"(lower(trim({expr})) IN ({toks}) OR {expr} IS NULL)"


def kwh_sql(expr: str) -> str:
    """DuckDB expression: a padded value (`` 0.123 ``, ``Null``, blank) as DOUBLE, NULL when missing.

    ``NaN`` text becomes NaN here; the ingest turns NaN into NULL. DuckDB's cast ignores surrounding
    whitespace, so the text is not trimmed first (a trim costs ~20 % of a CSV pass).
    """
    return f"try_cast({expr} AS DOUBLE)"


def bad_value_sql(expr: str) -> str:
    """DuckDB expression: true for a non-missing value that is not a number."""
    return (f"CASE WHEN {expr} IS NOT NULL AND try_cast({expr} AS DOUBLE) IS NULL "
            f"THEN NOT {_blank_sql(expr)} ELSE false END")


def id_sql(expr: str) -> str:
    """DuckDB expression: ``expr`` without surrounding spaces, NULL when blank (trims only padded text)."""
    return f"CASE WHEN {expr} LIKE ' %' OR {expr} LIKE '% ' THEN NULLIF(trim({expr}), '') ELSE NULLIF({expr}, '') END"


def parse_kwh(text: str | None) -> tuple[float | None, bool]:
    """Python reference of :func:`kwh_sql` / :func:`bad_value_sql`: ``(value [kWh] or None, is_bad)``."""
    if text is None or text.strip().lower() in MISSING_TOKENS:
        return None, False
    try:
        v = float(text.strip())
    except ValueError:
        return None, True
    if math.isnan(v):
        return None, False
    return v, False


# -- value rules ----------------------------------------------------------------------------------------------
def reason_code_sql(hh: str, ts: str, kwh: str, bad: str, cap: float) -> str:
    """DuckDB expression: the rejection code of a row (0 = kept, ``i`` = ``VALUE_REASONS[i - 1]``).

    ``hh`` household id (NULL when blank), ``ts`` the parsed timestamp (NULL when it does not parse),
    ``kwh`` the value, ``bad`` true for a value that is not a number, ``cap`` ``data.kwh_cap`` [kWh].
    """
    return (f"CASE WHEN {hh} IS NULL THEN 1 WHEN {ts} IS NULL THEN 2 WHEN epoch_us({ts}) % 1800000000 <> 0 THEN 3 "
            f"WHEN {bad} THEN 4 WHEN {kwh} < 0 THEN 5 WHEN {kwh} > CAST('{cap!r}' AS DOUBLE) THEN 6 ELSE 0 END")


def reason_sql(code: str) -> str:
    """DuckDB expression: the reason named by a :func:`reason_code_sql` code (NULL for a kept row)."""
    return f"CASE {code} " + " ".join(f"WHEN {i} THEN '{r}'" for i, r in enumerate(VALUE_REASONS, 1)) + " END"


# -- row shapes -----------------------------------------------------------------------------------------------
#: DuckDB reject error types that are row shapes (anything else -- e.g. bytes that are not UTF-8 -- is a
#: problem of the file).
SHAPE_ERRORS = ("MISSING COLUMNS", "TOO MANY COLUMNS")


@dataclass(frozen=True)
class RowProblem:
    """A row the CSV reader set aside (or a blank line): its file, physical line, reason and household."""

    file_idx: int
    line: int
    reason: str
    household_id: str | None = None


def shape_problem(file_idx: int, line: int, error_type: str, text: str | None, *, last_line: int,
                  terminated: bool, household_column: int | None) -> RowProblem:
    """Classify a row the CSV reader rejected for its number of fields (``error_type`` in :data:`SHAPE_ERRORS`).

    ``text`` is the row as written; ``last_line``/``terminated`` describe the file's end
    (:class:`~flexpersona.io.lines.LineScan`). The household is the row's id field when the row has it
    complete (for a cut last line: followed by a comma); None otherwise and for household-column layouts.
    """
    raw = (text or "").lstrip("\r\n").rstrip("\r\n")
    if not raw.strip():
        return RowProblem(file_idx, line, "blank_line")
    cut = line == last_line and not terminated
    if error_type == "TOO MANY COLUMNS":
        reason = "extra_field"
    else:
        reason = "truncated_last_line" if cut else "missing_field"
    fields = raw.split(",")
    hid = None
    if household_column is not None and household_column < len(fields) - (1 if cut else 0):
        hid = fields[household_column].strip().strip('"').strip() or None
    return RowProblem(file_idx, line, reason, hid)


def blank_problems(file_idx: int, blank_lines: tuple[int, ...]) -> list[RowProblem]:
    return [RowProblem(file_idx, line, "blank_line") for line in blank_lines]


def problems_frame(problems: list[RowProblem], layouts: dict[int, str], cells: dict[int, int]) -> pd.DataFrame:
    """Row problems as rows of the rejected-row table (``file_idx, line, layout, hh, reason, n``)."""
    return pd.DataFrame({
        "file_idx": pd.Series([p.file_idx for p in problems], dtype="int32"),
        "line": pd.Series([p.line for p in problems], dtype="int64"),
        "layout": pd.Series([layouts[p.file_idx] for p in problems], dtype=object),
        "hh": pd.Series([p.household_id for p in problems], dtype=object),
        "reason": pd.Series([p.reason for p in problems], dtype=object),
        "n": pd.Series([cells[p.file_idx] for p in problems], dtype="int64"),
    })


def strict_error(rejected: pd.DataFrame, files: pd.DataFrame) -> InputError | None:
    """The error ``strict`` raises: the first rejected row (file order, then line), or None when there is none.

    ``rejected`` has ``code``, ``file``, ``line`` and ``count`` (the issues table); only rows of the readings
    ``files`` count (a side file's records, e.g. a weather row without a temperature, are not readings rows).
    """
    rows = rejected[rejected["code"].isin(STRICT_REASONS) & rejected["file"].isin(set(files["file"]))]
    if rows.empty:
        return None
    order = {f: i for i, f in enumerate(files["file"])}
    rows = rows.assign(_o=rows["file"].map(order)).sort_values(["_o", "line"], kind="stable")
    first = rows.iloc[0]
    more = int(rows["count"].sum()) - 1
    extra = f" ({more:,} more rejected row{'s' if more != 1 else ''} in the inputs)" if more > 0 else ""
    return InputError(first["file"], f"{DESCRIPTIONS.get(first['code'], first['code'])} [{first['code']}]{extra}",
                      "repair or remove that row, or ingest without --strict (strict=False) to reject such rows "
                      "and count them in the ledger", line=int(first["line"]))

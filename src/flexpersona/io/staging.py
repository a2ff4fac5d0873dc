"""The staging table every readings layout is mapped onto, and the shared SQL of value parsing.

Each layout module returns a ``SELECT`` producing :data:`STAGED_COLUMNS` from a source relation whose
columns are VARCHAR ``c0..cN`` (see :func:`flexpersona.io.sources.register_relation`). Staging keeps the
timestamp as text: its format is inferred afterwards from the column's distinct values.
"""

from __future__ import annotations

import math

from ..errors import InputError

#: name -> DuckDB type of the staging table.
STAGED_COLUMNS = {
    "file_idx": "INTEGER",  # position of the source file in the ingest (file order)
    "line": "BIGINT",  # 1-based line of the source file (header = line 1)
    "household_id": "VARCHAR",
    "ts_iso": "TIMESTAMP",  # the timestamp when it is written as ISO (YYYY-MM-DD[ HH:MM[:SS[.f]]])
    "ts_raw": "VARCHAR",  # the timestamp (or date, for wide layouts) as written, when it is not ISO
    "slot": "INTEGER",  # half-hour of the day for wide layouts (ts = date + 30 min * slot), else 0
    "kwh": "DOUBLE",
    "bad_value": "BOOLEAN",  # a non-blank value that is not a number
    "grp_raw": "VARCHAR",  # group as the file says it (ToU/Std, D/N), NULL when the file has none
    "acorn": "VARCHAR",
    "acorn_grouped": "VARCHAR",
}

#: Strings read as missing (after trimming, case-insensitive).
MISSING_TOKENS = ("", "null", "nan", "na", "n/a")


def staged_insert_sql(layout_select: str) -> str:
    """Wrap a layout's SELECT (raw ``ts_raw`` text) into the staging columns.

    ISO timestamps are cast at once (cheap, and unambiguous); any other text is kept, trimmed, for the
    whole-column format inference. A cast is only tried on text with ``-`` as its fifth character, because
    DuckDB's cast reads some slash dates (``1/2/13``) as ISO-like nonsense.
    """
    cols = [c for c in STAGED_COLUMNS if c not in ("ts_iso", "ts_raw")]
    rest = ", ".join(c for c in cols if c not in ("file_idx", "line", "household_id"))
    return (
        f"SELECT file_idx, line, household_id, ts_iso, CASE WHEN ts_iso IS NULL THEN trim(ts_raw) END AS ts_raw, "
        f"{rest} FROM (SELECT *, CASE WHEN ts_raw[5] = '-' THEN try_cast(ts_raw AS TIMESTAMP) END AS ts_iso "
        f"FROM ({layout_select}))"
    )


def staging_ddl(name: str = "staged") -> str:
    cols = ", ".join(f"{c} {t}" for c, t in STAGED_COLUMNS.items())
    return f"CREATE TABLE {name} ({cols})"


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


#: Order of the rows of one (household, half-hour) when duplicates are merged: file order, then line.
MERGE_ORDER = "file_idx * 10000000000 + line"
#: The merged value: the first non-missing value in :data:`MERGE_ORDER`.
MERGED_KWH_SQL = f"arg_min(kwh, {MERGE_ORDER}) FILTER (WHERE kwh IS NOT NULL)"


def dupinfo_sql(source: str, layouts: list[str]) -> str:
    """SELECT of the ``dupinfo`` table from ``source`` rows (``file_idx, line, layout, hh, ts, kwh``).

    One row per (household, half-hour) of ``source``: the merged value, the number of rows, of non-missing and
    of distinct values, the layout of the first row and the rows per layout (``n_<layout>``). ``source`` is a
    FROM clause (it may carry joins and a WHERE); the caller adds ``HAVING`` where needed.
    """
    lay_counts = ", ".join(f"count(*) FILTER (WHERE layout = '{lay}') AS \"n_{lay}\"" for lay in layouts)
    return f"""
        SELECT hh, ts, {MERGED_KWH_SQL} AS kwh,
               count(*) AS n_rows, count(kwh) AS n_nonnull, count(DISTINCT kwh) AS n_distinct,
               arg_min(layout, {MERGE_ORDER}) AS first_layout, {lay_counts}
        FROM {source} GROUP BY hh, ts
    """


def line_sql() -> str:
    return "row_number() OVER () + 1"


def input_error_from_duckdb(file: str, exc: Exception) -> InputError:
    """Turn a DuckDB CSV error into an :class:`InputError` naming the file, the line and a fix."""
    import re

    text = str(exc)
    m = re.search(r"[Ll]ine:?\s*(\d+)", text)
    line = int(m.group(1)) if m else None
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    if "unicode" in text.lower() or "utf-8" in text.lower() or "utf8" in text.lower():
        return InputError(file, f"bytes that are not valid UTF-8 ({first})",
                          "re-save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)", line=line)
    if "column" in text.lower() and ("expected" in text.lower() or "too many" in text.lower()
                                     or "fewer" in text.lower()):
        return InputError(file, f"a row has the wrong number of fields ({first})",
                          "repair or remove that row (a truncated or mis-delimited line)", line=line)
    return InputError(file, f"cannot be read as CSV ({first})", "check the file's format", line=line)

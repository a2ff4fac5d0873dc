"""The general readings path: any layout, via a DuckDB staging table (all text), into one Parquet file.

Each file's columns come from its layout's :class:`~flexpersona.io.spec.LayoutSpec`; :func:`staged_select`
maps them onto :data:`STAGED_COLUMNS` from a relation whose columns are VARCHAR ``c0..cN``. The timestamp
stays text until its format is inferred from the whole column of each file (ISO ones are cast at once).
Rows are then classified by the rules of :mod:`.rejects`, duplicates merged value by value, and the kept
readings written with one sorted ``COPY``. :func:`read_staged` returns a
:class:`~flexpersona.io.result.ReadingsResult`; its DuckDB tables live and die with the connection it is given.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from ..config import Config
from ..errors import InputError
from ..progress import bar as progress_bar
from ..schema import SOURCE_COLUMNS
from ..store import sql_path
from . import result as res
from .dates import ISO, DateFormat, infer_datetime_format
from .lines import LineScan, record_offsets, scan_lines
from .rejects import (
    MISSING_TOKENS,
    SHAPE_ERRORS,
    RowProblem,
    bad_value_sql,
    blank_problems,
    id_sql,
    kwh_sql,
    parse_kwh,
    reason_code_sql,
    reason_sql,
    shape_problem,
)
from .sources import SourceFile, duckdb_paths, insert_rows, read_csv_sql
from .spec import DAY_SLOTS, HOUSEHOLD_COLUMNS, Columns, LayoutSpec, find_column, source_columns, text_sql

logger = logging.getLogger(__name__)

__all__ = ["MISSING_TOKENS", "STAGED_COLUMNS", "bad_value_sql", "find_column", "id_sql", "kwh_sql", "parse_kwh",
           "read_staged", "staged_select"]

#: name -> DuckDB type of the staging table.
STAGED_COLUMNS = {
    "file_idx": "INTEGER",  # position of the source file in the ingest (file order)
    "line": "BIGINT",  # 1-based record number + 1 (the physical line when the reader skipped none)
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

#: Bitmaps for duplicate detection up to this size in total [bytes]; above it a hash aggregate (spilling).
BITMAP_BYTES = 256 * 1024**2
#: Order of the rows of one (household, half-hour) when duplicates are merged: file order, then line.
MERGE_ORDER = "file_idx * 10000000000 + line"
#: The merged value: the first non-missing value in :data:`MERGE_ORDER`.
MERGED_KWH_SQL = f"arg_min(kwh, {MERGE_ORDER}) FILTER (WHERE kwh IS NOT NULL)"


def line_sql() -> str:
    """The record line of a row of a scan (record number + 1; needs ``preserve_insertion_order``)."""
    return "row_number() OVER () + 1"


def staged_select(spec: LayoutSpec, cols: Columns, rel: str, file_idx: int) -> str:
    """SELECT mapping one file of layout ``spec`` (columns at ``cols``) onto the staging columns (raw ``ts_raw``)."""
    def c(i: int | None) -> str:
        return f"c{i}" if i is not None else "NULL"

    attrs = ", ".join(f"{text_sql(i)} AS {name}"
                      for i, name in zip(cols.texts().values(), ("grp_raw", "acorn", "acorn_grouped"), strict=True))
    if spec.shape == DAY_SLOTS:
        slots = ", ".join(f'c{i} AS "{s}"' for s, i in cols.slots)
        names = ", ".join(f'"{s}"' for s, _ in cols.slots)
        inner = (f"SELECT {line_sql()} AS line, {id_sql(c(cols.household))} AS household_id, "
                 f"c{cols.timestamp} AS ts_raw, {attrs}, {slots} FROM {rel}")
        return (f"SELECT {file_idx} AS file_idx, line, household_id, ts_raw, CAST(slot AS INTEGER) AS slot, "
                f"{kwh_sql('raw')} AS kwh, {bad_value_sql('raw')} AS bad_value, grp_raw, acorn, acorn_grouped "
                f"FROM ({inner}) UNPIVOT INCLUDE NULLS (raw FOR slot IN ({names}))")
    if spec.shape == HOUSEHOLD_COLUMNS:
        hcols = ", ".join(f'c{i} AS "{hid}"' for hid, i in cols.households)
        names = ", ".join(f'"{hid}"' for hid, _ in cols.households)
        grp = "left(household_id, 1)" if spec.group_from_id else "NULL"
        inner = f"SELECT {line_sql()} AS line, c{cols.timestamp} AS ts_raw, {hcols} FROM {rel}"
        return (f"SELECT {file_idx} AS file_idx, line, household_id, ts_raw, 0 AS slot, {kwh_sql('raw')} AS kwh, "
                f"{bad_value_sql('raw')} AS bad_value, {grp} AS grp_raw, NULL AS acorn, NULL AS acorn_grouped "
                f"FROM ({inner}) UNPIVOT INCLUDE NULLS (raw FOR household_id IN ({names}))")
    val = c(cols.value)
    return (f"SELECT {file_idx} AS file_idx, {line_sql()} AS line, {id_sql(c(cols.household))} AS household_id, "
            f"c{cols.timestamp} AS ts_raw, 0 AS slot, {kwh_sql(val)} AS kwh, {bad_value_sql(val)} AS bad_value, "
            f"{attrs} FROM {rel}")


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


def duplicate_frames(con: duckdb.DuckDBPyConnection, dupinfo: str, layouts: list[str]
                     ) -> tuple[pd.DataFrame, dict[str, int]]:
    """The ``duplicates`` table (per household x year) and rows merged away per layout, from ``dupinfo``."""
    dup = con.execute(f"""
        SELECT hh, year(ts) AS y, sum(n_rows - 1) AS extra_rows,
               sum(n_nonnull - CASE WHEN kwh IS NULL THEN 0 ELSE 1 END) AS extra_values,
               count(*) FILTER (WHERE n_distinct > 1) AS n_conflicting, min(ts) AS first_ts
        FROM {dupinfo} GROUP BY ALL ORDER BY ALL
    """).df()
    for col in ("extra_rows", "extra_values", "n_conflicting"):
        dup[col] = dup[col].astype("int64")
    firsts = dict(con.execute(f"SELECT first_layout, count(*) FROM {dupinfo} GROUP BY ALL").fetchall())
    sums = ", ".join(f'coalesce(sum("n_{lay}"), 0)' for lay in layouts)
    in_dups = con.execute(f"SELECT {sums} FROM {dupinfo}").fetchall()[0] if layouts else ()
    by_layout = {lay: int(in_dups[j]) - int(firsts.get(lay, 0)) for j, lay in enumerate(layouts)}
    return dup, {k: v for k, v in by_layout.items() if v}


def rejected_rows_sql(rows: str) -> str:
    """Rejected rows of ``rows`` (``file_idx, line, hh, reason``) per reason x household x file (record lines)."""
    return f"""
        SELECT reason AS code, hh AS household_id, file_idx, min(line) AS line, count(*) AS count,
               list_slice(list(line ORDER BY line), 1, 5) AS lines
        FROM {rows} WHERE reason IS NOT NULL GROUP BY ALL
    """


def shape_problems(rows: list[tuple[int, int, list[str], str | None]], scans: dict[int, LineScan],
                   cols: dict[int, Columns]) -> list[RowProblem]:
    """Row problems of the reader's rejects ``(file_idx, line, error types, row text)`` of shape errors."""
    out = []
    for idx, line, types, text in rows:
        etype = "TOO MANY COLUMNS" if "TOO MANY COLUMNS" in types else "MISSING COLUMNS"
        out.append(shape_problem(idx, line, etype, text, last_line=scans[idx].last_line,
                                 terminated=scans[idx].terminated, household_column=cols[idx].household))
    return out


def reader_rejects(con: duckdb.DuckDBPyConnection, errors: str, scans: str) -> list[tuple[str, int, list[str],
                                                                                              list[str], str | None]]:
    """The reader's rejects ``(file path, line, error types, columns, row text)``, one per line."""
    return con.execute(f"""
        SELECT s.file_path, e.line, list(DISTINCT e.error_type::VARCHAR ORDER BY e.error_type::VARCHAR),
               list(DISTINCT coalesce(e.column_name, '')), first(e.csv_line)
        FROM {errors} e JOIN {scans} s USING (scan_id, file_id) GROUP BY ALL ORDER BY ALL
    """).fetchall()


def _file_error(name: str, line: int, types: list[str]) -> InputError:
    if any("ENCODING" in t or "UNICODE" in t for t in types):
        return InputError(name, "bytes that are not valid UTF-8",
                          "re-save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)", line=line)
    return InputError(name, f"the CSV reader cannot read a row ({', '.join(types)})",
                      "repair that row (e.g. a broken quote)", line=line)


def read_staged(con: duckdb.DuckDBPyConnection, workdir: Path, readings: list[tuple[SourceFile, list[str], str]],
                specs: dict[str, LayoutSpec], config: Config, progress: bool = False) -> res.ReadingsResult:
    """Read every readings file through the staging table; the kept readings into ``workdir/staged.parquet``.

    Parameters
    ----------
    con
        A DuckDB connection of its own (memory limit and temp directory set, insertion order preserved).
    workdir
        Scratch folder for the Parquet file (created).
    readings
        ``(source, header, layout)`` per readings file, in ingest order.
    specs
        The :class:`LayoutSpec` of each layout name.
    config
        ``config.data``: timestamp convention and kWh cap.

    Raises
    ------
    InputError
        Structural problems: a missing column, undecodable bytes, no rows at all, timestamps in no known format.
    """
    t0 = time.perf_counter()
    workdir.mkdir(parents=True, exist_ok=True)
    con.execute(staging_ddl("staged"))
    files: list[dict[str, Any]] = []
    problems: list[RowProblem] = []
    scans: dict[int, LineScan] = {}
    cols_of: dict[int, Columns] = {}
    files_bar = progress_bar("ingest", len(readings), enabled=progress)  # one unit a file
    for idx, (src, header, kind) in enumerate(readings):
        cols = cols_of[idx] = specs[kind].locate(header, src.name)
        files.append({"file_idx": idx, "file": src.name, "layout": kind})
        params: dict[str, Any] = {}
        if src.suffix == ".parquet":
            sel = ", ".join(f'CAST("{h}" AS VARCHAR) AS c{i}' for i, h in enumerate(header))
            rel, params = f"(SELECT {sel} FROM read_parquet($files))", {"files": str(src.path)}
        else:
            scans[idx] = scan_lines(src, locate=True)
            rel = read_csv_sql(cols.n, rejects=(f"rej_{idx}", f"rejscan_{idx}"))
            params = {"files": duckdb_paths(con, [src])[0]}
        try:
            con.execute(f"INSERT INTO staged {staged_insert_sql(staged_select(specs[kind], cols, rel, idx))}", params)
        except duckdb.Error as exc:
            raise input_error_from_duckdb(src.name, exc) from None
        if idx in scans:
            rows = reader_rejects(con, f"rej_{idx}", f"rejscan_{idx}")
            bad = [(line, types) for _, line, types, _, _ in rows if not set(types) <= set(SHAPE_ERRORS)]
            if bad:
                raise _file_error(src.name, *bad[0])
            problems += shape_problems([(idx, line, types, text) for _, line, types, _, text in rows], scans, cols_of)
            problems += blank_problems(idx, scans[idx].blank_lines or ())
        files_bar.advance(1.0)
    files_bar.close()
    files_df = pd.DataFrame(files)
    logger.info("ingest step stage files: %.2f s", time.perf_counter() - t0)
    formats = _infer_formats(con, files, has_problems=bool(problems))
    _parse(con, files, formats, config)
    layouts = sorted({f["layout"] for f in files})
    summary = con.execute("""
        SELECT hh, layout, year(ts) AS y, reason, count(*) AS n, count(kwh) AS n_values, min(ts) AS first,
               max(ts) AS last
        FROM parsed GROUP BY ALL
    """).df()
    src_cols = source_columns(cols_of.values())
    _merge_duplicates(con, layouts, src_cols)
    dup, dup_by_layout = duplicate_frames(con, "dupinfo", layouts)
    target = workdir / "staged.parquet"
    con.execute(f"""
        COPY (SELECT hh AS household_id, ts, kwh, {", ".join(src_cols)} FROM final ORDER BY hh, ts)
        TO '{sql_path(target)}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1000000)
    """)
    households = _households(con)
    rejected = con.execute(rejected_rows_sql("parsed")).df()
    offsets = {i: record_offsets(p.line for p in problems if p.file_idx == i) for i in scans}
    logger.info("ingest step staged readings: %.2f s", time.perf_counter() - t0)
    return res.assemble(
        files=files_df, parts=[target], date_formats={files[i]["file"]: f.name for i, f in formats.items()},
        units={lay: specs[lay].unit for lay in layouts}, summary=summary, problems=problems,
        cells={i: c.cells_per_row for i, c in cols_of.items()}, duplicates=dup, duplicates_by_layout=dup_by_layout,
        households=households, rejected=rejected, offsets=offsets)


def _infer_formats(con, files: list[dict[str, Any]], *, has_problems: bool) -> dict[int, DateFormat]:
    """Timestamp format per file, decided from all its distinct non-ISO values (ISO ones were cast at staging)."""
    distinct = con.execute("""
        SELECT file_idx, count(ts_iso) AS n_iso, list(DISTINCT ts_raw) FILTER (WHERE ts_raw IS NOT NULL) AS raw
        FROM staged GROUP BY file_idx
    """).fetchall()
    if not distinct and not has_problems:
        raise InputError(", ".join(f["file"] for f in files), "the readings files have a header but no rows",
                         "pass files that hold readings")
    formats = {f["file_idx"]: DateFormat(ISO) for f in files}  # files without rows
    for idx, n_iso, vals in distinct:
        if not vals:
            continue
        name = files[idx]["file"]
        try:
            formats[idx] = infer_datetime_format(vals, source=name)
        except ValueError as exc:
            if n_iso:  # a few non-dates among ISO timestamps: those rows are unparseable
                continue
            raise InputError(name, str(exc), "write timestamps as ISO (YYYY-MM-DD HH:MM:SS) or D/M/YYYY H:MM",
                             column="timestamp") from None
    return formats


def _parse(con, files: list[dict[str, Any]], formats: dict[int, DateFormat], config: Config) -> None:
    """The ``parsed`` view: every staged row with its timestamp, value and rejection reason."""
    fmt_names = sorted({f.name for f in formats.values()})
    fmt_ids = {n: i for i, n in enumerate(fmt_names)}
    by_name = {f.name: f for f in formats.values()}
    con.execute("CREATE TABLE file_map (file_idx INTEGER, fmt_id INTEGER, layout VARCHAR)")
    insert_rows(con, "file_map", [(i, fmt_ids[f.name], files[i]["layout"]) for i, f in formats.items()])
    parse = "CASE m.fmt_id " + " ".join(
        f"WHEN {fmt_ids[n]} THEN {by_name[n].sql('d.ts_raw')}" for n in fmt_names) + " END"
    # distinct timestamps are few: parse them once, then join
    con.execute(f"""
        CREATE TABLE tsmap AS SELECT d.file_idx, d.ts_raw, {parse} AS ts0
        FROM (SELECT DISTINCT file_idx, ts_raw FROM staged WHERE ts_raw IS NOT NULL) d JOIN file_map m USING (file_idx)
    """)
    shift = "- INTERVAL 30 MINUTE" if config.data.timestamp_marks == "end" else ""
    if con.execute("SELECT count(*) FROM tsmap").fetchall()[0][0]:
        ts_expr = "coalesce(s.ts_iso, t.ts0)"
        ts_join = "LEFT JOIN tsmap t ON t.file_idx = s.file_idx AND t.ts_raw = s.ts_raw"
    else:  # every timestamp was ISO
        ts_expr, ts_join = "s.ts_iso", ""
    code = reason_code_sql("hh", "ts", "kwh", "bad_value", float(config.data.kwh_cap))
    # parsed stays a view over staged: cheaper than materialising it again
    con.execute(f"""
        CREATE VIEW parsed AS
        WITH p AS (
            SELECT s.file_idx, s.line, m.layout, s.household_id AS hh,
                   CASE WHEN isnan(s.kwh) THEN NULL ELSE s.kwh END AS kwh, s.bad_value,
                   {ts_expr} + to_minutes(30 * CAST(s.slot AS BIGINT)) {shift} AS ts,
                   s.grp_raw AS source_group, s.acorn AS source_acorn, s.acorn_grouped AS source_acorn_grouped
            FROM staged s JOIN file_map m USING (file_idx) {ts_join})
        SELECT file_idx, line, layout, hh, kwh, ts, {reason_sql(code)} AS reason,
               source_group, source_acorn, source_acorn_grouped FROM p
    """)


def _merge_duplicates(con, layouts: list[str], src_cols: list[str]) -> None:
    """``dupinfo`` (the duplicated half-hours, merged value by value) and the ``final`` view of kept readings with
    the source columns ``src_cols`` (NULL for a merged half-hour)."""
    lo, hi, n_hh = con.execute("""
        SELECT epoch_us(min(ts)), epoch_us(max(ts)), count(DISTINCT hh) FROM parsed WHERE reason IS NULL
    """).fetchall()[0]
    if lo is None:
        con.execute("CREATE TABLE dup_hh (hh VARCHAR)")
    else:
        rows = "SELECT hh, ts FROM parsed WHERE reason IS NULL"
        con.execute(f"CREATE TABLE dup_hh AS {duplicate_households_sql(rows, lo, hi, n_hh)}")
    con.execute("CREATE TABLE dupkeys AS SELECT hh, ts FROM parsed SEMI JOIN dup_hh USING (hh) WHERE reason IS NULL "
                "GROUP BY ALL HAVING count(*) > 1")
    con.execute(f"CREATE TABLE dupinfo AS "
                f"{dupinfo_sql('parsed SEMI JOIN dupkeys USING (hh, ts) WHERE reason IS NULL', layouts)}")
    n_dupkeys = con.execute("SELECT count(*) FROM dupinfo").fetchall()[0][0]
    anti = "ANTI JOIN dupkeys USING (hh, ts)" if n_dupkeys else ""
    con.execute(f"""
        CREATE VIEW final AS
        SELECT hh, ts, kwh, {", ".join(src_cols)} FROM parsed {anti} WHERE reason IS NULL
        UNION ALL SELECT hh, ts, kwh, {", ".join(f"CAST(NULL AS {SOURCE_COLUMNS[c]})" for c in src_cols)} FROM dupinfo
    """)


def duplicate_households_sql(rows: str, lo_us: int, hi_us: int, n_hh: int) -> str:
    """SQL listing the households (``hh``) of ``rows`` (``hh``, on-grid ``ts``) with two rows at one half-hour.

    Per household, ``count(*)`` against the number of distinct half-hours, counted as the set bits of a
    bitmap over ``[lo_us, hi_us]`` (epoch microseconds): a fixed-size state per household instead of a hash
    table over every (household, half-hour). When the bitmaps would exceed :data:`BITMAP_BYTES` in total
    (decades of data), a hash aggregate that spills to the temp directory.
    """
    span = int((hi_us - lo_us) // 1_800_000_000) + 1
    if span * max(n_hh, 1) / 8 <= BITMAP_BYTES:
        return f"""
            SELECT hh FROM ({rows}) GROUP BY hh
            HAVING count(*) > bit_count(bitstring_agg(CAST((epoch_us(ts) - {int(lo_us)}) // 1800000000 AS BIGINT),
                                                      0, {span - 1}))
        """
    return f"SELECT DISTINCT hh FROM ({rows}) GROUP BY hh, ts HAVING count(*) > 1"


def _households(con) -> pd.DataFrame:
    rows = con.execute("""
        SELECT household_id, list(DISTINCT grp_raw ORDER BY grp_raw) FILTER (WHERE grp_raw IS NOT NULL) AS grps,
               first(acorn ORDER BY file_idx, line) FILTER (WHERE acorn IS NOT NULL) AS acorn,
               first(acorn_grouped ORDER BY file_idx, line) FILTER (WHERE acorn_grouped IS NOT NULL) AS acorn_grouped
        FROM staged WHERE household_id IS NOT NULL GROUP BY household_id ORDER BY household_id
    """).fetchall()
    return res.households_frame(rows)


def input_error_from_duckdb(file: str, exc: Exception) -> InputError:
    """Turn a DuckDB CSV error into an :class:`InputError` naming the file, the line and a fix."""
    import re

    text = str(exc)
    m = re.search(r"[Ll]ine:?\s*(\d+)", text)
    line = int(m.group(1)) if m else None
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    if "Fix:" in text:
        return InputError(file, text.split(": ", 1)[-1].split(". Fix:")[0], text.split("Fix:", 1)[1].strip())
    if "unicode" in text.lower() or "utf-8" in text.lower() or "utf8" in text.lower():
        return InputError(file, f"bytes that are not valid UTF-8 ({first})",
                          "re-save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)", line=line)
    if "invalid state" in text.lower():
        return InputError(file, f"the CSV reader stopped ({first}); mixed line endings (CRLF and LF) or a broken "
                          "quote", "give every line the same line ending (e.g. dos2unix) and check quotes",
                          line=line)
    if "column" in text.lower() and ("expected" in text.lower() or "too many" in text.lower()
                                     or "fewer" in text.lower()):
        return InputError(file, f"a row has the wrong number of fields ({first})",
                          "repair or remove that row (a truncated or mis-delimited line)", line=line)
    return InputError(file, f"cannot be read as CSV ({first})", "check the file's format", line=line)

"""The streaming readings path: one pass per CSV file straight into the readings Parquet.

For the common, big case -- London Datastore (or Kaggle half-hourly) CSV files on disk with ISO timestamps --
every file is read once by DuckDB and written at once as Parquet, partitioned by a small code
``4 * reason + group`` (reason ``0`` = a kept row; group none/control/treatment/other). The kept
partition *is* the readings table; everything else is computed from the Parquet with columnar aggregations:

* row accounting, ledger counts and group evidence per household from one ``GROUP BY`` of the (few) files;
* duplicate (household, ts) detection without a hash over every half-hour: per household, rows against
  ``bit_count(bitstring_agg(slot))`` (a fixed-size bitmap of the half-hours seen);
* line numbers only where a message needs them: the (rare) files with rejected rows, and the files holding
  households with duplicates, are read a second time with their line numbers, for those rows only.

Anything unusual -- a timestamp that is not ISO, an unknown group label, Acorn columns, zip members -- makes
:func:`ingest_fast` return None, and the general staging path of :mod:`flexpersona.io.ingest` runs instead.
The tables it leaves on the connection (``summary``, ``hhinfo``, ``dupinfo``, ``parsed``) have the columns the
general path's tables have, so the ledger, issues and accounting code is shared.
"""

from __future__ import annotations

import logging
import re
import shutil
import time
from pathlib import Path
from typing import Any

import duckdb

from ..config import Config
from ..errors import InputError
from . import datastore, kaggle
from .households import GROUP_LABELS
from .sources import SourceFile, register_relation
from .staging import find_column, input_error_from_duckdb, line_sql

logger = logging.getLogger(__name__)

#: Long layouts the streaming path handles.
FAST_LAYOUTS = {datastore.LAYOUT: ("DateTime", datastore.staged_select),
                kaggle.HALFHOURLY: ("tstp", kaggle.staged_select_halfhourly)}
#: Row codes written in the partition key (0 = kept) -> rejection reason.
REASON_CODES = {1: "missing_household_id", 2: "unparseable_timestamp", 3: "off_grid_timestamp",
                4: "unparseable_value", 5: "negative_value", 6: "above_cap"}
#: Bitmaps for duplicate detection up to this size in total [bytes]; above it a hash aggregate (spilling).
BITMAP_BYTES = 256 * 1024**2
_ISO_START = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{1,2}:\d{2}")
_LABEL = {"treatment": "ToU", "control": "Std"}
#: Group code ``g`` of :func:`_rows_sql` -> group.
_GROUPS = ("none", "control", "treatment", "other")


def eligible(readings: list[tuple[SourceFile, list[str], str]]) -> bool:
    """Whether every readings file can take the streaming path (CSV on disk, long layout, ISO timestamps)."""
    for src, header, kind in readings:
        if src.member is not None or src.suffix not in (".csv", ".txt") or kind not in FAST_LAYOUTS:
            return False
        low = {h.strip().lower() for h in header}
        if "acorn" in low or "acorn_grouped" in low:
            return False
        ts_col = find_column(header, FAST_LAYOUTS[kind][0], src.name)
        with src.open() as fh:
            fh.readline(1 << 20)
            first = fh.readline(1 << 20).decode("utf-8", errors="replace")
        fields = first.rstrip("\r\n").split(",")
        if first.strip() and (len(fields) <= ts_col or not _ISO_START.match(fields[ts_col])):
            return False
    return True


def _rows_sql(layout_select: str, cap: float, shift: str) -> str:
    """Typed rows with their code ``r`` (0 kept, else :data:`REASON_CODES`) and group code ``g`` (:data:`_GROUPS`)."""
    treat = ", ".join(f"'{k}'" for k, v in GROUP_LABELS.items() if v == "treatment")
    ctrl = ", ".join(f"'{k}'" for k, v in GROUP_LABELS.items() if v == "control")
    return f"""
        SELECT line, household_id, ts, kwh,
            CASE WHEN household_id IS NULL THEN 1 WHEN ts IS NULL THEN 2
                 WHEN epoch_us(ts) % 1800000000 <> 0 THEN 3 WHEN bad_value THEN 4
                 WHEN kwh < 0 THEN 5 WHEN kwh > CAST('{cap!r}' AS DOUBLE) THEN 6 ELSE 0 END AS r,
            CASE grp_raw WHEN 'Std' THEN 1 WHEN 'ToU' THEN 2 ELSE
                CASE WHEN grp_raw IS NULL THEN 0 WHEN lower(grp_raw) IN ({ctrl}) THEN 1
                     WHEN lower(grp_raw) IN ({treat}) THEN 2 ELSE 3 END END AS g
        FROM (SELECT line, household_id, CASE WHEN isnan(kwh) THEN NULL ELSE kwh END AS kwh, bad_value, grp_raw,
                     CASE WHEN ts_raw[5] = '-' THEN try_cast(ts_raw AS TIMESTAMP) END {shift} AS ts
              FROM ({layout_select}))
    """


def _q(path: Path | str) -> str:
    return str(path).replace("'", "''")


def _run(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any], name: str) -> None:
    try:
        con.execute(sql, params)
    except duckdb.Error as exc:
        text = str(exc)
        if "Fix:" in text:
            raise InputError(name, text.split(": ", 1)[-1].split(". Fix:")[0],
                             text.split("Fix:", 1)[1].strip()) from None
        raise input_error_from_duckdb(name, exc) from None


def ingest_fast(con: duckdb.DuckDBPyConnection, workdir: Path, readings, config: Config,
                progress: bool = False) -> dict[str, Any] | None:
    """Stream every readings file once into Parquet under ``workdir``; None when the general path must run.

    Parameters
    ----------
    con
        The ingest's DuckDB connection (memory limit and temp directory already set).
    workdir
        Scratch folder under the store (removed by the caller).
    readings
        ``(source, header, layout)`` per readings file, all :func:`eligible`.
    config
        ``config.data``: timestamp convention and kWh cap.
    progress
        Show a progress bar over the files.

    Returns
    -------
    dict or None
        ``files`` (file_idx, file, layout), ``files_by_layout``, ``layouts``, ``date_formats`` and ``parts``
        (the kept-row Parquet files, to be moved into the store's ``readings/``); the connection then holds
        ``summary``, ``hhinfo``, ``dupinfo`` and ``parsed`` (rejected rows with their lines).
    """
    from tqdm.auto import tqdm

    t0 = time.perf_counter()
    shift = "- INTERVAL 30 MINUTE" if config.data.timestamp_marks == "end" else ""
    cap = float(config.data.kwh_cap)
    con.execute("SET preserve_insertion_order = false")
    workdir.mkdir(parents=True, exist_ok=True)
    files: list[dict[str, Any]] = []
    parts: list[tuple[str, int, int, str, str]] = []  # (path, file_idx, reason code, group, layout)
    line_selects: dict[int, tuple[str, dict[str, str]]] = {}
    for idx, (src, header, kind) in enumerate(tqdm(readings, desc="reading", unit="file", disable=not progress)):
        rel, params = register_relation(con, src, header)
        with_line = FAST_LAYOUTS[kind][1](rel, header, idx, src.name)
        no_line = with_line.replace(line_sql(), "CAST(NULL AS BIGINT)")
        line_selects[idx] = (_rows_sql(with_line, cap, shift), params)
        target = _q(workdir / f"f{idx}")
        _run(con, f"""
            COPY (SELECT household_id, ts, kwh, r * 4 + g AS p FROM ({_rows_sql(no_line, cap, shift)}))
            TO '{target}' (FORMAT parquet, PARTITION_BY (p), COMPRESSION zstd, ROW_GROUP_SIZE 1000000)
        """, params, src.name)
        files.append({"file_idx": idx, "file": src.name, "layout": kind})
        for p in sorted((workdir / f"f{idx}").glob("p=*/*.parquet")):
            r, g = divmod(int(p.parent.name[2:]), 4)
            parts.append((str(p), idx, r, _GROUPS[g], kind))
        if any(r == 2 or g == "other" for _, i, r, g, _ in parts if i == idx):
            logger.info("%s: a timestamp that is not ISO or an unknown group label: the general ingest path runs",
                        src.name)
            parts = []
            break
    logger.info("ingest step stream files to Parquet: %.2f s", time.perf_counter() - t0)
    if not parts:  # no rows at all, or a file needs the general path
        shutil.rmtree(workdir, ignore_errors=True)
        con.execute("SET preserve_insertion_order = true")
        return None
    con.execute("CREATE TABLE filemap (path VARCHAR, file_idx INTEGER, r INTEGER, g VARCHAR, layout VARCHAR)")
    con.executemany("INSERT INTO filemap VALUES (?, ?, ?, ?, ?)", [list(p) for p in parts])
    all_paths = [p[0] for p in parts]
    kept_paths = [p[0] for p in parts if p[2] == 0]
    con.execute("""
        CREATE TABLE fsum AS
        SELECT filename AS path, household_id AS hh, year(ts) AS y, count(*) AS n, count(kwh) AS n_values,
               min(ts) AS first, max(ts) AS last
        FROM read_parquet($p, filename = true) GROUP BY ALL
    """, {"p": all_paths})
    reason = "CASE m.r " + " ".join(f"WHEN {c} THEN '{n}'" for c, n in REASON_CODES.items()) + " END"
    con.execute(f"""
        CREATE TABLE summary AS
        SELECT f.hh, m.layout, f.y, {reason} AS reason, sum(f.n) AS n, sum(f.n_values) AS n_values,
               min(f.first) AS first, max(f.last) AS last
        FROM fsum f JOIN filemap m USING (path) GROUP BY ALL
    """)
    label = "CASE m.g " + " ".join(f"WHEN '{g}' THEN '{lab}'" for g, lab in _LABEL.items()) + " END"
    con.execute(f"""
        CREATE TABLE hhinfo AS
        SELECT f.hh AS household_id, f.hh, list(DISTINCT {label}) FILTER (WHERE {label} IS NOT NULL) AS grps,
               CAST(NULL AS VARCHAR) AS acorn, CAST(NULL AS VARCHAR) AS acorn_grouped
        FROM fsum f JOIN filemap m USING (path) WHERE f.hh IS NOT NULL GROUP BY f.hh
    """)
    layouts = sorted({f["layout"] for f in files})
    dup_hh = _duplicate_households(con, kept_paths)
    _resolve_duplicates(con, workdir, dup_hh, line_selects, files, layouts, parts)
    _rejected_rows(con, line_selects, files, parts)
    logger.info("ingest step stats, duplicates and rejected lines: %.2f s", time.perf_counter() - t0)
    parts_out = [Path(p) for p, _, r, _, _ in parts if r == 0 and Path(p).exists()]
    resolved = workdir / "resolved.parquet"
    if resolved.exists():
        parts_out.append(resolved)
    import pandas as pd

    files_df = pd.DataFrame(files)
    return {
        "files": files_df,
        "files_by_layout": {k: int(v) for k, v in files_df["layout"].value_counts().items()},
        "layouts": layouts,
        "date_formats": {f["file"]: "ISO" for f in files},
        "parts": parts_out,
    }


def _duplicate_households(con: duckdb.DuckDBPyConnection, kept_paths: list[str]) -> list[str]:
    """Households with two kept rows at one half-hour (bitmap of half-hours seen, or a spilling hash)."""
    if not kept_paths:
        return []
    lo, hi, n_hh = con.execute("""
        SELECT epoch_us(min(f.first)), epoch_us(max(f.last)), count(DISTINCT f.hh)
        FROM fsum f JOIN filemap m USING (path) WHERE m.r = 0
    """).fetchall()[0]
    sql = duplicate_households_sql("SELECT household_id AS hh, ts FROM read_parquet($p)", lo, hi, n_hh)
    return sorted(r[0] for r in con.execute(sql, {"p": kept_paths}).fetchall())


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


def _resolve_duplicates(con, workdir: Path, dup_hh: list[str], line_selects, files, layouts, parts) -> None:
    """Merge the duplicates of the affected households value by value (first non-null by file, then line)."""
    lay_counts = ", ".join(f"count(*) FILTER (WHERE layout = '{lay}') AS \"n_{lay}\"" for lay in layouts)
    con.execute("CREATE TABLE dupsrc (file_idx INTEGER, line BIGINT, layout VARCHAR, hh VARCHAR, ts TIMESTAMP, "
                "kwh DOUBLE)")
    if dup_hh:
        con.execute("CREATE TABLE dup_hh (hh VARCHAR)")
        con.executemany("INSERT INTO dup_hh VALUES (?)", [[h] for h in dup_hh])
        affected = [r[0] for r in con.execute("""
            SELECT DISTINCT m.file_idx FROM fsum f JOIN filemap m USING (path) SEMI JOIN dup_hh d ON d.hh = f.hh
            WHERE m.r = 0 ORDER BY 1
        """).fetchall()]
        for idx in affected:
            sql, params = line_selects[idx]
            _run(con, f"""
                INSERT INTO dupsrc SELECT {idx}, line, '{files[idx]['layout']}', household_id, ts, kwh
                FROM ({sql}) WHERE r = 0 AND household_id IN (SELECT hh FROM dup_hh)
            """, params, files[idx]["file"])
    con.execute(f"""
        CREATE TABLE dupinfo AS
        SELECT hh, ts,
               arg_min(kwh, file_idx * 10000000000 + line) FILTER (WHERE kwh IS NOT NULL) AS kwh,
               count(*) AS n_rows, count(kwh) AS n_nonnull, count(DISTINCT kwh) AS n_distinct,
               arg_min(layout, file_idx * 10000000000 + line) AS first_layout, {lay_counts}
        FROM dupsrc GROUP BY hh, ts HAVING count(*) > 1
    """)
    if not dup_hh:
        return
    # the affected households leave their partition files and are written once, merged and sorted
    for path, _, r, _, _ in parts:
        if r != 0:
            continue
        n = con.execute("SELECT count(*) FROM read_parquet($p) WHERE household_id IN (SELECT hh FROM dup_hh)",
                        {"p": path}).fetchall()[0][0]
        if not n:
            continue
        new = Path(path).with_suffix(".rewritten")
        con.execute(f"""
            COPY (SELECT household_id, ts, kwh FROM read_parquet($p) WHERE household_id NOT IN (SELECT hh FROM dup_hh))
            TO '{_q(new)}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1000000)
        """, {"p": path})
        Path(new).replace(path)
    con.execute(f"""
        COPY (SELECT hh AS household_id, ts,
                     arg_min(kwh, file_idx * 10000000000 + line) FILTER (WHERE kwh IS NOT NULL) AS kwh
              FROM dupsrc GROUP BY hh, ts ORDER BY hh, ts)
        TO '{_q(workdir / "resolved.parquet")}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1000000)
    """)
    logger.info("duplicates: %d households merged value by value", len(dup_hh))


def _rejected_rows(con, line_selects, files, parts) -> None:
    """``parsed``: the rejected rows with their lines (only the files that have any are read again)."""
    reason = "CASE r " + " ".join(f"WHEN {c} THEN '{n}'" for c, n in REASON_CODES.items()) + " END"
    con.execute("CREATE TABLE parsed (file_idx INTEGER, line BIGINT, layout VARCHAR, hh VARCHAR, kwh DOUBLE, "
                "ts TIMESTAMP, reason VARCHAR)")
    for idx in sorted({i for _, i, r, _, _ in parts if r != 0}):
        sql, params = line_selects[idx]
        _run(con, f"""
            INSERT INTO parsed SELECT {idx}, line, '{files[idx]['layout']}', household_id, kwh, ts, {reason}
            FROM ({sql}) WHERE r <> 0
        """, params, files[idx]["file"])

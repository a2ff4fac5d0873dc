"""The streaming readings path: long CSV files read once, typed by DuckDB's CSV reader, into one Parquet file.

For the common, big case -- London Datastore (or Kaggle half-hourly) CSV files with ISO timestamps, on disk or
in zip archives (read through an fsspec zip filesystem registered on DuckDB: streamed, never unpacked) -- the
files of one layout are read by a single ``read_csv`` with typed columns (timestamp, double) and written in
file order as one Parquet file (:meth:`_Stream._stream`): DuckDB parses and writes in parallel, and the file
does not depend on the thread count. Everything else is computed without parsing the text again:

* values DuckDB cannot cast land in its rejects table (``store_rejects``), not in the Parquet; their files are
  read again as text (:meth:`_Stream._reread_sql`), where each such row is classified exactly as the general
  path does (a padded ``Null`` is a missing value and kept; ``abc`` is rejected as ``unparseable_value``);
* group labels (``stdorToU``) and Acorn are counted per file x household by one text-only pass
  (:meth:`_Stream._labels`), which also says which files hold which household;
* row accounting and ledger counts come from one ``GROUP BY`` over the Parquet (:meth:`_Stream._stats`),
  rejected rows (negative, above the cap, off the half-hour grid, no household id) found by their values;
* duplicate (household, ts) detection uses a bitmap of the half-hours seen per household
  (:func:`duplicate_households_sql`), and only the files holding affected households are read again, with line
  numbers, to merge them value by value; the Parquet is rewritten only when it holds rows to drop.

Anything unusual -- a timestamp that is not ISO, an unknown group label, a row with the wrong number of
fields, two Acorn values of one household in one file -- makes :func:`ingest_fast` return None, and the
general staging path of :mod:`flexpersona.io.ingest` runs instead (and reports the problem). The tables it
leaves on the connection (``summary``, ``hhinfo``, ``dupinfo``, ``parsed``) have the columns the general
path's tables have, so the ledger, issues and accounting code is shared.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from ..config import Config
from . import datastore, kaggle
from .households import GROUP_LABELS
from .sources import SourceFile, duckdb_paths
from .staging import MERGED_KWH_SQL, bad_value_sql, dupinfo_sql, find_column, id_sql, kwh_sql, line_sql

logger = logging.getLogger(__name__)

#: Long layouts the streaming path handles: layout -> name of the timestamp column.
FAST_LAYOUTS = {datastore.LAYOUT: "DateTime", kaggle.HALFHOURLY: "tstp"}
#: Rejection codes ``r`` (0 = a kept row) -> reason.
REASON_CODES = {1: "missing_household_id", 2: "unparseable_timestamp", 3: "off_grid_timestamp",
                4: "unparseable_value", 5: "negative_value", 6: "above_cap"}
#: Value texts DuckDB's typed reader reads as missing (others among :data:`staging.MISSING_TOKENS`, e.g. a padded
#: `` Null ``, are cast errors there and are classified by the text re-read).
NULL_TOKENS = ("Null", "NULL", "null", " Null ", " Null", "Null ", " ", "  ", "NA", "N/A", "na", "n/a")
#: Bitmaps for duplicate detection up to this size in total [bytes]; above it a hash aggregate (spilling).
BITMAP_BYTES = 256 * 1024**2
_ISO_START = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{1,2}:\d{2}")
_LABEL = {"treatment": "ToU", "control": "Std"}


@dataclass(frozen=True)
class _Roles:
    """Column positions of one long file: household id, timestamp, value; group label and Acorn (None if absent)."""

    n: int
    hid: int
    ts: int
    val: int
    grp: int | None
    acorn: int | None = None
    acorn_grouped: int | None = None

    @property
    def attributes(self) -> bool:
        """Whether the file has per-household text attributes (group label, Acorn) for the text pass."""
        return (self.grp, self.acorn, self.acorn_grouped) != (None, None, None)


def _roles(kind: str, header: list[str], name: str) -> _Roles:
    hid = find_column(header, "LCLid", name)
    ts = find_column(header, FAST_LAYOUTS[kind], name)
    if kind == datastore.LAYOUT:
        val = find_column(header, datastore.VALUE_COLUMN, name)
        assert hid is not None and ts is not None and val is not None
        return _Roles(len(header), hid, ts, val, find_column(header, "stdorToU", name, required=False),
                      find_column(header, "Acorn", name, required=False),
                      find_column(header, "Acorn_grouped", name, required=False))
    val = next(i for i, h in enumerate(header) if h.lower().startswith("energy("))
    assert hid is not None and ts is not None
    return _Roles(len(header), hid, ts, val, None)


def eligible(readings: list[tuple[SourceFile, list[str], str]]) -> bool:
    """Whether every readings file can take the streaming path (CSV file or zip member, long layout, ISO times)."""
    for src, header, kind in readings:
        if src.suffix not in (".csv", ".txt") or kind not in FAST_LAYOUTS:
            return False
        ts_col = find_column(header, FAST_LAYOUTS[kind], src.name)
        with src.open() as fh:
            fh.readline(1 << 20)
            first = fh.readline(1 << 20).decode("utf-8", errors="replace")
        fields = first.rstrip("\r\n").split(",")
        if first.strip() and (len(fields) <= ts_col or not _ISO_START.match(fields[ts_col])):
            return False
    return True


def _q(path: Path | str) -> str:
    return str(path).replace("'", "''")


def _strs(values) -> str:
    return ", ".join("'" + str(v).replace("'", "''") + "'" for v in values)


def _reason_sql(code: str) -> str:
    return f"CASE {code} " + " ".join(f"WHEN {c} THEN '{n}'" for c, n in REASON_CODES.items()) + " END"


def _code_sql(hh: str, ts: str, kwh: str, bad: str, cap: float) -> str:
    """The rejection code ``r`` of a row (the same rules as the general path)."""
    return (f"CASE WHEN {hh} IS NULL THEN 1 WHEN {ts} IS NULL THEN 2 WHEN epoch_us({ts}) % 1800000000 <> 0 THEN 3 "
            f"WHEN {bad} THEN 4 WHEN {kwh} < 0 THEN 5 WHEN {kwh} > CAST('{cap!r}' AS DOUBLE) THEN 6 ELSE 0 END")


def _set_threads(con: duckdb.DuckDBPyConnection, n: int | None) -> int:
    before = int(con.execute("SELECT current_setting('threads')").fetchall()[0][0])
    con.execute("SET threads = $n", {"n": int(n or os.cpu_count() or 1)})
    return before


def ingest_fast(con: duckdb.DuckDBPyConnection, workdir: Path, readings, config: Config,
                progress: bool = False) -> dict[str, Any] | None:
    """Stream the readings files into Parquet under ``workdir``; None when the general path must run.

    Parameters
    ----------
    con
        The ingest's DuckDB connection (memory limit and temp directory already set).
    workdir
        Scratch folder under the store (removed by the caller).
    readings
        ``(source, header, layout)`` per readings file, all :func:`eligible`.
    config
        ``config.data``: timestamp convention, kWh cap and ``ingest_threads``.
    progress
        Show DuckDB's progress bar while the files are streamed (one statement per layout).

    Returns
    -------
    dict or None
        ``files`` (file_idx, file, layout), ``files_by_layout``, ``layouts``, ``date_formats`` and ``parts``
        (the kept-row Parquet files, to be moved into the store's ``readings/``); the connection then holds
        ``summary``, ``hhinfo``, ``dupinfo`` and ``parsed`` (rejected rows with their lines).
    """
    import pandas as pd

    workdir.mkdir(parents=True, exist_ok=True)
    threads = _set_threads(con, config.data.ingest_threads)
    try:
        state = _Stream(con, workdir, readings, config, progress)
        if not state.run():
            shutil.rmtree(workdir, ignore_errors=True)
            return None
    finally:
        con.execute("SET threads = $n", {"n": threads})
    files_df = pd.DataFrame(state.files)
    return {
        "files": files_df,
        "files_by_layout": {k: int(v) for k, v in files_df["layout"].value_counts().items()},
        "layouts": state.layouts,
        "date_formats": {f["file"]: "ISO" for f in state.files},
        "parts": state.parts,
    }


class _Stream:
    """One streaming ingest: batches of files with the same layout and columns, each one Parquet file."""

    def __init__(self, con, workdir: Path, readings, config: Config, progress: bool = False):
        self.con, self.workdir, self.config, self.progress = con, workdir, config, progress
        self.cap = float(config.data.kwh_cap)
        self.shift = " - INTERVAL 30 MINUTE" if config.data.timestamp_marks == "end" else ""
        self.files = [{"file_idx": i, "file": src.name, "layout": kind} for i, (src, _, kind) in enumerate(readings)]
        self.layouts = sorted({f["layout"] for f in self.files})
        self.sources = [src for src, _, _ in readings]
        self.paths = duckdb_paths(con, self.sources)  # zip members through a registered zip filesystem
        self.roles = [_roles(kind, header, src.name) for src, header, kind in readings]
        batches: dict[tuple[str, _Roles], list[int]] = {}
        for i, (_, _, kind) in enumerate(readings):
            batches.setdefault((kind, self.roles[i]), []).append(i)
        self.batches = list(batches.items())
        self.parts: list[Path] = []
        self.batch_of: dict[int, int] = {}

    def _lap(self, t0: float, step: str) -> None:
        logger.info("ingest step %s: %.2f s", step, time.perf_counter() - t0)

    def run(self) -> bool:
        t0 = time.perf_counter()
        con = self.con
        con.execute("CREATE TABLE rejects (file_idx INTEGER, n BIGINT)")
        con.execute("CREATE TABLE labels (file_idx INTEGER, hh VARCHAR, grp VARCHAR, n BIGINT)")
        con.execute("CREATE TABLE acorns (file_idx INTEGER, hh VARCHAR, acorn VARCHAR, acorn_grouped VARCHAR)")
        for b, ((kind, roles), idxs) in enumerate(self.batches):
            if not self._stream(b, kind, roles, idxs):
                return False
        self._lap(t0, "stream files to Parquet")
        for b, ((_, roles), idxs) in enumerate(self.batches):
            if roles.attributes and not self._labels(roles, idxs):
                return False
        self._lap(t0, "group labels and Acorn")
        if not self._stats():
            return False
        self._lap(t0, "Parquet statistics")
        if not self._rejected():
            return False
        dup_hh = self._duplicate_households()
        self._resolve_duplicates(dup_hh)
        self._finish(dup_hh)
        self._lap(t0, "rejected rows, duplicates, accounting")
        return True

    # -- pass 1: typed CSV -> Parquet -------------------------------------------------------------------------
    def _csv(self, roles: _Roles, typed: bool, **extra: str) -> str:
        types = {roles.ts: "TIMESTAMP", roles.val: "DOUBLE"} if typed else {}
        cols = "{" + ", ".join(f"'c{i}': '{types.get(i, 'VARCHAR')}'" for i in range(roles.n)) + "}"
        opts = "".join(f", {k}={v}" for k, v in extra.items())
        if typed:
            keep = "[" + _strs(f"c{i}" for i in range(roles.n) if i not in types) + "]"
            opts += f", nullstr=[{_strs(('', *NULL_TOKENS))}], force_not_null={keep}"
        return (f"read_csv($files, header=true, delim=',', quote='\"', escape='\"', auto_detect=false, "
                f"columns={cols}, strict_mode=true, null_padding=false{opts})")

    def _stream(self, b: int, kind: str, roles: _Roles, idxs: list[int]) -> bool:
        con, paths = self.con, [self.paths[i] for i in idxs]
        src = self._csv(roles, True, store_rejects="true", rejects_table=f"'rej_{b}'", rejects_scan=f"'rejscan_{b}'",
                        rejects_limit="0")
        target = self.workdir / f"b{b}.parquet"
        hid, val = f"c{roles.hid}", f"c{roles.val}"
        if self.progress:
            con.execute("SET enable_progress_bar = true")
        try:
            con.execute(f"""
                COPY (SELECT {id_sql(hid)} AS household_id, c{roles.ts}{self.shift} AS ts,
                             CASE WHEN isnan({val}) THEN NULL ELSE {val} END AS kwh FROM {src})
                TO '{_q(target)}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1000000)
            """, {"files": paths})
        except duckdb.Error as exc:
            logger.info("%s files: %s; the general ingest path runs", kind, str(exc).splitlines()[0])
            return False
        finally:
            con.execute("SET enable_progress_bar = false")
        rej = con.execute(f"""
            SELECT s.file_path, e.column_name, e.error_type::VARCHAR, count(*)
            FROM rej_{b} e JOIN rejscan_{b} s USING (scan_id, file_id) GROUP BY ALL
        """).fetchall()
        by_path = {p: i for p, i in zip(paths, idxs)}
        for path, column, etype, n in rej:
            if etype != "CAST" or column != val:
                logger.info("%s: %s in column %s; the general ingest path runs", path, etype, column)
                return False
            con.execute("INSERT INTO rejects VALUES (?, ?)", [by_path[path], n])
        self.parts.append(target)
        for i in idxs:
            self.batch_of[i] = b
        return True

    # -- pass 2: group labels per file x household (text only) ------------------------------------------------
    def _labels(self, roles: _Roles, idxs: list[int]) -> bool:
        """Group labels and Acorn per file x household, from one text-only pass (``labels``, ``acorns``)."""
        con = self.con
        paths = [self.paths[i] for i in idxs]
        cols = [f"c{c}" if c is not None else "NULL" for c in (roles.grp, roles.acorn, roles.acorn_grouped)]
        # grouped on the raw text (cheap); ids, labels and Acorn are trimmed on the small result
        rows = con.execute(f"""
            SELECT file_index, c{roles.hid}, {cols[0]}, {cols[1]}, {cols[2]}, count(*) AS n
            FROM {self._csv(roles, False)} GROUP BY ALL
        """, {"files": paths}).fetchall()

        def text(raw: str | None) -> str | None:
            return (raw.strip(" ") or None) if raw is not None else None

        out: dict[tuple[int, str | None, str | None], int] = {}
        acorns: dict[tuple[int, str], set[tuple[str | None, str | None]]] = {}
        for k, raw_hh, raw_g, raw_a, raw_ag, n in rows:
            hh, g = text(raw_hh), text(raw_g)
            label = None
            if g is not None:
                canon = "control" if g == "Std" else "treatment" if g == "ToU" else GROUP_LABELS.get(g.lower())
                if canon is None:
                    logger.info("%s: unknown group label %r; the general ingest path runs", paths[k], g)
                    return False
                label = _LABEL[canon]
            key = (idxs[k], hh, label)
            out[key] = out.get(key, 0) + int(n)
            a, ag = text(raw_a), text(raw_ag)
            if hh is not None and (a, ag) != (None, None):
                acorns.setdefault((idxs[k], hh), set()).add((a, ag))
        for (i, hh), values in acorns.items():
            if len({a for a, _ in values} - {None}) > 1 or len({ag for _, ag in values} - {None}) > 1:
                # the general path keeps the first by line; the grouped pass does not know the lines
                logger.info("%s: household %s has several Acorn values; the general ingest path runs", paths[0], hh)
                return False
        if out:
            con.executemany("INSERT INTO labels VALUES (?, ?, ?, ?)", [[*k, n] for k, n in out.items()])
        if acorns:
            con.executemany("INSERT INTO acorns VALUES (?, ?, ?, ?)", [
                [i, hh, next((a for a, _ in v if a is not None), None), next((g for _, g in v if g is not None), None)]
                for (i, hh), v in acorns.items()])
        return True

    # -- statistics of the Parquet ----------------------------------------------------------------------------
    def _stats(self) -> bool:
        con = self.con
        code = _code_sql("household_id", "ts", "kwh", "false", self.cap)
        scans = " UNION ALL ".join(
            f"SELECT {b} AS batch, '{kind}' AS layout, household_id, ts, kwh FROM read_parquet('{_q(self.parts[b])}')"
            for b, ((kind, _), _) in enumerate(self.batches))
        con.execute(f"""
            CREATE TABLE pstat AS
            SELECT batch, layout, household_id AS hh, year(ts) AS y, {code} AS r, count(*) AS n,
                   count(kwh) AS n_values, min(ts) AS first, max(ts) AS last
            FROM ({scans}) GROUP BY ALL
        """)
        bad = con.execute("SELECT count(*) FILTER (WHERE r = 2), min(y), count(*) FROM pstat").fetchall()[0]
        n_rej = con.execute("SELECT count(*) FROM rejects").fetchall()[0][0]
        if not bad[2] and not n_rej:
            return False  # no rows at all: the general path says so
        if bad[0] or (bad[1] is not None and bad[1] < 1900):
            logger.info("a timestamp that is not ISO (or is read as year %s); the general ingest path runs", bad[1])
            return False
        # the text pass read every row once: it must account for the Parquet rows and the cast rejects
        n_labels = con.execute("SELECT sum(n) FROM labels").fetchall()[0][0]
        if n_labels is not None:
            batches = [b for b, ((_, roles), _) in enumerate(self.batches) if roles.attributes]
            n_par, n_rej = con.execute(f"""
                SELECT (SELECT sum(n) FROM pstat WHERE batch IN ({', '.join(map(str, batches))})),
                       (SELECT coalesce(sum(n), 0) FROM rejects
                        WHERE file_idx IN (SELECT DISTINCT file_idx FROM labels))
            """).fetchall()[0]
            if int(n_labels) != int(n_par or 0) + int(n_rej):  # pragma: no cover - a safety net
                logger.warning("row counts of the two passes differ (%s vs %s + %s); the general path runs",
                               n_labels, n_par, n_rej)
                return False
        return True

    def _files_of(self, hh_sql: str) -> list[int]:
        """Files holding any household of ``hh_sql`` (from the labels, else every file of those batches)."""
        con = self.con
        labelled = {r[0] for r in con.execute("SELECT DISTINCT file_idx FROM labels").fetchall()}
        null_too = bool(con.execute(f"SELECT count(*) FROM ({hh_sql}) t(h) WHERE h IS NULL").fetchall()[0][0])
        match = f"hh IN ({hh_sql})" + (" OR hh IS NULL" if null_too else "")
        found = {r[0] for r in con.execute(f"SELECT DISTINCT file_idx FROM labels WHERE {match}").fetchall()}
        batches = {r[0] for r in con.execute(f"SELECT DISTINCT batch FROM pstat WHERE {match}").fetchall()}
        for i, b in self.batch_of.items():
            if b in batches and i not in labelled:
                found.add(i)
        return sorted(found)

    # -- text re-reads with line numbers ----------------------------------------------------------------------
    def _reread_sql(self, i: int) -> str:
        """Rows of file ``i`` as text with line, code ``r`` and ``castfail`` (rejected by the typed reader)."""
        roles = self.roles[i]
        path = _q(self.paths[i])
        v = f"c{roles.val}"
        rel = self._csv(roles, False).replace("$files", f"'{path}'")
        grp = id_sql(f"c{roles.grp}") if roles.grp is not None else "NULL"
        inner = (f"SELECT {line_sql()} AS line, {id_sql(f'c{roles.hid}')} AS household_id, "
                 f"CASE WHEN c{roles.ts}[5] = '-' THEN try_cast(c{roles.ts} AS TIMESTAMP) END{self.shift} AS ts, "
                 f"{kwh_sql(v)} AS kwh0, {bad_value_sql(v)} AS bad_value, {grp} AS grp_raw, "
                 f"({v} IS NOT NULL AND {v} NOT IN ({_strs(NULL_TOKENS)}) AND try_cast({v} AS DOUBLE) IS NULL) "
                 f"AS castfail FROM {rel}")
        return (f"SELECT {i} AS file_idx, line, '{self.files[i]['layout']}' AS layout, household_id AS hh, ts, kwh, "
                f"{_code_sql('household_id', 'ts', 'kwh', 'bad_value', self.cap)} AS r, castfail "
                f"FROM (SELECT *, CASE WHEN isnan(kwh0) THEN NULL ELSE kwh0 END AS kwh FROM ({inner}))")

    def _rejected(self) -> bool:
        """``parsed`` (rejected rows with lines) and ``recovered`` (kept rows the typed reader could not cast)."""
        con = self.con
        con.execute("CREATE TABLE reread (file_idx INTEGER, line BIGINT, layout VARCHAR, hh VARCHAR, ts TIMESTAMP, "
                    "kwh DOUBLE, r INTEGER, castfail BOOLEAN)")
        con.execute("CREATE TABLE bad_hh AS SELECT DISTINCT hh FROM pstat WHERE r <> 0")
        cast_files = {r[0] for r in con.execute("SELECT DISTINCT file_idx FROM rejects").fetchall()}
        files = sorted(cast_files | set(self._files_of("SELECT hh FROM bad_hh")))
        for i in files:
            con.execute(f"INSERT INTO reread SELECT * FROM ({self._reread_sql(i)}) WHERE r <> 0 OR castfail")
        expect = dict(con.execute("SELECT file_idx, sum(n) FROM rejects GROUP BY ALL").fetchall())
        got = dict(con.execute("SELECT file_idx, count(*) FROM reread WHERE castfail GROUP BY ALL").fetchall())
        if {k: int(v) for k, v in expect.items()} != {k: int(v) for k, v in got.items()}:  # pragma: no cover
            logger.warning("cast rejects %s and text re-read %s differ; the general ingest path runs", expect, got)
            return False
        con.execute(f"""
            CREATE TABLE parsed AS SELECT file_idx, line, layout, hh, kwh, ts, {_reason_sql('r')} AS reason
            FROM reread WHERE r <> 0
        """)
        con.execute("CREATE TABLE recovered AS SELECT file_idx, line, layout, hh, ts, kwh FROM reread "
                    "WHERE r = 0 AND castfail")
        return True

    def _duplicate_households(self) -> list[str]:
        con = self.con
        lo, hi, n_hh = con.execute("""
            SELECT epoch_us(min(first)), epoch_us(max(last)), count(DISTINCT hh) FROM (
                SELECT hh, first, last FROM pstat WHERE r = 0
                UNION ALL SELECT hh, ts, ts FROM recovered)
        """).fetchall()[0]
        if lo is None:
            return []
        code = _code_sql("household_id", "ts", "kwh", "false", self.cap)
        rows = (f"SELECT household_id AS hh, ts FROM read_parquet($p) WHERE {code} = 0 "
                "UNION ALL SELECT hh, ts FROM recovered")
        sql = duplicate_households_sql(rows, lo, hi, n_hh)
        return sorted(r[0] for r in con.execute(sql, {"p": [str(p) for p in self.parts]}).fetchall())

    def _resolve_duplicates(self, dup_hh: list[str]) -> None:
        """``dupinfo``: the duplicated half-hours of the affected households, merged value by value."""
        con = self.con
        con.execute("CREATE TABLE dup_hh (hh VARCHAR)")
        if dup_hh:
            con.executemany("INSERT INTO dup_hh VALUES (?)", [[h] for h in dup_hh])
        con.execute("CREATE TABLE dupsrc (file_idx INTEGER, line BIGINT, layout VARCHAR, hh VARCHAR, ts TIMESTAMP, "
                    "kwh DOUBLE)")
        if dup_hh:
            for i in self._files_of("SELECT hh FROM dup_hh"):
                con.execute(f"""
                    INSERT INTO dupsrc SELECT file_idx, line, layout, hh, ts, kwh FROM ({self._reread_sql(i)})
                    WHERE r = 0 AND hh IN (SELECT hh FROM dup_hh)
                """)
        con.execute(f"CREATE TABLE dupinfo AS {dupinfo_sql('dupsrc', self.layouts)} HAVING count(*) > 1")
        if dup_hh:
            logger.info("duplicates: %d households merged value by value", len(dup_hh))

    def _finish(self, dup_hh: list[str]) -> None:
        """``summary`` and ``hhinfo``; the Parquet rewritten without rejected rows and merged households, which go
        (with the recovered rows) into one extra part."""
        con = self.con
        con.execute(f"""
            CREATE TABLE summary AS
            SELECT hh, layout, y, {_reason_sql('r')} AS reason, sum(n) AS n, sum(n_values) AS n_values,
                   min(first) AS first, max(last) AS last
            FROM (SELECT hh, layout, y, r, n, n_values, first, last FROM pstat
                  UNION ALL SELECT hh, layout, year(ts), r, 1, CASE WHEN kwh IS NULL THEN 0 ELSE 1 END, ts, ts
                  FROM reread WHERE castfail)
            GROUP BY ALL
        """)
        con.execute("""
            CREATE TABLE hhinfo AS
            SELECT h.hh AS household_id, h.hh, list(DISTINCT l.grp) FILTER (WHERE l.grp IS NOT NULL) AS grps,
                   (SELECT arg_min(acorn, file_idx) FROM acorns a WHERE a.hh = h.hh AND acorn IS NOT NULL) AS acorn,
                   (SELECT arg_min(acorn_grouped, file_idx) FROM acorns a
                    WHERE a.hh = h.hh AND acorn_grouped IS NOT NULL) AS acorn_grouped
            FROM (SELECT DISTINCT hh FROM summary WHERE hh IS NOT NULL) h LEFT JOIN labels l USING (hh)
            GROUP BY h.hh
        """)
        code = _code_sql("household_id", "ts", "kwh", "false", self.cap)
        dirty = {r[0] for r in con.execute("SELECT DISTINCT batch FROM pstat WHERE r <> 0").fetchall()}
        if dup_hh:
            dirty |= {r[0] for r in con.execute(
                "SELECT DISTINCT batch FROM pstat SEMI JOIN dup_hh USING (hh)").fetchall()}
        for b in sorted(dirty):
            path = self.parts[b]
            new = path.with_suffix(".rewritten")
            con.execute(f"""
                COPY (SELECT household_id, ts, kwh FROM read_parquet('{_q(path)}')
                      WHERE {code} = 0 AND household_id NOT IN (SELECT hh FROM dup_hh))
                TO '{_q(new)}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1000000)
            """)
            new.replace(path)
        extra = self.workdir / "extra.parquet"
        n_extra = con.execute("""
            SELECT (SELECT count(*) FROM dupsrc) + (SELECT count(*) FROM recovered ANTI JOIN dup_hh USING (hh))
        """).fetchall()[0][0]
        if n_extra:
            con.execute(f"""
                COPY (SELECT household_id, ts, kwh FROM (
                        SELECT hh AS household_id, ts, {MERGED_KWH_SQL} AS kwh FROM dupsrc GROUP BY hh, ts
                        UNION ALL SELECT hh, ts, kwh FROM recovered ANTI JOIN dup_hh USING (hh))
                      ORDER BY household_id, ts)
                TO '{_q(extra)}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1000000)
            """)
            self.parts.append(extra)
        self.parts = [p for p in self.parts
                      if con.execute(f"SELECT count(*) FROM read_parquet('{_q(p)}')").fetchall()[0][0]]


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

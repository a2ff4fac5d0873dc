"""The streaming readings path: long CSV files read once, typed by DuckDB's CSV reader, into one Parquet file.

For the common, big case -- London Datastore (or Kaggle half-hourly) CSV files with ISO timestamps, on disk,
gzip-compressed or in zip archives (read through an fsspec zip filesystem registered on DuckDB: streamed,
never unpacked) -- the files of one layout are read by a single ``read_csv`` with typed columns (timestamp,
double) and written in file order as one Parquet file (:meth:`_Stream._stream`): DuckDB parses and writes in
parallel, and the file does not depend on the thread count. The columns come from the layouts'
:class:`~flexpersona.io.spec.LayoutSpec` and every row rule from :mod:`.rejects`, as on the general path.
Everything else is computed without parsing the text again:

* rows that do not fit land in DuckDB's rejects table with their line, not in the Parquet: a row with the wrong
  number of fields is a rejected row (:func:`~flexpersona.io.rejects.shape_problem`); a value DuckDB cannot
  cast makes its file be read again as text (:meth:`_Stream._reread_sql`), where each such row is classified
  exactly as the general path does (a padded ``Null`` is a missing value and kept; ``abc`` is rejected as
  ``unparseable_value``);
* blank lines, which DuckDB skips, are found by comparing each batch's physical lines
  (:func:`~flexpersona.io.lines.scan_lines`, one streamed count of line breaks) with the rows DuckDB saw, and
  located only when they differ;
* the typed pass also writes where each reading came from (:data:`~flexpersona.schema.SOURCE_COLUMNS`: the
  file's index, the group label (``stdorToU``) and Acorn texts), so the text is parsed once;
* row accounting, ledger counts, the group labels and Acorn per file x household, and which files hold which
  household come from one ``GROUP BY`` over the Parquet (:meth:`_Stream._stats`; rows the typed reader could
  not cast add theirs from the text re-read), rejected rows (negative, above the cap, off the half-hour grid,
  no household id) found by their values;
* duplicate (household, ts) detection uses a bitmap of the half-hours seen per household
  (:func:`~flexpersona.io.staging.duplicate_households_sql`), and only the files holding affected households
  are read again, with line numbers, to merge them value by value; the Parquet is rewritten only when it holds
  rows to drop.

Anything unusual -- a timestamp that is not ISO, an unknown group label, bytes that are not UTF-8, two Acorn
values of one household in one file -- makes :func:`ingest_fast` return None, and the general staging path
(:mod:`.staging`) runs instead (and reports the problem) on a connection of its own. Both return a
:class:`~flexpersona.io.result.ReadingsResult`.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from ..config import Config
from ..progress import bar as progress_bar
from ..schema import READINGS_SCHEMA
from ..store import sql_path
from . import datastore, kaggle
from . import result as res
from .households import GROUP_LABELS
from .lines import LineScan, record_offsets, scan_lines
from .rejects import (
    SHAPE_ERRORS,
    RowProblem,
    bad_value_sql,
    blank_problems,
    id_sql,
    kwh_sql,
    reason_code_sql,
    reason_sql,
)
from .sources import SourceFile, duckdb_paths, insert_rows, read_csv_sql
from .spec import SOURCE_TEXTS, Columns, LayoutSpec, source_columns, text_sql
from .staging import (
    MERGED_KWH_SQL,
    dupinfo_sql,
    duplicate_frames,
    duplicate_households_sql,
    line_sql,
    reader_rejects,
    rejected_rows_sql,
    shape_problems,
)

logger = logging.getLogger(__name__)

__all__ = ["FAST_SPECS", "SourceFile", "duplicate_households_sql", "eligible", "ingest_fast"]

#: Long layouts the streaming path handles.
FAST_SPECS: dict[str, LayoutSpec] = {datastore.LAYOUT: datastore.SPEC, kaggle.HALFHOURLY: kaggle.HALFHOURLY_SPEC}
#: Value texts DuckDB's typed reader reads as missing (others among :data:`rejects.MISSING_TOKENS`, e.g. a padded
#: `` Null ``, are cast errors there and are classified by the text re-read).
NULL_TOKENS = ("Null", "NULL", "null", " Null ", " Null", "Null ", " ", "  ", "NA", "N/A", "na", "n/a")
_ISO_START = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{1,2}:\d{2}")
_LABEL = {"treatment": "ToU", "control": "Std"}
#: Seconds of each step at 1/10 of the London trial (1.1 GB of CSV, 2 threads; issue 14): the progress bar's
#: weights (the typed pass is shared by its batches by their number of files).
STEP_SECONDS = {"stream": 14.2, "stats": 1.3, "rest": 1.5}


def eligible(readings: list[tuple[SourceFile, list[str], str]]) -> bool:
    """Whether every readings file can take the streaming path (CSV file or zip member, long layout, ISO times)."""
    for src, header, kind in readings:
        if src.suffix not in (".csv", ".txt") or kind not in FAST_SPECS:
            return False
        ts_col = FAST_SPECS[kind].locate(header, src.name).timestamp
        with src.open() as fh:
            fh.readline(1 << 20)
            first = fh.readline(1 << 20).decode("utf-8", errors="replace")
        fields = first.rstrip("\r\n").split(",")
        if first.strip() and (len(fields) <= ts_col or not _ISO_START.match(fields[ts_col])):
            return False
    return True


def _strs(values) -> str:
    return ", ".join("'" + str(v).replace("'", "''") + "'" for v in values)


def _set_threads(con: duckdb.DuckDBPyConnection, n: int | None) -> int:
    before = int(con.execute("SELECT current_setting('threads')").fetchall()[0][0])
    con.execute("SET threads = $n", {"n": int(n or os.cpu_count() or 1)})
    return before


def ingest_fast(con: duckdb.DuckDBPyConnection, workdir: Path, readings, config: Config,
                progress: bool = False) -> res.ReadingsResult | None:
    """Stream the readings files into Parquet under ``workdir``; None when the general path must run.

    Parameters
    ----------
    con
        A DuckDB connection of its own (memory limit and temp directory already set); closed by the caller.
    workdir
        Scratch folder under the store (removed by the caller).
    readings
        ``(source, header, layout)`` per readings file, all :func:`eligible`.
    config
        ``config.data``: timestamp convention, kWh cap and ``ingest_threads``.
    progress
        Show a progress bar with an ETA on stderr (:mod:`flexpersona.progress`; display only).

    Returns
    -------
    ReadingsResult or None
        ``parts`` are the kept-row Parquet files, to be moved into the store's ``readings/``.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    threads = _set_threads(con, config.data.ingest_threads)
    state = None
    try:
        state = _Stream(con, workdir, readings, config, progress)
        out = state.run()
    finally:
        con.execute("SET threads = $n", {"n": threads})
        if state is not None:
            state.bar.close()
    if out is None:
        shutil.rmtree(workdir, ignore_errors=True)
    return out


#: SQL of the source texts of a row read again as text (``g_raw``, ``a_raw``, ``ag_raw``), trimmed as the typed pass
#: writes them.
_SOURCE_TEXTS = ", ".join(f"{id_sql(raw)} AS {name}"
                          for raw, name in zip(("g_raw", "a_raw", "ag_raw"), SOURCE_TEXTS.values(), strict=True))


class _Stream:
    """One streaming ingest: batches of files with the same layout and columns, each one Parquet file."""

    def __init__(self, con, workdir: Path, readings, config: Config, progress: bool = False):
        self.con, self.workdir, self.config = con, workdir, config
        self.cap = float(config.data.kwh_cap)
        self.shift = " - INTERVAL 30 MINUTE" if config.data.timestamp_marks == "end" else ""
        self.files = [{"file_idx": i, "file": src.name, "layout": kind} for i, (src, _, kind) in enumerate(readings)]
        self.layouts = sorted({f["layout"] for f in self.files})
        self.sources: list[SourceFile] = [src for src, _, _ in readings]
        self.paths = duckdb_paths(con, self.sources)  # zip members through a registered zip filesystem
        self.cols: list[Columns] = [FAST_SPECS[kind].locate(header, src.name) for src, header, kind in readings]
        batches: dict[tuple[str, Columns], list[int]] = {}
        for i, (_, _, kind) in enumerate(readings):
            batches.setdefault((kind, self.cols[i]), []).append(i)
        self.batches = list(batches.items())
        #: where each reading came from: the source columns of these files
        self.src_cols = source_columns(self.cols)
        #: the columns of every readings Parquet file this ingest writes, in order
        self.part_cols = ", ".join((*READINGS_SCHEMA.names, *self.src_cols))
        self.bar = progress_bar("ingest", sum(STEP_SECONDS.values()), enabled=progress)
        self.parts: list[Path] = []
        self.scans: dict[int, LineScan] = {}
        self.problems: list[RowProblem] = []
        self.acorn_sets: dict[tuple[int, str], set[tuple[str | None, str | None]]] = {}

    def _lap(self, t0: float, step: str) -> None:
        logger.info("ingest step %s: %.2f s", step, time.perf_counter() - t0)

    def run(self) -> res.ReadingsResult | None:
        t0 = time.perf_counter()
        con = self.con
        con.execute("CREATE TABLE rejects (file_idx INTEGER, n BIGINT)")
        con.execute("CREATE TABLE labels (file_idx INTEGER, hh VARCHAR, grp VARCHAR, n BIGINT)")
        con.execute("CREATE TABLE acorns (file_idx INTEGER, hh VARCHAR, acorn VARCHAR, acorn_grouped VARCHAR)")
        # the line breaks are counted by a thread while DuckDB streams (both release the GIL)
        with ThreadPoolExecutor(max_workers=1) as pool:
            counting = pool.submit(lambda: {i: scan_lines(src, locate=False) for i, src in enumerate(self.sources)})
            shapes: list[tuple[int, int, list[str], str | None]] = []
            for b, ((kind, cols), idxs) in enumerate(self.batches):
                with self.bar.step(STEP_SECONDS["stream"] * len(idxs) / len(self.files), con):
                    ok = self._stream(b, kind, cols, idxs, shapes)
                if not ok:
                    counting.cancel()
                    return None
            self.scans = counting.result()
        self.problems += shape_problems(shapes, self.scans, dict(enumerate(self.cols)))
        self._lap(t0, "stream files to Parquet, count lines")
        with self.bar.step(STEP_SECONDS["stats"], con):
            ok = self._stats() and self._labels(con.execute(
                "SELECT file_idx, hh, g, a, ag, sum(n) FROM pstat GROUP BY ALL").fetchall()) and self._blank_lines()
        if not ok:
            return None
        self._lap(t0, "Parquet statistics")
        if not self._rejected() or not self._acorns():
            return None
        dup_hh = self._duplicate_households()
        self._resolve_duplicates(dup_hh)
        out = self._finish(dup_hh)
        self._lap(t0, "rejected rows, duplicates, accounting")
        return out

    # -- pass 1: typed CSV -> Parquet -------------------------------------------------------------------------
    def _csv(self, cols: Columns, typed: bool, **extra: Any) -> str:
        types = {cols.timestamp: "TIMESTAMP", cols.value: "DOUBLE"} if typed else None
        return read_csv_sql(cols.n, types=types, null_tokens=NULL_TOKENS if typed else (), **extra)

    def _stream(self, b: int, kind: str, cols: Columns, idxs: list[int],
                shapes: list[tuple[int, int, list[str], str | None]]) -> bool:
        con, paths = self.con, [self.paths[i] for i in idxs]
        src = self._csv(cols, True, rejects=(f"rej_{b}", f"rejscan_{b}"))
        target = self.workdir / f"b{b}.parquet"
        hid, val = f"c{cols.household}", f"c{cols.value}"
        file_idx = f"[{', '.join(map(str, idxs))}][CAST(file_index AS BIGINT) + 1]"
        texts = "".join(f", {text_sql(i)} AS {name}" for name, i in cols.texts().items() if name in self.src_cols)
        try:
            con.execute(f"""
                COPY (SELECT {id_sql(hid)} AS household_id, c{cols.timestamp}{self.shift} AS ts,
                             CASE WHEN isnan({val}) THEN NULL ELSE {val} END AS kwh,
                             CAST({file_idx} AS INTEGER) AS file_idx{texts} FROM {src})
                TO '{sql_path(target)}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1000000)
            """, {"files": paths})
        except duckdb.Error as exc:
            logger.info("%s files: %s; the general ingest path runs", kind, str(exc).splitlines()[0])
            return False
        by_path = dict(zip(paths, idxs, strict=True))
        cast: dict[int, int] = {}
        for path, line, types, columns, text in reader_rejects(con, f"rej_{b}", f"rejscan_{b}"):
            if set(types) & set(SHAPE_ERRORS):
                shapes.append((by_path[path], line, types, text))
            elif types == ["CAST"] and columns == [val]:
                cast[by_path[path]] = cast.get(by_path[path], 0) + 1
            else:
                logger.info("%s, line %s: %s in column(s) %s; the general ingest path runs", path, line, types,
                            columns)
                return False
        if cast:
            insert_rows(con, "rejects", cast.items())
        self.parts.append(target)
        return True

    # -- group labels and Acorn per file x household (from the statistics of the Parquet) ---------------------
    def _labels(self, rows) -> bool:
        """Group labels (``labels``) and Acorn values (kept for :meth:`_acorns`) from ``(file_idx, household,
        group, acorn, acorn_grouped, rows)`` texts; False for an unknown group label."""
        def text(raw: str | None) -> str | None:
            return (raw.strip(" ") or None) if raw is not None else None

        out: dict[tuple[int, str | None, str | None], int] = {}
        for i, raw_hh, raw_g, raw_a, raw_ag, n in rows:
            hh, g = text(raw_hh), text(raw_g)
            label = None
            if g is not None:
                canon = "control" if g == "Std" else "treatment" if g == "ToU" else GROUP_LABELS.get(g.lower())
                if canon is None:
                    logger.info("%s: unknown group label %r; the general ingest path runs", self.files[i]["file"], g)
                    return False
                label = _LABEL[canon]
            key = (i, hh, label)
            out[key] = out.get(key, 0) + int(n)
            a, ag = text(raw_a), text(raw_ag)
            if hh is not None and (a, ag) != (None, None):
                self.acorn_sets.setdefault((i, hh), set()).add((a, ag))
        if out:
            insert_rows(self.con, "labels", [(*k, n) for k, n in out.items()])
        return True

    def _acorns(self) -> bool:
        """The ``acorns`` table; False when a household has two Acorn values in one file."""
        for (i, hh), values in self.acorn_sets.items():
            if len({a for a, _ in values} - {None}) > 1 or len({ag for _, ag in values} - {None}) > 1:
                # the general path keeps the first by line; the counts do not know the lines
                logger.info("%s: household %s has several Acorn values; the general ingest path runs",
                            self.files[i]["file"], hh)
                return False
        if self.acorn_sets:
            insert_rows(self.con, "acorns", [
                [i, hh, next((a for a, _ in v if a is not None), None), next((g for _, g in v if g is not None), None)]
                for (i, hh), v in self.acorn_sets.items()])
        return True

    # -- statistics of the Parquet ----------------------------------------------------------------------------
    def _stats(self) -> bool:
        con = self.con
        code = reason_code_sql("household_id", "ts", "kwh", "false", self.cap)
        scans = " UNION ALL ".join(
            f"SELECT {b} AS batch, '{kind}' AS layout, {self.part_cols} FROM read_parquet('{sql_path(self.parts[b])}')"
            for b, ((kind, _), _) in enumerate(self.batches))
        # per file x household x label texts too: the group labels, Acorn and which files hold which household
        con.execute(f"""
            CREATE TABLE pstat AS
            SELECT batch, layout, file_idx, household_id AS hh, {self._text("source_group")} AS g,
                   {self._text("source_acorn")} AS a, {self._text("source_acorn_grouped")} AS ag, year(ts) AS y,
                   {code} AS r, count(*) AS n, count(kwh) AS n_values, min(ts) AS first, max(ts) AS last
            FROM ({scans}) GROUP BY ALL
        """)
        bad = con.execute("SELECT count(*) FILTER (WHERE r = 2), min(y), count(*) FROM pstat").fetchall()[0]
        n_rej = con.execute("SELECT count(*) FROM rejects").fetchall()[0][0]
        if not bad[2] and not n_rej:
            return False  # no rows at all: the general path says so
        if bad[0] or (bad[1] is not None and bad[1] < 1900):
            logger.info("a timestamp that is not ISO (or is read as year %s); the general ingest path runs", bad[1])
            return False
        return True

    def _text(self, name: str) -> str:
        """A source text column of the Parquet (NULL when no file has it)."""
        return name if name in self.src_cols else "CAST(NULL AS VARCHAR)"

    def _blank_lines(self) -> bool:
        """Blank lines: each batch's physical lines against the rows DuckDB saw; located only where they differ."""
        con = self.con
        rows = dict(con.execute("SELECT batch, sum(n) FROM pstat GROUP BY ALL").fetchall())
        cast = dict(con.execute("SELECT file_idx, sum(n) FROM rejects GROUP BY ALL").fetchall())
        for b, (_, idxs) in enumerate(self.batches):
            seen = int(rows.get(b, 0)) + sum(int(cast.get(i, 0)) for i in idxs) + sum(
                1 for p in self.problems if p.file_idx in idxs)
            missing = sum(self.scans[i].n_lines for i in idxs) - seen
            if missing == 0:
                continue
            found = []
            if missing > 0:
                for i in idxs:
                    self.scans[i] = scan_lines(self.sources[i], locate=True)
                    found += blank_problems(i, self.scans[i].blank_lines or ())
            if len(found) != missing:
                logger.info("batch %d: %d lines not accounted for (%d blank); the general ingest path runs", b,
                            missing, len(found))
                return False
            self.problems += found
        return True

    def _files_of(self, hh_sql: str) -> list[int]:
        """Files holding any household of ``hh_sql`` (rows in the Parquet, or rows the typed reader could not cast)."""
        con = self.con
        null_too = bool(con.execute(f"SELECT count(*) FROM ({hh_sql}) t(h) WHERE h IS NULL").fetchall()[0][0])
        match = f"hh IN ({hh_sql})" + (" OR hh IS NULL" if null_too else "")
        return sorted(r[0] for r in con.execute(
            f"SELECT file_idx FROM pstat WHERE {match} UNION SELECT file_idx FROM reread WHERE castfail AND ({match})"
        ).fetchall())

    # -- text re-reads with line numbers ----------------------------------------------------------------------
    def _reread_sql(self, i: int) -> str:
        """Rows of file ``i`` as text with (record) line, code ``r``, ``castfail`` (rejected by the typed reader)
        and the raw household, group and Acorn texts."""
        cols = self.cols[i]
        v = f"c{cols.value}"
        rel = self._csv(cols, False, path=f"'{sql_path(self.paths[i])}'", skip_bad_rows=True)
        texts = [f"c{i}" if i is not None else "NULL" for i in cols.texts().values()]
        raw = ", ".join(f"{e} AS {n}" for e, n in zip([f"c{cols.household}", *texts],
                                                      ("hh_raw", "g_raw", "a_raw", "ag_raw"), strict=True))
        inner = (f"SELECT {line_sql()} AS line, {id_sql(f'c{cols.household}')} AS household_id, {raw}, "
                 f"CASE WHEN c{cols.timestamp}[5] = '-' THEN try_cast(c{cols.timestamp} AS TIMESTAMP) END{self.shift} "
                 f"AS ts, {kwh_sql(v)} AS kwh0, {bad_value_sql(v)} AS bad_value, "
                 f"({v} IS NOT NULL AND {v} NOT IN ({_strs(NULL_TOKENS)}) AND try_cast({v} AS DOUBLE) IS NULL) "
                 f"AS castfail FROM {rel}")
        return (f"SELECT {i} AS file_idx, line, '{self.files[i]['layout']}' AS layout, household_id AS hh, ts, kwh, "
                f"{reason_code_sql('household_id', 'ts', 'kwh', 'bad_value', self.cap)} AS r, castfail, "
                f"hh_raw, g_raw, a_raw, ag_raw "
                f"FROM (SELECT *, CASE WHEN isnan(kwh0) THEN NULL ELSE kwh0 END AS kwh FROM ({inner}))")

    def _rejected(self) -> bool:
        """``parsed`` (rejected rows with lines) and ``recovered`` (kept rows the typed reader could not cast)."""
        con = self.con
        con.execute("CREATE TABLE reread (file_idx INTEGER, line BIGINT, layout VARCHAR, hh VARCHAR, ts TIMESTAMP, "
                    "kwh DOUBLE, r INTEGER, castfail BOOLEAN, hh_raw VARCHAR, g_raw VARCHAR, a_raw VARCHAR, "
                    "ag_raw VARCHAR)")
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
        # rows the typed reader could not cast are not in the Parquet: their labels come from the text
        if not self._labels(con.execute(
                "SELECT file_idx, hh_raw, g_raw, a_raw, ag_raw, count(*) FROM reread WHERE castfail GROUP BY ALL"
        ).fetchall()):
            return False
        con.execute(f"""
            CREATE TABLE parsed AS SELECT file_idx, line, layout, hh, kwh, ts, {reason_sql('r')} AS reason
            FROM reread WHERE r <> 0
        """)
        con.execute(f"CREATE TABLE recovered AS SELECT file_idx, line, layout, hh, ts, kwh, {_SOURCE_TEXTS} "
                    "FROM reread WHERE r = 0 AND castfail")
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
        code = reason_code_sql("household_id", "ts", "kwh", "false", self.cap)
        rows = (f"SELECT household_id AS hh, ts FROM read_parquet($p) WHERE {code} = 0 "
                "UNION ALL SELECT hh, ts FROM recovered")
        sql = duplicate_households_sql(rows, lo, hi, n_hh)
        return sorted(r[0] for r in con.execute(sql, {"p": [str(p) for p in self.parts]}).fetchall())

    def _resolve_duplicates(self, dup_hh: list[str]) -> None:
        """``dupinfo``: the duplicated half-hours of the affected households, merged value by value."""
        con = self.con
        con.execute("CREATE TABLE dup_hh (hh VARCHAR)")
        if dup_hh:
            insert_rows(con, "dup_hh", [(h,) for h in dup_hh])
        con.execute("CREATE TABLE dupsrc (file_idx INTEGER, line BIGINT, layout VARCHAR, hh VARCHAR, ts TIMESTAMP, "
                    "kwh DOUBLE, source_group VARCHAR, source_acorn VARCHAR, source_acorn_grouped VARCHAR)")
        if dup_hh:
            for i in self._files_of("SELECT hh FROM dup_hh"):
                con.execute(f"""
                    INSERT INTO dupsrc SELECT file_idx, line, layout, hh, ts, kwh, {_SOURCE_TEXTS}
                    FROM ({self._reread_sql(i)})
                    WHERE r = 0 AND hh IN (SELECT hh FROM dup_hh)
                """)
        con.execute(f"CREATE TABLE dupinfo AS {dupinfo_sql('dupsrc', self.layouts)} HAVING count(*) > 1")
        if dup_hh:
            logger.info("duplicates: %d households merged value by value", len(dup_hh))

    def _finish(self, dup_hh: list[str]) -> res.ReadingsResult:
        """The result; the Parquet rewritten without rejected rows and merged households, which go (with the
        recovered rows) into one extra part."""
        con = self.con
        summary = con.execute(f"""
            SELECT hh, layout, y, {reason_sql('r')} AS reason, sum(n) AS n, sum(n_values) AS n_values,
                   min(first) AS first, max(last) AS last
            FROM (SELECT hh, layout, y, r, n, n_values, first, last FROM pstat
                  UNION ALL SELECT hh, layout, year(ts), r, 1, CASE WHEN kwh IS NULL THEN 0 ELSE 1 END, ts, ts
                  FROM reread WHERE castfail)
            GROUP BY ALL
        """).df()
        hh_rows = con.execute("""
            SELECT h.hh AS household_id, list(DISTINCT l.grp) FILTER (WHERE l.grp IS NOT NULL) AS grps,
                   (SELECT arg_min(acorn, file_idx) FROM acorns a WHERE a.hh = h.hh AND acorn IS NOT NULL) AS acorn,
                   (SELECT arg_min(acorn_grouped, file_idx) FROM acorns a
                    WHERE a.hh = h.hh AND acorn_grouped IS NOT NULL) AS acorn_grouped
            FROM (SELECT DISTINCT hh FROM pstat WHERE hh IS NOT NULL
                  UNION SELECT DISTINCT hh FROM reread WHERE castfail AND hh IS NOT NULL) h
            LEFT JOIN labels l USING (hh)
            GROUP BY h.hh ORDER BY h.hh
        """).fetchall()
        self._rewrite_parts(dup_hh)
        dup, dup_by_layout = duplicate_frames(con, "dupinfo", self.layouts)
        offsets = {i: record_offsets(p.line for p in self.problems if p.file_idx == i) for i in self.scans}
        return res.assemble(
            files=pd.DataFrame(self.files), parts=self.parts, date_formats={f["file"]: "ISO" for f in self.files},
            units={lay: FAST_SPECS[lay].unit for lay in self.layouts}, summary=summary, problems=self.problems,
            cells={i: c.cells_per_row for i, c in enumerate(self.cols)}, duplicates=dup,
            duplicates_by_layout=dup_by_layout, households=res.households_frame(hh_rows),
            rejected=con.execute(rejected_rows_sql("parsed")).df(), offsets=offsets)

    def _rewrite_parts(self, dup_hh: list[str]) -> None:
        con = self.con
        code = reason_code_sql("household_id", "ts", "kwh", "false", self.cap)
        dirty = {r[0] for r in con.execute("SELECT DISTINCT batch FROM pstat WHERE r <> 0").fetchall()}
        if dup_hh:
            dirty |= {r[0] for r in con.execute(
                "SELECT DISTINCT batch FROM pstat SEMI JOIN dup_hh USING (hh)").fetchall()}
        for b in sorted(dirty):
            path = self.parts[b]
            new = path.with_suffix(".rewritten")
            con.execute(f"""
                COPY (SELECT {self.part_cols} FROM read_parquet('{sql_path(path)}')
                      WHERE {code} = 0 AND household_id NOT IN (SELECT hh FROM dup_hh))
                TO '{sql_path(new)}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1000000)
            """)
            new.replace(path)
        extra = self.workdir / "extra.parquet"
        n_extra = con.execute("""
            SELECT (SELECT count(*) FROM dupsrc) + (SELECT count(*) FROM recovered ANTI JOIN dup_hh USING (hh))
        """).fetchall()[0][0]
        if n_extra:
            # a half-hour of one row keeps where it came from; one merged from several rows has no single source
            single = ", ".join(f"CASE WHEN count(*) = 1 THEN min({c}) END AS {c}" for c in self.src_cols)
            con.execute(f"""
                COPY (SELECT {self.part_cols} FROM (
                        SELECT hh AS household_id, ts, {MERGED_KWH_SQL} AS kwh, {single} FROM dupsrc GROUP BY hh, ts
                        UNION ALL SELECT hh, ts, kwh, {", ".join(self.src_cols)}
                        FROM recovered ANTI JOIN dup_hh USING (hh))
                      ORDER BY household_id, ts)
                TO '{sql_path(extra)}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1000000)
            """)
            self.parts.append(extra)
        self.parts = [p for p in self.parts
                      if con.execute(f"SELECT count(*) FROM read_parquet('{sql_path(p)}')").fetchall()[0][0]]

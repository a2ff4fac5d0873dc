"""Ingest: every input file, in any supported layout, into the Parquet :class:`~flexpersona.store.Store`.

Readings never pass through pandas: each file is mapped onto a DuckDB staging table (all text, value parsed),
the timestamp format is inferred per file from its distinct values, row-level problems are classified in SQL,
duplicates are merged value by value, and the readings are written with one sorted ``COPY ... TO`` Parquet.
Row accounting holds per layout: rows (cells for wide layouts) read = kept + rejected, by reason.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import shutil
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from .. import quality
from ..config import Config
from ..errors import InputError, QualityIssue
from ..store import Store, atomic_path, file_fingerprint
from . import datastore, day48, fastpath, generic, kaggle, ukds
from .dates import ISO, DateFormat, infer_datetime_format
from .detect import detect_kind
from .households import canonical_group, read_households
from .sources import SourceFile, enumerate_inputs, read_header, register_relation
from .staging import dupinfo_sql, input_error_from_duckdb, staged_insert_sql, staging_ddl
from .survey import read_survey
from .weather import read_weather
from .tariff import fill_tariff_gaps, read_tariff

logger = logging.getLogger(__name__)

INGEST_VERSION = 1
#: Inputs larger than this stage into a DuckDB file under the store instead of memory [bytes].
DISK_BACKED_ABOVE_BYTES = 2 * 1024**3
#: Row-level rejection reasons (besides ``duplicate_timestamp``), in the order they are checked.
REJECT_REASONS = ("missing_household_id", "unparseable_timestamp", "off_grid_timestamp", "unparseable_value",
                  "negative_value", "above_cap")
#: ``DataConfig`` fields that do not change what an ingest writes (not part of the re-use key).
_NOT_IN_KEY = ("duckdb_memory_limit", "duckdb_threads", "ingest_threads")
_SELECTS = {
    datastore.LAYOUT: datastore.staged_select,
    kaggle.HALFHOURLY: kaggle.staged_select_halfhourly,
    kaggle.HHBLOCK: kaggle.staged_select_hhblock,
    day48.LAYOUT: day48.staged_select,
    ukds.LAYOUT: ukds.staged_select,
}


@dataclass
class IngestReport:
    """What an ingest did.

    Attributes
    ----------
    store
        The store folder.
    skipped
        True when every input and option was unchanged since the last ingest (nothing was re-read).
    files_by_layout
        Number of readings files per layout.
    accounting
        Per layout: ``read``, ``kept``, ``rejected`` (total) and ``rejected_by_reason`` (rows, or cells of
        wide layouts); ``read == kept + rejected`` always.
    households_per_group
        Ledger households per group (``unknown`` for none), all statuses.
    kept_per_group
        Kept households per group.
    excluded_by_reason
        Excluded households per reason.
    n_values
        Non-missing readings written.
    date_formats
        Timestamp format used per readings file.
    tariff_filled_normal
        Trial-year half-hours the tariff lacked (stored as Normal); None without a tariff.
    skipped_files
        Files found inside a folder or archive whose layout is unknown (e.g. the simulator's ``truth.csv``).
    seconds
        Wall time [s].
    """

    store: Path
    skipped: bool = False
    files_by_layout: dict[str, int] = field(default_factory=dict)
    accounting: dict[str, dict[str, Any]] = field(default_factory=dict)
    households_per_group: dict[str, int] = field(default_factory=dict)
    kept_per_group: dict[str, int] = field(default_factory=dict)
    excluded_by_reason: dict[str, int] = field(default_factory=dict)
    n_values: int = 0
    date_formats: dict[str, str] = field(default_factory=dict)
    tariff_filled_normal: int | None = None
    skipped_files: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["store"] = str(self.store)
        return d


def _as_list(x: str | Path | Iterable[str | Path] | None) -> list[str | Path]:
    if x is None:
        return []
    if isinstance(x, (str, Path)):
        return [x]
    return list(x)


def _fingerprint(src: SourceFile) -> str:
    fp = file_fingerprint(src.path)
    return f"{fp}!{src.member}" if src.member else fp


def ingest(
    inputs: str | Path | Sequence[str | Path],
    store_dir: str | Path,
    *,
    layout: str | None = None,
    tariff: str | Path | None = None,
    households: str | Path | Sequence[str | Path] | None = None,
    survey: str | Path | None = None,
    daily: str | Path | Sequence[str | Path] | None = None,
    column_map: str | dict[str, str] | None = None,
    config: Config = Config(),
    progress: bool = False,
    weather: str | Path | None = None,
) -> IngestReport:
    """Read every input into the store at ``store_dir`` and build the quality ledger.

    Parameters
    ----------
    inputs
        Files, folders holding a layout's files, or ``.zip`` archives of them. Side files found among them
        (households, tariff, survey, Kaggle daily, weather) are used as if passed by their option.
    store_dir
        The store folder (created; tables replaced atomically).
    layout
        Force the readings layout: ``datastore``, ``kaggle``, ``day48``, ``ukds`` or ``generic``.
    tariff, households, survey, daily
        Side files: tariff schedule, households file(s) (group, Acorn), survey answers, Kaggle daily files.
    column_map
        For ``generic`` files: ``"household_id=meter,ts=time,kwh=value"`` (or a dict).
    config
        ``config.data`` sets the years, timestamp convention, kWh cap and coverage thresholds.
    progress
        Show a progress bar over the readings files.
    weather
        Hourly weather (Kaggle ``weather_hourly_darksky.csv``: ``time``, ``temperature``), stored as the
        ``weather`` table; used by the counterfactual without a control group.

    Returns
    -------
    IngestReport

    Raises
    ------
    InputError
        For a structural problem (unreadable file, missing column, unknown layout, undecodable bytes).
    """
    t0 = time.perf_counter()
    store = Store(store_dir)
    mapping = generic.parse_column_map(column_map)
    if config.data.timestamp_marks not in ("start", "end"):
        from ..errors import ConfigError

        msg = f"data.timestamp_marks must be 'start' or 'end', not {config.data.timestamp_marks!r}"
        raise ConfigError(msg)
    sources = enumerate_inputs(_as_list(inputs))
    side: dict[str, list[SourceFile]] = {"households": [], "tariff": [], "survey": [], "daily": [], "weather": []}
    for kind, arg in (("tariff", tariff), ("households", households), ("survey", survey), ("daily", daily),
                      ("weather", weather)):
        side[kind].extend(enumerate_inputs(_as_list(arg)))
    readings: list[tuple[SourceFile, list[str], str]] = []
    skipped_files: list[str] = []
    for src in sources:
        header = read_header(src)
        try:
            kind = detect_kind(src, header, forced=layout, column_map=mapping)
        except InputError:
            if src.explicit:
                raise
            logger.info("%s: not a known layout; skipped (it was found inside a folder or archive)", src.name)
            skipped_files.append(src.name)
            continue
        if kind in side:
            side[kind].append(src)
        else:
            if kind == "generic" and mapping is None:
                raise InputError(src.name, "the generic layout needs a column map",
                                 "pass --map household_id=COL,ts=COL,kwh=COL")
            readings.append((src, header, kind))
    if not readings:
        raise InputError(", ".join(str(i) for i in _as_list(inputs)), "no readings file among the inputs",
                         "pass the folder or files holding half-hourly readings")
    if len(side["tariff"]) > 1 or len(side["survey"]) > 1 or len(side["weather"]) > 1:
        raise InputError(", ".join(s.name for s in side["tariff"] + side["survey"] + side["weather"]),
                         "more than one tariff, survey or weather file",
                         "pass exactly one with --tariff / --survey / --weather")

    key = _ingest_key(readings, side, layout, mapping, config)
    info = store.info()
    if info.get("key") == key and store.has("readings") and store.has("ledger"):
        logger.info("inputs unchanged since the last ingest into %s; skipped", store.path)
        rep = _report_from_info(store.path, info)
        rep.skipped = True
        rep.seconds = time.perf_counter() - t0
        return rep

    issues: list[QualityIssue] = []
    store.path.mkdir(parents=True, exist_ok=True)
    tmpdir = store.path / ".duckdb_tmp"
    input_bytes = sum(s.path.stat().st_size for s in {src.path: src for src, _, _ in readings}.values())
    if input_bytes > DISK_BACKED_ABOVE_BYTES:  # staging larger than memory: a file-backed work database
        tmpdir.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(tmpdir / "ingest.duckdb"))
    else:
        con = duckdb.connect()
    try:
        configure_connection(con, config, tmpdir)
        con.execute("SET preserve_insertion_order = true")
        result = None
        if fastpath.eligible(readings):
            result = fastpath.ingest_fast(con, tmpdir / "stream", readings, config, progress)
        if result is not None:
            result["accounting"] = _accounting(con, result["layouts"])
        else:
            result = _ingest_readings(con, store, readings, mapping, config, progress, issues)
        hh_tables = [read_households(s, issues=issues) for s in side["households"]]
        households_df, in_both = _resolve_households(con, hh_tables, issues)
        stats = _household_stats(con, config)
        led = quality.build_ledger(stats, households_df, config, in_both_groups=in_both)
        households_df = households_df[households_df["household_id"].isin(set(led["household_id"]))]
        _write_readings(con, store, result.get("parts"))
        daily_n = _write_daily(con, store, side["daily"])
        issues_df = _issues_table(con, result["files"], issues)
    finally:
        con.close()
        shutil.rmtree(tmpdir, ignore_errors=True)

    tariff_info: dict[str, Any] | None = None
    if side["tariff"]:
        tdf = read_tariff(side["tariff"][0], config=config, issues=issues)
        tfmt = tdf.attrs.get("date_format")
        tdf, filled = fill_tariff_gaps(tdf, config.data.trial_year, config)
        if filled:
            issues.append(QualityIssue("tariff_gap", "trial-year half-hours missing from the tariff, stored as Normal",
                                       file=side["tariff"][0].name, count=filled))
        store.write("tariff", tdf.reset_index(drop=True))
        tariff_info = {"file": side["tariff"][0].name, "rows": int(len(tdf)), "filled_normal": int(filled),
                       "date_format": tfmt, "bands": {k: int(v) for k, v in tdf["band"].value_counts().items()}}
        issues_df = pd.concat([issues_df, _issues_frame(issues[-1:] if filled else [])], ignore_index=True)
    survey_rows = None
    if side["survey"]:
        n_before = len(issues)
        sdf = read_survey(side["survey"][0], issues=issues)
        store.write("survey", sdf)
        survey_rows = int(len(sdf))
        issues_df = pd.concat([issues_df, _issues_frame(issues[n_before:])], ignore_index=True)

    weather_info = None
    if side["weather"]:
        n_before = len(issues)
        wdf = read_weather(side["weather"][0], issues=issues)
        store.write("weather", wdf)
        weather_info = {"file": side["weather"][0].name, "rows": int(len(wdf)), "date_format": wdf.attrs.get("date_format"),
                        "first": str(wdf["ts"].min()), "last": str(wdf["ts"].max())}
        issues_df = pd.concat([issues_df, _issues_frame(issues[n_before:])], ignore_index=True)
    elif store.table_path("weather").exists():  # a re-ingest without weather: no stale temperatures
        store.table_path("weather").unlink()
    store.write("households", households_df.reset_index(drop=True))
    store.write("ledger", led)
    store.write("issues", issues_df)
    rep = IngestReport(
        store=store.path,
        files_by_layout=result["files_by_layout"],
        accounting=result["accounting"],
        households_per_group={str(k): int(v) for k, v in led["group"].fillna("unknown").value_counts().items()},
        kept_per_group={str(k): int(v) for k, v in
                        led.loc[led["status"] == quality.KEPT, "group"].value_counts().items()},
        excluded_by_reason={str(k): int(v) for k, v in led["reason"].dropna().value_counts().items()},
        n_values=int(led["n_values"].sum()),
        date_formats=result["date_formats"],
        tariff_filled_normal=None if tariff_info is None else tariff_info["filled_normal"],
        skipped_files=skipped_files,
    )
    rep.seconds = time.perf_counter() - t0
    store.write_info({
        "version": INGEST_VERSION,
        "key": key,
        "inputs": [{"file": s.name, "kind": k, "fingerprint": _fingerprint(s)} for s, _, k in readings]
        + [{"file": s.name, "kind": kind, "fingerprint": _fingerprint(s)} for kind, ss in side.items() for s in ss],
        "options": {"layout": layout, "column_map": mapping, "data": dataclasses.asdict(config.data)},
        "tariff": tariff_info,
        "survey_households": survey_rows,
        "weather": weather_info,
        "skipped_files": skipped_files,
        "daily_rows": daily_n,
        "report": rep.as_dict(),
    })
    logger.info("ingest into %s: %d values, %d households in %.1f s", store.path, rep.n_values, len(led),
                rep.seconds)
    return rep


def configure_connection(con: duckdb.DuckDBPyConnection, config: Config, temp_dir: Path) -> None:
    """Bound a DuckDB connection's memory (``config.data.duckdb_memory_limit``); big operations spill to ``temp_dir``.

    Raises
    ------
    ConfigError
        When DuckDB does not accept the memory limit (e.g. ``"1.5 gigs"``).
    """
    from ..errors import ConfigError

    con.execute("SET enable_progress_bar = false")
    try:
        con.execute("SET memory_limit = $m", {"m": str(config.data.duckdb_memory_limit)})
    except duckdb.Error as exc:
        msg = (f"data.duckdb_memory_limit {config.data.duckdb_memory_limit!r} is not a memory size ({exc}); "
               "write it like '1500MB' or '2GB'")
        raise ConfigError(msg) from None
    con.execute("SET temp_directory = $d", {"d": str(temp_dir)})
    if config.data.duckdb_threads:
        con.execute("SET threads = $n", {"n": int(config.data.duckdb_threads)})
        if config.data.duckdb_threads == 1:
            con.execute("SET preserve_insertion_order = true")


def _ingest_key(readings, side, layout, mapping, config: Config) -> str:
    payload = {
        "v": INGEST_VERSION,
        "readings": [[s.name, k, _fingerprint(s)] for s, _, k in readings],
        "side": {k: [[s.name, _fingerprint(s)] for s in v] for k, v in side.items()},
        "layout": layout,
        "map": mapping,
        "data": {k: v for k, v in dataclasses.asdict(config.data).items() if k not in _NOT_IN_KEY},
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:24]


def _report_from_info(path: Path, info: dict[str, Any]) -> IngestReport:
    r = dict(info.get("report", {}))
    r["store"] = path
    known = {f.name for f in dataclasses.fields(IngestReport)}
    return IngestReport(**{k: v for k, v in r.items() if k in known})


def _ingest_readings(con, store, readings, mapping, config: Config, progress: bool, issues) -> dict[str, Any]:
    from tqdm.auto import tqdm

    t_last = [time.perf_counter()]

    def _lap(step: str) -> None:
        now = time.perf_counter()
        logger.info("ingest step %s: %.2f s", step, now - t_last[0])
        t_last[0] = now

    con.execute(staging_ddl("staged"))
    files = []
    for idx, (src, header, kind) in enumerate(tqdm(readings, desc="reading", unit="file", disable=not progress)):
        rel, params = register_relation(con, src, header)
        if kind == generic.LAYOUT:
            sql = generic.staged_select(rel, header, idx, src.name, mapping)
        else:
            sql = _SELECTS[kind](rel, header, idx, src.name)
        try:
            con.execute(f"INSERT INTO staged {staged_insert_sql(sql)}", params)
        except duckdb.Error as exc:
            text = str(exc)
            if "Fix:" in text:
                raise InputError(src.name, text.split(": ", 1)[-1].split(". Fix:")[0],
                                 text.split("Fix:", 1)[1].strip()) from None
            raise input_error_from_duckdb(src.name, exc) from None
        files.append({"file_idx": idx, "file": src.name, "layout": kind})
    files_df = pd.DataFrame(files)
    _lap("stage files")

    # timestamp format per file, decided from all its distinct non-ISO values (ISO ones were cast at staging)
    distinct = con.execute("""
        SELECT file_idx, count(ts_iso) AS n_iso, list(DISTINCT ts_raw) FILTER (WHERE ts_raw IS NOT NULL) AS raw
        FROM staged GROUP BY file_idx
    """).fetchall()
    if not distinct:
        raise InputError(", ".join(f["file"] for f in files), "the readings files have a header but no rows",
                         "pass files that hold readings")
    formats = {f["file_idx"]: DateFormat(ISO) for f in files}  # files without rows
    for idx, n_iso, vals in distinct:
        name = files[idx]["file"]
        if not vals:
            formats[idx] = DateFormat(ISO)
            continue
        try:
            formats[idx] = infer_datetime_format(vals, source=name)
        except ValueError as exc:
            if n_iso:  # a few non-dates among ISO timestamps: those rows are unparseable
                formats[idx] = DateFormat(ISO)
                continue
            raise InputError(name, str(exc), "write timestamps as ISO (YYYY-MM-DD HH:MM:SS) or D/M/YYYY H:MM",
                             column="timestamp") from None
    _lap("infer formats")
    fmt_names = sorted({f.name for f in formats.values()})
    fmt_ids = {n: i for i, n in enumerate(fmt_names)}
    by_name = {f.name: f for f in formats.values()}
    con.execute("CREATE TABLE file_map (file_idx INTEGER, fmt_id INTEGER, layout VARCHAR)")
    con.executemany("INSERT INTO file_map VALUES (?, ?, ?)",
                    [[i, fmt_ids[f.name], files[i]["layout"]] for i, f in formats.items()])
    parse = "CASE m.fmt_id " + " ".join(
        f"WHEN {fmt_ids[n]} THEN {by_name[n].sql('d.ts_raw')}" for n in fmt_names) + " END"
    # distinct timestamps and households are few: parse / number them once, then join
    con.execute(f"""
        CREATE TABLE tsmap AS SELECT d.file_idx, d.ts_raw, {parse} AS ts0
        FROM (SELECT DISTINCT file_idx, ts_raw FROM staged WHERE ts_raw IS NOT NULL) d JOIN file_map m USING (file_idx)
    """)
    con.execute("""
        CREATE TABLE hhinfo AS
        SELECT household_id, household_id AS hh, grps, acorn,
               acorn_grouped
        FROM (SELECT household_id, list(DISTINCT grp_raw) FILTER (WHERE grp_raw IS NOT NULL) AS grps,
                     first(acorn) FILTER (WHERE acorn IS NOT NULL) AS acorn,
                     first(acorn_grouped) FILTER (WHERE acorn_grouped IS NOT NULL) AS acorn_grouped
              FROM staged WHERE household_id IS NOT NULL GROUP BY household_id)
    """)
    shift = "- INTERVAL 30 MINUTE" if config.data.timestamp_marks == "end" else ""
    cap = float(config.data.kwh_cap)  # a float literal (views cannot take bound parameters)
    if con.execute("SELECT count(*) FROM tsmap").fetchall()[0][0]:
        ts_expr = "coalesce(s.ts_iso, t.ts0)"
        ts_join = "LEFT JOIN tsmap t ON t.file_idx = s.file_idx AND t.ts_raw = s.ts_raw"
    else:  # every timestamp was ISO
        ts_expr, ts_join = "s.ts_iso", ""
    con.execute(f"""
        CREATE VIEW parsed AS
        WITH p AS (
            SELECT s.file_idx, s.line, m.layout, s.household_id AS hh, CASE WHEN isnan(s.kwh) THEN NULL ELSE s.kwh END AS kwh,
                   s.bad_value, {ts_expr} + to_minutes(30 * CAST(s.slot AS BIGINT)) {shift} AS ts
            FROM staged s JOIN file_map m USING (file_idx) {ts_join})
        SELECT file_idx, line, layout, hh, kwh, ts,
            CASE
            WHEN hh IS NULL THEN 'missing_household_id'
            WHEN ts IS NULL THEN 'unparseable_timestamp'
            WHEN minute(ts) % 30 <> 0 OR microsecond(ts) <> 0 THEN 'off_grid_timestamp'
            WHEN bad_value THEN 'unparseable_value'
            WHEN kwh < 0 THEN 'negative_value'
            WHEN kwh > CAST('{cap!r}' AS DOUBLE) THEN 'above_cap'
            ELSE NULL END AS reason
        FROM p
    """)
    # parsed stays a view over staged: cheaper than materialising it again
    _lap("parse timestamps")
    layouts = sorted({f["layout"] for f in files})
    # one pass for every per-household and per-layout count (the result is small)
    con.execute("""
        CREATE TABLE summary AS
        SELECT hh, layout, year(ts) AS y, reason, count(*) AS n, count(kwh) AS n_values, min(ts) AS first,
               max(ts) AS last
        FROM parsed GROUP BY ALL
    """)
    # duplicates: first the households that have any (bitmap per household), then their (hh, ts) keys
    lo, hi, n_hh = con.execute("SELECT epoch_us(min(first)), epoch_us(max(last)), count(DISTINCT hh) "
                               "FROM summary WHERE reason IS NULL").fetchall()[0]
    if lo is None:
        con.execute("CREATE TABLE dup_hh (hh VARCHAR)")
    else:
        rows = "SELECT hh, ts FROM parsed WHERE reason IS NULL"
        con.execute(f"CREATE TABLE dup_hh AS {fastpath.duplicate_households_sql(rows, lo, hi, n_hh)}")
    con.execute("CREATE TABLE dupkeys AS SELECT hh, ts FROM parsed SEMI JOIN dup_hh USING (hh) WHERE reason IS NULL "
                "GROUP BY ALL HAVING count(*) > 1")
    con.execute(f"CREATE TABLE dupinfo AS "
                f"{dupinfo_sql('parsed SEMI JOIN dupkeys USING (hh, ts) WHERE reason IS NULL', layouts)}")
    n_dupkeys = con.execute("SELECT count(*) FROM dupinfo").fetchall()[0][0]
    anti = "ANTI JOIN dupkeys USING (hh, ts)" if n_dupkeys else ""
    con.execute(f"""
        CREATE VIEW final AS
        SELECT hh, ts, kwh FROM parsed {anti} WHERE reason IS NULL
        UNION ALL SELECT hh, ts, kwh FROM dupinfo
    """)
    _lap("merge duplicates")
    return {
        "files": files_df,
        "files_by_layout": {k: int(v) for k, v in files_df["layout"].value_counts().items()},
        "accounting": _accounting(con, layouts),
        "date_formats": {files[i]["file"]: f.name for i, f in formats.items()},
    }


def _accounting(con, layouts: list[str]) -> dict[str, dict[str, Any]]:
    """Per layout ``read = kept + rejected`` (by reason) from the ``summary`` and ``dupinfo`` tables."""
    counts = con.execute("SELECT layout, reason, sum(n) FROM summary GROUP BY ALL").fetchall()
    dups = dict(con.execute("SELECT first_layout, count(*) FROM dupinfo GROUP BY ALL").fetchall())
    sums = ", ".join('sum("n_' + lay + '")' for lay in layouts)
    in_dups = con.execute(f"SELECT {sums} FROM dupinfo").fetchall()[0]
    acc: dict[str, dict[str, Any]] = {}
    for j, lay in enumerate(layouts):
        by_reason = {r: int(n) for la, r, n in counts if la == lay and r is not None}
        valid = sum(int(n) for la, r, n in counts if la == lay and r is None)
        dup = int(in_dups[j] or 0) - int(dups.get(lay, 0))
        if dup:
            by_reason["duplicate_timestamp"] = dup
        entry = {"read": sum(int(n) for la, _, n in counts if la == lay), "kept": valid - dup,
                 "rejected": int(sum(by_reason.values())), "rejected_by_reason": by_reason,
                 "unit": "cells" if lay in (day48.LAYOUT, kaggle.HHBLOCK, ukds.LAYOUT) else "rows"}
        if entry["read"] != entry["kept"] + entry["rejected"]:  # pragma: no cover - an invariant
            msg = f"row accounting broken for layout {lay}: {entry}"
            raise AssertionError(msg)
        acc[lay] = entry
    return acc


def _resolve_households(con, hh_tables: list[pd.DataFrame], issues: list[QualityIssue]):
    """Combine group evidence of the readings files and the households files (per household)."""
    rows = con.execute("SELECT household_id, grps, acorn, acorn_grouped FROM hhinfo ORDER BY hh").fetchall()
    evidence: dict[str, set[str]] = {}
    info: dict[str, dict[str, Any]] = {}
    for hid, grps, acorn, acg in rows:
        evidence[hid] = {g for g in (canonical_group(x) for x in (grps or [])) if g}
        bad = [x for x in (grps or []) if canonical_group(x) is None]
        if bad:
            issues.append(QualityIssue("unknown_group", f"group label(s) {bad} not recognised", household_id=hid))
        info[hid] = {"acorn": acorn, "acorn_grouped": acg}
    in_both: set[str] = set()
    for t in hh_tables:
        in_both |= set(t.attrs.get("in_both_groups", []))
        for r in t.itertuples(index=False):
            if r.group is not None and r.household_id in evidence:
                evidence[r.household_id].add(r.group)
            d = info.setdefault(r.household_id, {"acorn": None, "acorn_grouped": None})
            d["acorn"] = d["acorn"] or r.acorn
            d["acorn_grouped"] = d["acorn_grouped"] or r.acorn_grouped
            evidence.setdefault(r.household_id, set() if r.group is None else {r.group})
    out = []
    for hid, ev in evidence.items():
        if len(ev) > 1 and hid not in in_both:
            in_both.add(hid)
            issues.append(QualityIssue("in_both_groups", "the sources put this household in both groups",
                                       household_id=hid))
        out.append({"household_id": hid, "group": next(iter(ev)) if len(ev) == 1 and hid not in in_both else None,
                    **info.get(hid, {"acorn": None, "acorn_grouped": None})})
    df = pd.DataFrame(out, columns=["household_id", "group", "acorn", "acorn_grouped"]).astype(object)
    df["household_id"] = df["household_id"].astype(str)
    return df.sort_values("household_id", ignore_index=True), in_both


def _household_stats(con, config: Config) -> pd.DataFrame:
    """Per-household counts for the ledger (one pass over the parsed rows, corrected for merged duplicates)."""
    by_year = con.execute("""
        SELECT hh, y, sum(n) AS n_rows, sum(n_values) AS n_values, min(first) AS first, max(last) AS last
        FROM summary WHERE reason IS NULL GROUP BY ALL
    """).df()
    dup_year = con.execute("""
        SELECT hh, year(ts) AS y, sum(n_rows - 1) AS extra_rows,
               sum(n_nonnull - CASE WHEN kwh IS NULL THEN 0 ELSE 1 END) AS extra_values,
               count(*) FILTER (WHERE n_distinct > 1) AS n_conflicting
        FROM dupinfo GROUP BY ALL
    """).df()
    rej = con.execute("""
        SELECT hh, reason, sum(n) AS n FROM summary WHERE reason IS NOT NULL AND hh IS NOT NULL GROUP BY ALL
    """).df()
    lay = con.execute("""
        SELECT h.household_id, p.hh, string_agg(p.layout, ',' ORDER BY p.layout) AS source_layout
        FROM (SELECT DISTINCT hh, layout FROM summary WHERE hh IS NOT NULL) p JOIN hhinfo h USING (hh)
        GROUP BY ALL
    """).df()
    y = by_year.merge(dup_year, on=["hh", "y"], how="left").fillna(
        {"extra_rows": 0, "extra_values": 0, "n_conflicting": 0})
    y["n_readings"] = y["n_rows"] - y["extra_rows"]
    y["n_values"] = y["n_values"] - y["extra_values"]
    g = y.groupby("hh")
    out = pd.DataFrame({
        "first_reading": g["first"].min(), "last_reading": g["last"].max(),
        "n_readings": g["n_readings"].sum(), "n_values": g["n_values"].sum(),
        "n_duplicates": g["extra_rows"].sum(), "n_conflicting": g["n_conflicting"].sum(),
    })
    b, t = config.data.baseline_year, config.data.trial_year
    vals = y.pivot_table(index="hh", columns="y", values="n_values", aggfunc="sum", fill_value=0)
    out["values_baseline"] = vals[b] if b in vals else 0
    out["values_trial"] = vals[t] if t in vals else 0
    for c in vals.columns:
        out[f"readings_{int(c)}"] = vals[c]
    names = {"negative_value": "n_negative", "above_cap": "n_above_cap",
             "unparseable_timestamp": "n_unparseable_timestamp", "unparseable_value": "n_unparseable_value",
             "off_grid_timestamp": "n_off_grid"}
    for reason, col in names.items():
        r = rej[rej["reason"] == reason].set_index("hh")["n"]
        out[col] = r.reindex(out.index.union(r.index)).reindex(out.index) if len(out) else r
    out = lay.set_index("hh").join(out, how="left")
    for reason, col in names.items():
        r = rej[rej["reason"] == reason].set_index("hh")["n"]
        out[col] = r.reindex(out.index).fillna(0).astype("int64")
    return out.reset_index(drop=True)


def _write_readings(con, store: Store, parts: list[Path] | None = None) -> None:
    """Readings into the store: the streaming path's Parquet ``parts`` are moved, else one sorted COPY."""
    with atomic_path(store.readings_dir) as tmp:
        tmp.mkdir()
        if parts is not None:
            for i, part in enumerate(parts):
                shutil.move(str(part), tmp / f"part-{i:05d}.parquet")
            return
        target = str(tmp / "part-00000.parquet").replace("'", "''")
        con.execute(f"""
            COPY (SELECT hh AS household_id, ts, kwh FROM final ORDER BY hh, ts)
            TO '{target}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1000000)
        """)


def _write_daily(con, store: Store, files: list[SourceFile]) -> int | None:
    if not files:
        return None
    con.execute("CREATE TABLE daily_raw (file_idx INTEGER, line BIGINT, household_id VARCHAR, day DATE, "
                "kwh_sum DOUBLE, n_readings BIGINT, kwh_mean DOUBLE, kwh_max DOUBLE, kwh_min DOUBLE, kwh_std DOUBLE)")
    for idx, src in enumerate(files):
        header = read_header(src)
        if not kaggle.matches_daily(header):
            raise InputError(src.name, f"not a Kaggle daily_dataset file (header: {', '.join(header)})",
                             "pass daily_dataset block files (LCLid, day, energy_sum, ...)", line=1)
        rel, params = register_relation(con, src, header)
        try:
            con.execute(f"INSERT INTO daily_raw {kaggle.daily_select(rel, header, idx, src.name)}", params)
        except duckdb.Error as exc:
            raise input_error_from_duckdb(src.name, exc) from None
    with atomic_path(store.table_path("daily")) as tmp:
        target = str(tmp).replace("'", "''")
        con.execute(f"""
            COPY (SELECT household_id, day, kwh_sum, n_readings, kwh_mean, kwh_max, kwh_min, kwh_std
                  FROM daily_raw WHERE household_id IS NOT NULL AND day IS NOT NULL
                  QUALIFY row_number() OVER (PARTITION BY household_id, day ORDER BY file_idx, line) = 1
                  ORDER BY household_id, day)
            TO '{target}' (FORMAT parquet)
        """)
    return int(con.execute("SELECT count(*) FROM read_parquet($p)", {"p": str(store.table_path("daily"))}).fetchall()[0][0])


_ISSUE_COLUMNS = ["code", "household_id", "file", "line", "count", "detail"]


def _issues_frame(issues: list[QualityIssue]) -> pd.DataFrame:
    rows = [{"code": i.code, "household_id": i.household_id, "file": i.file, "line": i.line, "count": i.count,
             "detail": i.message} for i in issues]
    df = pd.DataFrame(rows, columns=_ISSUE_COLUMNS)
    return df.astype({"line": "Int64", "count": "int64"})


def _issues_table(con, files: pd.DataFrame, issues: list[QualityIssue]) -> pd.DataFrame:
    """Row-level rejections aggregated per code x household x file (with example lines), then duplicates."""
    con.register("files_df", files[["file_idx", "file"]])
    any_rejected = con.execute("SELECT count(*) FROM summary WHERE reason IS NOT NULL").fetchall()[0][0]
    rej = pd.DataFrame(columns=_ISSUE_COLUMNS) if not any_rejected else con.execute("""
        SELECT p.reason AS code, h.household_id, f.file, min(p.line) AS line, count(*) AS count,
               'lines ' || array_to_string(list_slice(list(p.line ORDER BY p.line), 1, 5), ', ') AS detail
        FROM parsed p JOIN files_df f USING (file_idx) LEFT JOIN hhinfo h USING (hh)
        WHERE p.reason IS NOT NULL GROUP BY ALL ORDER BY f.file, line
    """).df()
    dup = con.execute("""
        SELECT 'duplicate_timestamp' AS code, h.household_id, NULL AS file, NULL AS line,
               sum(d.n_rows - 1) AS count,
               count(*) FILTER (WHERE d.n_distinct > 1) || ' half-hours with conflicting values (first kept); e.g. '
                 || strftime(min(d.ts), '%Y-%m-%d %H:%M') AS detail
        FROM dupinfo d JOIN hhinfo h USING (hh) GROUP BY h.household_id ORDER BY h.household_id
    """).df()
    con.unregister("files_df")
    parts = [rej, dup, _issues_frame(issues)]
    parts = [p.astype({"line": "Int64", "count": "int64"}) for p in parts if len(p)]
    if not parts:
        return _issues_frame([])
    out = pd.concat(parts, ignore_index=True)[_ISSUE_COLUMNS]
    for c in ("code", "household_id", "file", "detail"):
        out[c] = out[c].astype(object).where(out[c].notna(), None)
    return out

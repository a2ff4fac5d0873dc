"""Ingest: every input file, in any supported layout, into the Parquet :class:`~flexpersona.store.Store`.

Readings never pass through pandas. :func:`read_readings_files` reads them by the streaming path
(:mod:`.fastpath`) when it can, else by the general staging path (:mod:`.staging`), each on a DuckDB
connection of its own; both take their columns from the layouts' :class:`~flexpersona.io.spec.LayoutSpec`,
classify rows by the rules of :mod:`.rejects` and return a :class:`~flexpersona.io.result.ReadingsResult`.
From it :func:`ingest` derives the row accounting (rows, or cells for wide layouts, read = kept + rejected,
by reason), the ledger and the issues table, and writes the store.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import shutil
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from .. import quality
from ..config import Config
from ..errors import ConfigError, InputError, QualityIssue
from ..store import Store, atomic_path, file_fingerprint, sql_path
from . import fastpath, generic, kaggle
from . import result as res
from .detect import detect_kind, layout_specs
from .households import canonical_group, read_households
from .rejects import REJECT_REASONS, strict_error
from .sources import SourceFile, enumerate_inputs, read_header, register_relation
from .staging import input_error_from_duckdb, read_staged
from .survey import read_survey
from .tariff import fill_tariff_gaps, read_tariff
from .weather import read_weather

logger = logging.getLogger(__name__)

__all__ = ["REJECT_REASONS", "IngestReport", "configure_connection", "ingest", "read_readings_files"]

#: 2: row-shape rejects (blank lines, missing/extra fields, cut last lines) and the ledger's ``n_malformed``.
INGEST_VERSION = 2
#: Inputs larger than this stage into a DuckDB file under the store instead of memory [bytes].
DISK_BACKED_ABOVE_BYTES = 2 * 1024**3
#: ``DataConfig`` fields that do not change what an ingest writes (not part of the re-use key).
_NOT_IN_KEY = ("duckdb_memory_limit", "duckdb_threads", "ingest_threads", "strict")
ReadingsFile = tuple[SourceFile, list[str], str]


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


@dataclass
class _Inputs:
    """The input files sorted by kind: readings files (with header and layout) and side files."""

    readings: list[ReadingsFile]
    side: dict[str, list[SourceFile]]
    skipped_files: list[str]


def _as_list(x: str | Path | Iterable[str | Path] | None) -> list[str | Path]:
    if x is None:
        return []
    if isinstance(x, (str, Path)):
        return [x]
    return list(x)


def _fingerprint(src: SourceFile) -> str:
    fp = file_fingerprint(src.path)
    return f"{fp}!{src.member}" if src.member else fp


def collect_inputs(inputs, *, layout: str | None = None, mapping: dict[str, str] | None = None,
                   side_options: dict[str, Any] | None = None) -> _Inputs:
    """Enumerate and classify every input; a file reached twice (by resolved path) is read once.

    Side files named by option (``side_options``: tariff, households, survey, daily, weather) are claimed first,
    so a file inside an INPUT folder that is also passed as ``--tariff`` is the tariff, once.
    """
    side: dict[str, list[SourceFile]] = {"households": [], "tariff": [], "survey": [], "daily": [], "weather": []}
    seen: set[tuple[str, str | None]] = set()
    for kind, arg in (side_options or {}).items():
        side[kind].extend(enumerate_inputs(_as_list(arg), seen=seen))
    readings: list[ReadingsFile] = []
    skipped_files: list[str] = []
    for src in enumerate_inputs(_as_list(inputs), seen=seen):
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
            continue
        if kind == generic.LAYOUT and mapping is None:
            raise InputError(src.name, "the generic layout needs a column map",
                             "pass --map household_id=COL,ts=COL,kwh=COL")
        readings.append((src, header, kind))
    return _Inputs(readings, side, skipped_files)


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
    config: Config | None = None,
    progress: bool = False,
    weather: str | Path | None = None,
    strict: bool | None = None,
) -> IngestReport:
    """Read every input into the store at ``store_dir`` and build the quality ledger.

    Parameters
    ----------
    inputs
        Files, folders holding a layout's files, or ``.zip`` archives of them; ``.csv.gz`` files are read as
        streams. Side files found among them (households, tariff, survey, Kaggle daily, weather) are used as if
        passed by their option. A file reached twice (by its resolved path) is read once.
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
        Show a progress bar with an ETA on stderr (display only): over the steps of the streaming path, or over
        the readings files on the general path.
    weather
        Hourly weather (Kaggle ``weather_hourly_darksky.csv``: ``time``, ``temperature``), stored as the
        ``weather`` table; used by the counterfactual without a control group.
    strict
        Any rejected readings row (a blank line, a missing or extra field, a cut last line, an unparseable or
        implausible value ...; not a duplicate half-hour, which is merged) is an :class:`InputError` naming
        its file and line, and nothing is written. None: ``config.data.strict`` (default False: such rows are
        rejected, counted in the accounting and listed in ``issues.parquet``, and the rest is read).

    Returns
    -------
    IngestReport

    Raises
    ------
    InputError
        For a structural problem (unreadable file, missing column, unknown layout, undecodable bytes), and
        with ``strict`` for any rejected row.
    """
    t0 = time.perf_counter()
    store = Store(store_dir)
    mapping = generic.parse_column_map(column_map)
    config = config or Config()
    strict = config.data.strict if strict is None else strict
    if config.data.timestamp_marks not in ("start", "end"):
        msg = f"data.timestamp_marks must be 'start' or 'end', not {config.data.timestamp_marks!r}"
        raise ConfigError(msg)
    found = collect_inputs(inputs, layout=layout, mapping=mapping, side_options={
        "tariff": tariff, "households": households, "survey": survey, "daily": daily, "weather": weather})
    _require_inputs(found, inputs)
    readings, side, skipped_files = found.readings, found.side, found.skipped_files

    key = _ingest_key(readings, side, layout, mapping, config)
    info = store.info()
    if info.get("key") == key and store.has("readings") and store.has("ledger"):
        logger.info("inputs unchanged since the last ingest into %s; skipped", store.path)
        if strict:
            _check_strict_stored(store, info)
        rep = _report_from_info(store.path, info)
        rep.skipped = True
        rep.seconds = time.perf_counter() - t0
        return rep

    issues: list[QualityIssue] = []
    store.path.mkdir(parents=True, exist_ok=True)
    tmpdir = store.path / ".duckdb_tmp"
    try:
        result = read_readings_files(readings, tmpdir, mapping=mapping, config=config, progress=progress)
        issues_df = res.issues_frame(result)
        if strict and (err := strict_error(issues_df, result.files)) is not None:
            raise err
        hh_tables = [read_households(s, issues=issues) for s in side["households"]]
        households_df, in_both = _resolve_households(result.households, hh_tables, issues)
        stats = res.household_stats(result, config.data.baseline_year, config.data.trial_year)
        led = quality.build_ledger(stats, households_df, config, in_both_groups=in_both)
        households_df = quality.input_households(households_df, led)
        _write_readings(store, result.parts)
        daily_n = _write_daily(store, side["daily"], config, tmpdir)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    issues_df = _concat_issues(issues_df, _issues_frame(issues))
    side_info, side_issues = _write_side_tables(store, side, config)
    issues_df = _concat_issues(issues_df, side_issues)
    store.write("households", households_df)
    store.write("ledger", led)
    store.write("issues", issues_df)
    rep = _ingest_report(store, result, led, side_info["tariff"], skipped_files)
    rep.seconds = time.perf_counter() - t0
    store.write_info({
        "version": INGEST_VERSION,
        "key": key,
        "inputs": [{"file": s.name, "kind": k, "fingerprint": _fingerprint(s)} for s, _, k in readings]
        + [{"file": s.name, "kind": kind, "fingerprint": _fingerprint(s)} for kind, ss in side.items() for s in ss],
        "options": {"layout": layout, "column_map": mapping, "data": dataclasses.asdict(config.data)},
        **side_info,
        "skipped_files": skipped_files,
        "daily_rows": daily_n,
        "report": rep.as_dict(),
    })
    logger.info("ingest into %s: %d values, %d households in %.1f s", store.path, rep.n_values, len(led),
                rep.seconds)
    return rep


def _require_inputs(found: Any, inputs: Any) -> None:
    """At least one readings file, and at most one tariff, survey and weather file, among the inputs."""
    if not found.readings:
        raise InputError(", ".join(str(i) for i in _as_list(inputs)), "no readings file among the inputs",
                         "pass the folder or files holding half-hourly readings")
    side = found.side
    if len(side["tariff"]) > 1 or len(side["survey"]) > 1 or len(side["weather"]) > 1:
        raise InputError(", ".join(s.name for s in side["tariff"] + side["survey"] + side["weather"]),
                         "more than one tariff, survey or weather file",
                         "pass exactly one with --tariff / --survey / --weather")


def _write_side_tables(store: Store, side: dict[str, list[Path]], config: Config) -> tuple[dict[str, Any], pd.DataFrame]:
    """Write the tariff, survey and weather tables found among the inputs; their store-info entries and issues."""
    issues: list[QualityIssue] = []
    info: dict[str, Any] = {"tariff": None, "survey_households": None, "weather": None}
    if side["tariff"]:
        path = side["tariff"][0]
        tdf = read_tariff(path, config=config, issues=issues)
        tfmt = tdf.attrs.get("date_format")
        tdf, filled = fill_tariff_gaps(tdf, config.data.trial_year, config)
        if filled:
            issues.append(QualityIssue("tariff_gap", "trial-year half-hours missing from the tariff, stored as Normal",
                                       file=path.name, count=filled))
        store.write("tariff", tdf.reset_index(drop=True))
        info["tariff"] = {"file": path.name, "rows": int(len(tdf)), "filled_normal": int(filled),
                          "date_format": tfmt, "bands": {k: int(v) for k, v in tdf["band"].value_counts().items()}}
    if side["survey"]:
        sdf = read_survey(side["survey"][0], issues=issues)
        store.write("survey", sdf)
        info["survey_households"] = int(len(sdf))
    if side["weather"]:
        wdf = read_weather(side["weather"][0], issues=issues)
        store.write("weather", wdf)
        info["weather"] = {"file": side["weather"][0].name, "rows": int(len(wdf)),
                           "date_format": wdf.attrs.get("date_format"), "first": str(wdf["ts"].min()),
                           "last": str(wdf["ts"].max())}
    elif store.table_path("weather").exists():  # a re-ingest without weather: no stale temperatures
        store.table_path("weather").unlink()
    return info, _issues_frame(issues)


def _ingest_report(store: Store, result: res.ReadingsResult, led: pd.DataFrame, tariff_info: dict[str, Any] | None,
                   skipped_files: list) -> IngestReport:
    """The ingest's report: files, row accounting, households per group and exclusion reason."""
    return IngestReport(
        store=store.path,
        files_by_layout=result.files_by_layout,
        accounting=res.accounting(result),
        households_per_group={str(k): int(v) for k, v in led["group"].fillna("unknown").value_counts().items()},
        kept_per_group={str(k): int(v) for k, v in
                        led.loc[led["status"] == quality.KEPT, "group"].value_counts().items()},
        excluded_by_reason={str(k): int(v) for k, v in led["reason"].dropna().value_counts().items()},
        n_values=int(led["n_values"].sum()),
        date_formats=result.date_formats,
        tariff_filled_normal=None if tariff_info is None else tariff_info["filled_normal"],
        skipped_files=skipped_files,
    )


def read_readings_files(readings: list[ReadingsFile], workdir: Path, *, mapping: dict[str, str] | None = None,
                        config: Config | None = None, progress: bool = False) -> res.ReadingsResult:
    """Read the readings files: by the streaming path when every file allows it, else by the general path.

    Each path runs on a DuckDB connection of its own (memory bounded by ``config.data.duckdb_memory_limit``,
    spilling under ``workdir``) that is closed when it returns; the kept readings are Parquet files under
    ``workdir`` (``ReadingsResult.parts``), the caller moves or reads them and removes ``workdir``.
    """
    config = config or Config()
    specs = layout_specs(mapping)
    workdir.mkdir(parents=True, exist_ok=True)
    input_bytes = sum(s.path.stat().st_size for s in {src.path: src for src, _, _ in readings}.values())
    disk_backed = input_bytes > DISK_BACKED_ABOVE_BYTES  # staging larger than memory: a file-backed database
    result = None
    if fastpath.eligible(readings):
        with _connection(config, workdir, disk_backed=disk_backed) as con:
            result = fastpath.ingest_fast(con, workdir / "stream", readings, config, progress)
    if result is None:
        with _connection(config, workdir, disk_backed=disk_backed) as con:
            result = read_staged(con, workdir / "staged", readings, specs, config, progress)
    return result


@contextlib.contextmanager
def _connection(config: Config, workdir: Path, *, disk_backed: bool) -> Iterator[duckdb.DuckDBPyConnection]:
    """A configured DuckDB connection, closed (and its database file removed) afterwards."""
    db = workdir / f"ingest-{time.monotonic_ns()}.duckdb"
    con = duckdb.connect(str(db)) if disk_backed else duckdb.connect()
    try:
        configure_connection(con, config, workdir)
        con.execute("SET preserve_insertion_order = true")
        yield con
    finally:
        con.close()
        for p in (db, db.with_name(db.name + ".wal")):
            p.unlink(missing_ok=True)


def configure_connection(con: duckdb.DuckDBPyConnection, config: Config, temp_dir: Path) -> None:
    """Bound a DuckDB connection's memory (``config.data.duckdb_memory_limit``); big operations spill to ``temp_dir``.

    Raises
    ------
    ConfigError
        When DuckDB does not accept the memory limit (e.g. ``"1.5 gigs"``).
    """
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


def _check_strict_stored(store: Store, info: dict[str, Any]) -> None:
    """``strict`` on an unchanged store: its recorded rejected rows are the error (nothing is re-read)."""
    files = pd.DataFrame({"file": [i["file"] for i in info.get("inputs", []) if i.get("kind") not in
                                   ("households", "tariff", "survey", "daily", "weather")]})
    err = strict_error(store.read("issues"), files)
    if err is not None:
        raise err


def _resolve_households(households: pd.DataFrame, hh_tables: list[pd.DataFrame], issues: list[QualityIssue]):
    """Combine group evidence of the readings files and the households files (per household)."""
    evidence: dict[str, set[str]] = {}
    info: dict[str, dict[str, Any]] = {}
    for hid, grps, acorn, acg in households.sort_values("household_id")[
            ["household_id", "grps", "acorn", "acorn_grouped"]].itertuples(index=False):
        evidence[hid] = {g for g in (canonical_group(x) for x in grps) if g}
        bad = [x for x in grps if canonical_group(x) is None]
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


def _write_readings(store: Store, parts: list[Path]) -> None:
    """The readings' Parquet parts, moved into the store's ``readings/`` (atomically)."""
    with atomic_path(store.readings_dir) as tmp:
        tmp.mkdir()
        for i, part in enumerate(parts):
            shutil.move(str(part), tmp / f"part-{i:05d}.parquet")


def _write_daily(store: Store, files: list[SourceFile], config: Config, tmpdir: Path) -> int | None:
    if not files:
        return None
    with _connection(config, tmpdir, disk_backed=False) as con:
        con.execute("CREATE TABLE daily_raw (file_idx INTEGER, line BIGINT, household_id VARCHAR, day DATE, "
                    "kwh_sum DOUBLE, n_readings BIGINT, kwh_mean DOUBLE, kwh_max DOUBLE, kwh_min DOUBLE, "
                    "kwh_std DOUBLE)")
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
            target = sql_path(tmp)
            con.execute(f"""
                COPY (SELECT household_id, day, kwh_sum, n_readings, kwh_mean, kwh_max, kwh_min, kwh_std
                      FROM daily_raw WHERE household_id IS NOT NULL AND day IS NOT NULL
                      QUALIFY row_number() OVER (PARTITION BY household_id, day ORDER BY file_idx, line) = 1
                      ORDER BY household_id, day)
                TO '{target}' (FORMAT parquet)
            """)
        return int(con.execute("SELECT count(*) FROM read_parquet($p)",
                               {"p": str(store.table_path("daily"))}).fetchall()[0][0])


def _issues_frame(issues: list[QualityIssue]) -> pd.DataFrame:
    rows = [{"code": i.code, "household_id": i.household_id, "file": i.file, "line": i.line, "count": i.count,
             "detail": i.message} for i in issues]
    df = pd.DataFrame(rows, columns=res.ISSUE_COLUMNS)
    return df.astype({"line": "Int64", "count": "int64"})


def _concat_issues(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    parts = [p for p in (a, b) if len(p)]
    if not parts:
        return res.empty_issues()
    out = pd.concat(parts, ignore_index=True)[res.ISSUE_COLUMNS].astype({"line": "Int64", "count": "int64"})
    for col in ("code", "household_id", "file", "detail"):
        out[col] = out[col].astype(object).where(out[col].notna(), None)
    return out

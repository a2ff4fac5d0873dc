"""File helpers shared by the ingest store and the run folder: atomic writes and fingerprints.

Only ``io``, the store and ``report`` touch files; every write goes through :func:`atomic_path` so that a
crash never leaves a half-written table behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` when the block succeeds.

    Works for files and directories.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    os.unlink(tmp)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if target.is_dir() and not target.is_symlink():
            old = target.with_name(f".{target.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            target.rename(old)
            tmp_path.rename(target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp_path, target)
    finally:
        if tmp_path.is_dir():
            shutil.rmtree(tmp_path, ignore_errors=True)
        elif tmp_path.exists():
            tmp_path.unlink()


def write_table(df: pd.DataFrame | pa.Table, target: str | Path, *, csv_twin: bool = False) -> Path:
    """Write a table as Parquet atomically (and a CSV twin beside it when asked)."""
    target = Path(target)
    table = df if isinstance(df, pa.Table) else pa.Table.from_pandas(df, preserve_index=False)
    with atomic_path(target) as tmp:
        pq.write_table(table, tmp)
    if csv_twin:
        frame = table.to_pandas() if isinstance(df, pa.Table) else df
        with atomic_path(target.with_suffix(".csv")) as tmp:
            frame.to_csv(tmp, index=False)
    return target


def write_csv(df: pd.DataFrame, target: str | Path) -> Path:
    target = Path(target)
    with atomic_path(target) as tmp:
        df.to_csv(tmp, index=False)
    return target


def write_json(obj: Any, target: str | Path) -> Path:
    target = Path(target)
    with atomic_path(target) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=_json_default), encoding="utf-8")
    return target


def write_text(text: str, target: str | Path) -> Path:
    target = Path(target)
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return target


def read_json(path: str | Path) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def run_features_path(run_dir: str | Path, then: str = "") -> Path:
    """``RUN/features.parquet``, which every stage after ``features`` needs.

    Raises
    ------
    StageError
        When it is missing, saying how to make it (and ``then`` what to run afterwards).
    """
    from .errors import StageError

    run = Path(run_dir)
    fp = run / "features.parquet"
    if not fp.exists():
        msg = f"{fp} is missing: run the pipeline first (flexpersona run ... --out {run}){then}"
        raise StageError(msg)
    return fp


def read_optional_table(path: str | Path) -> pd.DataFrame | None:
    """A run-folder table (Parquet or CSV), None when absent; ``household_id`` read as text."""
    p = Path(path)
    if not p.exists():
        return None
    df = pd.read_parquet(p) if p.suffix == ".parquet" else pd.read_csv(p)
    if "household_id" in df.columns:
        df["household_id"] = df["household_id"].astype(str)
    return df


def _json_default(o: Any) -> Any:
    import numpy as np

    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return None if np.isnan(o) else float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (pd.Timestamp,)):
        return o.isoformat()
    if isinstance(o, Path):
        return str(o)
    return str(o)


def sql_path(path: str | Path) -> str:
    """``path`` for a single-quoted SQL string literal (DuckDB ``COPY ... TO '...'``, ``read_parquet('...')``)."""
    return str(path).replace("'", "''")


def file_fingerprint(path: str | Path, *, chunk: int = 1 << 20) -> str:
    """Content fingerprint of a file: size plus BLAKE2b of its first and last MiB and its size.

    Cheap on 10 GB inputs yet changes with any edit that changes size, head or tail; use
    :func:`file_digest` when a full hash is needed.
    """
    p = Path(path)
    size = p.stat().st_size
    h = hashlib.blake2b(digest_size=16)
    h.update(str(size).encode())
    with p.open("rb") as f:
        h.update(f.read(chunk))
        if size > 2 * chunk:
            f.seek(size - chunk)
            h.update(f.read(chunk))
        elif size > chunk:
            h.update(f.read())
    return f"{size}:{h.hexdigest()}"


def stat_key(st: os.stat_result) -> str:
    """What the file system says about a file without reading it: size, modification and change times (ns),
    inode and device. Writing a file changes its change time (``st_ctime``), which no user call can set back,
    so an unchanged key means unchanged content (as git's index assumes)."""
    return f"{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_ino}:{st.st_dev}"


#: A file changed less than this long before its stat key was taken is read again next time: file times tick
#: in steps of a few milliseconds, so a write right after the stat could leave the key as it was ("racy git").
RACY_NS = 1_000_000_000


def file_fingerprints(paths: Iterable[str | Path], known: dict[str, list[Any]] | None = None
                      ) -> dict[str, list[Any]]:
    """``{path: [stat key, fingerprint, when the key was taken (ns)]}`` of ``paths``.

    A file whose :func:`stat_key` is the one in ``known`` (an earlier call's result), and that had not changed
    within :data:`RACY_NS` before that call, keeps its fingerprint without being read: a re-run of the full
    London trial reads nothing of its 11 GB of CSV (otherwise the first and last MiB of 168 files, 0.5-2 s when
    the page cache has let them go; issue 14's re-run with unchanged inputs).
    """
    known = known or {}
    out = {}
    for p in paths:
        now, st = time.time_ns(), Path(p).stat()
        key, before = stat_key(st), known.get(str(p))
        if before and len(before) == 3 and before[0] == key and st.st_ctime_ns < before[2] - RACY_NS:
            out[str(p)] = list(before)
        else:
            out[str(p)] = [key, file_fingerprint(p), now]
    return out


def file_digest(path: str | Path) -> str:
    """Full BLAKE2b digest of a file."""
    h = hashlib.blake2b(digest_size=16)
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class Store:
    """The Parquet store that ingest writes and every stage reads.

    Layout (all tables in the canonical schema of :mod:`flexpersona.schema`)::

        STORE/
          readings/part-*.parquet   household_id, ts, kwh (one row per household x half-hour; no order), then
                                    where each came from (schema.SOURCE_COLUMNS: file_idx, source_group, ...)
          households.parquet        household_id, group, acorn, acorn_grouped
          tariff.parquet            ts, band, price
          survey.parquet            household_id, Q01.. (strings; may be absent)
          daily.parquet             Kaggle daily aggregates (may be absent)
          ledger.parquet            one row per input household (quality ledger)
          issues.parquet            row-level quality records (code, household_id, file, line, count, detail)
          ingest.json               inputs with fingerprints, layouts, row accounting, date formats
          cache/rdk-<key>.parquet   the features stage's keyed readings (re-used while their key holds)
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    # -- locations -------------------------------------------------------------------------------
    @property
    def readings_dir(self) -> Path:
        return self.path / "readings"

    @property
    def readings_glob(self) -> str:
        """A glob DuckDB and Spark can read: ``read_parquet('<glob>')``."""
        return str(self.readings_dir / "*.parquet")

    @property
    def readings_source(self) -> str:
        """What the feature engines read the readings from (:meth:`flexpersona.features.engine.Engine.readings`)."""
        return self.readings_glob

    def table_path(self, name: str) -> Path:
        return self.path / f"{name}.parquet"

    def cache_path(self, name: str, key: str) -> Path | None:
        """Where a relation derived from the store is kept between runs: ``STORE/cache/<name>-<key>.parquet``
        (``key`` says what it was derived from); files of ``name`` with another key are removed."""
        folder = self.path / "cache"
        target = folder / f"{name}-{key}.parquet"
        for old in folder.glob(f"{name}-*.parquet") if folder.is_dir() else ():
            if old != target:
                old.unlink(missing_ok=True)
        return target

    def has(self, name: str) -> bool:
        if name == "readings":
            return self.readings_dir.is_dir() and any(self.readings_dir.glob("*.parquet"))
        return self.table_path(name).exists()

    # -- reading -----------------------------------------------------------------------------------
    def read(self, name: str) -> pd.DataFrame:
        """Read a side table (households, tariff, survey, daily, ledger, issues) as pandas.

        Never use this for ``readings``: push work on readings into DuckDB/Spark over
        :attr:`readings_glob`.
        """
        if name == "readings":
            msg = "readings are too large for pandas; query Store.readings_glob with DuckDB"
            raise ValueError(msg)
        path = self.table_path(name)
        if not path.exists():
            from .errors import StageError

            msg = f"the store {self.path} has no {name} table; ingest it first (flexpersona ingest ... --store {self.path})"
            raise StageError(msg)
        return pd.read_parquet(path)

    def read_optional(self, name: str) -> pd.DataFrame | None:
        return self.read(name) if self.has(name) else None

    def info(self) -> dict[str, Any]:
        p = self.path / "ingest.json"
        return read_json(p) if p.exists() else {}

    # -- writing -----------------------------------------------------------------------------------
    def write(self, name: str, df: pd.DataFrame | pa.Table) -> Path:
        return write_table(df, self.table_path(name))

    def write_info(self, info: dict[str, Any]) -> Path:
        return write_json(info, self.path / "ingest.json")


class MemoryStore:
    """In-memory canonical tables with a :class:`Store`'s read interface (the library API's input).

    ``readings`` (pandas DataFrame or Arrow table: ``household_id``, ``ts``, ``kwh``) is handed to the engine as
    it is — DuckDB reads it in place, it is never copied into another frame. Side tables are pandas.

    Parameters
    ----------
    readings, households, tariff
        Canonical tables (:mod:`flexpersona.schema`).
    **tables
        Optional side tables by store name: ``ledger``, ``daily``, ``weather``, ``survey``.
    """

    path = Path("<in-memory tables>")

    def __init__(self, readings: Any, households: pd.DataFrame, tariff: pd.DataFrame, **tables: Any) -> None:
        self.readings = readings
        self.tables: dict[str, pd.DataFrame] = {"households": households, "tariff": tariff}
        self.tables.update({k: v for k, v in tables.items() if v is not None})

    @property
    def readings_source(self) -> Any:
        return self.readings

    def has(self, name: str) -> bool:
        return name == "readings" or name in self.tables

    def cache_path(self, name: str, key: str) -> Path | None:
        """None: in-memory tables keep nothing between calls."""
        return None

    def read(self, name: str) -> pd.DataFrame:
        if name not in self.tables:
            from .errors import StageError

            msg = f"no {name} table was given (pass {name}=... to the function)"
            raise StageError(msg)
        return self.tables[name]

    def read_optional(self, name: str) -> pd.DataFrame | None:
        return self.tables.get(name)

    def info(self) -> dict[str, Any]:
        return {}

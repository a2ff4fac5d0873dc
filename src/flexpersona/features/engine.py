"""SQL engines that run the feature definitions of :mod:`flexpersona.features.definitions` unchanged.

Two backends share one small interface: register a small table, create a view or a materialised table from a
``SELECT``, fetch a (per-household sized) result as pandas. Only the DDL wrappers differ; the ``SELECT``
bodies are identical. Tables travel as Arrow in both directions.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any, Protocol

import pandas as pd
import pyarrow as pa

from ..config import Config
from ..errors import ConfigError
from ..schema import READINGS_SCHEMA
from ..store import atomic_path, sql_path

logger = logging.getLogger(__name__)

ENGINES = ("duckdb", "spark")
#: Parquet codec of the relations an engine spills (the keyed readings: read ~10 times, written once).
SPILL_CODEC = "zstd"


class Engine(Protocol):
    name: str
    #: Materialise relations that several queries reuse (Spark recomputes views per query; DuckDB streams).
    cache_reused: bool

    def register(self, name: str, df: pd.DataFrame) -> None: ...
    def readings(self, source: Any) -> None: ...
    def view(self, name: str, sql: str) -> None: ...
    def table(self, name: str, sql: str) -> None: ...
    def spill(self, name: str, sql: str, path: Path | None = None) -> None: ...
    def fetch(self, sql: str) -> pd.DataFrame: ...
    def drop(self, *names: str) -> None: ...
    def rename(self, name: str, new: str) -> None: ...
    def close(self) -> None: ...


def _peak_mb() -> int:
    """Peak resident memory of this process so far [MB] (0 where ``resource`` is unavailable)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return 0
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)


def _label(sql: str) -> str:
    """A short label of a query for the timing log (its first line after SELECT)."""
    return " ".join(sql.split())[:60]


def _to_arrow(df: pd.DataFrame | pa.Table) -> pa.Table:
    return df if isinstance(df, pa.Table) else pa.Table.from_pandas(df, preserve_index=False)


def _from_arrow(table: pa.Table) -> pd.DataFrame:
    # column by column, each Arrow column released once converted: the result is never held twice; in memory of
    # the C allocator, which hands large blocks back to the system when the frame is released (Arrow's default
    # pool keeps them: at full LCL size ~300 MB more at the stage's peak; issue 14)
    return table.to_pandas(split_blocks=True, self_destruct=True, memory_pool=pa.system_memory_pool())


class DuckDBEngine:
    """Embedded DuckDB (default): an explicit in-memory connection, bounded by ``data.duckdb_memory_limit``.

    Parameters
    ----------
    threads
        Worker threads (``None``: the machine's cores).
    memory_limit
        e.g. ``"4GB"`` (``None``: DuckDB's default).
    """

    name = "duckdb"
    cache_reused = False

    def __init__(self, *, threads: int | None = None, memory_limit: str | None = None) -> None:
        import duckdb

        self.con = duckdb.connect()
        # DuckDB's own progress bar prints even when the output is not a terminal (logs, CI)
        self.con.execute("SET enable_progress_bar = false")
        # joins and aggregations larger than the memory limit spill here (removed on close)
        self._tmp = tempfile.TemporaryDirectory(prefix="flexpersona-duckdb-")
        self._spilled: set[str] = set()
        self.con.execute("SET temp_directory = $d", {"d": self._tmp.name})
        self.con.execute("SET threads = $n", {"n": int(threads or os.cpu_count() or 1)})
        # no result here depends on row order (every sum is an exact integer sum and every fetch has an ORDER BY):
        # let DuckDB stream and aggregate without keeping it, on any number of threads
        self.con.execute("SET preserve_insertion_order = false")
        # every query names the large relation first and joins smaller ones to it; after the calendar join
        # DuckDB underestimates the readings and would build its hash tables on them (2x slower, and spills)
        disabled = "join_order,build_side_probe_side"
        if threads == 1:
            # one thread keeps the order only without dynamic join filters: with them the readings' scan hands
            # on its rows in an order that varies from run to run (calendar filters such as is_trial = 1), so
            # sums over many row groups (per half-hour, per cell) differed in their last bits
            disabled += ",join_filter_pushdown"
        self.con.execute("SET disabled_optimizers = $d", {"d": disabled})
        if memory_limit:
            try:
                self.con.execute("SET memory_limit = $m", {"m": str(memory_limit)})
            except duckdb.Error as exc:
                msg = f"data.duckdb_memory_limit {memory_limit!r} is not a memory size ({exc}); use e.g. '4GB'"
                raise ConfigError(msg) from None

    def register(self, name: str, df: pd.DataFrame) -> None:
        # copied into a DuckDB table (not an Arrow view) so that the optimiser knows its size
        tbl = _to_arrow(df)
        self.con.register("_arrow_in", tbl)
        self.con.execute(f"CREATE OR REPLACE TEMPORARY TABLE {name} AS SELECT * FROM _arrow_in")
        self.con.unregister("_arrow_in")

    def readings(self, source: Any) -> None:
        """``readings_raw``: a Parquet glob (its canonical columns), or an in-memory pandas DataFrame / Arrow table
        read in place."""
        if isinstance(source, str):
            self.con.read_parquet(source).select(*READINGS_SCHEMA.names).create_view("readings_raw", replace=True)
        else:
            self.con.register("readings_raw", source)

    def view(self, name: str, sql: str) -> None:
        self.con.execute(f"CREATE OR REPLACE TEMPORARY VIEW {name} AS {sql}")

    def table(self, name: str, sql: str) -> None:
        t = time.perf_counter()
        self.con.execute(f"CREATE OR REPLACE TEMPORARY TABLE {name} AS {sql}")
        logger.debug("duckdb table %s: %.2f s, peak RSS %d MB", name, time.perf_counter() - t, _peak_mb())

    def spill(self, name: str, sql: str, path: Path | None = None) -> None:
        """A large relation written once as Parquet and read by every later query (a second call with the same
        name keeps the first): at ``path`` when given (kept there: an existing file is read, not written again;
        its name must say what it was made from), else in the scratch folder."""
        if name in self._spilled:
            return
        self._spilled.add(name)
        t = time.perf_counter()
        target = Path(path) if path is not None else Path(self._tmp.name) / f"{name}.parquet"
        written = not target.exists()
        if written:
            target.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(target) as tmp:
                self.con.execute(f"COPY ({sql}) TO '{sql_path(tmp)}' "
                                 f"(FORMAT parquet, COMPRESSION {SPILL_CODEC}, ROW_GROUP_SIZE 1000000)")
        self.con.execute(f"CREATE OR REPLACE TEMPORARY VIEW {name} AS SELECT * FROM read_parquet('{sql_path(target)}')")
        logger.debug("duckdb spill %s (%s): %.2f s, peak RSS %d MB", name, "written" if written else "re-used",
                     time.perf_counter() - t, _peak_mb())

    def fetch(self, sql: str) -> pd.DataFrame:
        t = time.perf_counter()
        out = _from_arrow(self.con.sql(sql).to_arrow_table())
        dt = time.perf_counter() - t
        logger.debug("duckdb fetch %s: %d rows, %.2f s, peak RSS %d MB", _label(sql), len(out), dt, _peak_mb())
        return out

    def drop(self, *names: str) -> None:
        """Drop materialised tables (a name that is a view or absent is skipped)."""
        tables = {r[0] for r in self.con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()}
        for name in names:
            if name in tables:
                self.con.execute(f"DROP TABLE {name}")

    def rename(self, name: str, new: str) -> None:
        """Give a materialised table another name (a table of that name is dropped first)."""
        self.drop(new)
        self.con.execute(f"ALTER TABLE {name} RENAME TO {new}")

    def close(self) -> None:
        self.con.close()
        self._tmp.cleanup()


class SparkEngine:
    """Apache Spark (``--engine spark``): the same SQL through ``spark.sql``.

    Uses the active session when there is one (tests share one), else starts one on ``master`` with the
    session time zone set to UTC (timestamps are GMT and naive).
    """

    name = "spark"
    cache_reused = True

    def __init__(self, master: str = "local[2]") -> None:
        try:
            from pyspark.sql import SparkSession
        except ImportError:  # pragma: no cover - CI installs pyspark
            msg = "--engine spark needs PySpark and Java 17: pip install 'flexpersona[spark]'"
            raise ConfigError(msg) from None
        active = SparkSession.getActiveSession()
        if active is not None:
            self.spark = active
        else:
            self.spark = (
                SparkSession.builder.master(master)
                .appName("flexpersona-features")
                .config("spark.sql.session.timeZone", "UTC")
                .config("spark.ui.enabled", "false")
                .config("spark.sql.shuffle.partitions", "8")
                .getOrCreate()
            )
        self.spark.conf.set("spark.sql.session.timeZone", "UTC")
        self._cached: dict[str, Any] = {}
        self._scratch: tempfile.TemporaryDirectory | None = None
        self._spilled: set[str] = set()

    def register(self, name: str, df: pd.DataFrame) -> None:
        self.spark.createDataFrame(_to_arrow(df)).createOrReplaceTempView(name)

    def readings(self, source: Any) -> None:
        if not isinstance(source, str):  # in-memory tables are small by nature: Spark gets a copy
            self.spark.createDataFrame(_to_arrow(source)).createOrReplaceTempView("readings_raw")
            return
        path = Path(source)
        # a folder of Parquet parts reads without Spark's glob probing
        target = str(path.parent) if path.name == "*.parquet" else source
        self.spark.read.parquet(target).select(*READINGS_SCHEMA.names).createOrReplaceTempView("readings_raw")

    def view(self, name: str, sql: str) -> None:
        self.spark.sql(sql).createOrReplaceTempView(name)

    def table(self, name: str, sql: str) -> None:
        df = self.spark.sql(sql).cache()
        df.createOrReplaceTempView(name)
        old = self._cached.pop(name, None)
        if old is not None:
            old.unpersist()
        self._cached[name] = df

    def spill(self, name: str, sql: str, path: Path | None = None) -> None:
        """A large relation written once as Parquet in a scratch folder and read by every later query (a second
        call with the same name keeps the first). ``path`` is not used: on a cluster the scratch folder would
        be the cluster's, not the store's."""
        if name in self._spilled:
            return
        self._spilled.add(name)
        if self._scratch is None:
            self._scratch = tempfile.TemporaryDirectory(prefix="flexpersona-spark-")
        path = str(Path(self._scratch.name) / name)
        self.spark.sql(sql).write.mode("overwrite").parquet(path)
        self.spark.read.parquet(path).createOrReplaceTempView(name)

    def fetch(self, sql: str) -> pd.DataFrame:
        return _from_arrow(self.spark.sql(sql).toArrow())

    def drop(self, *names: str) -> None:
        """Release cached tables (views of the same name stay registered but are not read again)."""
        for name in names:
            df = self._cached.pop(name, None)
            if df is not None:
                df.unpersist()

    def rename(self, name: str, new: str) -> None:
        """Give a cached table another name (a cached table of that name is released first)."""
        self.drop(new)
        df = self._cached.pop(name)
        df.createOrReplaceTempView(new)
        self.spark.catalog.dropTempView(name)
        self._cached[new] = df

    def close(self) -> None:
        for df in self._cached.values():
            df.unpersist()
        self._cached.clear()
        if self._scratch is not None:
            self._scratch.cleanup()
            self._scratch = None
        self._spilled.clear()


def make_engine(config: Config) -> Engine:
    """The engine named by ``config.features.engine`` (``duckdb`` | ``spark``)."""
    name = config.features.engine
    if name == "duckdb":
        return DuckDBEngine(threads=config.data.duckdb_threads,
                            memory_limit=getattr(config.data, "duckdb_memory_limit", None))
    if name == "spark":
        return SparkEngine(config.features.spark_master)
    msg = f"features.engine must be one of {', '.join(ENGINES)}, got {name!r}; use --engine duckdb"
    raise ConfigError(msg)

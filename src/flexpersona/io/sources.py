"""Input enumeration: files, directories of a layout's files, and ``.zip`` archives streamed member by member.

A :class:`SourceFile` names one CSV/Parquet/XLSX file, either on disk or inside a zip (shown as
``archive.zip!member``); a ``.csv.gz`` (on disk or in a zip) is decompressed while it is read. Every CSV is
read by DuckDB (:func:`read_csv_sql`): files on disk directly (DuckDB decompresses ``.gz`` itself), zip
members through an fsspec zip filesystem registered on the connection (:func:`duckdb_paths`) -- streamed,
never unpacked to disk or memory. Python reads a file only to look at its header and its line breaks.
"""

from __future__ import annotations

import codecs
import gzip
import io
import itertools
import logging
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from ..errors import InputError

logger = logging.getLogger(__name__)

_DATA_SUFFIXES = (".csv", ".txt", ".parquet", ".xlsx")
#: Compressed data files read as streams: ``.csv.gz``, ``.txt.gz``.
_GZ_SUFFIXES = (".csv.gz", ".txt.gz")
_counter = itertools.count()


@dataclass(frozen=True)
class SourceFile:
    """One input file: on disk (``member`` None) or a member of the zip at ``path``."""

    path: Path
    member: str | None = None
    #: False for files found inside a folder or archive (an unrecognised one is skipped, not an error).
    explicit: bool = True

    @property
    def name(self) -> str:
        """Display name used in messages and the ledger (``a.zip!b.csv`` for zip members)."""
        return f"{self.path}!{self.member}" if self.member else str(self.path)

    @property
    def basename(self) -> str:
        return Path(self.member).name if self.member else self.path.name

    @property
    def compressed(self) -> bool:
        """Whether the file is gzip-compressed (``.csv.gz``)."""
        return self.basename.lower().endswith(".gz")

    @property
    def suffix(self) -> str:
        """The data suffix (``.csv`` also for ``.csv.gz``)."""
        name = self.basename[:-3] if self.compressed else self.basename
        return Path(name).suffix.lower()

    @property
    def key(self) -> tuple[str, str | None]:
        """Identity of the file: resolved path and zip member (the same file named twice is read once)."""
        return str(self.path.resolve()), self.member

    def open(self) -> io.BufferedIOBase:
        """Open the (decompressed) bytes as a stream; zip members and ``.gz`` files are never unpacked."""
        if self.member is None:
            return _GzipStream(self.path.open("rb")) if self.compressed else self.path.open("rb")
        try:
            zf = zipfile.ZipFile(self.path)
            raw = zf.open(self.member)
        except (zipfile.BadZipFile, EOFError, OSError, KeyError) as exc:
            raise InputError(self.path, f"the zip archive cannot be read ({exc})",
                             "re-download or re-create the archive") from None
        return _GzipStream(raw) if self.compressed else raw  # type: ignore[return-value]


class _GzipStream(gzip.GzipFile):
    """A gzip stream over an open binary file that closes that file too."""

    def __init__(self, raw: io.BufferedIOBase) -> None:
        super().__init__(fileobj=raw, mode="rb")
        self._raw = raw

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._raw.close()


def _is_data(name: str) -> bool:
    low = name.lower()
    return Path(low).suffix in _DATA_SUFFIXES or low.endswith(_GZ_SUFFIXES)


def enumerate_inputs(inputs: Iterable[str | Path], *, seen: set[tuple[str, str | None]] | None = None
                     ) -> list[SourceFile]:
    """Expand INPUT arguments into data files, in a stable order (sorted by natural name within a folder).

    A file reached twice (named twice, or named and inside a named folder) is listed once, by its resolved
    path; ``seen`` carries the files already listed across calls (e.g. the side-file options).

    Raises
    ------
    InputError
        For a path that does not exist, an unreadable zip, or an input holding no data files.
    """
    seen = set() if seen is None else seen
    out: list[SourceFile] = []
    for raw in inputs:
        p = Path(raw)
        if not p.exists():
            raise InputError(p, "does not exist", "check the path")
        if p.is_dir():
            files = [f for f in p.rglob("*") if f.is_file() and not f.name.startswith(".")]
            found = []
            for f in sorted(files, key=lambda x: _natural_key(str(x.relative_to(p)))):
                if f.suffix.lower() == ".zip":
                    found.extend(_zip_members(f))
                elif _is_data(f.name):
                    found.append(SourceFile(f, explicit=False))
            if not found:
                raise InputError(p, "the folder holds no .csv, .parquet, .xlsx or .zip files",
                                 "point INPUT at the folder with the data files")
            out.extend(found)
        elif p.suffix.lower() == ".zip":
            out.extend(_zip_members(p))
        else:
            out.append(SourceFile(p))
    unique = []
    for src in out:
        if src.key not in seen:
            seen.add(src.key)
            unique.append(src)
    return unique


def _natural_key(s: str) -> list[object]:
    import re

    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", s)]


def _zip_members(p: Path) -> list[SourceFile]:
    try:
        with zipfile.ZipFile(p) as zf:  # members are CRC-checked while they are streamed
            names = [i.filename for i in zf.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise InputError(p, f"not a readable zip archive ({exc}); it may be truncated",
                         "re-download or re-create the archive") from None
    members = [SourceFile(p, n, explicit=False) for n in sorted(names, key=_natural_key)
               if _is_data(n) and not Path(n).name.startswith(".")]
    if not members:
        raise InputError(p, "the archive holds no .csv or .parquet files", "check the archive's content")
    return members


def read_header(src: SourceFile) -> list[str]:
    """The column names of a CSV's first line (byte-order mark, CRLF and surrounding spaces removed).

    Raises
    ------
    InputError
        For an empty file, undecodable bytes, or a header without a comma (wrong delimiter).
    """
    if src.suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            return list(pq.read_schema(src.path).names) if src.member is None else []
        except Exception as exc:
            raise InputError(src.name, f"not a readable Parquet file ({exc})", "re-export the file") from None
    if src.suffix == ".xlsx":
        return []
    with src.open() as fh:
        first = fh.readline(1 << 20)
    if not first.strip():
        raise InputError(src.name, "the file is empty (no header line)", "supply a file with a header row",
                         line=1)
    try:
        text = codecs.decode(first, "utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(src.name, f"the header is not UTF-8 (byte {exc.start})",
                         "re-save the file as UTF-8", line=1) from None
    text = text.rstrip("\r\n")
    if "," not in text:
        for d, label in ((";", "semicolons"), ("\t", "tabs"), ("|", "pipes")):
            if d in text:
                raise InputError(src.name, f"the header is separated by {label}, not commas",
                                 "re-save the file as comma-separated CSV", line=1)
    return [c.strip().strip('"').strip() for c in text.split(",")]


def read_csv_sql(
    n_columns: int,
    *,
    path: str = "$files",
    types: dict[int, str] | None = None,
    null_tokens: Iterable[str] = (),
    rejects: tuple[str, str] | None = None,
    skip_bad_rows: bool = False,
) -> str:
    """The one ``read_csv`` call of every readings CSV: columns ``c0..cN`` (VARCHAR unless ``types`` says).

    Parameters
    ----------
    n_columns
        Fields of the header.
    path
        SQL for the file(s): a bound parameter (``$files``) or a quoted literal.
    types
        DuckDB types of some columns by position (the streaming path reads timestamp and value typed).
    null_tokens
        Texts read as NULL in typed columns (text columns keep every value, blank included).
    rejects
        ``(errors table, scans table)``: rows that do not fit -- wrong number of fields, a value the type
        cannot take, bytes that are not UTF-8 -- go there with their line instead of failing the read.
    skip_bad_rows
        Skip rows with the wrong number of fields without recording them (a second pass over a file whose
        rejects are known).

    Strict mode keeps a row with too many fields from being silently cut; DuckDB skips blank lines by itself.
    """
    types = types or {}
    cols = "{" + ", ".join(f"'c{i}': '{types.get(i, 'VARCHAR')}'" for i in range(n_columns)) + "}"
    opts = ""
    if types:
        keep = ", ".join(f"'c{i}'" for i in range(n_columns) if i not in types)
        nulls = ", ".join("'" + t.replace("'", "''") + "'" for t in ("", *null_tokens))
        opts += f", nullstr=[{nulls}], force_not_null=[{keep}]"
    if rejects is not None:
        opts += f", store_rejects=true, rejects_table='{rejects[0]}', rejects_scan='{rejects[1]}', rejects_limit=0"
    elif skip_bad_rows:
        opts += ", ignore_errors=true"
    return (f"read_csv({path}, header=true, delim=',', quote='\"', escape='\"', auto_detect=false, "
            f"columns={cols}, strict_mode=true, null_padding=false{opts})")


def register_relation(
    con: duckdb.DuckDBPyConnection, src: SourceFile, header: list[str]
) -> tuple[str, dict[str, str]]:
    """Expose ``src`` (side files: Kaggle daily) to DuckDB as a relation with VARCHAR columns ``c0..cN``.

    Returns the SQL text to put after ``FROM`` and its bound parameters (``$files``). A row with the wrong
    number of fields is an error here (:func:`flexpersona.io.staging.input_error_from_duckdb`).
    """
    if src.suffix == ".parquet":
        cols = ", ".join(f'CAST("{h}" AS VARCHAR) AS c{i}' for i, h in enumerate(header))
        return f"(SELECT {cols} FROM read_parquet($files))", {"files": str(src.path)}
    return read_csv_sql(len(header)), {"files": duckdb_paths(con, [src])[0]}


def duckdb_paths(con: duckdb.DuckDBPyConnection, sources: list[SourceFile]) -> list[str]:
    """Paths DuckDB's ``read_csv`` can open for ``sources``: files on disk as they are (``.gz`` decompressed by
    DuckDB), zip members through an fsspec zip filesystem registered on ``con`` (one per archive), so they are
    streamed, never unpacked.
    """
    from fsspec.implementations.zip import ZipFileSystem

    protocols: dict[Path, str] = {}
    out = []
    for src in sources:
        if src.member is None:
            out.append(str(src.path))
            continue
        if src.path not in protocols:
            protocols[src.path] = f"fpzip{next(_counter)}"
            fs_class = type(f"_Zip_{protocols[src.path]}", (ZipFileSystem,), {"protocol": protocols[src.path]})
            con.register_filesystem(fs_class(fo=str(src.path)))
        out.append(f"{protocols[src.path]}://{src.member}")
    return out


def insert_rows(con: duckdb.DuckDBPyConnection, table: str, rows: Iterable[Sequence[Any]]) -> None:
    """Append Python ``rows`` (tuples in the table's column order) to the DuckDB ``table`` in one statement.

    DuckDB's ``executemany`` runs one ``INSERT`` per row (~1 ms each: 9 s for the ~6,000 file x household label
    rows of the full London trial; issue 14); the rows go in as one Arrow table instead, cast to the table's
    column types.
    """
    import pyarrow as pa

    rows = list(rows)
    if not rows:
        return
    types = [r[1] for r in con.execute(f"DESCRIBE {table}").fetchall()]  # the table INSERT resolves, in order
    frame = pa.table({f"c{i}": pa.array([r[i] for r in rows]) for i in range(len(types))})
    con.register("_rows_in", frame)
    try:
        cols = ", ".join(f"CAST(c{i} AS {t})" for i, t in enumerate(types))
        con.execute(f"INSERT INTO {table} SELECT {cols} FROM _rows_in")
    finally:
        con.unregister("_rows_in")

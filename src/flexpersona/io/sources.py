"""Input enumeration: files, directories of a layout's files, and ``.zip`` archives streamed member by member.

A :class:`SourceFile` names one CSV/Parquet/XLSX file, either on disk or inside a zip (shown as
``archive.zip!member``). :func:`register_relation` exposes it to DuckDB with every column as VARCHAR:
files on disk through ``read_csv``, zip members through ``pyarrow.csv.open_csv`` batches (never unpacked).
"""

from __future__ import annotations

import codecs
import io
import itertools
import logging
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv

from ..errors import InputError

logger = logging.getLogger(__name__)

_DATA_SUFFIXES = (".csv", ".txt", ".parquet", ".xlsx")
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
    def suffix(self) -> str:
        return Path(self.basename).suffix.lower()

    def open(self) -> io.BufferedIOBase:
        """Open the bytes (zip members are streamed)."""
        if self.member is None:
            return self.path.open("rb")
        try:
            zf = zipfile.ZipFile(self.path)
            return zf.open(self.member)  # type: ignore[return-value]
        except (zipfile.BadZipFile, EOFError, OSError) as exc:
            raise InputError(self.path, f"the zip archive cannot be read ({exc})",
                             "re-download or re-create the archive") from None


def enumerate_inputs(inputs: Iterable[str | Path]) -> list[SourceFile]:
    """Expand INPUT arguments into data files, in a stable order (sorted by natural name within a folder).

    Raises
    ------
    InputError
        For a path that does not exist, an unreadable zip, or an input holding no data files.
    """
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
                elif f.suffix.lower() in _DATA_SUFFIXES:
                    found.append(SourceFile(f, explicit=False))
            if not found:
                raise InputError(p, "the folder holds no .csv, .parquet, .xlsx or .zip files",
                                 "point INPUT at the folder with the data files")
            out.extend(found)
        elif p.suffix.lower() == ".zip":
            out.extend(_zip_members(p))
        else:
            out.append(SourceFile(p))
    return out


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
               if Path(n).suffix.lower() in _DATA_SUFFIXES and not Path(n).name.startswith(".")]
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
        except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for bad files
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


def register_relation(
    con: duckdb.DuckDBPyConnection, src: SourceFile, header: list[str]
) -> tuple[str, dict[str, str]]:
    """Expose ``src`` to DuckDB as a relation with VARCHAR columns ``c0..cN`` (in header order).

    Returns the SQL text to put after ``FROM`` and its bound parameters (``$path``). Files on disk use ``read_csv``; zip members are streamed
    through pyarrow's incremental CSV reader.
    """
    names = [f"c{i}" for i in range(len(header))]
    if src.suffix == ".parquet":
        cols = ", ".join(f'CAST("{h}" AS VARCHAR) AS {n}' for h, n in zip(header, names))
        return f"(SELECT {cols} FROM read_parquet($path))", {"path": str(src.path)}
    if src.member is None:
        cols = "{" + ", ".join(f"'{n}': 'VARCHAR'" for n in names) + "}"
        return (f"read_csv($path, header=true, delim=',', quote='\"', escape='\"', "
                f"auto_detect=false, columns={cols}, strict_mode=true, null_padding=false)", {"path": str(src.path)})
    fh = src.open()
    read_opts = pacsv.ReadOptions(column_names=names, skip_rows=1, block_size=1 << 22)
    conv = pacsv.ConvertOptions(column_types={n: pa.string() for n in names}, strings_can_be_null=False,
                                quoted_strings_can_be_null=False)
    try:
        reader = pacsv.open_csv(fh, read_options=read_opts, convert_options=conv)
    except zipfile.BadZipFile as exc:
        raise InputError(src.name, f"the archive member is corrupt ({exc})",
                         "re-download or re-create the archive") from None
    except (pa.ArrowInvalid, OSError, EOFError) as exc:
        raise InputError(src.name, f"cannot read the CSV ({exc})", "check the file's format") from None
    view = f"src_{next(_counter)}"
    con.register(view, _checked_batches(reader, src))
    return view, {}


def duckdb_paths(con: duckdb.DuckDBPyConnection, sources: list[SourceFile]) -> list[str]:
    """Paths DuckDB's ``read_csv`` can open for ``sources``: files on disk as they are, zip members through an
    fsspec zip filesystem registered on ``con`` (one per archive), so they are streamed, never unpacked.
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


def _checked_batches(reader: pacsv.CSVStreamingReader, src: SourceFile) -> pa.RecordBatchReader:
    schema = reader.schema

    def gen():
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                return
            except (pa.ArrowInvalid, OSError, EOFError, zipfile.BadZipFile) as exc:
                raise InputError(src.name, f"cannot read the CSV ({exc})",
                                 "check the file (truncated archive or broken row)") from None
            yield batch

    return pa.RecordBatchReader.from_batches(schema, gen())

"""Small side files (tariff, households, survey) read whole in Python, with structural errors as InputError."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from ..errors import InputError
from .sources import SourceFile


def read_small_csv(src: SourceFile | str | Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header and ``(line, fields)`` rows of a small CSV (BOM, CRLF and padding handled).

    Raises
    ------
    InputError
        Empty file, non-UTF-8 bytes (with the line), wrong delimiter, a row with more fields than the header.
    """
    if not isinstance(src, SourceFile):
        src = SourceFile(Path(src))
    if src.member is None and not src.path.exists():
        raise InputError(src.name, "does not exist", "check the path")
    with src.open() as fh:
        data = fh.read()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(src.name, f"byte 0x{data[exc.start]:02x} is not valid UTF-8",
                         "re-save the file as UTF-8", line=line) from None
    if not text.strip():
        raise InputError(src.name, "the file is empty (no header line)", "supply a file with a header row", line=1)
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [h.strip() for h in next(reader)]
    if len(header) == 1:
        for d, label in ((";", "semicolons"), ("\t", "tabs"), ("|", "pipes")):
            if d in header[0]:
                raise InputError(src.name, f"the header is separated by {label}, not commas",
                                 "re-save the file as comma-separated CSV", line=1)
    rows = []
    for fields in reader:
        line = reader.line_num
        if not fields or all(not f.strip() for f in fields):
            continue
        if len(fields) > len(header):
            raise InputError(src.name, f"{len(fields)} fields but the header has {len(header)}",
                             "repair that row (a stray comma or a mis-delimited line)", line=line)
        rows.append((line, [f.strip() for f in fields] + [""] * (len(header) - len(fields))))
    return header, rows

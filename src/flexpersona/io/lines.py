"""Physical lines of a CSV file: how many there are, which are blank, and the line of a row DuckDB read.

DuckDB's CSV reader skips blank lines without a trace and, with ``store_rejects``, sets malformed rows aside
(their lines are in its rejects table). The rows it returns carry their *record line* (record number + 1, in
file order); :func:`physical_lines` adds the lines skipped before them (:func:`record_offsets`). Blank lines
are found by a streamed scan of the bytes (:func:`scan_lines`: numpy over 8 MiB chunks; compressed files and
zip members are decompressed on the fly, never to disk).
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from .sources import SourceFile

_CHUNK = 1 << 23
_LF, _CR = 10, 13


@dataclass(frozen=True)
class LineScan:
    """The line structure of one file.

    Attributes
    ----------
    n_lines
        Physical lines after the header (blank lines and an unterminated last line included).
    terminated
        Whether the file ends with a line break (a partial download often does not).
    blank_lines
        Physical numbers (header = 1) of the empty lines; None when not located (:func:`scan_lines`
        with ``locate=False``).
    """

    n_lines: int
    terminated: bool
    blank_lines: tuple[int, ...] | None = None

    @property
    def last_line(self) -> int:
        """Physical number of the last line."""
        return self.n_lines + 1


def scan_lines(src: SourceFile, *, locate: bool = True, chunk_size: int = _CHUNK) -> LineScan:
    """Count the lines of ``src`` (and locate its blank lines) in one streamed pass over its bytes.

    A line is blank when it holds nothing but its line break (``\\n`` or ``\\r\\n``).

    Raises
    ------
    InputError
        When the file (or a zip member) cannot be read to its end (e.g. a corrupt archive).
    """
    n_lf = 0  # line feeds seen
    last_lf = -1  # global offset of the last line feed
    prev_byte = -1  # the last byte of the previous chunk
    tail_len, tail_first = 0, -1  # bytes after the last line feed, and the first of them
    offset = 0
    blanks: list[int] = []
    buf = bytearray(chunk_size)
    try:
        with src.open() as fh:
            while True:
                n = fh.readinto(buf)
                if not n:
                    break
                a = np.frombuffer(buf, dtype=np.uint8, count=n)
                if locate:
                    pos = np.flatnonzero(a == _LF)
                    if len(pos):
                        blanks.extend(_blank_lines(a, pos, last_lf - offset, prev_byte, n_lf))
                    count, last = len(pos), (int(pos[-1]) if len(pos) else -1)
                else:
                    count = int(np.count_nonzero(a == _LF))
                    last = buf.rfind(b"\n", 0, n) if count else -1
                if count:
                    n_lf += count
                    last_lf = offset + last
                    tail_len = n - 1 - last
                    tail_first = int(a[last + 1]) if tail_len else -1
                else:
                    tail_first = int(a[0]) if tail_len == 0 else tail_first
                    tail_len += n
                prev_byte = int(a[-1])
                offset += n
    except InputError:
        raise
    except (OSError, EOFError, ValueError, zipfile.BadZipFile) as exc:
        raise InputError(src.name, f"cannot be read to its end ({exc})",
                         "re-download or re-create the file (the archive or download may be truncated)") from None
    # line 1 is the header; bytes after the last line feed (other than a lone CR) are one more line
    has_tail = tail_len > 1 or (tail_len == 1 and tail_first != _CR)
    total = n_lf + (1 if has_tail else 0)
    return LineScan(n_lines=max(total - 1, 0), terminated=prev_byte in (_LF, _CR),
                    blank_lines=tuple(blanks) if locate else None)


def _blank_lines(a: np.ndarray, pos: np.ndarray, prev_lf: int, prev_byte: int, n_lf: int) -> list[int]:
    """Lines ended by the line feeds at ``pos`` (chunk offsets) that hold nothing but their line break.

    ``prev_lf`` is the chunk offset of the line feed before ``pos[0]`` (negative: in an earlier chunk; -1
    and ``n_lf == 0``: none, the header), ``n_lf`` the line feeds before this chunk.
    """
    starts = np.concatenate(([prev_lf], pos[:-1]))
    gap = pos - starts
    blank = gap == 1
    for j in np.flatnonzero(gap == 2):  # "\r\n" right after a line feed
        at = int(starts[j]) + 1
        blank[j] = (a[at] if at >= 0 else prev_byte) == _CR
    if n_lf == 0:
        blank[0] = False  # the header
    return [int(x) for x in n_lf + 1 + np.flatnonzero(blank)]


def record_offsets(skipped: Iterable[int]) -> list[tuple[int, int]]:
    """``(b, m)`` pairs mapping record numbers to physical lines past lines the reader skipped.

    With ``s_1 < s_2 < ...`` the skipped physical lines, the ``k``-th record read (1-based) lies on line
    ``k + 1 + m`` where ``m`` = the number of ``j`` with ``s_j - j <= k``; ``b = s_j - j`` is non-decreasing,
    so one pair per distinct ``b`` (with the largest ``j``) answers it by an as-of lookup.
    """
    out: dict[int, int] = {}
    for j, s in enumerate(sorted(set(skipped)), start=1):
        out[s - j] = j
    return sorted(out.items())


def physical_lines(records: Sequence[int] | np.ndarray, offsets: list[tuple[int, int]]) -> np.ndarray:
    """Physical lines of record lines ``records`` (record number + 1) given :func:`record_offsets`."""
    r = np.asarray(records, dtype=np.int64)
    if not offsets:
        return r
    b = np.array([x for x, _ in offsets], dtype=np.int64)
    m = np.array([y for _, y in offsets], dtype=np.int64)
    idx = np.searchsorted(b, r - 1, side="right") - 1
    return r + np.where(idx >= 0, m[np.clip(idx, 0, None)], 0)

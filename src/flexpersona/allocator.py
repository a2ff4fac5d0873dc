"""Large blocks from the C allocator's heap, not fresh memory maps (glibc; the command line sets it).

glibc's ``malloc`` serves a block above its *mmap threshold* by a memory map of its own and unmaps it when the
block is freed, so the next block of that size costs a new map and the kernel zeroing every page of it again.
The threshold adapts to the blocks freed, but only up to 32 MiB (64-bit). The feature stage's numpy makes and
frees household x day arrays and their bootstrap products by the thousand (full LCL size: 5,535 households x
365 days x 8 bytes = 16 MiB each), and DuckDB, whose Python wheel allocates through glibc here, its buffers.
:func:`reuse_large_blocks` raises the threshold so that such blocks come from the heap, where a freed block is
used again.

Full LCL size, old and new code alternated (issue 14): the feature stage's numpy on the engine's cached output
20.7-23.6 s with glibc's default, 16.1-16.5 s with a 256 MiB threshold (system time 5-7 -> 1.2-1.5 s; peak
resident memory 1,536-1,538 -> 1,509-1,517 MB); ``flexpersona ingest`` of the 11 GB of CSV 89.9 / 82.8 ->
81.2 / 76.1 s (peak 847 / 903 -> 833 / 830 MB).

It changes the process's allocator, so the library never calls it by itself: the ``flexpersona`` command does at
start, and a notebook may (``flexpersona.allocator.reuse_large_blocks()``). Where the allocator is not glibc's
(macOS, Windows, musl), or the user chose a threshold in the environment (``MALLOC_MMAP_THRESHOLD_``), it does
nothing.

Examples
--------
>>> from flexpersona.allocator import reuse_large_blocks
>>> reuse_large_blocks() in (True, False)
True
"""

from __future__ import annotations

import ctypes
import os
import platform
import sys

__all__ = ["THRESHOLD_BYTES", "reuse_large_blocks"]

#: Blocks below this size come from the heap (256 MiB: every household x day or household x replicate array of a
#: full LCL run; in the measurement above 32 and 64 MiB gained about half as much).
THRESHOLD_BYTES = 256 * 2**20
#: glibc's ``mallopt`` parameter number of the mmap threshold (``M_MMAP_THRESHOLD`` in ``malloc.h``).
_M_MMAP_THRESHOLD = -3


def reuse_large_blocks(threshold: int = THRESHOLD_BYTES) -> bool:
    """Raise glibc's mmap threshold to ``threshold`` bytes for this process.

    Returns
    -------
    bool
        True when the threshold was set; False on another C library, when ``MALLOC_MMAP_THRESHOLD_`` is set in
        the environment (the user's choice stands) or when glibc refuses the value.
    """
    if not sys.platform.startswith("linux") or "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return False
    if platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, int(threshold)))

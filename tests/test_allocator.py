"""Large arrays from the C heap (``flexpersona.allocator``, issue 14): the threshold takes effect under glibc, the
user's own setting stands, other C libraries are left alone, and the command line sets it."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys

import pytest
from click.testing import CliRunner

from flexpersona import allocator
from flexpersona.cli import main

GLIBC = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"

# In a fresh process (the allocator's state is the process's): the bytes glibc holds in memory maps of their own
# (mallinfo2's hblkhd) before and after a 40 MiB numpy array is made, with or without the threshold raised.
PROBE = """
import ctypes, json, sys
import numpy as np
from flexpersona.allocator import reuse_large_blocks

class Info(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = Info
set_ = reuse_large_blocks() if sys.argv[1] == "1" else None
before = libc.mallinfo2().hblkhd
a = np.ones(5_000_000)  # 40 MiB, above glibc's largest adaptive threshold (32 MiB)
print(json.dumps({"set": set_, "mapped": libc.mallinfo2().hblkhd - before}))
"""


def _probe(raise_threshold: bool) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    out = subprocess.run([sys.executable, "-c", PROBE, "1" if raise_threshold else "0"], capture_output=True,
                         text=True, env=env, check=True)
    return json.loads(out.stdout)


@pytest.mark.skipif(not GLIBC, reason="glibc's allocator only")
def test_a_large_array_comes_from_the_heap_once_the_threshold_is_raised():
    default = _probe(False)
    assert default["mapped"] >= 40 * 10**6  # glibc's default: a memory map of its own
    raised = _probe(True)
    assert raised["set"] is True
    assert raised["mapped"] == 0  # from the heap, where a freed block is used again


def test_the_users_own_threshold_stands(monkeypatch):
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "1048576")
    assert allocator.reuse_large_blocks() is False


def test_another_c_library_is_left_alone(monkeypatch):
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    monkeypatch.setattr(allocator.platform, "libc_ver", lambda: ("", ""))
    assert allocator.reuse_large_blocks() is False
    monkeypatch.setattr(allocator.sys, "platform", "darwin")
    assert allocator.reuse_large_blocks() is False


def test_the_command_line_raises_the_threshold(monkeypatch):
    calls = []
    monkeypatch.setattr("flexpersona.cli.app.reuse_large_blocks", lambda: calls.append(1) or True)
    result = CliRunner().invoke(main, ["quality", "--help"])
    assert result.exit_code == 0, result.output
    assert calls == [1]

"""Issue 14 item 4: ingest shows a progress bar on stderr when asked, nothing otherwise, and the same store."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from flexpersona.io import fastpath, ingest

#: A percent and elapsed<remaining (the ETA), as tqdm draws them.
BAR = re.compile(r"\d+%\|.*\| \d\d:\d\d<(\d\d:\d\d|\?)")
HEADER = "LCLid,stdorToU,DateTime,KWH/hh (per half hour) \r\n"


def _piece(path, ids, groups, seed):
    rng = np.random.default_rng(seed)
    ts = pd.date_range("2013-01-01", periods=48 * 14, freq="30min")
    lines = [f"{h},{g},{t:%Y-%m-%d %H:%M:%S}.0000000, {v:.3f} \r\n"
             for h, g in zip(ids, groups) for t, v in zip(ts, rng.gamma(2.0, 0.1, len(ts)))]
    path.write_bytes((HEADER + "".join(lines)).encode())
    return path


@pytest.fixture
def pieces(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    _piece(d / "p_0.csv", ["MAC1", "MAC2"], ["Std", "ToU"], 0)
    _piece(d / "p_1.csv", ["MAC3", "MAC4"], ["ToU", "Std"], 1)
    return d


def _tables(store):
    return {t: pd.read_parquet(store / f"{t}.parquet") for t in ("ledger", "households", "issues")} | {
        "readings": pd.read_parquet(store / "readings").sort_values(["household_id", "ts"]).reset_index(drop=True)}


def test_ingest_shows_a_bar_only_when_asked_and_writes_the_same_store(pieces, tmp_path, capsys, monkeypatch):
    streamed = []
    real = fastpath.ingest_fast
    monkeypatch.setattr(fastpath, "ingest_fast", lambda *a, **k: streamed.append(out := real(*a, **k)) or out)
    ingest([pieces], tmp_path / "off")
    assert capsys.readouterr().err == ""
    ingest([pieces], tmp_path / "on", progress=True)
    err = capsys.readouterr().err
    assert all(r is not None for r in streamed) and len(streamed) == 2  # the streaming path, both times
    assert "ingest:" in err and BAR.search(err), err
    off, on = _tables(tmp_path / "off"), _tables(tmp_path / "on")
    for name, table in off.items():
        pd.testing.assert_frame_equal(table, on[name], check_exact=True, obj=name)

"""Issue 14 item 4: the progress bar of the long stages (:mod:`flexpersona.progress`), quiet when off."""

from __future__ import annotations

import io
import re
import time

import duckdb
import pytest

from flexpersona.config import Config
from flexpersona.features.progress import SQL_SECONDS, TrackedEngine, planned_seconds, tracked
from flexpersona.progress import QUIET, Bar, bar

#: ``features:  42%|████      | 00:12<00:16``: a percent and elapsed<remaining (the ETA).
BAR = re.compile(r"\d+%\|.*\| \d\d:\d\d<(\d\d:\d\d|\?)")


def test_off_is_the_quiet_bar_and_writes_nothing():
    out = io.StringIO()
    b = bar("ingest", 10, enabled=False, file=out)
    assert b is QUIET
    with b:
        with b.step(8, duckdb.connect()):
            pass
        b.advance(2)
    assert out.getvalue() == ""


def test_on_writes_a_bar_with_a_percent_and_an_eta():
    out = io.StringIO()
    with bar("features", 10, enabled=True, file=out) as b:
        with b.step(4):
            pass
        assert b.position == 4
        b.advance(3)
        assert b.position == 7
    text = out.getvalue()
    assert text.startswith("\rfeatures:") and BAR.search(text), text
    assert text.endswith("\r")  # the bar's line is cleared at the end: the stage's line takes its place


def test_time_moves_the_bar_within_a_step_and_its_end_completes_it():
    with Bar("x", 2.0, file=io.StringIO(), seconds_per_unit=1.0) as b:
        with b.step(1.0):
            time.sleep(0.7)
            inside = b.position
        assert 0 < inside <= 0.9  # at most TIME_SHARE_CAP of the step by time alone
        assert b.position == 1.0
        b.advance(5.0)  # beyond the total: cut at it
        assert b.position == 2.0


def test_duckdb_statements_move_the_bar_and_the_setting_is_restored():
    con = duckdb.connect()
    con.execute("SET threads = 1")
    with Bar("x", 1.0, file=io.StringIO()) as b:  # no time estimate: only DuckDB's query progress moves it
        with b.step(1.0, con):
            deadline = time.monotonic() + 20
            while b.position == 0 and time.monotonic() < deadline:
                con.execute("SELECT sum(i * 0.5) FROM range(30000000) t(i)").fetchall()
            assert 0 < b.position < 1.0
    assert con.execute("SELECT current_setting('enable_progress_bar')").fetchone()[0] is False


class _FakeEngine:
    """An engine without a DuckDB connection (as Spark's): the bar moves per statement."""

    name = "fake"
    cache_reused = True

    def __init__(self):
        self.calls = []

    def table(self, name, sql):
        self.calls.append(("table", name))

    def fetch(self, sql):
        self.calls.append(("fetch", sql))
        return "rows"


def test_any_engine_is_tracked_per_statement_and_untouched_when_off():
    eng = _FakeEngine()
    assert tracked(eng, QUIET) is eng
    with Bar("features", 100.0, file=io.StringIO()) as b:
        t = tracked(eng, b)
        assert isinstance(t, TrackedEngine) and t.name == "fake" and t.cache_reused
        t.table("hday", "SELECT 1")
        assert b.position == pytest.approx(SQL_SECONDS["hday"])
        assert t.fetch("SELECT 2") == "rows"
    assert eng.calls == [("table", "hday"), ("fetch", "SELECT 2")]


def test_planned_seconds_count_the_comparison_reference():
    one = planned_seconds(Config().replace(features={"compare_references": False}), no_control=False)
    two = planned_seconds(Config(), no_control=False)
    assert 1.3 * one < two < 2 * one


def test_a_terminal_of_size_zero_still_gets_a_bar(monkeypatch):
    """Some pseudo-terminals report 0 x 0, where tqdm would draw nothing."""
    import os
    import shutil

    monkeypatch.setattr(shutil, "get_terminal_size", lambda fallback=(80, 24): os.terminal_size((0, 0)))
    out = io.StringIO()
    with bar("ingest", 1.0, enabled=True, file=out):
        pass
    assert BAR.search(out.getvalue()), out.getvalue()

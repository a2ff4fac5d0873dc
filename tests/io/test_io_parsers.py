"""Property tests: date-format inference over whole columns, and the London Datastore value parser."""

from __future__ import annotations

import datetime as dt
import random

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flexpersona.io.dates import ISO, infer_datetime_format
from flexpersona.io.staging import bad_value_sql, kwh_sql, parse_kwh

WRITERS = {
    "iso_frac": lambda t: t.strftime("%Y-%m-%d %H:%M:%S") + ".0000000",
    "dmy": lambda t: f"{t.day}/{t.month}/{t.year} {t.hour}:{t.minute:02d}",
    "mdy": lambda t: f"{t.month}/{t.day}/{t.year % 100:02d} {t.hour}:{t.minute:02d}",
}


@settings(max_examples=40, deadline=None)
@given(
    start=st.datetimes(min_value=dt.datetime(2011, 1, 1), max_value=dt.datetime(2014, 12, 1)),
    n=st.integers(min_value=49, max_value=400),
    style=st.sampled_from(sorted(WRITERS)),
    seed=st.integers(0, 1000),
)
def test_inferred_format_parses_back_every_value(start, n, style, seed):
    start = start.replace(minute=30 * (start.minute // 30), second=0, microsecond=0)
    times = [start + dt.timedelta(minutes=30 * i) for i in range(n)]  # spans at least one midnight
    texts = [WRITERS[style](t) for t in times]
    random.Random(seed).shuffle(texts)  # order must not matter: the whole column decides
    fmt = infer_datetime_format(texts)
    assert (fmt.name == ISO) == (style == "iso_frac")
    back = sorted(fmt.parse(x) for x in texts)
    assert back == times


@settings(max_examples=30, deadline=None)
@given(day=st.integers(13, 28), month=st.integers(1, 12))
def test_first_field_above_12_settles_day_first(day, month):
    fmt = infer_datetime_format([f"{day}/{month}/2013 0:00", f"1/{month}/2013 0:30"])
    assert fmt.name.startswith("%d/%m") and not fmt.ambiguous


def test_sql_and_python_date_parsers_agree():
    con = duckdb.connect()
    for texts in (["2012-10-12 00:30:00.0000000", "2013-01-01T23:30:00"], ["1/2/13 0:30", "12/31/13 23:30"],
                  ["31/1/2013 10:00", "1/2/2013 0:00"]):
        fmt = infer_datetime_format(texts)
        for t in texts:
            got = con.execute(f"SELECT {fmt.sql('$v')}", {"v": t}).fetchall()[0][0]
            assert got == fmt.parse(t), (fmt.name, t)
    con.close()


padded = st.builds(lambda v, left, right: " " * left + v + " " * right,
                   st.one_of(st.floats(min_value=-5, max_value=50, allow_nan=False).map(lambda x: f"{x:.3f}"),
                             st.sampled_from(["Null", "NULL", "null", "", "NaN", "abc", "1,2", "0.1.2", "-", "1e-3"])),
                   st.integers(0, 3), st.integers(0, 3))


@pytest.fixture(scope="module")
def con():
    c = duckdb.connect()
    yield c
    c.close()


@settings(max_examples=80, deadline=None)
@given(text=padded)
def test_value_parser_sql_matches_python(con, text):
    kwh, bad = con.execute(f"SELECT {kwh_sql('$t')}, {bad_value_sql('$t')}", {"t": text}).fetchall()[0]
    exp_kwh, exp_bad = parse_kwh(text)
    assert bad == exp_bad
    if exp_kwh is None:
        assert kwh is None or kwh != kwh  # NULL (or NaN, which the ledger counts as missing)
    else:
        assert kwh == pytest.approx(exp_kwh)


@given(x=st.floats(min_value=0, max_value=20, allow_nan=False), pad=st.integers(0, 4))
def test_padded_numbers_round_trip(x, pad):
    assert parse_kwh(" " * pad + repr(x) + " " * pad) == (x, False)
    assert parse_kwh(" Null ") == (None, False)

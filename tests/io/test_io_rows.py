"""Bad rows don't stop a run (issue 13): blank lines, missing or extra fields and a cut last line are rejected
rows with their file and line, counted exactly, and the rest of the file is read; ``strict`` makes each an error
naming file and line. Every readings layout, both readings paths, CRLF and LF files."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flexpersona.errors import InputError
from flexpersona.io import fastpath, ingest
from flexpersona.store import Store

DAY_SLOTS = [f"{h:02d}:{m:02d}:00" for h in range(24) for m in (0, 30)]


@dataclass(frozen=True)
class Layout:
    """A readings layout as files are written: header, data lines, readings per line, ingest options."""

    name: str
    header: str
    lines: tuple[str, ...]
    cells: int  # readings one line holds
    household_column: int | None  # position of the household id in a line
    options: tuple[tuple[str, str], ...] = ()


def _layouts() -> dict[str, Layout]:
    ts = pd.date_range("2013-01-01", periods=12, freq="30min")
    hh = ["MAC1"] * 6 + ["MAC2"] * 6
    vals = [f"{0.1 + 0.01 * i:.3f}" for i in range(12)]
    grp = {"MAC1": "Std", "MAC2": "ToU"}
    ds = tuple(f"{h},{grp[h]},{t:%Y-%m-%d %H:%M:%S}.0000000, {v} " for h, t, v in zip(hh, ts, vals))
    kg = tuple(f"{h},{t:%Y-%m-%d %H:%M:%S}.0000000,{v}" for h, t, v in zip(hh, ts, vals))
    gen = tuple(f"{h},{t:%Y-%m-%dT%H:%M:%S},{v}" for h, t, v in zip(hh, ts, vals))
    days = [(h, d) for h in ("MAC1", "MAC2") for d in ("2013-01-01", "2013-01-02", "2013-01-03")]
    d48 = tuple(f"{h},{d}," + ",".join(f"{0.01 * (i + k):.2f}" for i in range(48)) for k, (h, d) in enumerate(days))
    uk = tuple(f"{t:%d/%m/%Y %H:%M},{0.1 + 0.01 * i:.3f},{0.2 + 0.01 * i:.3f}" for i, t in enumerate(ts))
    return {
        "datastore": Layout("datastore", "LCLid,stdorToU,DateTime,KWH/hh (per half hour) ", ds, 1, 0),
        "kaggle_halfhourly": Layout("kaggle_halfhourly", "LCLid,tstp,energy(kWh/hh)", kg, 1, 0),
        "day48": Layout("day48", "LCLid,Date," + ",".join(DAY_SLOTS), d48, 48, 0),
        "kaggle_hhblock": Layout("kaggle_hhblock", "LCLid,day," + ",".join(f"hh_{i}" for i in range(48)), d48, 48, 0),
        "ukds": Layout("ukds", "GMT,D0001,N0002", uk, 2, None),
        "generic": Layout("generic", "meter,time,value", gen, 1, 0,
                          (("column_map", "household_id=meter,ts=time,kwh=value"),)),
    }


LAYOUTS = _layouts()
DEFECTS = ("blank_line", "missing_field", "extra_field", "truncated_last_line")
REASON = {"blank_line": "blank_line", "missing_field": "missing_field", "extra_field": "extra_field",
          "truncated_last_line": "truncated_last_line"}


def damage(lay: Layout, defect: str, at: int) -> tuple[list[str], int, bool, int | None]:
    """Lines with one defect near data line ``at``: (lines, physical line of the defect, terminated, lost line).

    ``lost`` is the index of the data line whose readings the defect destroys (None for a blank line).
    """
    lines = list(lay.lines)
    if defect == "blank_line":
        lines.insert(at, "")
        return lines, at + 2, True, None
    if defect == "missing_field":
        lines[at] = lines[at].rsplit(",", 1)[0]
        return lines, at + 2, True, at
    if defect == "extra_field":
        lines[at] += ",9"
        return lines, at + 2, True, at
    last = len(lines) - 1  # a partial download: the last line cut inside its last-but-one field, no line break
    cut = lines[last].rsplit(",", 1)[0]
    lines[last] = cut[: len(cut) - 2]
    return lines, last + 2, False, last


def write(path: Path, lay: Layout, lines: list[str], *, crlf: bool, terminated: bool = True) -> Path:
    nl = "\r\n" if crlf else "\n"
    text = lay.header + nl + nl.join(lines) + (nl if terminated else "")
    path.write_bytes(text.encode())
    return path


def readings(store: Path) -> pd.DataFrame:
    con = duckdb.connect()
    try:
        return con.execute("SELECT * FROM read_parquet($g) ORDER BY ALL", {"g": Store(store).readings_glob}).df()
    finally:
        con.close()


def check_defect(tmp: Path, layout: str, defect: str, at: int, crlf: bool) -> None:
    """One defect: exact accounting, issue line, every household in the ledger, the rest read; strict fails."""
    lay = LAYOUTS[layout]
    at = min(at, len(lay.lines) - 1)
    lines, line, terminated, lost = damage(lay, defect, at)
    name = "x.csv"
    f = write(tmp / name, lay, lines, crlf=crlf, terminated=terminated)
    opts = dict(lay.options)
    rep = ingest([f], tmp / "s", **opts)
    n = len(lay.lines)
    acc = rep.accounting[layout]
    assert acc["read"] == (n + (defect == "blank_line")) * lay.cells
    assert acc["kept"] == (n - (lost is not None)) * lay.cells
    assert acc["rejected_by_reason"] == {REASON[defect]: lay.cells}
    st_ = Store(tmp / "s")
    issues = st_.read("issues").set_index("code")
    row = issues.loc[REASON[defect]]
    assert (row["file"], int(row["line"]), int(row["count"])) == (str(f), line, lay.cells)
    expect_hh = None
    if lost is not None and lay.household_column is not None:
        expect_hh = lay.lines[lost].split(",")[lay.household_column]
    assert (row["household_id"] if pd.notna(row["household_id"]) else None) == expect_hh
    led = st_.read("ledger")
    if expect_hh is not None and defect != "blank_line":
        assert led.set_index("household_id").loc[expect_hh, "n_malformed"] == lay.cells
    assert int(led["n_malformed"].sum()) == (lay.cells if expect_hh is not None else 0)
    # the rest of the file is read: the same readings as the file without the damaged line
    clean = [x for i, x in enumerate(lay.lines) if i != lost]
    g = write(tmp / "clean.csv", lay, clean, crlf=crlf)
    ingest([g], tmp / "c", **opts)
    pd.testing.assert_frame_equal(readings(tmp / "s"), readings(tmp / "c"))
    assert set(led["household_id"]) >= set(Store(tmp / "c").read("ledger")["household_id"])
    with pytest.raises(InputError) as e:
        ingest([f], tmp / "strict", strict=True, **opts)
    assert f"{f}, line {line}" in str(e.value) and REASON[defect] in str(e.value)
    assert not (tmp / "strict" / "ledger.parquet").exists()


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("defect", DEFECTS)
def test_row_defect_is_a_rejected_row(tmp_path, layout, defect):
    check_defect(tmp_path, layout, defect, at=3, crlf=layout in ("datastore", "ukds"))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layout=st.sampled_from(sorted(LAYOUTS)), defect=st.sampled_from(DEFECTS), at=st.integers(0, 11),
       crlf=st.booleans())
def test_row_defects_anywhere_property(layout, defect, at, crlf):
    with tempfile.TemporaryDirectory() as tmp:
        check_defect(Path(tmp), layout, defect, at, crlf)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_streaming_and_general_paths_agree_on_bad_rows(data):
    """Several defects at random lines of two London Datastore pieces: both readings paths give the same store."""
    lay = LAYOUTS["datastore"]
    with tempfile.TemporaryDirectory() as tmp_:
        tmp = Path(tmp_)
        files = []
        for k in range(2):
            lines = list(lay.lines)
            for _ in range(data.draw(st.integers(0, 3), label=f"defects_{k}")):
                defect = data.draw(st.sampled_from(DEFECTS[:3]))
                lay_k = Layout(lay.name, lay.header, tuple(lines), 1, 0)
                lines, *_ = damage(lay_k, defect, data.draw(st.integers(0, len(lines) - 1)))
            terminated = data.draw(st.booleans(), label=f"terminated_{k}")
            files.append(write(tmp / f"p_{k}.csv", lay, lines, crlf=True, terminated=terminated))
        fast = ingest(files, tmp / "fast")
        real = fastpath.eligible
        fastpath.eligible = lambda readings: False
        try:
            slow = ingest(files, tmp / "slow")
        finally:
            fastpath.eligible = real
        assert fast.accounting == slow.accounting
        a = fast.accounting["datastore"]
        assert a["read"] == a["kept"] + a["rejected"]
        for t in ("ledger", "households", "issues"):
            pd.testing.assert_frame_equal(Store(tmp / "fast").read(t), Store(tmp / "slow").read(t), obj=t)
        pd.testing.assert_frame_equal(readings(tmp / "fast"), readings(tmp / "slow"))


def test_blank_lf_line_in_a_crlf_file_names_the_file(tmp_path):
    """A bare LF line in a CRLF file is a structural problem (DuckDB's strict reader stops): a clear error."""
    lay = LAYOUTS["datastore"]
    text = lay.header + "\r\n" + "\r\n".join(lay.lines[:3]) + "\r\n\n" + "\r\n".join(lay.lines[3:]) + "\r\n"
    f = tmp_path / "x.csv"
    f.write_bytes(text.encode())
    with pytest.raises(InputError) as e:
        ingest([f], tmp_path / "s")
    assert str(f) in str(e.value) and "line ending" in str(e.value)


def test_a_file_of_bad_rows_only_accounts_for_every_household(tmp_path):
    lay = LAYOUTS["datastore"]
    lines = [x + ",extra" for x in lay.lines]
    f = write(tmp_path / "x.csv", lay, lines, crlf=True)
    rep = ingest([f], tmp_path / "s")
    assert rep.accounting["datastore"] == {"read": 12, "kept": 0, "rejected": 12, "unit": "rows",
                                           "rejected_by_reason": {"extra_field": 12}}
    led = Store(tmp_path / "s").read("ledger").set_index("household_id")
    assert led["n_malformed"].to_dict() == {"MAC1": 6, "MAC2": 6}
    assert (led["status"] == "excluded").all()

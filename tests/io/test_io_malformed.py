"""Malformed inputs made in tmp_path: each gives a clear InputError (file + line) or exact ledger/issue counts."""

from __future__ import annotations

import zipfile

import pandas as pd
import pytest

from flexpersona.errors import InputError
from flexpersona.io import ingest, read_survey, read_tariff

HEADER = "LCLid,stdorToU,DateTime,KWH/hh (per half hour) \r\n"


def ds_rows(hid: str, grp: str, start: str, values: list[str]) -> str:
    ts = pd.date_range(start, periods=len(values), freq="30min")
    return "".join(f"{hid},{grp},{t:%Y-%m-%d %H:%M:%S}.0000000, {v} \r\n" for t, v in zip(ts, values))


def write(path, text: str, encoding: str = "utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


def run(tmp_path, files, **kw):
    rep = ingest(files, tmp_path / "store", **kw)
    store = tmp_path / "store"
    return rep, pd.read_parquet(store / "ledger.parquet"), pd.read_parquet(store / "issues.parquet")


def assert_error(excinfo, name: str, line: int | None):
    msg = str(excinfo.value)
    assert name in msg
    assert "Fix:" in msg
    if line is not None:
        assert f"line {line}" in msg


# -- structural problems: InputError naming file and line ---------------------------------------------
def test_empty_file(tmp_path):
    f = write(tmp_path / "LCL-June2015v2_0.csv", "")
    with pytest.raises(InputError) as e:
        ingest([f], tmp_path / "s")
    assert_error(e, "LCL-June2015v2_0.csv", 1)
    assert "empty" in str(e.value)


def test_unknown_header(tmp_path):
    f = write(tmp_path / "meters.csv", "meter,when,value\nA,2013-01-01 00:00,1\n")
    with pytest.raises(InputError) as e:
        ingest([f], tmp_path / "s")
    assert_error(e, "meters.csv", 1)
    assert "unknown layout" in str(e.value) and "--map" in str(e.value)


def test_missing_column_with_forced_layout(tmp_path):
    f = write(tmp_path / "d.csv", "LCLid,stdorToU,DateTime\nA,Std,2013-01-01 00:00:00\n")
    with pytest.raises(InputError) as e:
        ingest([f], tmp_path / "s", layout="datastore")
    assert_error(e, "d.csv", 1)
    assert "KWH/hh (per half hour)" in str(e.value)


def test_wrong_delimiter(tmp_path):
    f = write(tmp_path / "d.csv", "LCLid;stdorToU;DateTime;KWH/hh (per half hour)\nA;Std;2013-01-01 00:00:00;1\n")
    with pytest.raises(InputError) as e:
        ingest([f], tmp_path / "s")
    assert_error(e, "d.csv", 1)
    assert "semicolons" in str(e.value)


def test_truncated_zip(tmp_path):
    src = tmp_path / "pieces.zip"
    with zipfile.ZipFile(src, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("LCL-June2015v2_0.csv", HEADER + ds_rows("MAC1", "Std", "2013-01-01", ["0.1"] * 2000))
    data = src.read_bytes()
    cut = tmp_path / "cut.zip"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError) as e:
        ingest([cut], tmp_path / "s")
    assert_error(e, "cut.zip", None)
    assert "truncated" in str(e.value) or "zip" in str(e.value)


def test_non_utf8_bytes(tmp_path):
    text = HEADER + ds_rows("MAC1", "Std", "2013-01-01", ["0.1", "0.2"]) + "MAC\xe91,Std,2013-01-01 01:00:00.0000000, 0.3 \r\n"
    f = write(tmp_path / "LCL-June2015v2_1.csv", text, encoding="latin-1")
    with pytest.raises(InputError) as e:
        ingest([f], tmp_path / "s")
    assert_error(e, "LCL-June2015v2_1.csv", 4)
    assert "UTF-8" in str(e.value)


def test_row_with_extra_fields(tmp_path):
    """Issue 13: the row is rejected (``extra_field``, with its line) and the file read on; strict: an error."""
    text = HEADER + ds_rows("MAC1", "Std", "2013-01-01", ["0.1", "0.2"]) + "MAC1,Std,2013-01-01 01:00:00,0.3,9,9\r\n"
    f = write(tmp_path / "x.csv", text)
    with pytest.raises(InputError) as e:
        ingest([f], tmp_path / "s", strict=True)
    assert_error(e, "x.csv", 4)
    assert not (tmp_path / "s" / "ledger.parquet").exists()
    rep, led, iss = run(tmp_path, [f])
    assert rep.accounting["datastore"] == {"read": 3, "kept": 2, "rejected": 1, "unit": "rows",
                                           "rejected_by_reason": {"extra_field": 1}}
    assert iss.set_index("code").loc["extra_field", ["household_id", "line"]].tolist() == ["MAC1", 4]
    assert led.loc[0, "n_malformed"] == 1


def test_all_dates_unparseable(tmp_path):
    f = write(tmp_path / "x.csv", HEADER + "MAC1,Std,yesterday, 0.1 \r\nMAC1,Std,today, 0.2 \r\n")
    with pytest.raises(InputError) as e:
        ingest([f], tmp_path / "s")
    assert_error(e, "x.csv", None)
    assert "no value looks like a date" in str(e.value)


def test_contradictory_slash_dates(tmp_path):
    f = write(tmp_path / "x.csv", HEADER + "MAC1,Std,13/1/2013 0:00, 0.1 \r\nMAC1,Std,1/13/2013 0:30, 0.2 \r\n")
    with pytest.raises(InputError) as e:
        ingest([f], tmp_path / "s")
    assert_error(e, "x.csv", None)
    assert "exceed 12" in str(e.value)


def test_tariff_bad_band(tmp_path):
    f = write(tmp_path / "t.csv", "\ufeffTariffDateTime,Tariff\r\n1/1/13 0:00,Normal\r\n1/1/13 0:30,Cheap\r\n")
    with pytest.raises(InputError) as e:
        read_tariff(f)
    assert_error(e, "t.csv", 3)


# -- data problems: exact ledger / issue entries, row accounting holds -----------------------------
def test_negative_and_absurd_values(tmp_path):
    vals = ["0.1"] * 10
    vals[2], vals[5], vals[7] = "-0.4", "55", "-1"
    f = write(tmp_path / "a.csv", HEADER + ds_rows("MAC1", "Std", "2013-01-01", vals))
    rep, led, iss = run(tmp_path, [f])
    row = led.set_index("household_id").loc["MAC1"]
    assert (row.n_negative, row.n_above_cap, row.n_values) == (2, 1, 7)
    acc = rep.accounting["datastore"]
    assert acc == {"read": 10, "kept": 7, "rejected": 3, "unit": "rows",
                   "rejected_by_reason": {"negative_value": 2, "above_cap": 1}}
    neg = iss[iss.code == "negative_value"].iloc[0]
    assert (neg["count"], neg["line"], neg["household_id"]) == (2, 4, "MAC1")
    assert "4, 9" in neg["detail"]


def test_conflicting_duplicates_keep_first(tmp_path):
    text = HEADER + ds_rows("MAC1", "Std", "2013-01-01", ["0.1", "0.2", "0.3"])
    text += ds_rows("MAC1", "Std", "2013-01-01 00:30", ["0.9", "0.3"])  # conflicting, then identical
    f = write(tmp_path / "a.csv", text)
    rep, led, iss = run(tmp_path, [f])
    row = led.set_index("household_id").loc["MAC1"]
    assert (row.n_readings, row.n_duplicates, row.n_conflicting) == (3, 2, 1)
    assert rep.accounting["datastore"]["rejected_by_reason"] == {"duplicate_timestamp": 2}
    got = pd.read_parquet(tmp_path / "store" / "readings")
    assert got["kwh"].tolist() == [0.1, 0.2, 0.3]
    assert iss[iss.code == "duplicate_timestamp"]["count"].tolist() == [2]


def test_household_in_both_groups(tmp_path):
    text = HEADER + ds_rows("MAC1", "Std", "2013-01-01", ["0.1"] * 3) + ds_rows("MAC1", "ToU", "2013-01-02", ["0.1"] * 3)
    text += ds_rows("MAC2", "ToU", "2013-01-01", ["0.1"] * 3)
    f = write(tmp_path / "a.csv", text)
    rep, led, iss = run(tmp_path, [f])
    led = led.set_index("household_id")
    assert led.loc["MAC1", "reason"] == "in_both_groups" and led.loc["MAC1", "status"] == "excluded"
    assert pd.isna(led.loc["MAC1", "group"])
    assert led.loc["MAC2", "group"] == "treatment"
    assert (iss.code == "in_both_groups").sum() == 1


def test_households_file_conflicts_with_readings(tmp_path):
    f = write(tmp_path / "a.csv", HEADER + ds_rows("MAC1", "Std", "2013-01-01", ["0.1"] * 3))
    h = write(tmp_path / "h.csv", "LCLid,stdorToU,Acorn,Acorn_grouped,file\nMAC1,ToU,ACORN-A,Affluent,block_0\n")
    _, led, _ = run(tmp_path, [f], households=h)
    assert led.loc[0, "reason"] == "in_both_groups"


def test_unknown_group(tmp_path):
    text = "LCLid,DateTime,KWH/hh (per half hour) \n" + "".join(
        f"MAC9,2013-01-01 0{i}:00:00.0000000, 0.{i} \n" for i in range(4))
    f = write(tmp_path / "a.csv", text)
    h = write(tmp_path / "h.csv", "LCLid,stdorToU\nMAC8,Std\n")
    _, led, _ = run(tmp_path, [f], households=h)
    assert led["household_id"].tolist() == ["MAC9"]
    assert (led.loc[0, "status"], led.loc[0, "reason"]) == ("excluded", "unknown_group")


def test_unparseable_timestamps_and_values(tmp_path):
    text = HEADER + ds_rows("MAC1", "Std", "2013-01-01", ["0.1", "abc", "0.3"])
    text += "MAC1,Std,2013-13-45 00:00:00.0000000, 0.2 \r\nMAC1,Std,2013-01-01 03:10:00.0000000, 0.2 \r\n,Std,2013-01-01 05:00:00, 1 \r\n"
    f = write(tmp_path / "a.csv", text)
    rep, led, iss = run(tmp_path, [f])
    assert rep.accounting["datastore"]["rejected_by_reason"] == {
        "unparseable_value": 1, "unparseable_timestamp": 1, "off_grid_timestamp": 1, "missing_household_id": 1}
    assert rep.accounting["datastore"]["kept"] == 2
    by = iss.set_index("code")
    assert by.loc["unparseable_timestamp", "line"] == 5
    assert by.loc["unparseable_value", "line"] == 3
    assert by.loc["missing_household_id", "line"] == 7
    row = led.iloc[0]
    assert (row.n_unparseable_timestamp, row.n_unparseable_value, row.n_off_grid) == (1, 1, 1)


def test_null_is_missing_not_zero(tmp_path):
    f = write(tmp_path / "a.csv", HEADER + ds_rows("MAC1", "Std", "2013-01-01", ["0.1", "Null", "", "0.4"]))
    rep, led, _ = run(tmp_path, [f])
    got = pd.read_parquet(tmp_path / "store" / "readings")
    assert got["kwh"].isna().tolist() == [False, True, True, False]
    assert (led.loc[0, "n_readings"], led.loc[0, "n_values"], led.loc[0, "n_missing"]) == (4, 2, 2)
    assert rep.accounting["datastore"] == {"read": 4, "kept": 4, "rejected": 0, "rejected_by_reason": {},
                                           "unit": "rows"}


def test_survey_duplicates_and_ids(tmp_path):
    f = write(tmp_path / "survey_answers.csv",
              "Household_id,Q01,Q02\nD31,Always,\nN0002,Never,Yes\nD0031,Rarely,No\n")
    issues = []
    df = read_survey(f, issues=issues)
    assert df["household_id"].tolist() == ["D0031", "N0002"]
    assert df.loc[0, "Q01"] == "Always" and df.loc[0, "Q02"] is None
    assert [(i.code, i.household_id, i.line) for i in issues] == [("survey_duplicate", "D0031", 4)]


def test_generic_without_map(tmp_path):
    f = write(tmp_path / "m.csv", "meter,time,value\nA,2013-01-01 00:00,1\n")
    with pytest.raises(InputError) as e:
        ingest([f], tmp_path / "s", layout="generic")
    assert_error(e, "m.csv", None)
    assert "--map" in str(e.value)


def test_header_only_files(tmp_path):
    a = write(tmp_path / "a.csv", HEADER)
    with pytest.raises(InputError) as e:
        ingest([a], tmp_path / "s")
    assert_error(e, "a.csv", None)
    assert "no rows" in str(e.value)
    b = write(tmp_path / "b.csv", HEADER + ds_rows("MAC1", "Std", "2013-01-01", ["0.1"]))
    rep = ingest([a, b], tmp_path / "s")
    assert rep.accounting["datastore"]["read"] == 1


def test_corrupt_zip_member(tmp_path):
    src = tmp_path / "pieces.zip"
    with zipfile.ZipFile(src, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("LCL-June2015v2_0.csv", HEADER + ds_rows("MAC1", "Std", "2013-01-01", ["0.1"] * 5000))
    data = bytearray(src.read_bytes())
    data[len(data) // 2] ^= 0x55
    bad = tmp_path / "bad.zip"
    bad.write_bytes(bytes(data))
    with pytest.raises(InputError) as e:
        ingest([bad], tmp_path / "s")
    assert_error(e, "bad.zip!LCL-June2015v2_0.csv", None)
    assert "CRC" in str(e.value) and "archive" in str(e.value)

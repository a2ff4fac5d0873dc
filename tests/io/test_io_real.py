"""Readers on the real LCL fragments in ../shared/data (skipped only if that folder is absent)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from flexpersona.io import ingest, read_tariff
from flexpersona.store import Store

DATA = Path(__file__).resolve().parents[1].parent.parent / "shared" / "data" / "lcl"
pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason="shared LCL data absent")
HOUSEHOLDS = DATA / "households" / "informations_households.csv"
#: Pieces with households straddling two files (MAC000069 2|3, MAC000100 3|4, MAC000131 4|5, MAC000470 137|138).
SUBSET = [DATA / "hh2013" / f"block{n}sep.csv" for n in (2, 3, 4, 5, 137, 138)]


def independent_counts(files: list[Path]) -> tuple[dict[str, int], dict[str, int], int]:
    """Households and non-empty values per group, counted with plain DuckDB SQL over the raw files."""
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    slots = ", ".join(f'"{h:02d}:{m:02d}:00"' for h in range(24) for m in (0, 30))
    con.execute(f"""
        CREATE TABLE cells AS SELECT DISTINCT LCLid, Date, slot FROM (
          SELECT LCLid, Date, {slots} FROM read_csv($files, all_varchar=true, header=true))
        UNPIVOT (v FOR slot IN ({slots})) WHERE trim(v) <> ''
    """, {"files": [str(f) for f in files]})
    con.execute("CREATE TABLE hh AS SELECT LCLid, CASE stdorToU WHEN 'ToU' THEN 'treatment' ELSE 'control' END AS g "
                "FROM read_csv($h, all_varchar=true, header=true)", {"h": str(HOUSEHOLDS)})
    ids = con.execute("""SELECT g, count(DISTINCT LCLid) FROM read_csv($files, all_varchar=true, header=true)
                         JOIN hh USING (LCLid) GROUP BY g""", {"files": [str(f) for f in files]}).fetchall()
    vals = con.execute("SELECT g, count(*) FROM cells JOIN hh USING (LCLid) GROUP BY g").fetchall()
    n_cells_raw = con.execute(f"""
        SELECT count(*) FROM (SELECT {slots} FROM read_csv($files, all_varchar=true, header=true))
        UNPIVOT INCLUDE NULLS (v FOR slot IN ({slots}))""", {"files": [str(f) for f in files]}).fetchall()[0][0]
    con.close()
    return dict(ids), dict(vals), n_cells_raw


def store_counts(store) -> dict[str, int]:
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    hh = Store(store).read("households")
    con.register("hh", hh)
    out = dict(con.execute(
        "SELECT h.\"group\", count(kwh) FROM read_parquet($g) r JOIN hh h USING (household_id) GROUP BY 1",
        {"g": Store(store).readings_glob}).fetchall())
    con.close()
    return out


@pytest.fixture(scope="module")
def subset_store(tmp_path_factory):
    store = tmp_path_factory.mktemp("hh2013") / "store"
    rep = ingest(SUBSET, store, households=HOUSEHOLDS, tariff=DATA / "tariffs" / "Tariffs.xlsx")
    return store, rep


@pytest.mark.slow
def test_day48_counts_match_independent_sql(subset_store):
    store, rep = subset_store
    ids, vals, n_cells = independent_counts(SUBSET)
    assert rep.households_per_group == ids
    assert store_counts(store) == vals
    acc = rep.accounting["day48"]
    assert acc["read"] == n_cells == acc["kept"] + acc["rejected"]
    assert set(acc["rejected_by_reason"]) <= {"duplicate_timestamp"}
    assert rep.tariff_filled_normal == 0


@pytest.mark.slow
def test_straddled_days_lose_no_value(subset_store):
    store, _ = subset_store
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    slots = ", ".join(f'"{h:02d}:{m:02d}:00"' for h in range(24) for m in (0, 30))
    missing = con.execute(f"""
        WITH raw AS (
          SELECT LCLid AS household_id, CAST(Date AS TIMESTAMP) + to_minutes(
                   CAST(split_part(slot, ':', 1) AS INT) * 60 + CAST(split_part(slot, ':', 2) AS INT)) AS ts,
                 CAST(trim(v) AS DOUBLE) AS kwh
          FROM (SELECT LCLid, Date, {slots} FROM read_csv($files, all_varchar=true, header=true)
                WHERE LCLid IN ('MAC000069', 'MAC000100', 'MAC000131', 'MAC000470'))
          UNPIVOT (v FOR slot IN ({slots})) WHERE trim(v) <> '')
        SELECT count(*) FROM raw LEFT JOIN read_parquet($g) s USING (household_id, ts)
        WHERE s.kwh IS DISTINCT FROM raw.kwh
    """, {"files": [str(f) for f in SUBSET], "g": Store(store).readings_glob}).fetchall()[0][0]
    con.close()
    assert missing == 0
    led = Store(store).read("ledger").set_index("household_id")
    assert led.loc["MAC000069", "n_duplicates"] > 0 and led.loc["MAC000069", "n_conflicting"] == 0
    # 2013-only data: no household is excluded for lacking a half-hourly baseline
    assert not led["has_halfhourly_baseline"].any()
    assert "insufficient_baseline" not in set(led["reason"].dropna())


def test_tariff_xlsx_and_mdy_csv_identical():
    a = read_tariff(DATA / "tariffs" / "Tariffs.xlsx")
    b = read_tariff(DATA / "tariffs" / "Tariffs_mdy.csv")
    pd.testing.assert_frame_equal(a, b)
    assert len(a) == 17520
    assert a["band"].value_counts().to_dict() == {"Normal": 15072, "Low": 1660, "High": 788}
    assert b.attrs["date_format"] == "%m/%d/%y %H:%M"
    assert a["ts"].is_monotonic_increasing and a["ts"].diff().dropna().eq(pd.Timedelta("30min")).all()


def test_kaggle_and_day48_yield_identical_readings(tmp_path):
    ids = ["MAC000002", "MAC000010"]
    ingest([DATA / "kaggle_halfhourly" / f"{i}.csv" for i in ids], tmp_path / "k", households=HOUSEHOLDS)
    ingest([DATA / "hh2013" / "block1sep.csv"], tmp_path / "d", households=HOUSEHOLDS)
    con = duckdb.connect()
    # the readings (the files they came from differ: file_idx, source_group)
    k = con.execute("SELECT household_id, ts, kwh FROM read_parquet($g) ORDER BY ALL",
                    {"g": Store(tmp_path / "k").readings_glob}).df()
    d = con.execute("SELECT household_id, ts, kwh FROM read_parquet($g) WHERE household_id IN ('MAC000002', 'MAC000010') "
                    "ORDER BY ALL", {"g": Store(tmp_path / "d").readings_glob}).df()
    con.close()
    assert len(k) > 30000
    pd.testing.assert_frame_equal(k, d)


def test_datastore_mac000002(tmp_path):
    rep = ingest([DATA / "datastore" / "MAC000002.csv"], tmp_path / "s", households=HOUSEHOLDS)
    acc = rep.accounting["datastore"]
    # 24,158 rows read: 17 identical repeated rows merged, one 'Null' at the off-grid time 12:37:27
    assert acc["read"] == 24158
    assert acc["rejected_by_reason"] == {"duplicate_timestamp": 17, "off_grid_timestamp": 1}
    assert acc["kept"] == 24140
    st = Store(tmp_path / "s")
    issues = st.read("issues")
    off = issues[issues["code"] == "off_grid_timestamp"].iloc[0]
    assert off["line"] == 3242
    led = st.read("ledger").iloc[0]
    assert (led["group"], led["acorn"], led["n_duplicates"], led["n_conflicting"]) == ("control", "ACORN-A", 17, 0)
    assert led["first_reading"] == pd.Timestamp("2012-10-12 00:30")
    assert led["readings_2013"] == 17520
    # it has a half-hourly baseline but covers only ~22% of 2012
    assert led["has_halfhourly_baseline"] and led["reason"] == "insufficient_baseline"
    assert rep.date_formats[str(DATA / "datastore" / "MAC000002.csv")] == "ISO"


def test_kaggle_daily_kept_as_daily_table(tmp_path):
    daily = DATA / "kaggle_daily" / "block_11.csv"
    ingest([DATA / "kaggle_halfhourly" / "MAC000002.csv"], tmp_path / "s", households=HOUSEHOLDS, daily=daily)
    d = Store(tmp_path / "s").read("daily")
    raw = pd.read_csv(daily)
    assert len(d) == len(raw.drop_duplicates(["LCLid", "day"]))
    assert list(d.columns[:4]) == ["household_id", "day", "kwh_sum", "n_readings"]
    assert (d["n_readings"] < 48).any() and d["kwh_sum"].max() == pytest.approx(raw["energy_sum"].max())


@pytest.mark.slow
def test_full_hh2013_folder_counts(tmp_path):
    files = sorted((DATA / "hh2013").glob("*.csv"))
    rep = ingest([DATA / "hh2013"], tmp_path / "s", households=HOUSEHOLDS, tariff=DATA / "tariffs" / "Tariffs.xlsx")
    ids, vals, n_cells = independent_counts(files)
    assert rep.households_per_group == ids == {"control": 587, "treatment": 473}
    assert store_counts(tmp_path / "s") == vals
    assert rep.accounting["day48"]["read"] == n_cells

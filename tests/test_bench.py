"""The benchmark's floor query runs on the simulator's London Datastore layout (not a timing test)."""

import duckdb

from flexpersona.bench import FLOOR_SQL
from flexpersona.simulate import simulate_trial, write_trial


def test_floor_query_reads_the_datastore_layout(tmp_path):
    trial = simulate_trial(3, 3, seed=2, start="2012-12-01", end="2013-01-31", survey=False)
    write_trial(trial, tmp_path, "datastore")
    files = sorted(str(p) for p in tmp_path.glob("LCL-June2015v2_*.csv"))
    rows = duckdb.connect().execute(FLOOR_SQL, {"files": files}).fetchall()
    n_values = sum(r[-1] for r in rows)
    assert n_values == int(trial.readings["kwh"].notna().sum())
    assert {r[0] for r in rows} == set(trial.readings["household_id"])

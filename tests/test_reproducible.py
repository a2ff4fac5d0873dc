"""Same input and seed give identical outputs (brief: results are reproducible).

Every table is bit-identical with the default of every core for DuckDB (``data.duckdb_threads = None``): the
feature stage's sums are exact integer sums (issue 14; thread counts are compared in
``tests/features/test_threads.py``).
"""

import pandas as pd
import pytest

from flexpersona.config import Config
from flexpersona.pipeline import run
from flexpersona.simulate import simulate_trial, write_trial


@pytest.mark.slow
def test_two_runs_of_the_same_input_give_identical_tables(tmp_path):
    trial = simulate_trial(40, 50, seed=5, start="2013-01-01", end="2013-04-30", survey=False)
    write_trial(trial, tmp_path / "in", "datastore")
    cfg = Config().replace(features={"bootstrap_replicates": 50}, personas={"bootstrap_resamples": 10})
    outs = []
    for name in ("a", "b"):
        out = tmp_path / name
        run([tmp_path / "in"], out, config=cfg, stop="toolkit")
        outs.append(out)
    for rel in ("ledger.parquet", "lifestyle.parquet", "features.parquet", "events.parquet", "placebo.parquet", "personas.parquet",
                "persona_profiles.csv", "selection.csv", "explain/tests.csv", "targets.csv"):
        a, b = (o / rel for o in outs)
        if not a.exists():
            assert not b.exists(), rel
            continue
        read = pd.read_parquet if rel.endswith(".parquet") else pd.read_csv
        left, right = read(a), read(b)
        pd.testing.assert_frame_equal(left, right, check_exact=True, obj=rel)

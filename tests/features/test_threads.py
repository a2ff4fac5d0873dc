"""Issue 14: the feature stage gives identical tables whatever DuckDB's thread count.

Every sum of the shared SQL is an exact fixed-point integer sum (:data:`flexpersona.features.definitions.SCALE`)
and every fetched result has a total order, so the scheduling of DuckDB's threads cannot reach the last bits.
The readings are shuffled into many small row groups so that each thread aggregates a part of every group.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from flexpersona.config import Config
from flexpersona.features import compute_features
from flexpersona.simulate import simulate_trial

from .conftest import make_trial, store_from_trial

pytestmark = pytest.mark.slow

CFG = Config().replace(features={"bootstrap_replicates": 40}, data={"min_baseline_coverage": 0.1})
TABLES = ("features", "events", "lifestyle", "placebo", "prior", "replicates", "event_households")


def _scatter(store, seed: int = 0) -> None:
    """Rewrite the readings in a random row order, in row groups of 5,000 rows."""
    path = store.readings_dir / "part-0.parquet"
    tbl = pq.read_table(path)
    tbl = tbl.take(np.random.default_rng(seed).permutation(tbl.num_rows))
    pq.write_table(tbl, path, row_group_size=5_000)


def _assert_identical(runs: dict[int, object]) -> None:
    (n0, first), *rest = runs.items()
    info0 = {k: v for k, v in first.info.items() if k != "timings_s"}
    for n, res in rest:
        for name in TABLES:
            a, b = getattr(first, name), getattr(res, name)
            pd.testing.assert_frame_equal(a, b, check_exact=True, obj=f"{name} ({n0} vs {n} threads)")
        assert {k: v for k, v in res.info.items() if k != "timings_s"} == info0, f"info ({n0} vs {n} threads)"


@pytest.fixture(scope="module")
def trial(tmp_path_factory):
    t = make_trial(tmp_path_factory.mktemp("threads") / "store", n_treatment=20, n_control=30, seed=7)
    _scatter(t.store)
    return t


def test_thread_counts_give_identical_tables(trial):
    runs = {n: compute_features(trial.store, CFG.replace(data={"duckdb_threads": n})) for n in (1, 2, 4)}
    assert len(runs[1].features) == 20 and runs[1].info["reference"] == "baseline"
    _assert_identical(runs)


def test_thread_counts_give_identical_tables_without_controls(tmp_path):
    """The no-control counterfactual with a weather file (the temperature slope pass) and the within-trial
    reference."""
    sim = simulate_trial(25, 0, seed=3, start="2013-01-01", end="2013-03-31", survey=False, daily=False)
    store = store_from_trial(sim, tmp_path / "store", ("treatment",), weather=True)
    _scatter(store)
    runs = {n: compute_features(store, CFG.replace(data={"duckdb_threads": n})) for n in (1, 2, 4)}
    assert runs[1].info["counterfactual"]["method"] == "no_control"
    assert runs[1].info["counterfactual"]["weather"]["temperature"]
    _assert_identical(runs)

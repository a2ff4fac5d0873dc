"""The same feature definitions on Spark give the DuckDB results (relative difference <= 1e-9)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from flexpersona.config import Config

from .conftest import make_trial

pytestmark = [pytest.mark.spark, pytest.mark.slow]

CFG = Config().replace(features={"bootstrap_replicates": 40, "time_placebo_days": 3}, data={"min_baseline_coverage": 0.1})


@pytest.fixture(scope="module")
def spark():
    pyspark = pytest.importorskip("pyspark")
    from pyspark.sql import SparkSession

    del pyspark
    s = (
        SparkSession.builder.master("local[2]")
        .appName("flexpersona-test")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.default.parallelism", "2")
        # tiny data: interpreted plans beat compiling code for each of the stage's queries
        .config("spark.sql.codegen.wholeStage", "false")
        .config("spark.sql.adaptive.enabled", "false")
        .getOrCreate()
    )
    yield s
    s.stop()


@pytest.fixture(scope="module")
def trial(tmp_path_factory):
    return make_trial(tmp_path_factory.mktemp("spark") / "store", n_treatment=8, n_control=12, seed=5, months=(1, 2))


def _iterative(name: str, column: str) -> bool:
    """Outputs of the iterative deconvolution (EM stops at a likelihood tolerance, so a last-bit difference of
    its inputs can change the iteration it stops at): compared to 1e-6 instead of 1e-9."""
    from flexpersona.features import POSTERIOR_COLUMNS

    return column in POSTERIOR_COLUMNS or name == "prior"


def _assert_frames_close(a: pd.DataFrame, b: pd.DataFrame, name: str) -> int:
    assert list(a.columns) == list(b.columns), name
    assert len(a) == len(b), name
    checked = 0
    for c in a.columns:
        x, y = a[c], b[c]
        if pd.api.types.is_numeric_dtype(x) and not pd.api.types.is_bool_dtype(x):
            xv, yv = x.to_numpy(dtype=float), y.to_numpy(dtype=float)
            assert (np.isnan(xv) == np.isnan(yv)).all(), f"{name}.{c}: NaN pattern differs"
            tol = {"rtol": 1e-6, "atol": 1e-6} if _iterative(name, c) else {"rtol": 1e-9, "atol": 1e-12}
            np.testing.assert_allclose(xv, yv, **tol, err_msg=f"{name}.{c}")
            checked += 1
        else:
            assert x.astype(str).tolist() == y.astype(str).tolist(), f"{name}.{c}"
    return checked


def test_spark_equals_duckdb(trial, spark):
    from flexpersona.features import compute_features

    duck = compute_features(trial.store, CFG)
    sprk = compute_features(trial.store, CFG.replace(features={"engine": "spark"}))
    assert sprk.info["engine"] == "spark"
    n = 0
    for name in ("features", "events", "lifestyle", "placebo", "replicates", "event_households", "prior"):
        n += _assert_frames_close(getattr(duck, name), getattr(sprk, name), name)
    assert n > 60
    assert duck.info["reference_cell_levels"] == sprk.info["reference_cell_levels"]
    assert np.isfinite(duck.features["high_response_pct"]).all()


def test_spark_equals_duckdb_without_control_group(trial, spark):
    """The no-control counterfactual (``C(t)/B_C`` = 1 + β·ΔT, pseudo-event placebo) on both engines."""
    from flexpersona.features import compute_features

    days = pd.date_range("2013-01-01", "2013-12-31 23:00", freq="h")
    rng = np.random.default_rng(3)
    temp = 5 + 3 * np.sin(np.arange(len(days)) / 24 / 58) + rng.normal(0, 2, len(days)).cumsum() * 0.05
    trial.store.write("weather", pd.DataFrame({"ts": days.astype("datetime64[us]"), "temperature_c": temp}))
    try:
        # pseudo events are drawn over the whole trial year's event-free days: 60 leave some in January-February
        cfg = CFG.replace(features={"counterfactual": "no_control", "reference_days": "event_free",
                                    "time_placebo_days": 60, "compare_references": False})
        duck = compute_features(trial.store, cfg)
        sprk = compute_features(trial.store, cfg.replace(features={"engine": "spark"}))
    finally:
        trial.store.table_path("weather").unlink()
    assert duck.info["counterfactual"]["weather"]["temperature"] is True
    n = 0
    for name in ("features", "events", "placebo", "prior"):  # posteriors against the pseudo-event null included
        n += _assert_frames_close(getattr(duck, name), getattr(sprk, name), name)
    assert n > 50
    for key in ("cohort_response", "reference_comparison", "placebo"):
        a, b = duck.info[key], sprk.info[key]
        assert json_close(a, b), key


def json_close(a, b) -> bool:
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(json_close(a[k], b[k]) for k in a)
    if isinstance(a, float) and isinstance(b, float):
        return bool(np.isclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True))
    return a == b

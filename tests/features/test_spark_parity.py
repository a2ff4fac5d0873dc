"""The same feature definitions on Spark give the DuckDB results, bit for bit: every sum of the shared SQL is an
exact integer sum (issue 14), so neither the engine nor its partitions change a last bit."""

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


TABLES = ("features", "events", "lifestyle", "placebo", "replicates", "event_households", "prior")


def _info(res) -> dict:
    """``info`` without what names the engine or times it."""
    return {k: v for k, v in res.info.items() if k not in ("engine", "timings_s")}


def _assert_identical(duck, sprk, tables=TABLES) -> None:
    for name in tables:
        pd.testing.assert_frame_equal(getattr(duck, name), getattr(sprk, name), check_exact=True, obj=name)
    assert _info(duck) == _info(sprk)


def test_spark_equals_duckdb(trial, spark):
    from flexpersona.features import compute_features

    duck = compute_features(trial.store, CFG)
    sprk = compute_features(trial.store, CFG.replace(features={"engine": "spark"}))
    assert sprk.info["engine"] == "spark"
    _assert_identical(duck, sprk)
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
    _assert_identical(duck, sprk, ("features", "events", "placebo", "prior"))  # posteriors on the pseudo-event null

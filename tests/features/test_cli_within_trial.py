"""A store without half-hourly baseline (as the real 2013-only files): within-trial reference, daily
lifestyle; the ``features`` command writes its outputs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from flexpersona.cli import main
from flexpersona.config import Config
from flexpersona.features import compute_features

from .conftest import make_trial


@pytest.fixture(scope="module")
def trial(tmp_path_factory):
    tr = make_trial(tmp_path_factory.mktemp("wt") / "store", n_treatment=12, n_control=16, seed=7, baseline=False)
    rng = np.random.default_rng(0)
    days = pd.date_range("2012-01-01", "2012-12-31", freq="D")
    rows = []
    for hid in tr.truth["household_id"]:
        n = np.where(rng.random(len(days)) < 0.1, 40, 48)
        rows.append(pd.DataFrame({"household_id": hid, "day": days.date, "kwh_sum": rng.gamma(8, 1.2, len(days)),
                                  "n_readings": n}))  # fmt: skip
    daily = pd.concat(rows, ignore_index=True)
    for c in ("kwh_mean", "kwh_max", "kwh_min", "kwh_std"):
        daily[c] = np.nan
    tr.store.write("daily", daily)
    return tr


def test_within_trial_reference_and_daily_lifestyle(trial):
    res = compute_features(trial.store, Config().replace(features={"bootstrap_replicates": 40}))
    info = res.info
    assert info["reference"] == "within_trial" and info["reference_requested"] == "auto"
    assert "0%" in info["reference_reason"]
    assert info["lifestyle_source"] == "daily"
    assert "seed_missing" in info
    assert set(info["lifestyle_missing"]) == {"baseload_kwh", "evening_share", "morning_evening_peak_ratio",
                                              "base_peak_to_offpeak_ratio", "base_day_to_night_ratio",
                                              "base_morning_vs_evening_peak_ratio"}  # fmt: skip
    f, life = res.features, res.lifestyle
    assert f["base_weekday_peak"].isna().all() and f["peak_reduction_weekday"].isna().all()
    assert f["trial_weekday_high"].notna().all() and f["high_response_pct"].notna().all()
    assert (life["lifestyle_source"] == "daily").all() and len(life) == 28
    assert life["baseload_kwh"].isna().all()
    # daily features from complete days only
    d = trial.store.read("daily")
    d = d[(d["household_id"] == "D0000") & (d["n_readings"] == 48)]
    got = life.set_index("household_id").loc["D0000"]
    assert got["mean_daily_kwh"] == pytest.approx(d["kwh_sum"].mean(), rel=1e-12)
    assert got["intrinsic_daily_volatility"] == pytest.approx(d["kwh_sum"].std(ddof=1), rel=1e-12)
    # the within-trial Normal band is the reference itself: ~0 by construction
    assert abs(info["cohort_response"]["treatment"]["normal"]["pct"]) < 0.5
    # ... and with the event-free reference (the comparison) the Normal band of event-free days is
    assert info["reference_days"] == "all" and info["reference_comparison"]["compared"] == "within_trial_event_free"
    assert abs(info["reference_comparison"]["cohort"]["within_trial_event_free"]["treatment"]["normal_free"]["pct"]) < 0.5


def test_features_command_writes_outputs(trial, tmp_path):
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["features", str(trial.store.path), "--out", str(out), "--replicates", "30"])
    assert r.exit_code == 0, r.output
    assert "reference within_trial" in r.output
    for name in ("features", "events", "lifestyle", "placebo"):
        assert (out / f"{name}.parquet").exists() and (out / f"{name}.csv").exists()
    man = json.loads((out / "manifest.json").read_text())  # the run folder's manifest schema (issue 13)
    counts = man["stages"]["features"]["counts"]
    assert counts["info"]["reference"] == "within_trial"
    assert man["config"]["features"]["bootstrap_replicates"] == 30
    assert counts["treatment_households"] == 12
    assert man["store"] == str(trial.store.path.resolve())
    f = pd.read_parquet(out / "features.parquet")
    assert f["household_id"].tolist() == sorted(f["household_id"])


def test_features_command_explains_a_bad_reference(trial, tmp_path):
    r = CliRunner().invoke(main, ["features", str(trial.store.path), "--out", str(tmp_path / "o"),
                                  "--reference", "baseline"])  # fmt: skip
    assert r.exit_code == 2
    assert "within_trial" in r.output and "Traceback" not in r.output


def test_missing_store_tables(tmp_path):
    r = CliRunner().invoke(main, ["features", str(tmp_path), "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and "ingest" in r.output


def test_no_baseline_no_daily_uses_event_free_trial_days(tmp_path):
    tr = make_trial(tmp_path / "store", n_treatment=6, n_control=8, seed=9, baseline=False, months=(1,))
    res = compute_features(tr.store, Config().replace(features={"bootstrap_replicates": 30}))
    life = res.lifestyle
    assert res.info["lifestyle_source"] == "within_trial_normal"
    assert (life["lifestyle_source"] == "within_trial_normal").all()
    assert life[["baseload_kwh", "evening_share", "mean_daily_kwh", "morning_evening_peak_ratio"]].notna().all().all()
    assert res.features["lifestyle_source"].eq("within_trial_normal").all()


def test_same_day_adjustment_option(trial):
    base = compute_features(trial.store, Config().replace(features={"bootstrap_replicates": 30}))
    adj = compute_features(
        trial.store, Config().replace(features={"bootstrap_replicates": 30, "day_adjustment": "same_day"})
    )
    assert base.info["day_adjustment"] == {"method": "none"}
    assert adj.info["day_adjustment"]["method"] == "same_day"
    a, b = adj.features["high_response_pct"], base.features["high_response_pct"]
    assert a.notna().all() and not np.allclose(a, b)
    assert np.corrcoef(a, b)[0, 1] > 0.8  # same signal, different noise
    np.testing.assert_allclose(adj.features["normal_response_pct"], base.features["normal_response_pct"])

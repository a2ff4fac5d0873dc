"""``fp.score`` / ``flexpersona score``: a run's saved targeting model scores households that were never in it.

One simulated trial (``predictable=True``: the planted High response follows the pre-trial evening-peak
trait) is split: 80 treatment households are held out, the run is trained on the rest (120 treatment, 60
control households). The held-out households are written as London Datastore readings files and scored.
"""

from __future__ import annotations

import dataclasses
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import flexpersona as fp
from flexpersona.errors import InputError, StageError
from flexpersona.simulate import write_trial
from flexpersona.toolkit import SCORE_COLUMNS
from flexpersona.toolkit.targeting import qini_area, qini_bootstrap, qini_curve

N_HOLDOUT = 80
CFG = fp.Config().replace(
    features={"bootstrap_replicates": 20, "prevalence_replicates": 20},
    toolkit={"cv_repeats": 2, "bootstrap_replicates": 200},
)


def _subset(trial, ids: set[str]):
    keep = lambda df: df[df["household_id"].astype(str).isin(ids)].reset_index(drop=True)
    return dataclasses.replace(trial, readings=keep(trial.readings), households=keep(trial.households),
                               truth=keep(trial.truth), survey=None, daily=None)


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    """The run (trained without the held-out households), the held-out readings files and their scores."""
    root = tmp_path_factory.mktemp("score")
    trial = fp.simulate_trial(n_treatment=200, n_control=60, seed=5, predictable=True)
    treat = sorted(trial.households.loc[trial.households["group"] == "treatment", "household_id"].astype(str))
    holdout = set(np.random.default_rng(1).choice(treat, N_HOLDOUT, replace=False))
    train = _subset(trial, set(trial.households["household_id"].astype(str)) - holdout)
    feats = fp.compute_features(train.readings, train.households, train.tariff, CFG)
    toolkit = fp.build_toolkit(feats, None, None, config=CFG)
    run = root / "run"
    fp.save_run(run, feats, toolkit, config=CFG)
    files = write_trial(_subset(trial, holdout), root / "holdout", "datastore")
    readings = [p for p in files if p.name.startswith("LCL-")] or [root / "holdout"]
    res = fp.score(run, readings, households=trial.households)
    return {"trial": trial, "train": train, "run": run, "holdout": holdout, "readings": readings, "res": res,
            "root": root}


def test_held_out_households_are_ranked_well_above_random(scored):
    """Qini of the held-out scores against the planted truth: clearly above random, interval excludes 0."""
    s = scored["res"].scores.set_index("household_id")
    assert list(scored["res"].scores.columns) == SCORE_COLUMNS
    assert set(s.index) == scored["holdout"] and s["rank"].notna().all()
    truth = scored["trial"].truth.assign(household_id=lambda d: d["household_id"].astype(str)).set_index("household_id")
    ids = sorted(scored["holdout"])
    planted_kw = truth.loc[ids, "high_effect_pct"].to_numpy() / 100 * truth.loc[ids, "level_kwh"].to_numpy() * 2
    pred = -s.loc[ids, "predicted_high_response_kw"].to_numpy()
    coef = qini_area(qini_curve(pred, -planted_kw))["qini_coefficient"]
    boot = qini_bootstrap(pred, -planted_kw, replicates=1000, seed=0)["coefficient"]
    lo, hi = np.nanpercentile(boot, [2.5, 97.5])
    print(f"held-out Qini coefficient {coef:.3f} (95% interval {lo:.3f} to {hi:.3f}), n={len(ids)}")
    assert coef > 0.2 and lo > 0, (coef, lo, hi)
    assert s["predicted_ci_low"].lt(s["predicted_high_response_kw"]).all()
    assert s["predicted_ci_high"].gt(s["predicted_high_response_kw"]).all()
    assert s["p_responder"].between(0, 1).all()
    assert set(s["lever"]) <= set(fp.toolkit.LEVERS)
    summary = scored["res"].summary
    assert summary["n_scored"] == N_HOLDOUT and summary["n_in_training"] == 0
    e = summary["enrolment"]["top_25pct"]
    assert e["n"] == N_HOLDOUT // 4 and e["expected_mw_ci_low"] < e["expected_mw"] < e["expected_mw_ci_high"]


def test_scoring_the_runs_own_book_reproduces_targets_csv(scored):
    """The run's control households, scored from their readings, get targets.csv's predictions back."""
    train = scored["train"]
    res = fp.score(scored["run"], train.readings, households=train.households)
    targets = pd.read_csv(scored["run"] / "targets.csv", dtype={"household_id": str}).set_index("household_id")
    s = res.scores.set_index("household_id").loc[targets.index]
    diff = np.abs(s["predicted_high_response_kw"].to_numpy() - targets["predicted_kw"].to_numpy())
    print(f"max |score - targets.csv predicted_kw| = {diff.max():.3g} kW over {len(targets)} households")
    assert diff.max() < 1e-9
    np.testing.assert_allclose(s["predicted_high_response_pct"], targets["predicted_response_pct"], atol=1e-9)
    assert (s["do_no_harm"].to_numpy() == targets["do_no_harm"].to_numpy()).all()
    # the same order as the run's ranking
    assert list(s.sort_values("rank").index) == list(targets.sort_values("rank").index)


def test_saved_model_scores_identically_in_a_fresh_process(scored, tmp_path):
    """``flexpersona score`` in a new interpreter writes the very scores of this process."""
    out = tmp_path / "scores.csv"
    src = Path(fp.__file__).resolve().parents[1]
    hh = scored["root"] / "hh.csv"
    scored["trial"].households.rename(columns={"household_id": "LCLid", "group": "stdorToU", "acorn": "Acorn",
                                               "acorn_grouped": "Acorn_grouped"}).assign(
        stdorToU=lambda d: np.where(d["stdorToU"] == "treatment", "ToU", "Std")).to_csv(hh, index=False)
    cmd = [sys.executable, "-m", "flexpersona", "score", str(scored["run"]), *map(str, scored["readings"]),
           "--out", str(out), "--households", str(hh), "--top", "10"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env={"PYTHONPATH": str(src), "PATH": ""}, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "top_n" in proc.stdout and (tmp_path / "scores_summary.json").exists()
    fresh = pd.read_csv(out, dtype={"household_id": str})
    here = tmp_path / "here.csv"
    scored["res"].scores.to_csv(here, index=False)
    pd.testing.assert_frame_equal(fresh, pd.read_csv(here, dtype={"household_id": str}))


DATASTORE = "LCLid,stdorToU,DateTime,KWH/hh (per half hour) \n"


def _datastore_rows(hid: str, start: str, n: int, seed: int) -> list[str]:
    ts = pd.date_range(start, periods=n, freq="30min")
    kwh = np.random.default_rng(seed).gamma(2.0, 0.1, n)
    return [f"{hid},Std,{t:%Y-%m-%d %H:%M:%S}.0000000,{v:.3f}\n" for t, v in zip(ts, kwh, strict=True)]


def test_bad_rows_go_to_issues_and_short_data_get_a_reason(scored, tmp_path):
    """Ingest rules: a bad row is an issue with its line (the household still scored); a household with a
    month of pre-trial readings is too short: a reason, no score."""
    rows = _datastore_rows("FULL1", "2012-01-01", 17568, 1) + _datastore_rows("SHORT1", "2012-03-01", 48 * 30, 2)
    rows[99] = "FULL1,Std,2012-01-03 01:30:00.0000000,not-a-number\n"
    path = tmp_path / "book.csv"
    path.write_text(DATASTORE + "".join(rows), encoding="utf-8")
    res = fp.score(scored["run"], path)
    s = res.scores.set_index("household_id")
    assert s.loc["FULL1", "rank"] == 1 and s.loc["FULL1", "reason"] == ""
    assert np.isfinite(s.loc["FULL1", "predicted_high_response_kw"])
    assert pd.isna(s.loc["SHORT1", "rank"]) and pd.isna(s.loc["SHORT1", "predicted_high_response_kw"])
    assert s.loc["SHORT1", "reason"].startswith("too short") and "2012" in s.loc["SHORT1", "reason"]
    bad = res.issues[res.issues["household_id"] == "FULL1"]
    assert len(bad) == 1 and int(bad["line"].iloc[0]) == 101 and str(path.name) in str(bad["file"].iloc[0])
    assert res.summary["n_not_scored"] == 1 and res.summary["n_issue_rows"] == 1
    res.write(tmp_path / "out.csv")
    assert (tmp_path / "out_issues.csv").exists() and (tmp_path / "out_summary.json").exists()


def test_missing_column_is_an_input_error_naming_the_file(scored, tmp_path):
    path = tmp_path / "nokwh.csv"
    path.write_text("LCLid,stdorToU,DateTime\nA,Std,2012-01-01 00:00:00.0000000\n", encoding="utf-8")
    with pytest.raises(InputError, match="nokwh.csv"):
        fp.score(scored["run"], path, layout="datastore")


def test_a_model_of_another_format_version_is_refused(scored, tmp_path):
    import shutil

    run = tmp_path / "old"
    shutil.copytree(scored["run"], run, ignore=shutil.ignore_patterns("store"))
    raw = pickle.loads((run / "targeting_model.pkl").read_bytes())
    raw["format_version"] = 0
    (run / "targeting_model.pkl").write_bytes(pickle.dumps(raw))
    with pytest.raises(StageError, match=r"targeting_model\.pkl.*format version 0.*re-run the toolkit stage"):
        fp.score(run, scored["train"].readings)
    (run / "targeting_model.pkl").unlink()
    with pytest.raises(StageError, match=r"targeting_model\.pkl is missing.*re-run the toolkit stage"):
        fp.score(run, scored["train"].readings)


@pytest.mark.spark
@pytest.mark.slow
def test_spark_engine_gives_the_duckdb_scores(scored):
    """``--engine spark``: the same pre-trial SQL on Spark, the same scores."""
    pytest.importorskip("pyspark")
    from pyspark.sql import SparkSession

    spark = (SparkSession.builder.master("local[2]").appName("flexpersona-score-test")
             .config("spark.sql.session.timeZone", "UTC").config("spark.ui.enabled", "false")
             .config("spark.sql.shuffle.partitions", "1").config("spark.sql.codegen.wholeStage", "false")
             .config("spark.sql.adaptive.enabled", "false").getOrCreate())
    try:
        train = scored["train"]
        ids = sorted(train.households["household_id"].astype(str))[:8]
        r = train.readings[train.readings["household_id"].astype(str).isin(ids)].reset_index(drop=True)
        duck = fp.score(scored["run"], r, households=train.households).scores.set_index("household_id")
        spk = fp.score(scored["run"], r, households=train.households, engine="spark").scores.set_index("household_id")
    finally:
        spark.stop()
    np.testing.assert_allclose(spk.loc[ids, "predicted_high_response_kw"], duck.loc[ids, "predicted_high_response_kw"],
                               rtol=1e-9, atol=1e-12)
    assert (spk.loc[ids, "rank"] == duck.loc[ids, "rank"]).all()


def test_prediction_intervals_cover_the_trials_own_estimates_of_held_out_households(scored):
    """The 95% interval claims to cover the household's High response as the trial would have estimated it:
    the held-out households' estimates from a run of the whole trial fall inside at about the stated rate."""
    trial = scored["trial"]
    whole = fp.compute_features(trial.readings, trial.households, trial.tariff, CFG).features
    est = whole.assign(household_id=whole["household_id"].astype(str)).set_index("household_id")
    s = scored["res"].scores.set_index("household_id")
    ids = sorted(scored["holdout"])
    kw = est.loc[ids, "high_response_kw"].to_numpy()
    inside = (s.loc[ids, "predicted_ci_low"].to_numpy() <= kw) & (kw <= s.loc[ids, "predicted_ci_high"].to_numpy())
    print(f"held-out coverage of the 95% prediction interval: {inside.mean():.3f} (n={len(ids)})")
    assert 0.85 <= inside.mean() <= 1.0  # 95% nominal; binomial SD 2.4 pp at n = 80

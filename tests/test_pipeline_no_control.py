"""A trial without a control group through every stage (issue 17): simulate only treatment households, write
them in the London Datastore layout (with the simulated hourly weather file), run the pipeline."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from flexpersona.config import Config
from flexpersona.pipeline import run
from flexpersona.simulate import simulate_trial, write_trial

pytestmark = pytest.mark.slow


def test_every_stage_runs_without_a_control_group(tmp_path):
    trial = simulate_trial(60, 0, seed=8, start="2013-01-01", end="2013-05-31", survey=False)
    write_trial(trial, tmp_path / "in", "datastore")
    cfg = Config().replace(features={"bootstrap_replicates": 40}, personas={"bootstrap_resamples": 10},
                           toolkit={"bootstrap_replicates": 100})
    res = run([tmp_path / "in"], tmp_path / "run", config=cfg)
    assert res.ran == ["ingest", "features", "eda", "personas", "explain", "toolkit", "report"]
    man = json.loads((tmp_path / "run" / "manifest.json").read_text())
    cf = man["counterfactual"]
    assert cf["method"] == "no_control" and cf["reason"] == "the input holds no control households"
    assert cf["weather"]["temperature"] is True  # the simulator's weather file was found among the inputs
    assert "not differenced out" in cf["statement"]
    assert set(cf["cohort_high_by_reference"]) == {"within_trial_all", "within_trial_event_free"}
    feats = pd.read_parquet(tmp_path / "run" / "features.parquet")
    assert len(feats) >= 55 and feats["high_response_pct"].notna().all()
    assert (pd.read_parquet(tmp_path / "run" / "placebo.parquet")["null_source"] == "pseudo_events").all()
    assert (tmp_path / "run" / "personas.parquet").exists()
    targets = pd.read_csv(tmp_path / "run" / "targets.csv")
    assert len(targets) == 0  # no control households: no customer book to rank
    html = (tmp_path / "run" / "report.html").read_text()
    assert "No control group was used" in html and "pseudo events" in html
    assert "Event-day spillover" in html

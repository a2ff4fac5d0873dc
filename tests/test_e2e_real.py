"""The whole pipeline on real LCL fragments (issue 6 and 8 acceptance): hh2013 pieces + the real tariff,
households file and Kaggle daily baseline → a report; ``flexpersona eda`` works on the finished run."""

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from flexpersona.cli import main
from flexpersona.config import Config
from flexpersona.pipeline import STAGES, run
from paths import LCL

pytestmark = [
    pytest.mark.skipif(not (LCL / "hh2013").is_dir(), reason="../shared/data/lcl is absent"),
    pytest.mark.slow,
]

# Two control pieces and two dToU pieces (the hh2013 folder holds pieces 1-20 Std and 135-149 ToU).
PIECES = ["block2sep.csv", "block3sep.csv", "block137sep.csv", "block138sep.csv"]


@pytest.fixture(scope="module")
def real_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("real-run")
    cfg = Config().replace(features={"bootstrap_replicates": 100}, personas={"bootstrap_resamples": 20})
    result = run(
        [LCL / "hh2013" / p for p in PIECES],
        out,
        config=cfg,
        tariff=LCL / "tariffs" / "Tariffs.xlsx",
        households=LCL / "households" / "informations_households.csv",
        daily=[LCL / "kaggle_daily"],
    )
    return out, result


def test_real_run_ends_with_a_report(real_run):
    out, result = real_run
    assert result.ran == list(STAGES)
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "<script src=" not in html and '<link rel="stylesheet" href="http' not in html
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["stages"]) == set(STAGES)
    info = manifest["stages"]["features"]["counts"]["info"]
    assert info["reference"] == "within_trial"  # real 2013-only files: no half-hourly baseline
    features = pd.read_parquet(out / "features.parquet")
    ledger = pd.read_parquet(out / "ledger.parquet")
    kept_treatment = ledger[(ledger["group"] == "treatment") & (ledger["status"] == "kept")]
    assert set(features["household_id"]) == set(kept_treatment["household_id"])
    # Every input household is accounted for in the ledger.
    ids = set()
    for p in PIECES:
        ids |= set(pd.read_csv(LCL / "hh2013" / p, usecols=["LCLid"])["LCLid"])
    assert ids == set(ledger["household_id"])
    summary = json.loads((out / "explain" / "summary.json").read_text())
    assert summary["survey_given"] is False
    assert (out / "toolkit.md").exists() and (out / "targets.csv").exists()


def test_eda_command_on_the_finished_real_run(real_run):
    out, _ = real_run
    result = CliRunner().invoke(main, ["eda", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "eda" / "summary.json").exists()
    assert list((out / "figures").glob("eda_*.png"))


@pytest.mark.browser
def test_real_report_renders_the_honest_numbers_in_a_browser(real_run, open_report):
    """Issue 12: the real run's report opens offline with "How far to trust this" first, its prior and
    persistence figures drawn, and first-screen cards that carry their intervals."""
    out, _ = real_run

    def inspect(page):
        return {
            "first": page.evaluate("document.querySelector('main section').id"),
            "trust_paragraphs": page.evaluate("document.querySelectorAll('#trust p').length"),
            "prior": page.evaluate("!!document.querySelector('#fig-prior_high .main-svg')"),
            "persistence": page.evaluate("!!document.querySelector('#fig-persistence .main-svg')"),
            "cards": page.evaluate("Array.from(document.querySelectorAll('.keynum')).map(d => d.textContent)"),
            "trust_text": page.evaluate("document.querySelector('#trust').textContent"),
        }

    got, problems, external = open_report(out / "report.html", inspect)
    assert not problems, problems
    assert not external, external
    assert got["first"] == "trust"
    assert got["trust_paragraphs"] >= 5 and got["prior"] and got["persistence"]
    assert "95% interval" in got["trust_text"] and "second half" in got["trust_text"]
    numbered = [c for c in got["cards"] if "%" in c or "kW" in c]
    assert numbered and all("interval" in c for c in numbered), got["cards"]


def test_score_a_real_household_with_the_real_runs_saved_model(real_run, tmp_path):
    """Issue 15 on real files: the run's lifestyle came from the Kaggle daily table, so scoring a London
    Datastore household recomputes daily totals of 2012 from its half-hours; MAC000002's readings start in
    October 2012 (21% of the year), which the ledger's 25% rule calls too short: a reason, no score."""
    out, _ = real_run
    assert json.loads((out / "features_info.json").read_text())["lifestyle_source"] == "daily"
    result = CliRunner().invoke(main, ["score", str(out), str(LCL / "datastore" / "MAC000002.csv"),
                                       "--out", str(tmp_path / "scores.csv")])
    assert result.exit_code == 0, result.output
    scores = pd.read_csv(tmp_path / "scores.csv")
    assert scores["household_id"].tolist() == ["MAC000002"] and scores["rank"].isna().all()
    assert "complete days of 2012" in scores.loc[0, "reason"] and "21%" in scores.loc[0, "reason"]
    # its training households are scored from their own files: hh2013 holds 2013 only, so all are too short
    result = CliRunner().invoke(main, ["score", str(out), str(LCL / "hh2013" / PIECES[0]),
                                       "--out", str(tmp_path / "book.csv")])
    assert result.exit_code == 0, result.output
    assert pd.read_csv(tmp_path / "book.csv")["reason"].str.startswith("too short").all()

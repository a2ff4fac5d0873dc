"""Issue 13's found bugs of the stage commands on a run folder, each with a test that failed before the fix:

- ``flexpersona features RUN/store --out RUN`` overwrote the run's manifest with another schema;
- ``flexpersona personas RUN`` ignored the run's config;
- a typo in ``personas.algorithms`` surfaced only after ingest and features had run.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from flexpersona.cli import main
from flexpersona.pipeline import STAGES

pytestmark = pytest.mark.slow

CONFIG = """
[features]
bootstrap_replicates = 40
prevalence_replicates = 20
[personas]
bootstrap_resamples = 5
gmm_restarts = 2
names = { P1 = "Early birds" }
[explain]
bootstrap_replicates = 50
outer_folds = 3
[toolkit]
cv_repeats = 2
"""


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    base = tmp_path_factory.mktemp("stagecmd")
    data = base / "in"
    r = CliRunner().invoke(main, ["simulate", str(data), "--treatment", "40", "--control", "60", "--seed", "5",
                                  "--personas", "three"])  # fmt: skip
    assert r.exit_code == 0, r.output
    cfg = base / "run.toml"
    cfg.write_text(CONFIG)
    run = base / "run"
    r = CliRunner().invoke(main, ["run", str(data), "--out", str(run), "--config", str(cfg)])
    assert r.exit_code == 0, r.output
    return run


def test_features_on_the_run_store_keeps_the_run_manifest(run_folder):
    before = json.loads((run_folder / "manifest.json").read_text())
    r = CliRunner().invoke(main, ["features", str(run_folder / "store"), "--out", str(run_folder)])
    assert r.exit_code == 0, r.output
    after = json.loads((run_folder / "manifest.json").read_text())
    assert set(after) >= {"config", "inputs", "stages", "versions"} and "store" not in after
    assert set(after["stages"]) == set(STAGES)  # every stage's record kept
    assert after["inputs"] == before["inputs"]
    assert after["config"] == before["config"]  # the run's config, not the defaults
    assert after["config"]["features"]["bootstrap_replicates"] == 40
    assert after["stages"]["features"]["finished"] >= before["stages"]["features"]["finished"]


def test_personas_command_uses_the_run_config(run_folder):
    r = CliRunner().invoke(main, ["personas", str(run_folder)])
    assert r.exit_code == 0, r.output
    stability = json.loads((run_folder / "stability.json").read_text())
    names = {p["persona_name"] for p in stability.get("personas", [])}
    assert "Early birds" in names, names  # personas.names of the run's config
    manifest = json.loads((run_folder / "manifest.json").read_text())
    assert manifest["config"]["personas"]["names"] == {"P1": "Early birds"}


def test_a_config_typo_stops_before_any_work(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[personas]\nalgorithms = ["kmeans", "gmmm"]\n')
    data = tmp_path / "in"
    data.mkdir()
    (data / "x.csv").write_text("LCLid,DateTime,KWH/hh (per half hour)\n")
    r = CliRunner().invoke(main, ["run", str(data), "--out", str(tmp_path / "run"), "--config", str(bad)])
    assert r.exit_code == 2
    assert "personas.algorithms" in r.output and "gmmm" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "run" / "store").exists()  # nothing was ingested

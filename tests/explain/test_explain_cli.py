"""``flexpersona explain RUN`` on a run folder made in tmp_path."""

import json

import pandas as pd
from _explain_planted import make_inputs
from click.testing import CliRunner

from flexpersona.cli import main
from flexpersona.store import Store, write_table

FAST_TOML = "[explain]\nbootstrap_replicates = 100\npermutation_repeats = 2\nouter_folds = 3\n"


def _run_folder(tmp_path, *, survey=True, lifestyle_file=True):
    personas, lifestyle, households, srv = make_inputs(150, seed=8, survey=survey)
    run = tmp_path / "run"
    write_table(personas, run / "personas.parquet")
    if lifestyle_file:
        write_table(lifestyle, run / "lifestyle.parquet")
    else:  # only features.parquet, with an outcome column that must be ignored
        write_table(lifestyle.drop(columns=["group"]).assign(high_response_pct=1.0), run / "features.parquet")
    store = Store(run / "store")
    store.write("households", households)
    if srv is not None:
        store.write("survey", srv)
    cfg = tmp_path / "fast.toml"
    cfg.write_text(FAST_TOML)
    return run, cfg


def test_explain_command_writes_tables_and_summary(tmp_path):
    run, cfg = _run_folder(tmp_path)
    result = CliRunner().invoke(main, ["explain", str(run), "--config", str(cfg)])
    assert result.exit_code == 0, result.output
    assert "A survey was given" in result.output and "Best model" in result.output
    out = run / "explain"
    for name in ("tests", "model_comparison", "importance", "logit", "barriers", "motivations",
                 "barrier_heatmap", "strategic_map", "survey_coverage", "survey_unknown", "rf_seed"):  # fmt: skip
        assert (out / f"{name}.csv").exists(), name
    summary = json.loads((out / "summary.json").read_text())
    tests = pd.read_csv(out / "tests.csv")
    assert {"q", "effect_size", "effect_name", "significant"} <= set(tests.columns)
    assert summary["n_tested"] == len(tests)


def test_explain_command_falls_back_to_features_without_survey(tmp_path):
    run, cfg = _run_folder(tmp_path, survey=False, lifestyle_file=False)
    result = CliRunner().invoke(main, ["explain", str(run), "--config", str(cfg)])
    assert result.exit_code == 0, result.output
    summary = json.loads((run / "explain" / "summary.json").read_text())
    assert summary["survey_given"] is False
    assert "evening_share" in summary["predictors"] and "high_response_pct" not in summary["predictors"]
    assert "No survey was given" in result.output


def test_explain_command_without_personas_says_what_to_run(tmp_path):
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(main, ["explain", str(tmp_path / "empty")])
    assert result.exit_code == 2
    assert "personas" in result.output

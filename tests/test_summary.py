"""The terminal summary at the end of ``flexpersona run``: its numbers are the run folder's own."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from flexpersona.cli import main
from flexpersona.summary import pct_interval, run_summary


@pytest.fixture(scope="module")
def simulated_run(tmp_path_factory):
    """``flexpersona run`` on a small simulated trial (London Datastore layout, 2013): (output, run folder)."""
    from flexpersona.simulate import simulate_trial, write_trial

    tmp = tmp_path_factory.mktemp("summary")
    trial = simulate_trial(40, 40, seed=5, start="2013-01-01", end="2013-12-31", survey=False, daily=False)
    write_trial(trial, tmp / "input", "datastore")
    cfg = tmp / "fast.toml"
    cfg.write_text("[features]\nbootstrap_replicates = 50\n[personas]\nbootstrap_resamples = 10\n")
    result = CliRunner().invoke(main, ["run", str(tmp / "input"), "--out", str(tmp / "run"), "--config", str(cfg)])
    assert result.exit_code == 0, result.output
    return result.output, tmp / "run"


@pytest.mark.slow
def test_terminal_summary_shows_the_numbers_of_features_info(simulated_run):
    output, run = simulated_run
    info = json.loads((run / "features_info.json").read_text())
    high = info["cohort_response"]["treatment"]["high"]
    low = info["cohort_response"]["treatment"]["low"]
    expected_high = f"cohort High response: {high['pct']:+.1f}% (95% interval {high['ci_low']:+.1f}% to {high['ci_high']:+.1f}%)"
    expected_low = f"cohort Low response: {low['pct']:+.1f}% (95% interval {low['ci_low']:+.1f}% to {low['ci_high']:+.1f}%)"
    assert expected_high in output and expected_low in output
    ledger = pd.read_parquet(run / "ledger.parquet")
    kept = int((ledger["status"] == "kept").sum())
    assert f"households: {kept:,} kept, {len(ledger) - kept:,} excluded" in output
    tk = json.loads((run / "toolkit.json").read_text())["total"]
    assert (f"kW per 1,000 households at High: {tk['kw_per_1000']:,.1f} (95% interval "
            f"{tk['kw_per_1000_ci_low']:,.1f} to {tk['kw_per_1000_ci_high']:,.1f})") in output
    personas = pd.read_parquet(run / "personas.parquet")
    stab = json.loads((run / "stability.json").read_text())
    if stab.get("structure_found"):
        for name, n in personas.groupby("persona_name").size().items():
            assert f"{name} {n:,}" in output
    else:
        assert "personas: no structure" in output
    assert f"report: {(run / 'report.html').resolve()}" in output
    assert output.index("households:") < output.index("cohort High") < output.index("report:")


def test_summary_of_a_partial_run_and_of_no_structure(tmp_path):
    assert run_summary(tmp_path) == []
    pd.DataFrame({"status": ["kept", "excluded", "excluded"], "reason": [None, "unknown_group", "unknown_group"]}
                 ).to_parquet(tmp_path / "ledger.parquet")
    (tmp_path / "features_info.json").write_text(json.dumps(
        {"cohort_response": {"treatment": {"high": {"pct": -5.04, "ci_low": -6.96, "ci_high": -3.1, "n_households": 1}}}}))
    pd.DataFrame({"household_id": ["a"], "persona_id": ["P0"], "persona_name": ["continuum"]}).to_parquet(
        tmp_path / "personas.parquet")
    (tmp_path / "stability.json").write_text('{"structure_found": false}')
    assert run_summary(tmp_path) == [
        "households: 1 kept, 2 excluded (unknown_group 2)",
        "cohort High response: -5.0% (95% interval -7.0% to -3.1%), 1 treatment households",
        "personas: no structure (households stay on a continuous response scale)",
    ]
    assert pct_interval({"pct": 4.96, "ci_low": None, "ci_high": 7.0}) == "+5.0%"

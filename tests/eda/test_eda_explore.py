"""explore() end to end, the ``flexpersona eda`` command, and a run on real LCL daily data."""

import json

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from _eda_synth import make_features
from click.testing import CliRunner

from flexpersona.cli import main
from flexpersona.config import Config
from flexpersona.eda import explore
from paths import SHARED_DATA as DATA


def test_explore_on_a_seed_compatible_table():
    df = make_features(250, 21, volatility_effect=4.0)
    res = explore(df, Config())
    assert {"feature_summary", "corr_all", "corr_key", "hypotheses", "responder_sign", "super_responders",
            "performance_potential"} <= set(res.tables)
    assert {"seed_panel", "corr_all", "corr_key", "hyp_volatility_response", "hyp_peakratio_response",
            "hyp_response_savings", "hyp_peakratio_savings", "responders_box", "super_responders",
            "performance_potential", "hist_intrinsic_daily_volatility"} <= set(res.figures)
    assert all(isinstance(f, go.Figure) for f in res.figures.values())
    assert res.summary["skipped"] == {}
    json.dumps(res.summary)  # JSON-able as written to summary.json
    # hover names households
    scatter = res.figures["hyp_volatility_response"].data[0]
    assert set(scatter.customdata) <= set(df["household_id"]) and len(scatter.customdata) == 250
    # captions are built from the tables' numbers
    row = res.tables["hypotheses"].set_index("view").loc["volatility_response"]
    assert f"rho = {row['rho']:.2f}" in res.captions["hyp_volatility_response"]
    assert res.summary["hypotheses"]["volatility_response"]["significant"] is True
    assert res.summary["hypotheses"]["volatility_response"]["rho"] > 0
    counts = res.tables["performance_potential"]
    assert counts["n"].sum() == 250
    assert f"{counts['n'].iloc[0]} (" in res.captions["performance_potential"]
    # every summary row carries a unit where the contract defines one
    summary = res.tables["feature_summary"].set_index("feature")
    assert summary.loc["intrinsic_daily_volatility", "unit"] == "kWh/day"


def test_explore_on_real_shaped_table_skips_what_it_cannot_show():
    res = explore(make_features(200, 3, volatility_effect=-4.0, real_shaped=True), Config())
    assert res.summary["response_source"] == "high_response_pct_weekday"
    assert "flipped" in res.summary["response_note"]
    assert {"hyp_peakratio_response", "hyp_peakratio_savings"} <= set(res.summary["skipped"])
    assert "performance_potential" not in res.summary["skipped"]  # trial-year axes (evening share, response)
    assert res.captions["performance_potential"].startswith("Performance-potential matrix: evening_share")
    assert res.summary["hypotheses"]["volatility_response"]["rho"] < 0
    assert "not available" in res.captions["seed_panel"].lower()


def test_correlation_method_comes_from_the_config():
    df = make_features(120, 2)
    sp = explore(df, Config())
    pe = explore(df, Config().replace(report={"correlation": "pearson"}))
    assert sp.summary["correlation_method"] == "spearman" and pe.summary["correlation_method"] == "pearson"
    a = sp.tables["corr_all"].set_index("feature")
    b = pe.tables["corr_all"].set_index("feature")
    assert not np.allclose(a.to_numpy(dtype=float), b.to_numpy(dtype=float), equal_nan=True)
    assert "Pearson" in pe.captions["corr_all"]


@pytest.mark.slow
def test_eda_command_writes_tables_summary_and_figures(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    cols = ["household_id", "high_response_pct_weekday", "intrinsic_daily_volatility", "mean_daily_kwh",
            "bill_saving_behavioural_pct", "peak_reduction_pct_weekday"]  # few features: few figures to draw
    make_features(120, 8, volatility_effect=3.0, real_shaped=True)[cols].to_parquet(run / "features.parquet")
    result = CliRunner().invoke(main, ["eda", str(run), "--correlation", "pearson"])
    assert result.exit_code == 0, result.output
    assert "skipped hyp_peakratio_response" in result.output
    summary = json.loads((run / "eda" / "summary.json").read_text())
    assert summary["correlation_method"] == "pearson"
    assert summary["captions"]["hyp_volatility_response"].startswith("Daily volatility")
    hyp = pd.read_csv(run / "eda" / "hypotheses.csv")
    assert set(hyp["view"]) == {"volatility_response", "peakratio_response", "response_savings",
                                "peakratio_savings"}
    for name in summary["figures_saved"]:
        assert (run / "figures" / f"{name}.png").stat().st_size > 0
        assert (run / "figures" / f"{name}.svg").stat().st_size > 0
    assert "eda_hyp_volatility_response" in summary["figures_saved"]


def test_eda_command_without_features_says_what_to_do(tmp_path):
    result = CliRunner().invoke(main, ["eda", str(tmp_path)])
    assert result.exit_code == 2
    assert "features.parquet" in result.output and "flexpersona run" in result.output


def _real_lifestyle_features() -> pd.DataFrame:
    """Pre-trial daily lifestyle features of the real ToU households (Kaggle daily data, 2012 complete days)."""
    import duckdb

    con = duckdb.connect()
    try:
        return con.execute(
            """
            WITH d AS (
                SELECT LCLid AS household_id, CAST(day AS DATE) AS day, TRY_CAST(energy_sum AS DOUBLE) AS kwh
                FROM read_csv($daily, header = true, all_varchar = true)
                WHERE TRY_CAST(energy_count AS INTEGER) = 48 AND year(CAST(day AS DATE)) = $year
            ), h AS (
                SELECT LCLid AS household_id FROM read_csv($households, header = true, all_varchar = true)
                WHERE trim(stdorToU) = 'ToU'
            )
            SELECT household_id, stddev_samp(kwh) AS intrinsic_daily_volatility,
                   avg(kwh) / (max(kwh) + 1e-6) AS intrinsic_load_factor, avg(kwh) AS mean_daily_kwh
            FROM d JOIN h USING (household_id)
            WHERE kwh IS NOT NULL
            GROUP BY household_id HAVING count(*) >= 30
            ORDER BY household_id
            """,
            {"daily": str(DATA / "lcl" / "kaggle_daily" / "block_*.csv"), "year": 2012,
             "households": str(DATA / "lcl" / "households" / "informations_households.csv")},
        ).df()
    finally:
        con.close()


@pytest.mark.skipif(not (DATA / "lcl" / "kaggle_daily").is_dir(), reason="shared LCL data absent")
def test_explore_on_real_daily_lifestyle_features():
    feats = _real_lifestyle_features()
    assert len(feats) > 100
    # a real 2013-only run: no seed columns, no response yet -> every response view skipped, nothing crashes
    feats["peak_reduction_pct_weekday"] = np.nan
    feats["base_peak_to_offpeak_ratio"] = np.nan
    res = explore(feats, Config())
    assert res.summary["response_source"] is None
    assert {"hyp_volatility_response", "responders_box", "super_responders", "performance_potential"} <= set(
        res.summary["skipped"])
    s = res.tables["feature_summary"].set_index("feature")
    assert s.loc["mean_daily_kwh", "count"] == len(feats)
    assert 4 < s.loc["mean_daily_kwh", "median"] < 15  # kWh/day of a London home
    assert s.loc["peak_reduction_pct_weekday", "share_missing"] == 1.0
    assert "hist_intrinsic_daily_volatility" in res.figures and "corr_key" in res.figures


def test_explore_takes_missing_volatility_from_lifestyle():
    df = make_features(150, 4, volatility_effect=5.0, real_shaped=True)
    life = df[["household_id", "intrinsic_daily_volatility"]].copy()
    df["intrinsic_daily_volatility"] = np.nan  # as the features stage writes it on 2013-only data
    bare = explore(df, Config())
    assert "hyp_volatility_response" in bare.summary["skipped"]
    res = explore(df, Config(), lifestyle=life)
    assert res.summary["filled_from_lifestyle"] == {"intrinsic_daily_volatility": 150}
    assert res.summary["hypotheses"]["volatility_response"]["significant"]
    assert res.summary["hypotheses"]["volatility_response"]["rho"] > 0


@pytest.mark.slow
def test_report_shows_the_eda_stage_output_not_a_recomputation(tmp_path, monkeypatch):
    """The report's Exploration section is the eda stage's output (same tables), recomputed only when stale."""
    import os

    import flexpersona.eda as eda
    from flexpersona.config import Config
    from flexpersona.report import html as report_html

    run = tmp_path / "run"
    run.mkdir()
    cols = ["household_id", "high_response_pct_weekday", "intrinsic_daily_volatility", "mean_daily_kwh",
            "bill_saving_behavioural_pct", "peak_reduction_pct_weekday"]
    make_features(120, 8, volatility_effect=3.0, real_shaped=True)[cols].to_parquet(run / "features.parquet")
    saved = eda.explore_run(run, Config())
    loaded = eda.load_eda(run)
    assert loaded is not None and list(loaded.tables) == list(saved.tables)
    assert list(loaded.figures) == list(saved.figures) and loaded.captions == saved.captions
    pd.testing.assert_frame_equal(loaded.tables["hypotheses"], pd.read_csv(run / "eda" / "hypotheses.csv"))
    for name, fig in saved.figures.items():
        assert json.loads(loaded.figures[name].to_json()) == json.loads(fig.to_json()), name

    def boom(*a, **k):
        raise AssertionError("recomputed")

    monkeypatch.setattr(eda, "explore", boom)
    t = report_html.load_run(run)
    sec = report_html._exploration(t, Config(), {})
    assert sec is not None and not sec.notes and len(sec.tables) == len(saved.tables)
    # features newer than the exploration: it no longer describes them, so the report computes it again
    later = (run / "eda" / "summary.json").stat().st_mtime + 10
    os.utime(run / "features.parquet", (later, later))
    assert eda.load_eda(run) is None
    sec = report_html._exploration(t, Config(), {})
    assert any("recomputed" in n for n in sec.notes)

"""report.html from a fabricated run folder: self-contained, figures saved, numbers from the tables."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from fabricated_run import fabricate_run

from flexpersona.cli import main
from flexpersona.config import Config
from flexpersona.errors import StageError
from flexpersona.report import html as report_html
from flexpersona.report import plotlyjs_source, write_report


@pytest.mark.slow
def test_report_is_self_contained_with_plotlyjs_once(written_report):
    page = written_report.read_text(encoding="utf-8")
    js = plotlyjs_source()
    assert page.count(js[:300]) == 1
    page = page.replace(js, "")  # plotly.js itself holds link texts (never fetched; the browser test checks)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page), "external resource referenced"
    assert "<link" not in page
    assert "cdn.plot.ly" not in page


@pytest.mark.slow
def test_every_figure_is_embedded_and_saved_as_png_and_svg(written_report):
    page = written_report.read_text(encoding="utf-8")
    names = re.findall(r'<div id="fig-([\w-]+)"', page)
    expected = {"caterpillar", "response_hist", "events", "selection", "pca_map", "persona_profiles", "performance_potential",
                "strategic_map", "barrier_heatmap", "toolkit_kw", "qini", "response_by_persona"}
    assert expected <= set(names), expected - set(names)
    fig_dir = written_report.parent / "figures"
    for n in names:
        assert (fig_dir / f"{n}.png").stat().st_size > 2000, n
        assert b"<svg" in (fig_dir / f"{n}.svg").read_bytes()


@pytest.mark.slow
def test_numbers_in_text_come_from_the_run_tables(written_report, fabricated_run):
    page = written_report.read_text(encoding="utf-8")
    ledger = pd.read_parquet(fabricated_run / "ledger.parquet")
    kept = int((ledger["status"] == "kept").sum())
    assert f"The ledger holds {len(ledger):,} input households: {kept:,} kept" in page
    import json

    tk = json.loads((fabricated_run / "toolkit.json").read_text())
    assert f"{tk['total']['kw_per_1000']:,.1f} kW per 1,000 households" in page
    feats = pd.read_parquet(fabricated_run / "features.parquet")
    assert f"Median household High-price response {feats['high_response_pct'].median():,.1f}%" in page
    assert f"The mean, {feats['high_response_pct'].mean():,.1f}%" in page
    assert "household %{customdata}" in page and "D0000" in page  # hover carries household ids


def _sections(run, monkeypatch, config=None):
    monkeypatch.setattr(report_html, "_exploration", lambda t, c, f: None)  # the EDA section is tested by eda
    t = report_html.load_run(run)
    fast = Config().replace(toolkit={"n_estimators": 5, "bootstrap_replicates": 100})
    sections, figs, facts = report_html.build_report(t, config or fast)
    return {s.id: s for s in sections}, figs, facts


def test_numbers_follow_the_tables(tmp_path, monkeypatch):
    run = fabricate_run(tmp_path / "r", n_t=40, n_c=30, toolkit=False)
    ledger = pd.read_parquet(run / "ledger.parquet")
    ledger.iloc[:-7].to_parquet(run / "ledger.parquet", index=False)
    secs, _, facts = _sections(run, monkeypatch)
    assert facts["n_input_households"] == f"{len(ledger) - 7:,}"
    assert any(f"{len(ledger) - 7:,} input households" in p for p in secs["quality"].paragraphs)
    # toolkit.json absent: computed in memory and said so
    assert any("computed for this report" in n for n in secs["toolkit"].notes)
    assert "toolkit_kw" in secs["toolkit"].figures


def test_no_survey_and_no_structure_are_reported_not_crashed(tmp_path, monkeypatch):
    run = fabricate_run(tmp_path / "nosurvey", n_t=40, n_c=30, survey=False, toolkit=False)
    secs, figs, _ = _sections(run, monkeypatch)
    assert "strategic_map" not in figs and "barrier_heatmap" not in figs
    assert any("No survey" in n for n in secs["explain"].notes)
    run2 = fabricate_run(tmp_path / "nostruct", n_t=40, n_c=30, structure=False, toolkit=False)
    (run2 / "stability.json").write_text('{"existence": {"structure_found": false, "p_value": 0.6}}')  # nested
    secs, figs, facts = _sections(run2, monkeypatch)
    assert facts["structure_found"] is False
    assert any("No persona structure" in p for p in secs["personas"].paragraphs)
    assert "persona_profiles" not in figs and "pca_map" in figs


def test_minimal_run_folder_with_features_only(tmp_path, monkeypatch):
    run = fabricate_run(tmp_path / "full", n_t=30, n_c=20, toolkit=False)
    bare = tmp_path / "bare"
    bare.mkdir()
    shutil.copy(run / "features.parquet", bare / "features.parquet")
    secs, figs, _ = _sections(bare, monkeypatch)
    assert "caterpillar" in figs
    assert any("No ledger" in n for n in secs["quality"].notes)


def test_missing_features_is_a_stage_error(tmp_path):
    with pytest.raises(StageError, match="features.parquet is missing"):
        write_report(tmp_path)


def test_toolkit_command_scales_to_population(tmp_path):
    run = fabricate_run(tmp_path / "r", n_t=60, n_c=30, toolkit=False)
    cfg = tmp_path / "c.toml"
    cfg.write_text("[toolkit]\nn_estimators = 5\nbootstrap_replicates = 100\n")
    result = CliRunner().invoke(main, ["toolkit", str(run), "--population", "2000", "--config", str(cfg)])
    assert result.exit_code == 0, result.output
    import json

    tk = json.loads((run / "toolkit.json").read_text())
    assert tk["population"] == 2000
    assert (run / "targets.csv").exists() and (run / "qini.csv").exists() and (run / "toolkit.md").exists()
    # without --config the run's own config (manifest.json) applies
    (run / "manifest.json").write_text(json.dumps({"config": {"toolkit": {"population": 777, "n_estimators": 5,
                                                                          "bootstrap_replicates": 100}}}))
    assert CliRunner().invoke(main, ["toolkit", str(run)]).exit_code == 0
    assert json.loads((run / "toolkit.json").read_text())["population"] == 777
    bad = CliRunner().invoke(main, ["report", str(tmp_path)])
    assert bad.exit_code == 2 and "features.parquet is missing" in bad.output


def test_personas_stage_side_tables_are_used(tmp_path, monkeypatch):
    """persona_pca.csv (pc1, pc2), persona_matrix.csv and a wide median_/ratio_ profile, as the personas stage writes."""
    run = fabricate_run(tmp_path / "r", n_t=40, n_c=20, toolkit=False)
    pers = pd.read_parquet(run / "personas.parquet")
    pd.DataFrame({"household_id": pers["household_id"], "pc1": range(len(pers)), "pc2": 0.0}).to_csv(run / "persona_pca.csv", index=False)
    pd.DataFrame({"persona_id": ["P1"], "persona_name": ["Engaged Shifters"], "quadrant": ["high performance, high potential"],
                  "n": [10], "row_pct": [100.0]}).to_csv(run / "persona_matrix.csv", index=False)
    prof = pd.read_csv(run / "persona_profiles.csv")
    prof = prof.rename(columns={c: f"median_{c}" for c in prof.columns if c not in ("persona_id", "persona_name", "n_households")})
    prof["ratio_high_response_pct"] = 1.0
    prof.to_csv(run / "persona_profiles.csv", index=False)
    secs, figs, _ = _sections(run, monkeypatch)
    xs = sorted(v for tr in figs["pca_map"].data for v in tr.x)
    assert xs == list(range(len(pers)))
    captions = [c for c, _ in secs["matrix"].tables]
    assert any("persona_matrix.csv" in c for c in captions)
    profile_tbl = dict(secs["personas"].tables)["Persona profiles (persona_profiles.csv; key medians)"]
    assert "median_high_response_pct" in profile_tbl and "ratio_high_response_pct" not in profile_tbl


def test_planted_vs_recovered_only_with_a_truth_file(tmp_path, monkeypatch):
    from sklearn.metrics import adjusted_rand_score

    run = fabricate_run(tmp_path / "truth", n_t=60, n_c=20, toolkit=False, truth=True)
    secs, figs, facts = _sections(run, monkeypatch)
    s = secs["recovery"]
    assert list(secs).index("recovery") == list(secs).index("trial") + 1
    assert "recovery" in figs and "recovery" in s.figures
    truth = pd.read_csv(run / "truth.csv")
    feats = pd.read_parquet(run / "features.parquet")
    pers = pd.read_parquet(run / "personas.parquet")
    d = feats.merge(truth, on="household_id").merge(pers, on="household_id")
    ari = adjusted_rand_score(d["persona"], d["persona_name"])
    text = " ".join(s.paragraphs)
    assert f"adjusted Rand index {ari:.2f}" in text
    cover = ((d["high_effect_pct"] >= d["high_response_ci_low"]) & (d["high_effect_pct"] <= d["high_response_ci_high"])).mean()
    assert f"for {100 * cover:.0f}% of households" in text
    conf = dict(s.tables)["Households by planted persona (rows) and recovered persona (columns)"]
    assert "planted_P1" in conf and "Engaged Shifters" in conf
    assert facts["recovery"]["persona_ari"] == pytest.approx(ari)
    # with empirical-Bayes posteriors: their error and the coverage of their intervals
    post = feats.assign(high_response_post=feats["high_response_pct"] / 2, high_response_post_ci_low=-100.0,
                        high_response_post_ci_high=feats["high_response_pct"] / 2 + 1)
    post.to_parquet(run / "features.parquet", index=False)
    d = post.merge(truth, on="household_id")
    cover = (d["high_effect_pct"] <= d["high_response_post_ci_high"]).mean()
    secs, _, _ = _sections(run, monkeypatch)
    text = " ".join(secs["recovery"].paragraphs)
    assert f"Posterior means (empirical Bayes, high_response_post): error spread {(d['high_response_post'] - d['high_effect_pct']).std():,.1f} pp" in text
    assert f"their 95% intervals cover the planted value for {100 * cover:.0f}% of households" in text
    # the same run without truth.csv: no such section
    (run / "truth.csv").unlink()
    secs, figs, _ = _sections(run, monkeypatch)
    assert "recovery" not in secs and "recovery" not in figs


def test_truth_file_found_in_the_runs_input_folder(tmp_path):
    from flexpersona.simulate.recovery import find_truth

    run, data = tmp_path / "run", tmp_path / "input"
    run.mkdir()
    data.mkdir()
    assert find_truth(run, [str(data)]) is None
    (data / "truth.csv").write_text("household_id,group,persona,high_effect_pct,low_effect_pct\nD1,treatment,x,1,2\n")
    assert find_truth(run, [str(data)]) == data / "truth.csv"
    assert find_truth(run, [str(data / "consumption_d.csv")]) == data / "truth.csv"  # beside an input file
    (run / "truth.csv").write_text("household_id,other\nD1,1\n")  # lacks the truth columns: ignored
    assert find_truth(run, [str(data)]) == data / "truth.csv"


def test_first_screen_cards_lead_with_the_median_and_the_posterior_when_present(tmp_path, monkeypatch):
    from flexpersona.report.first_screen import first_screen_cards

    run = fabricate_run(tmp_path / "r", n_t=40, n_c=20, toolkit=False)
    feats = pd.read_parquet(run / "features.parquet")
    feats.loc[:4, "high_response_pct"] = -90.0  # a heavy tail drags the mean, not the median
    feats.to_parquet(run / "features.parquet", index=False)
    (run / "features_info.json").write_text(
        '{"cohort_response": {"treatment": {"high": {"pct": -5.2, "ci_low": -6.1, "ci_high": -4.3}}}}')
    t = report_html.load_run(run)
    _, _, facts = _sections(run, monkeypatch)
    cards = {c.id: c for c in first_screen_cards(t, facts)}
    high = cards["high_response"]
    assert high.value == f"{feats['high_response_pct'].median():,.1f}%" and "median" in high.label
    assert f"mean {feats['high_response_pct'].mean():,.1f}%" in high.detail and high.detail.startswith("95% interval")
    assert cards["responders"].detail.startswith("95% interval")  # every number on the first screen has one
    assert cards["cohort_high"].value == "-5.2%" and cards["cohort_high"].detail == "95% interval -6.1 to -4.3"
    assert {"households", "responders", "kw"} <= set(cards)
    # with the empirical-Bayes posterior the headline is the median posterior mean
    feats["high_response_post"] = feats["high_response_pct"].clip(lower=-40) / 2
    feats.to_parquet(run / "features.parquet", index=False)
    (run / "features_info.json").write_text(
        '{"cohort_response": {"treatment": {"high": {"pct": -5.2, "ci_low": -6.1, "ci_high": -4.3}}},'
        ' "prevalence": {"high_below_-5": {"share": 0.31, "ci_low": 0.22, "ci_high": 0.4}}}')
    t = report_html.load_run(run)
    _, _, facts = _sections(run, monkeypatch)
    cards = {c.id: c for c in first_screen_cards(t, facts)}
    high = cards["high_response"]
    assert high.value == f"{feats['high_response_post'].median():,.1f}%" and "posterior" in high.label
    assert f"raw estimates: median {feats['high_response_pct'].median():,.1f}%" in high.detail
    # with the prevalence (empirical Bayes) its card replaces the count of significant responders
    assert cards["prevalence"].value == "31%" and cards["prevalence"].detail == "95% interval 22 to 40%"
    assert "responders" not in cards


def test_first_screen_interval_helpers():
    from flexpersona.report.first_screen import median_interval, wilson_interval

    v = pd.Series(np.random.default_rng(0).normal(-4, 5, 400))
    med, lo, hi = median_interval(v)
    assert med == pytest.approx(v.median()) and lo < med < hi and hi - lo < 2
    lo, hi = wilson_interval(20, 100)
    assert lo == pytest.approx(0.1333, abs=1e-3) and hi == pytest.approx(0.2888, abs=1e-3)

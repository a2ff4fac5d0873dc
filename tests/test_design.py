"""Issue 15, ``flexpersona design``: the design model calibrated on a real run predicts what the run measured,
its widths shrink with households and events, it agrees with simulated trials, and the CLI, the page and the
report's "Next steps" section are written."""

import math

import pandas as pd
import pytest
from click.testing import CliRunner

import flexpersona as fp
from flexpersona.cli import main
from flexpersona.config import Config
from flexpersona.trialdesign import DESIGN_COLUMNS, LCL, calibrate_run, predict, simulation_check
from paths import LCL as LCL_DATA

# The same hh2013 pieces as tests/test_e2e_real.py: two Std (control) and two dToU (treatment) pieces.
PIECES = ["block2sep.csv", "block3sep.csv", "block137sep.csv", "block138sep.csv"]
real = pytest.mark.skipif(not (LCL_DATA / "hh2013").is_dir(), reason="../shared/data/lcl is absent")


@pytest.fixture(scope="module")
def real_run(tmp_path_factory):
    """The features stage of a run on four real hh2013 pieces (≈ 100 dToU + 100 Std households)."""
    out = tmp_path_factory.mktemp("design-real")
    fp.run([LCL_DATA / "hh2013" / p for p in PIECES], out, config=Config().replace(features={"bootstrap_replicates": 100}),
           tariff=LCL_DATA / "tariffs" / "Tariffs.xlsx", households=LCL_DATA / "households" / "informations_households.csv",
           daily=[LCL_DATA / "kaggle_daily"], stop="features")  # fmt: skip
    return out


@real
@pytest.mark.slow
def test_calibrated_on_a_real_run_the_model_predicts_what_the_run_measured(real_run):
    cal = calibrate_run(real_run)
    own = predict(cal, cal.n_treatment, cal.n_control, cal.n_events)
    m = cal.measured
    assert own["household_se_pp"] == pytest.approx(m["household_se_pp"], rel=0.2)
    assert own["cohort_ci_halfwidth_pp"] == pytest.approx(m["cohort_ci_halfwidth_pp"], rel=0.2)
    # SE ∝ 1/√events, checked against the run's own alternating-week halves (half the events each)
    feats = pd.read_parquet(real_run / "features.parquet")
    half = predict(cal, cal.n_treatment, cal.n_control, cal.n_events / 2)["household_se_pp"]
    for col in ("high_response_se_wa", "high_response_se_wb"):
        assert half == pytest.approx(feats[col].median(), rel=0.2)


@real
@pytest.mark.slow
def test_design_command_calibrated_on_a_run(real_run, tmp_path):
    out = tmp_path / "design"
    result = CliRunner().invoke(main, ["design", "--calibrate", str(real_run), "--out", str(out),
                                       "--treatment", "100,400", "--events", "35,69"])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "design.csv")
    cal = calibrate_run(real_run)
    own = table[(table["n_treatment"] == cal.n_treatment) & (table["n_control"] == cal.n_control)
                & (table["n_events"] == cal.n_events)]
    assert len(own) == 1 and bool(own["calibrating"].iloc[0])


def test_widths_shrink_as_households_and_events_grow():
    sizes, events = [50, 100, 250, 500, 1000, 4000], [10, 20, 35, 69, 140, 300]
    for e in events:
        hw = [predict(LCL, n, n, e)["cohort_ci_halfwidth_pp"] for n in sizes]
        prev = [predict(LCL, n, n, e)["prevalence_ci_width_pp"] for n in sizes]
        assert all(a > b for a, b in zip(hw, hw[1:])) and all(a > b for a, b in zip(prev, prev[1:]))
    for n in sizes:
        rows = [predict(LCL, n, n, e) for e in events]
        for col in ("cohort_ci_halfwidth_pp", "household_se_pp", "prevalence_ci_width_pp"):
            assert all(a[col] > b[col] for a, b in zip(rows, rows[1:])), col
        for col in ("reliability", "persona_recovery_ari"):
            assert all(a[col] < b[col] for a, b in zip(rows, rows[1:])), col
    # the control group matters through its mean error only
    assert predict(LCL, 500, 100, 69)["cohort_ci_halfwidth_pp"] > predict(LCL, 500, 1000, 69)["cohort_ci_halfwidth_pp"]


def test_the_built_in_lcl_calibration_reproduces_the_whole_lcl_run():
    """The built-in numbers come from the whole hh2013 run (docs/design.md): predicted vs measured."""
    own = predict(LCL, LCL.n_treatment, LCL.n_control, LCL.n_events)
    assert own["cohort_ci_halfwidth_pp"] == pytest.approx(LCL.measured["cohort_ci_halfwidth_pp"], rel=0.05)
    assert own["cohort_ci_halfwidth_kw_per_1000"] == pytest.approx(LCL.measured["cohort_ci_halfwidth_kw_per_1000"], rel=0.05)
    assert own["prevalence_ci_width_pp"] == pytest.approx(LCL.measured["prevalence_ci_width_pp"], rel=0.1)


@pytest.mark.slow
def test_analytic_agrees_with_simulated_trials(tmp_path):
    """Calibrated on simulated trials of 40 + 40 households, the model predicts the household SE with half the
    events and the cohort half-width with twice the households; two replicates per point (≈ 50 s).

    The household SE agrees within 10 %. The cohort half-width of an 80 + 80 trial varies by ≈ 15 % between
    replicates (two replicates per point and two at the base: an SE of the comparison ≈ 15 %), so it is checked
    at 35 %; with four replicates of 100 + 100 → 200 + 200 households the difference is quoted in docs/design.md.
    """
    check = simulation_check(2, base=(40, 40, 69), points=((80, 80, 69), (40, 40, 35)), cache=tmp_path)
    sim = check[check["method"] == "simulated"].set_index(["n_treatment", "n_events"])
    ana = check[check["method"] != "simulated"].set_index(["n_treatment", "n_events"])
    assert ana.loc[(40, 35), "household_se_pp"] == pytest.approx(sim.loc[(40, 35), "household_se_pp"], rel=0.1)
    assert ana.loc[(80, 69), "household_se_pp"] == pytest.approx(sim.loc[(80, 69), "household_se_pp"], rel=0.1)
    assert ana.loc[(80, 69), "cohort_ci_halfwidth_pp"] == pytest.approx(sim.loc[(80, 69), "cohort_ci_halfwidth_pp"], rel=0.35)
    again = simulation_check(2, base=(40, 40, 69), points=((80, 80, 69), (40, 40, 35)), cache=tmp_path)
    pd.testing.assert_frame_equal(check, again)  # from the cache


def test_design_command_writes_the_table_figure_and_page(tmp_path):
    out = tmp_path / "d"
    result = CliRunner().invoke(main, ["design", "--out", str(out), "--treatment", "200,800", "--events", "30,90"])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "design.csv")
    assert list(table.columns[: len(DESIGN_COLUMNS)]) == list(DESIGN_COLUMNS)
    assert {(200, 30), (800, 90), (LCL.n_treatment, LCL.n_events)} <= set(zip(table["n_treatment"], table["n_events"]))
    assert table[list(DESIGN_COLUMNS)].notna().all().all()
    assert (out / "design.png").stat().st_size > 1000
    page = (out / "design.html").read_text(encoding="utf-8")
    assert "data:image/png;base64," in page and "cohort_ci_halfwidth_pp" in page
    assert "<script" not in page and (out / "design.html").stat().st_size < 500_000
    bad = CliRunner().invoke(main, ["design", "--out", str(out), "--treatment", "ten"])
    assert bad.exit_code == 2 and "comma-separated" in bad.output


@real
@pytest.mark.slow
def test_report_next_steps_section_renders(real_run):
    from flexpersona.report.html import build_report, load_run
    from flexpersona.report.next_steps import next_steps_section

    tables = load_run(real_run)
    section = next_steps_section(tables, Config())
    assert section is not None and section.id == "next-steps"
    text = " ".join(section.paragraphs)
    assert "twice the households" in text and "twice the High events" in text
    assert section.tables and "household SE" in section.tables[0][1]
    sections, _, facts = build_report(tables, Config())
    assert "next-steps" in [s.id for s in sections] and "next_cohort_halfwidth_double_events" in facts


def test_no_next_steps_section_without_its_inputs(tmp_path):
    """A run without per-household SEs, event counts or cohort intervals gets no section (not an error)."""
    from flexpersona.report.html import load_run
    from flexpersona.report.next_steps import next_steps_section
    from report.fabricated_run import fabricate_run

    assert next_steps_section(load_run(fabricate_run(tmp_path / "run")), Config()) is None


def test_fp_design_is_the_function():
    res = fp.design(n_treatment=[300], n_events=[69])
    assert callable(fp.design) and not math.isnan(res.own_point()["cohort_ci_halfwidth_pp"])

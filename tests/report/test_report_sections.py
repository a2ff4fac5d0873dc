"""The report is one function per section: each takes the run's tables and the config and returns its Section
with its figures and facts; an absent table becomes a note, never an error (older or partial run folders)."""

from __future__ import annotations

import shutil

from fabricated_run import fabricate_run

from flexpersona.config import Config
from flexpersona.report import html as report_html
from flexpersona.report.blocks import Section

FAST = Config().replace(toolkit={"n_estimators": 5, "bootstrap_replicates": 100})


def test_build_report_collects_every_sections_figures_and_facts_in_page_order(tmp_path, monkeypatch):
    monkeypatch.setattr(report_html, "_exploration", lambda t, c, f: None)
    run = fabricate_run(tmp_path / "r", n_t=40, n_c=30)
    sections, figs, facts = report_html.build_report(report_html.load_run(run), FAST)
    assert [s.id for s in sections] == ["trust", "quality", "trial", "responses", "events", "personas", "matrix",
                                        "explain", "toolkit"]
    assert list(figs) == [name for s in sections for name in s.figures]
    assert all(figs[name] is fig for s in sections for name, fig in s.figures.items())
    assert facts == {k: v for s in sections for k, v in s.facts.items()}
    assert facts["n_treatment"] == "40" and facts["structure_found"] is True


def test_every_section_renders_a_features_only_run_folder(tmp_path):
    run = fabricate_run(tmp_path / "full", n_t=30, n_c=20, toolkit=False)
    bare = tmp_path / "bare"
    bare.mkdir()
    shutil.copy(run / "features.parquet", bare / "features.parquet")
    t = report_html.load_run(bare)
    built = {build.__name__: build(t, FAST) for build in report_html.SECTIONS}
    assert built.pop("recovery_section") is None  # no truth.csv: no such section
    assert built.pop("next_steps_section") is None  # no features_info.json (SEs, events): no design model
    assert all(isinstance(s, Section) for s in built.values())
    notes = {name: " ".join(s.notes) for name, s in built.items()}
    assert "No features_info.json" in notes["trust_section"]
    assert "No ledger.parquet" in notes["quality_section"]
    assert "No event-level table" in notes["events_section"]
    assert "No explain/ tables" in notes["explain_section"] and "No survey traits" in notes["explain_section"]
    assert "caterpillar" in built["responses_section"].figures


def test_the_matrix_section_works_on_trial_year_data_without_a_baseline(tmp_path):
    """LCL 2013 alone has no baseline ratio: the matrix uses the evening share and the default response."""
    import numpy as np

    from flexpersona.features.potential import performance_potential

    run = fabricate_run(tmp_path / "r", n_t=40, n_c=30, toolkit=False)
    t = report_html.load_run(run)
    rng = np.random.default_rng(0)
    t.features = t.features.drop(columns=["base_peak_to_offpeak_ratio", "peak_reduction_pct_weekday"],
                                 errors="ignore").assign(evening_share=rng.uniform(0.1, 0.4, len(t.features)))
    s = report_html.SECTIONS[[b.__name__ for b in report_html.SECTIONS].index("matrix_section")](t, FAST)
    assert "performance_potential" in s.figures and not s.notes
    pp = performance_potential(t.features)
    assert s.facts["matrix_y_median"] and pp.x == "evening_share" and "share of daily kWh" in s.paragraphs[0]

"""The report's "Next steps" section: how much the intervals would shrink in a bigger or longer trial.

From the same design model as ``flexpersona design`` (:mod:`flexpersona.trialdesign`), calibrated on this run:
the cohort High interval and the household SE now, with twice the households (treatment and control) and with
twice the High events. Shown only when the run has what the model needs (treatment households with a High
response and SE, and ``features_info.json``).
"""

from __future__ import annotations

import logging

import pandas as pd

from ..config import Config
from ..errors import FlexPersonaError
from ..runfolder import RunFolder
from ..trialdesign import calibrate_tables, predict
from .blocks import Section, fmt, table_html
from .run_tables import RunTables

log = logging.getLogger(__name__)


def _replicates(t: RunTables):
    try:
        return RunFolder(t.run_dir).load("replicates", required=False)
    except (FlexPersonaError, OSError, ValueError) as exc:  # an unreadable optional table: the model falls back
        log.info("next steps: replicates not read (%s)", exc)
        return None


def next_steps_section(t: RunTables, config: Config) -> Section | None:
    """Cohort half-width and household SE now, with twice the households and with twice the events."""
    f, info = t.features, t.feature_info
    need = {"high_response_pct", "high_response_se", "high_baseline_kw", "n_high_halfhours"}
    if f is None or not need <= set(f.columns) or not info.get("cohort_response") or not info.get("n_events"):
        return None
    try:
        cal = calibrate_tables(f, info, t.prior, _replicates(t), source=str(t.run_dir))
    except FlexPersonaError as exc:
        log.info("next steps: no design model (%s)", exc)
        return None
    nt, nc, ne = cal.n_treatment, cal.n_control, cal.n_events
    rows = [("this trial", predict(cal, nt, nc, ne)), ("twice the households", predict(cal, 2 * nt, 2 * nc, ne)),
            ("twice the High events", predict(cal, nt, nc, 2 * ne))]
    now = rows[0][1]
    s = Section("next-steps", "Next steps")
    shrink_n = 1 - rows[1][1]["cohort_ci_halfwidth_pp"] / now["cohort_ci_halfwidth_pp"]
    shrink_e = 1 - rows[2][1]["cohort_ci_halfwidth_pp"] / now["cohort_ci_halfwidth_pp"]
    s.paragraphs.append(
        f"With twice the households ({2 * nt:,d} treatment, {2 * nc:,d} control) the cohort's 95% interval would be "
        f"{fmt(100 * shrink_n, '.0f')}% narrower (±{fmt(rows[1][1]['cohort_ci_halfwidth_pp'], '.2f')} pp instead of "
        f"±{fmt(now['cohort_ci_halfwidth_pp'], '.2f')}); with twice the High events ({2 * ne}) {fmt(100 * shrink_e, '.0f')}% "
        f"narrower, and each household's SE would fall from {fmt(now['household_se_pp'], '.2f')} to "
        f"{fmt(rows[2][1]['household_se_pp'], '.2f')} pp (more households do not make a household's own estimate better).")
    s.paragraphs.append("From the design model calibrated on this run (flexpersona design --calibrate RUN; "
                        "docs/design.md); the cohort interval here adds the control group's mean error.")
    table = pd.DataFrame([{"design": name, "cohort ± pp": fmt(r["cohort_ci_halfwidth_pp"], ".2f"),
                           "cohort ± kW per 1,000": fmt(r["cohort_ci_halfwidth_kw_per_1000"]),
                           "household SE pp": fmt(r["household_se_pp"], ".2f"),
                           "reliability": fmt(r["reliability"], ".2f")} for name, r in rows])
    s.tables.append(("Intervals from the design model", table_html(table)))
    s.facts["next_cohort_halfwidth_double_households"] = fmt(rows[1][1]["cohort_ci_halfwidth_pp"], ".2f")
    s.facts["next_cohort_halfwidth_double_events"] = fmt(rows[2][1]["cohort_ci_halfwidth_pp"], ".2f")
    return s

"""The performance–potential matrix: one rule, used by the personas stage, the exploration and the report."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from flexpersona.eda.responders import performance_potential as eda_matrix
from flexpersona.eda.summary import resolve_inputs
from flexpersona.features.potential import QUADRANTS, performance_potential


def _features(n: int = 40, seed: int = 0, baseline: bool = True) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    f = pd.DataFrame({"household_id": [f"H{i:03d}" for i in range(n)],
                      "evening_share": rng.uniform(0.1, 0.4, n),
                      "high_response_pct": rng.normal(-5, 8, n),
                      "high_response_pct_weekday": rng.normal(-5, 8, n),
                      "peak_reduction_pct_weekday": rng.normal(5, 8, n),
                      "base_peak_to_offpeak_ratio": rng.uniform(1, 3, n)})
    if not baseline:
        f[["peak_reduction_pct_weekday", "base_peak_to_offpeak_ratio"]] = np.nan
    return f


def test_quadrants_follow_the_median_splits_with_ties_low():
    f = pd.DataFrame({"household_id": list("ABCDE"), "base_peak_to_offpeak_ratio": [1.0, 2.0, 3.0, 4.0, 5.0],
                      "high_response_pct": [-20.0, 5.0, -3.0, -30.0, 0.0]})
    pp = performance_potential(f)
    assert (pp.x, pp.y, pp.y_sign) == ("base_peak_to_offpeak_ratio", "high_response_pct", -1.0)
    assert pp.x_median == 3.0 and pp.y_median == 3.0  # performance = −response: 20, −5, 3, 30, 0
    got = dict(zip(pp.assignment["household_id"], pp.assignment["quadrant"], strict=True))
    assert got == {"A": QUADRANTS[(False, True)], "B": QUADRANTS[(False, False)], "C": QUADRANTS[(False, False)],
                   "D": QUADRANTS[(True, True)], "E": QUADRANTS[(True, False)]}
    assert pp.counts()["n"].sum() == 5 and pp.counts()["share"].sum() == pytest.approx(1.0)


def test_without_a_baseline_year_the_matrix_uses_trial_year_axes():
    """LCL 2013 alone: no baseline ratio, so the lifestyle's evening share; the default response as performance."""
    pp = performance_potential(_features(baseline=False))
    assert pp.reason is None and (pp.x, pp.y) == ("evening_share", "high_response_pct")
    assert len(pp.assignment) == 40


def test_no_axis_is_a_reason_not_an_error():
    pp = performance_potential(_features()[["household_id", "high_response_pct"]])
    assert pp.assignment.empty and "no potential column" in pp.reason
    assert pp.by_persona(pd.DataFrame({"household_id": ["H000"], "persona_id": ["P1"], "persona_name": ["x"]})).empty


def test_the_exploration_and_the_persona_table_count_the_same_households():
    f = _features(seed=3)
    pp = performance_potential(f)
    frame, resolved = resolve_inputs(f)
    counts, assignment, splits, reason = eda_matrix(frame, resolved)
    assert reason is None and (splits["x"], splits["y"]) == (pp.x, pp.y)
    assert counts["n"].tolist() == pp.counts()["n"].tolist()
    personas = pd.DataFrame({"household_id": f["household_id"], "persona_id": ["P1", "P2"] * 20,
                             "persona_name": ["One", "Two"] * 20})
    by = pp.by_persona(personas)
    assert by.groupby("quadrant")["n"].sum().reindex(counts["quadrant"]).tolist() == counts["n"].tolist()
    assert by.groupby("persona_id")["row_pct"].sum().tolist() == pytest.approx([100.0, 100.0])

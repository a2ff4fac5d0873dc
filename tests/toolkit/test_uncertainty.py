"""Joint kW intervals (METHODS B.10): households, shared day-block variation and the control group's mean."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from flexpersona.toolkit.uncertainty import group_kw, persona_kw


def _reps(n: int, R: int, common_sd: float, own_sd: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    point = rng.normal(-0.03, 0.05, n)  # kW change per household
    reps = point[:, None] + rng.normal(0, own_sd, (n, R)) + rng.normal(0, common_sd, R)[None, :]
    return point, reps


def _width(res: dict) -> float:
    return res["ci_high"] - res["ci_low"]


def test_shared_day_variation_widens_the_interval_own_noise_does_not():
    n, R = 400, 400
    base = np.full(n, 0.5)
    owner = np.arange(n)
    zero = np.zeros(R)
    point, reps = _reps(n, R, 0.0, 0.05)
    alone = group_kw(point, reps, base, owner, zero, np.random.default_rng(1), n)
    point, reps_c = _reps(n, R, 0.01, 0.05)
    shared = group_kw(point, reps_c, base, owner, zero, np.random.default_rng(1), n)
    # households alone: sd of the mean 0.05/sqrt(400) = 2.5 W per household -> about 9.8 kW per 1,000 wide
    assert 7 < _width(alone) < 13, alone
    assert alone["common_day_share"] < 0.2
    # a 10 W shared day error adds about 2 x 1.96 x 10 = 39 kW per 1,000 of width in quadrature
    assert _width(shared) > 3 * _width(alone), shared
    assert shared["kw_per_1000"] == alone["kw_per_1000"] == -1000 * point.mean()


def test_control_error_moves_every_household_by_its_baseline():
    n, R = 300, 500
    point, reps = _reps(n, R, 0.0, 0.02)
    owner = np.arange(n)
    delta = np.random.default_rng(3).normal(0, 2.0, R)  # a 2 % sd error of the control mean
    no = group_kw(point, reps, np.full(n, 0.5), owner, np.zeros(R), np.random.default_rng(2), n)
    yes = group_kw(point, reps, np.full(n, 0.5), owner, delta, np.random.default_rng(2), n)
    # 2 % of 0.5 kW = 10 W per household -> sd 10 kW per 1,000
    assert _width(yes) > _width(no) + 25


def test_persona_kw_is_crossfitted_and_reports_the_in_sample_figure():
    ids = [f"h{i}" for i in range(6)]
    f = pd.DataFrame({"household_id": ids, "high_response_kw": [-0.2, -0.2, -0.2, 0.0, 0.0, 0.0],
                      "high_response_kw_wa": [-0.1] * 6, "high_response_kw_wb": [-0.1] * 6,
                      "high_response_kw_peak": 0.0, "high_response_kw_peak_wa": 0.0, "high_response_kw_peak_wb": 0.0,
                      "high_baseline_kw": 1.0, "high_baseline_kw_peak": 1.0})
    p = pd.DataFrame({"household_id": ids, "persona_id": ["P1"] * 3 + ["P2"] * 3,
                      "persona_id_wa": ["P1"] * 3 + ["P2"] * 3, "persona_id_wb": ["P1"] * 3 + ["P2"] * 3})
    R = 30
    rep = pd.DataFrame({"household_id": np.repeat(ids, R), "group": "treatment", "replicate": np.tile(np.arange(R), 6)})
    for m in ("high", "high_peak", "high_wa", "high_wb", "high_peak_wa", "high_peak_wb"):
        rep[f"{m}_kw"] = -0.1 if "peak" not in m else 0.0
        rep[f"{m}_pct"] = 0.0
    out = persona_kw(f, p, None, rep, seed=0).set_index("persona_id")
    assert out.loc["P1", "high_kw_per_1000_insample"] == pytest.approx(200.0)  # selected on -0.2: in-sample
    assert out.loc["P1", "high_kw_per_1000"] == pytest.approx(100.0)  # measured on the other half: -0.1
    assert out.loc["P1", "high_crossfit_n"] == 6  # 3 households x 2 directions

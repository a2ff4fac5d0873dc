"""Targeting honesty: repeated cross-fitting, Qini intervals, placebo check, book ranked by the fold models.

Planted truth from ``targeting_planted.py`` (the simulator's plan; ``predictable=True`` makes persona
membership follow the pre-trial evening trait).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from targeting_planted import planted_targeting

from flexpersona.config import Config, ConfigError, from_dict
from flexpersona.toolkit import build_toolkit, save_toolkit, toolkit_for_run
from flexpersona.toolkit import targeting as tg

CFG = Config().replace(toolkit={"bootstrap_replicates": 300, "n_estimators": 15})
#: For plumbing tests (no statistical claim).
FAST = Config().replace(toolkit={"bootstrap_replicates": 100, "n_estimators": 4})


class Spy:
    """A model that remembers the households it was fitted on (column 0 is a household number) and
    predicts 1.0 for a household it saw, 0.0 otherwise."""

    def __init__(self, key: int = 0):
        self.key = key

    def fit(self, X, y):
        self.seen_ = set(np.asarray(X)[:, self.key].tolist())
        return self

    def predict(self, X):
        return np.array([1.0 if v in self.seen_ else 0.0 for v in np.asarray(X)[:, self.key]])


def test_out_of_fold_predictions_never_come_from_a_model_that_saw_the_household():
    n, repeats, folds = 53, 4, 5
    X = np.column_stack([np.arange(n), np.random.default_rng(0).normal(size=n)])
    book = np.column_stack([np.arange(1000, 1010), np.zeros(10)])
    cf = tg.cross_fit(X, {"y": np.arange(n, dtype=float)}, make_model=lambda i: Spy(), repeats=repeats, folds=folds,
                      seed=3, book=book)
    assert cf.oof["y"].shape == (repeats, n) and np.isfinite(cf.oof["y"]).all()
    assert (cf.oof["y"] == 0.0).all()  # no household was predicted by a model fitted on it
    assert cf.book["y"].shape == (repeats * folds, 10)
    for r in range(repeats):  # each repeat: a partition into near-equal folds, different between repeats
        sizes = np.bincount(cf.fold[r], minlength=folds)
        assert sizes.sum() == n and sizes.max() - sizes.min() <= 1
    assert len({tuple(f) for f in cf.fold}) == repeats
    # and the spy would have said so: in-sample it predicts 1
    assert (Spy().fit(X, None).predict(X) == 1.0).all()


def test_fit_targeting_uses_only_out_of_fold_predictions_end_to_end(monkeypatch):
    """The whole path (pre-trial matrix, imputation-free spy) through fit_targeting: the Qini is ranked by
    out-of-fold predictions, so the spy's predictions on the curve are all 'never seen'."""
    feats, life, hh, placebo, _ = planted_targeting(60, 30, seed=4)
    life = life.assign(row_key=np.arange(len(life), dtype=float))
    X = tg.pretrial_matrix(life, hh)
    key = list(X.columns).index("row_key")
    seen_on_curve = []
    real = tg.cross_fitted_qini

    def spying(X, y_kw, config, **kw):
        qini, numbers, cf = real(X, y_kw, config, **kw)
        seen_on_curve.append(cf.oof["kw"])
        return qini, numbers, cf

    monkeypatch.setattr(tg, "forest_factory", lambda config: (lambda i: Spy(key)))
    monkeypatch.setattr(tg, "cross_fitted_qini", spying)
    res = tg.fit_targeting(feats, life, hh, FAST, placebo=placebo)
    assert res.summary["fitted"] and res.summary["placebo_fitted"]
    assert len(seen_on_curve) == 2  # treatment and placebo
    assert all((oof == 0.0).all() for oof in seen_on_curve)


def test_book_is_ranked_by_the_average_of_every_fold_model(monkeypatch):
    """Fold model i predicts the constant i: the book's prediction must be the mean over all repeats × folds
    (no single refit), for the kW, % and bill models alike."""

    class Constant:
        def __init__(self, i):
            self.i = float(i)

        def fit(self, X, y):
            return self

        def predict(self, X):
            return np.full(len(X), self.i)

    monkeypatch.setattr(tg, "forest_factory", lambda config: Constant)
    feats, life, hh, _, _ = planted_targeting(60, 30, seed=5)
    cfg = FAST.replace(toolkit={"cv_repeats": 3, "cv_folds": 4})
    res = tg.fit_targeting(feats, life, hh, cfg)
    expected = np.mean(np.arange(3 * 4))
    t = res.targets
    assert len(t) == 30 and res.summary["book_models"] == 12
    assert np.allclose(t["predicted_kw"], expected)
    assert np.allclose(t["predicted_response_pct"], expected)
    assert np.allclose(t["predicted_bill_change_pct"], expected)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_predictable_trial_qini_interval_excludes_zero(seed):
    feats, life, hh, placebo, _ = planted_targeting(200, 160, seed=seed, predictable=True)
    res = build_toolkit(feats, None, None, config=CFG, lifestyle=life, households=hh, placebo=placebo)
    g = res.toolkit["targeting"]
    assert g["fitted"] and g["n_treatment"] == 200 and g["cv_repeats"] == 5 and g["cv_folds"] == 5
    assert 0 < g["qini_coefficient_ci_low"] <= g["qini_coefficient"] <= g["qini_coefficient_ci_high"]
    assert g["area_vs_random_kw_ci_low"] > 0
    assert g["beats_random"]
    assert "evening_share" in g["features"]
    # the curve: every treatment household, with intervals around the point
    q = res.qini
    assert q["n_targeted"].iloc[-1] == 200
    assert {"share_targeted", "n_targeted", "gain_model_kw", "gain_random_kw", "gain_perfect_kw",
            "gain_model_kw_ci_low", "gain_model_kw_ci_high", "gain_over_random_kw_ci_low",
            "gain_over_random_kw_ci_high"} <= set(q.columns)
    assert (q["gain_model_kw_ci_low"] <= q["gain_model_kw"] + 1e-12).all()
    assert (q["gain_model_kw"] <= q["gain_model_kw_ci_high"] + 1e-12).all()
    mid = q.iloc[len(q) // 2]
    assert mid["gain_over_random_kw_ci_low"] > 0
    # the placebo check ran on the same trial's control households (its coverage: the test below)
    assert g["placebo_fitted"] and g["placebo_n"] == 160
    assert g["placebo_excludes_zero"] == (not g["placebo_qini_coefficient_ci_low"] <= 0 <= g["placebo_qini_coefficient_ci_high"])


def test_unpredictable_trial_interval_covers_zero_in_most_seeds():
    covered = []
    for seed in range(6):
        feats, life, hh, _, _ = planted_targeting(200, 0, seed=10 + seed, predictable=False)
        X = tg.pretrial_matrix(life, hh).loc[feats["household_id"]].to_numpy()
        _, g, _ = tg.cross_fitted_qini(X, feats["high_response_kw"].to_numpy(), CFG)  # the kW model only
        covered.append(g["qini_coefficient_ci_low"] <= 0 <= g["qini_coefficient_ci_high"])
    assert sum(covered) >= 5, covered
    g = tg.fit_targeting(feats, life, hh, FAST).summary  # the verdict follows the interval, not the point
    assert g["beats_random"] == (g["qini_coefficient_ci_low"] > 0)


def test_placebo_check_covers_zero_in_most_seeds():
    """Control households' placebo responses carry no response: the identical procedure shows no gain (a 95%
    interval excludes 0 in about 1 run in 20 by chance; measured 2 of 60 seeds at this size)."""
    covered = []
    for seed in range(6):
        _, life, hh, placebo, _ = planted_targeting(20, 160, seed=20 + seed, predictable=True)
        g = tg._placebo_check(placebo, tg.pretrial_matrix(life, hh), CFG)
        covered.append(not g["placebo_excludes_zero"])
        assert covered[-1] == (g["placebo_qini_coefficient_ci_low"] <= 0 <= g["placebo_qini_coefficient_ci_high"])
        assert abs(g["placebo_qini_coefficient"]) < 0.25
    assert sum(covered) >= 5, covered


def test_placebo_check_flags_a_leak():
    """Placebo responses that follow a pre-trial trait (as a trial-year leak or a counterfactual bias would)
    must raise the flag."""
    feats, life, hh, placebo, _ = planted_targeting(60, 200, seed=7, placebo_bias_kw=0.02)
    g = tg.fit_targeting(feats, life, hh, CFG, placebo=placebo).summary
    assert g["placebo_qini_coefficient_ci_low"] > 0
    assert g["placebo_excludes_zero"] is True
    assert "WARNING" in g["placebo_note"] and "leakage" in g["placebo_note"]


def test_leakage_guard_refuses_trial_outcome_columns():
    feats, life, hh, _, _ = planted_targeting(40, 20, seed=8)
    leaky = life.assign(high_response_kw=0.0, trial_weekday_high=1.0, bill_flat_gbp=1.0, peak_reduction_weekday=0.0,
                        responder=1.0, estimated_cost_savings_pct=0.0, economic_rationality_score=1.0)
    cols = list(tg.pretrial_matrix(leaky, hh).columns)
    assert "evening_share" in cols and "baseload_kwh" in cols
    assert not any(c in cols for c in ("high_response_kw", "trial_weekday_high", "bill_flat_gbp", "peak_reduction_weekday",
                                       "responder", "estimated_cost_savings_pct", "economic_rationality_score"))


def test_qini_bootstrap_resamples_households_with_their_pairs():
    act = np.array([0.3, -0.1, 0.2, 0.0, 0.05, 0.12])
    perfect = tg.qini_bootstrap(act, act, replicates=200, seed=1)
    fin = np.isfinite(perfect["coefficient"])
    assert fin.mean() > 0.9 and np.allclose(perfect["coefficient"][fin], 1.0)  # perfect in every resample
    worst = tg.qini_bootstrap(-act, act, replicates=200, seed=1)
    assert (worst["area"] <= 1e-12).all()
    assert perfect["gain_model"].shape == (200, len(act) + 1)


def test_widened_interval_has_numpys_percentiles():
    """The Qini intervals' percentiles (issue 14: one sort instead of numpy's loop over the curve's points) are
    numpy.nanpercentile's, bit for bit: along either axis, with NaN draws, for a curve and for one number."""
    rng = np.random.default_rng(3)
    draws = rng.normal(0, 2, (300, 41))
    draws[rng.random(draws.shape) < 0.05] = np.nan
    draws[:, 7] = np.nan
    draws[1:, 8] = np.nan  # one finite draw: numpy's percentile is that draw
    point = rng.normal(0, 1, 41)

    def numpys(point, draws, factor, axis=0):
        with np.errstate(all="ignore"), pytest.warns(RuntimeWarning):  # numpy warns on the all-NaN column
            lo, hi = np.nanpercentile(draws, [2.5, 97.5], axis=axis)
        return point - factor * np.maximum(point - lo, 0.0), point + factor * np.maximum(hi - point, 0.0)

    for axis, d in ((0, draws), (1, draws.T)):
        got, want = tg.widened_interval(point, d, 1.5, axis=axis), numpys(point, d, 1.5, axis=axis)
        for g, w in zip(got, want, strict=True):
            np.testing.assert_array_equal(g, w)
    lo, hi = tg.widened_interval(0.3, draws[:, 0], np.sqrt(2.0))
    wlo, whi = np.nanpercentile(draws[:, 0], [2.5, 97.5])
    want = (0.3 - np.sqrt(2.0) * max(0.3 - wlo, 0.0), 0.3 + np.sqrt(2.0) * max(whi - 0.3, 0.0))
    assert (float(lo), float(hi)) == want


def test_cross_fitting_settings_are_validated_and_holdout_share_is_retired():
    feats, life, hh, _, _ = planted_targeting(40, 20, seed=9)
    with pytest.raises(ConfigError, match="cv_folds"):
        tg.fit_targeting(feats, life, hh, FAST.replace(toolkit={"cv_folds": 1}))
    assert from_dict({"toolkit": {"holdout_share": 0.3}}) == Config()  # older run folders still load
    assert Config().section_hash("toolkit") == Config().replace(toolkit={"n_jobs": 2}).section_hash("toolkit")


def test_threads_do_not_change_the_result():
    feats, life, hh, placebo, _ = planted_targeting(60, 40, seed=6)
    a = tg.fit_targeting(feats, life, hh, FAST.replace(toolkit={"n_jobs": 1}), placebo=placebo)
    b = tg.fit_targeting(feats, life, hh, FAST.replace(toolkit={"n_jobs": 4}), placebo=placebo)
    assert a.summary == b.summary
    pd.testing.assert_frame_equal(a.targets, b.targets)
    pd.testing.assert_frame_equal(a.qini, b.qini)


def test_toolkit_for_run_reads_the_placebo_table(tmp_path):
    feats, life, hh, placebo, _ = planted_targeting(60, 40, seed=2)
    feats.to_parquet(tmp_path / "features.parquet", index=False)
    life.to_parquet(tmp_path / "lifestyle.parquet", index=False)
    placebo.to_parquet(tmp_path / "placebo.parquet", index=False)
    (tmp_path / "store").mkdir()
    hh.to_parquet(tmp_path / "store" / "households.parquet", index=False)
    toolkit_for_run(tmp_path, FAST)
    g = json.loads((tmp_path / "toolkit.json").read_text(), parse_constant=lambda c: pytest.fail(f"non-JSON {c}"))["targeting"]
    assert g["placebo_fitted"] and g["placebo_n"] == 40
    assert {"placebo_qini_coefficient", "placebo_qini_coefficient_ci_low", "placebo_qini_coefficient_ci_high",
            "placebo_excludes_zero"} <= set(g)
    md = (tmp_path / "toolkit.md").read_text()
    assert "Placebo check" in md and "cross-fitting" in md and "held out" not in md
    q = pd.read_csv(tmp_path / "qini.csv")
    assert q["n_targeted"].iloc[-1] == 60 and "gain_over_random_kw_ci_low" in q.columns


def test_saved_toolkit_json_is_strict_json_with_the_placebo_check(tmp_path):
    feats, life, hh, placebo, _ = planted_targeting(60, 30, seed=1)
    save_toolkit(build_toolkit(feats, None, None, config=FAST, lifestyle=life, households=hh, placebo=placebo), tmp_path)
    tk = json.loads((tmp_path / "toolkit.json").read_text(), parse_constant=lambda c: pytest.fail(f"non-JSON {c}"))
    assert isinstance(tk["targeting"]["qini_coefficient_by_repeat"], list)


def test_report_says_cross_fitted_with_interval_and_placebo():
    from flexpersona.report.html import _targeting_paragraphs

    feats, life, hh, placebo, _ = planted_targeting(60, 40, seed=3)
    g = build_toolkit(feats, None, None, config=FAST, lifestyle=life, households=hh, placebo=placebo).toolkit["targeting"]
    facts: dict = {}
    text = " ".join(_targeting_paragraphs(g, facts))
    assert "never saw it" in text and "5 random splits into 5 folds" in text and "held-out" not in text
    assert f"95% interval {g['qini_coefficient_ci_low']:.2f} to {g['qini_coefficient_ci_high']:.2f}" in text
    assert "Placebo check" in text and f"{g['placebo_qini_coefficient']:.2f}" in text
    old = {"fitted": True, "n_holdout": 30, "qini_coefficient": 0.33, "area_vs_random_kw": 0.1, "n_book": 5}
    assert "single split" in " ".join(_targeting_paragraphs(old, {}))  # an older toolkit.json is named as such

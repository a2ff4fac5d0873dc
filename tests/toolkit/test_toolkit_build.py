"""The toolkit on planted-truth tables: kW per 1,000 consistent with stage 1, levers, Qini, do-no-harm."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from flexpersona.config import Config
from flexpersona.errors import StageError
from flexpersona.toolkit import build_toolkit, qini_area, qini_curve, save_toolkit
from flexpersona.toolkit.levers import choose_lever, quadrant_of, strategic_quadrants

CFG = Config().replace(toolkit={"bootstrap_replicates": 300, "n_estimators": 20, "population": 500_000})


def planted_trial(n_t: int = 240, n_c: int = 200, *, predictable: bool = True, seed: int = 3):
    """Treatment features, lifestyle of all households, personas and households with planted truth.

    Responders (predictable=True): households whose pre-trial ``evening_share`` > 0.5 cut 0.12 kW at High;
    the others ±0.02 kW noise. High-baseload households pay more on the dynamic tariff.
    """
    rng = np.random.default_rng(seed)
    n = n_t + n_c
    ids = [f"D{i:04d}" for i in range(n_t)] + [f"N{i:04d}" for i in range(n_c)]
    life = pd.DataFrame({
        "household_id": ids,
        "group": ["treatment"] * n_t + ["control"] * n_c,
        "evening_share": rng.uniform(0.2, 0.8, n),
        "baseload_kwh": rng.gamma(2.0, 0.05, n),
        "mean_daily_kwh": rng.gamma(4.0, 2.5, n),
        "weekend_weekday_ratio": rng.normal(1.04, 0.1, n),
        "lifestyle_source": "halfhourly",
    })
    t = life.iloc[:n_t]
    if predictable:
        kw = np.where(t["evening_share"] > 0.5, -0.12, 0.0) + rng.normal(0, 0.02, n_t)
    else:
        kw = rng.normal(-0.04, 0.06, n_t)
    base = t["mean_daily_kwh"].to_numpy() / 48 * 2  # kW
    flat = t["mean_daily_kwh"].to_numpy() * 365 * 0.14228
    dyn = flat * np.where(t["baseload_kwh"] > 0.12, 1.06, 0.93)
    feats = pd.DataFrame({
        "household_id": t["household_id"],
        "high_response_kw": kw,
        "high_response_pct": 100 * kw / base,
        "high_response_ci_low": 100 * kw / base - 5,
        "high_response_ci_high": 100 * kw / base + 5,
        "responder": kw < -0.06,
        "bill_dynamic_gbp": dyn,
        "bill_flat_gbp": flat,
        "bill_saving_structural_pct": 5.0,
        "bill_saving_behavioural_pct": -kw * 10,
    })
    persona = np.where(kw < -0.08, "P1", np.where(kw < -0.02, "P2", "P3"))
    personas = pd.DataFrame({"household_id": t["household_id"], "persona_id": persona,
                             "persona_name": pd.Series(persona).map({"P1": "Engaged", "P2": "Middling", "P3": "Flat"}),
                             "membership": 0.9, "low_confidence": False})
    households = life[["household_id", "group"]].assign(acorn_grouped=rng.choice(["Affluent", "Comfortable", "Adversity"], n))
    return feats, life, personas, households


def test_kw_per_1000_equals_1000_times_mean_reduction_and_mw_scales():
    feats, life, personas, hh = planted_trial()
    res = build_toolkit(feats, personas, {}, config=CFG, lifestyle=life, households=hh)
    merged = feats.merge(personas, on="household_id")
    for row in res.toolkit["personas"]:
        mine = merged[merged["persona_id"] == row["persona_id"]]
        expected = 1000 * float((-mine["high_response_kw"]).mean())
        assert row["kw_per_1000"] == pytest.approx(expected, abs=0.05)
        assert row["kw_per_1000_ci_low"] <= row["kw_per_1000"] <= row["kw_per_1000_ci_high"]
        share = len(mine) / len(feats)
        assert row["mw_at_population"] == pytest.approx(500_000 * share * expected / 1000 / 1000, rel=1e-9)
    total = res.toolkit["total"]
    assert total["kw_per_1000"] == pytest.approx(1000 * float((-feats["high_response_kw"]).mean()), abs=0.05)
    assert total["mw_at_population"] == pytest.approx(sum(r["mw_at_population"] for r in res.toolkit["personas"]))
    # the persona that cuts most carries the largest kW per 1,000
    best = max(res.toolkit["personas"], key=lambda r: r["kw_per_1000"])
    assert best["persona_id"] == "P1"
    assert "kW" in res.markdown and "Engaged" in res.markdown


def test_qini_beats_random_with_planted_predictable_responders():
    feats, life, personas, hh = planted_trial(predictable=True)
    res = build_toolkit(feats, personas, {}, config=CFG, lifestyle=life, households=hh)
    g = res.toolkit["targeting"]
    assert g["fitted"] and g["beats_random"]
    assert g["qini_coefficient"] > 0.5
    assert "evening_share" in g["features"]
    assert not any("response" in c or c.startswith("bill_") for c in g["features"])
    q = res.qini
    # cross-fitted: every treatment household is on the curve (out of fold), not a held-out share
    assert q["n_targeted"].iloc[-1] == g["n_treatment"] == len(feats)
    mid = q.iloc[len(q) // 2]
    assert mid["gain_model_kw"] > mid["gain_random_kw"]


def test_qini_near_zero_without_predictable_signal():
    feats, life, personas, hh = planted_trial(predictable=False)
    g = build_toolkit(feats, personas, {}, config=CFG, lifestyle=life, households=hh).toolkit["targeting"]
    assert abs(g["qini_coefficient"]) < 0.5


def test_targets_rank_control_book_and_flag_do_no_harm():
    feats, life, personas, hh = planted_trial()
    res = build_toolkit(feats, personas, {}, config=CFG, lifestyle=life, households=hh)
    t = res.targets
    assert set(t["household_id"]) == set(hh.loc[hh["group"] == "control", "household_id"])
    assert list(t["rank"]) == list(range(1, len(t) + 1))
    assert t["predicted_kw"].is_monotonic_increasing  # most negative (largest cut) first
    # planted: evening_share > 0.5 responds -> top of the list
    top = t.head(40).merge(life, on="household_id")
    assert (top["evening_share"] > 0.5).mean() > 0.8
    # planted: baseload > 0.12 pays more -> flagged
    flagged = t.merge(life, on="household_id")
    agree = ((flagged["baseload_kwh"] > 0.12) == flagged["do_no_harm"]).mean()
    assert agree > 0.85
    harm = res.toolkit["do_no_harm"]
    assert harm["n_paying_more"] == int((feats["bill_dynamic_gbp"] > feats["bill_flat_gbp"]).sum())


def test_survey_quadrants_choose_levers():
    feats, life, personas, hh = planted_trial()
    traits = pd.DataFrame({
        "persona_id": ["P1", "P2", "P3"],
        "trait_engagement_score": [1.0, 1.0, -1.0],
        "trait_constraint_score": [2.0, 4.0, 4.0],
        "n_households": [10, 10, 10],
    })
    res = build_toolkit(feats, personas, {"strategic_map": traits, "summary": {}}, config=CFG, lifestyle=life, households=hh)
    by = {r["persona_id"]: r for r in res.toolkit["personas"]}
    assert by["P1"]["quadrant"] == "Willing & Able" and by["P1"]["lever"] == "price signal"
    assert by["P2"]["lever"] == "enabling technology"
    assert by["P3"]["lever"] == "exclude"
    assert "survey" in res.toolkit["rule_basis"]


def test_lever_rules_without_survey():
    cfg = Config()
    strong = {"mean_response_pct": -12, "kw_ci_low": 0.05, "kw_ci_high": 0.2, "responder_share": 0.6}
    assert choose_lever(strong, cfg) == ("price signal", "R2")
    up = {"mean_response_pct": 8, "kw_ci_low": -0.2, "kw_ci_high": -0.05, "responder_share": 0.0}
    assert choose_lever(up, cfg) == ("exclude", "R1")
    weak = {"mean_response_pct": -1, "kw_ci_low": -0.01, "kw_ci_high": 0.03, "responder_share": 0.05}
    assert choose_lever({**weak, "peak_heavy": True}, cfg) == ("automation", "R3")
    assert choose_lever({**weak, "high_baseload": True}, cfg) == ("enabling technology", "R4")
    assert choose_lever(weak, cfg) == ("information", "R5")
    assert choose_lever({**weak, "quadrant": "Willing & Able"}, cfg) == ("information", "Q5")
    assert choose_lever({**strong, "quadrant": "Able but Unwilling"}, cfg) == ("automation", "Q3")
    assert quadrant_of(1, 1, 0, 2) == "Willing & Able"
    assert strategic_quadrants({"x": pd.DataFrame({"persona_id": ["A"], "quadrant": ["Unwilling & Unable"]})})["A"] == "Unwilling & Unable"
    assert strategic_quadrants({}) is None


def test_no_personas_single_group_and_saved_files_are_valid(tmp_path):
    feats, life, _, hh = planted_trial(n_t=60, n_c=30)
    res = build_toolkit(feats, None, None, config=CFG, lifestyle=life, households=hh)
    assert [r["persona_id"] for r in res.toolkit["personas"]] == ["all"]
    assert "no survey" in res.toolkit["rule_basis"]
    paths = save_toolkit(res, tmp_path)
    assert {p.name for p in paths} == {"toolkit.json", "toolkit.md", "targets.csv", "qini.csv", "targeting_model.pkl"}
    json.loads((tmp_path / "toolkit.json").read_text(), parse_constant=lambda c: pytest.fail(f"non-JSON {c}"))


def test_missing_response_columns_raise_stage_error():
    feats, life, personas, hh = planted_trial(n_t=30, n_c=10)
    with pytest.raises(StageError, match="high_response_kw"):
        build_toolkit(feats.drop(columns=["high_response_kw"]), personas, {}, config=CFG, lifestyle=life, households=hh)


def test_qini_curve_perfect_ranking_equals_perfect_curve():
    act = np.array([0.3, -0.1, 0.2, 0.0])
    q = qini_curve(act, act)
    assert np.allclose(q["gain_model_kw"], q["gain_perfect_kw"])
    area = qini_area(q)
    assert area["qini_coefficient"] == pytest.approx(1.0)
    assert qini_area(qini_curve(-act, act))["area_vs_random_kw"] < 0


def test_quadrants_from_explain_strategic_map_keyed_by_persona_name():
    """The explain stage's strategic_map.csv: persona (name), constraint, engagement, quadrant, lever."""
    feats, life, personas, hh = planted_trial(n_t=90, n_c=30)
    sm = pd.DataFrame({"persona": ["Engaged", "Middling", "Flat"], "n": [1, 1, 1], "n_with_traits": [1, 1, 1],
                       "constraint": [2.0, 4.0, 2.0], "engagement": [1.0, 1.0, -1.0],
                       "quadrant": ["Willing & Able", "Willing but Constrained", "Able but Unwilling"],
                       "lever": ["ideal target", "technology", "automation"]})
    res = build_toolkit(feats, personas, {"strategic_map": sm}, config=CFG, lifestyle=life, households=hh)
    by = {r["persona_name"]: r["lever"] for r in res.toolkit["personas"]}
    assert by == {"Engaged": "price signal", "Middling": "enabling technology", "Flat": "automation"}
    assert strategic_quadrants({"strategic_map": sm.drop(columns=["quadrant", "lever"])})["Flat"] == "Able but Unwilling"


def test_qini_beats_random_on_simulator_plan_with_predictable_personas():
    """The trial simulator's planted truth (predictable=True: persona follows the lifestyle trait).

    Stage-1 estimates are stood in by the planted effect plus estimation noise; the pre-trial feature is the
    planted evening-peak trait seen through noise (as the features stage would measure it).
    """
    from flexpersona.simulate import plan_trial

    truth = plan_trial(n_treatment=200, n_control=120, seed=5, predictable=True).truth
    rng = np.random.default_rng(11)
    n = len(truth)
    life = pd.DataFrame({"household_id": truth["household_id"], "group": truth["group"],
                         "evening_share": truth["lifestyle_trait"] + rng.normal(0, 0.05, n),
                         "mean_daily_kwh": truth["level_kwh"] * 48})
    t = truth[truth["group"] == "treatment"]
    pct = t["high_effect_pct"].to_numpy() + rng.normal(0, 3, len(t))
    feats = pd.DataFrame({"household_id": t["household_id"], "high_response_pct": pct,
                          "high_response_kw": pct / 100 * t["level_kwh"].to_numpy() * 2})
    res = build_toolkit(feats, None, None, config=CFG, lifestyle=life, households=truth[["household_id", "group"]])
    g = res.toolkit["targeting"]
    assert g["beats_random"] and g["qini_coefficient"] > 0.2, g
    assert len(res.targets) == int((truth["group"] == "control").sum())

"""A fabricated, plausible run folder for the report tests (the real stages are built in parallel).

Households take real Acorn groups from ``../shared/data/lcl/households/informations_households.csv`` when
that file exists (the fabricated run otherwise draws them), so that the report sees real-format labels.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

#: ``../shared/data`` relative to the repository root (tests/report/fabricated_run.py -> parents[2] is the root).
from paths import SHARED_DATA as SHARED


def _acorn_groups(n: int, rng: np.random.Generator) -> list[str]:
    path = SHARED / "lcl" / "households" / "informations_households.csv"
    if path.exists():
        groups = pd.read_csv(path, usecols=["Acorn_grouped"])["Acorn_grouped"].dropna().astype(str).to_numpy()
        return list(rng.choice(groups, n))
    return list(rng.choice(["Affluent", "Comfortable", "Adversity", "ACORN-U"], n))


def fabricate_run(path: Path, *, survey: bool = True, structure: bool = True, seed: int = 0,
                  n_t: int = 120, n_c: int = 150, toolkit: bool = True, truth: bool = False) -> Path:
    """Write the tables of a finished run (contract of docs/architecture.md) into ``path``.

    Planted: three personas with different High responses (P1 cuts ~15%, P2 ~4%, P3 none); household
    D0000 is the strongest responder. ``truth`` writes the planted truth as the simulator does (``truth.csv``).
    """
    rng = np.random.default_rng(seed)
    path.mkdir(parents=True, exist_ok=True)
    t_ids = [f"D{i:04d}" for i in range(n_t)]
    c_ids = [f"N{i:04d}" for i in range(n_c)]
    ids = t_ids + c_ids
    n = len(ids)
    group = ["treatment"] * n_t + ["control"] * n_c
    # ledger: 5 excluded households on top
    led = pd.DataFrame({"household_id": ids + ["D9990", "D9991", "N9990", "N9991", "N9992"],
                        "group": group + ["treatment"] * 2 + ["control"] * 3})
    led["status"] = ["kept"] * n + ["excluded"] * 5
    led["reason"] = [None] * n + ["insufficient_trial", "insufficient_baseline", "insufficient_trial",
                                   "in_both_groups", "insufficient_trial"]
    led["n_readings"] = rng.integers(10_000, 17_520, len(led))
    led.to_parquet(path / "ledger.parquet", index=False)
    life = pd.DataFrame({
        "household_id": ids, "group": group,
        "baseload_kwh": rng.gamma(2, 0.05, n), "evening_share": rng.uniform(0.2, 0.7, n),
        "weekend_weekday_ratio": rng.normal(1.04, 0.1, n), "winter_summer_ratio": rng.normal(1.5, 0.2, n),
        "morning_evening_peak_ratio": rng.normal(0.7, 0.1, n), "mean_daily_kwh": rng.gamma(4, 2.5, n),
        "intrinsic_daily_volatility": rng.gamma(2, 1.5, n), "intrinsic_load_factor": rng.uniform(0.3, 0.7, n),
        "base_peak_to_offpeak_ratio": rng.normal(1.6, 0.3, n), "base_day_to_night_ratio": rng.normal(1.3, 0.2, n),
        "lifestyle_source": "halfhourly",
    })
    life.to_parquet(path / "lifestyle.parquet", index=False)
    persona = np.array(["P1"] * (n_t // 4) + ["P2"] * (n_t // 3) + ["P3"] * (n_t - n_t // 4 - n_t // 3))
    true_pct = np.select([persona == "P1", persona == "P2"], [-15.0, -4.0], 0.0)
    pct = true_pct + rng.normal(0, 3, n_t)
    pct[0] = -30.0
    half = rng.uniform(2, 6, n_t)
    lt = life.iloc[:n_t].reset_index(drop=True)
    base_kw = lt["mean_daily_kwh"].to_numpy() / 24
    flat = lt["mean_daily_kwh"].to_numpy() * 365 * 0.14228
    feats = pd.DataFrame({
        "household_id": t_ids,
        "high_response_pct": pct, "high_response_ci_low": pct - half, "high_response_ci_high": pct + half,
        "low_response_pct": rng.normal(6, 4, n_t), "high_response_kw": pct / 100 * base_kw,
        "high_response_kwh_per_event": pct / 100 * base_kw * 3,
        "high_response_pct_weekday": pct + rng.normal(0, 1, n_t), "high_response_pct_weekend": pct + rng.normal(0, 2, n_t),
        "rebound_pct": rng.normal(1, 2, n_t), "p_high": rng.uniform(0, 1, n_t),
        "responder": (pct + half) < 0,
        "bill_flat_gbp": flat, "bill_dynamic_gbp": flat * (0.95 + pct / 200 + rng.normal(0, 0.03, n_t)),
        "bill_saving_structural_pct": rng.normal(5, 1, n_t), "bill_saving_behavioural_pct": -pct / 3,
        "peak_reduction_pct_weekday": -pct + rng.normal(0, 5, n_t),
        **{c: lt[c].to_numpy() for c in ("baseload_kwh", "evening_share", "mean_daily_kwh", "base_peak_to_offpeak_ratio",
                                        "intrinsic_daily_volatility", "intrinsic_load_factor")},
    })
    if truth:
        pd.DataFrame({"household_id": ids, "group": group,
                      "persona": [f"planted_{p}" for p in persona] + ["control"] * n_c,
                      "high_effect_pct": np.r_[true_pct, np.zeros(n_c)],
                      "low_effect_pct": np.r_[feats["low_response_pct"].to_numpy() - 1.0, np.zeros(n_c)]}
                     ).to_csv(path / "truth.csv", index=False)
    feats["low_response_ci_low"] = feats["low_response_pct"] - 3
    feats["low_response_ci_high"] = feats["low_response_pct"] + 3
    feats.to_parquet(path / "features.parquet", index=False)
    placebo = pd.DataFrame({"household_id": c_ids, "high_response_pct": rng.normal(0, 3, n_c)})
    placebo.to_parquet(path / "placebo.parquet", index=False)
    start = pd.date_range("2013-01-03 17:00", periods=40, freq="4D")
    events = pd.DataFrame({
        "event_id": range(40), "band": np.where(np.arange(40) % 3 == 0, "Low", "High"), "start": start,
        "end": start + pd.Timedelta(hours=3), "n_halfhours": 6,
    })
    events["response_pct"] = np.where(events["band"] == "High", -5.5, 6.0) + rng.normal(0, 1.5, 40)
    events["ci_low"] = events["response_pct"] - 2
    events["ci_high"] = events["response_pct"] + 2
    events.to_parquet(path / "events.parquet", index=False)
    names = {"P1": "Engaged Shifters", "P2": "Moderate Responders", "P3": "Steady Users"}
    if structure:
        pers = pd.DataFrame({"household_id": t_ids, "persona_id": persona, "persona_name": [names[p] for p in persona],
                             "membership": rng.uniform(0.5, 1, n_t)})
    else:
        pers = pd.DataFrame({"household_id": t_ids, "persona_id": "P0", "persona_name": "All households",
                             "membership": 1.0})
    pers["low_confidence"] = pers["membership"] < 0.6
    pers.to_parquet(path / "personas.parquet", index=False)
    prof = (feats.assign(persona_id=pers["persona_id"], persona_name=pers["persona_name"])
            .groupby(["persona_id", "persona_name"])[["high_response_pct", "low_response_pct", "rebound_pct",
                                                       "baseload_kwh", "evening_share", "mean_daily_kwh"]]
            .median().reset_index())
    prof.insert(2, "n_households", pers.groupby("persona_id").size().to_numpy())
    prof["persona_rationale"] = [  # as the personas stage writes it: one long sentence per persona
        f"{pid} '{name}' ({n} households, {100 * n / n_t:.0f}%): centre High response {h:+.1f}% and Low response "
        f"{lo:+.1f}% (High <= -15% with Low >= +5%, or the next rule of the naming table that matches)."
        for pid, name, n, h, lo in zip(prof["persona_id"], prof["persona_name"], prof["n_households"],
                                       prof["high_response_pct"], prof["low_response_pct"])]
    prof.to_csv(path / "persona_profiles.csv", index=False)
    rows = []
    for k in range(2, 9):
        rows.append({"algorithm": "kmeans", "k": k, "inertia": 1000 / k, "silhouette": 0.3 + 0.1 * (k == 3) - 0.01 * k, "bic": None})
        for cov in ("full", "diag"):
            rows.append({"algorithm": "gmm", "k": k, "covariance": cov, "inertia": None, "silhouette": None,
                         "bic": 2000 - 50 * min(k, 3) + 10 * k + (5 if cov == "diag" else 0)})
    pd.DataFrame(rows).to_csv(path / "selection.csv", index=False)
    stab = {"structure_found": structure, "null_test": {"method": "gap", "p_value": 0.01 if structure else 0.6},
            "bootstrap_ari_median": 0.82, "split_half_ari": 0.64, "k": 3 if structure else 1, "algorithm": "kmeans"}
    (path / "stability.json").write_text(json.dumps(stab))
    ex = path / "explain"
    ex.mkdir(exist_ok=True)
    summary = {"statements": [f"Model accuracy {0.41:.2f} against a baseline of {0.33:.2f}."]}
    if survey and structure:
        pd.DataFrame({"persona": list(names.values()), "n": [30, 40, 50], "n_with_traits": [25, 30, 41],
                      "constraint": [2.5, 3.6, 3.7], "engagement": [1.2, 0.9, -0.4],
                      "quadrant": ["Willing & Able", "Willing but Constrained", "Unwilling & Unable"],
                      "lever": ["ideal target", "technology", "avoid/exclude"]}).to_csv(ex / "strategic_map.csv", index=False)
        bh = pd.DataFrame({"persona": list(names.values())})
        for q in ("away_from_home", "inflexible_work", "children_routines", "fixed_habits", "savings_too_small"):
            bh[q] = rng.uniform(1, 5, 3)
        bh.to_csv(ex / "barrier_heatmap.csv", index=False)
    else:
        summary["statements"].append("No survey was given: no traits, barriers or strategic map.")
    pd.DataFrame({"feature": ["evening_share", "baseload_kwh"], "importance": [0.12, 0.05],
                  "ci_low": [0.08, 0.01], "ci_high": [0.16, 0.09]}).to_csv(ex / "importance.csv", index=False)
    pd.DataFrame({"model": ["forest", "acorn_only"], "balanced_accuracy": [0.41, 0.34]}).to_csv(ex / "model_comparison.csv", index=False)
    (ex / "summary.json").write_text(json.dumps(summary))
    store = path / "store"
    store.mkdir(exist_ok=True)
    pd.DataFrame({"household_id": ids, "group": group, "acorn": None, "acorn_grouped": _acorn_groups(n, rng)}).to_parquet(
        store / "households.parquet", index=False)
    if toolkit:
        from flexpersona.config import Config
        from flexpersona.toolkit import build_toolkit, read_explain, save_toolkit

        cfg = Config().replace(toolkit={"n_estimators": 5, "bootstrap_replicates": 200})
        save_toolkit(build_toolkit(feats, pers, read_explain(path), config=cfg, lifestyle=life, households=pd.read_parquet(store / "households.parquet")), path)
    manifest = {"config": {}, "counts": {"households": int(len(led))}, "versions": {"flexpersona": "0.1.0"},
                "created": "2026-11-27T22:00:00"}
    (path / "manifest.json").write_text(json.dumps(manifest))
    return path

"""Benchmark (not a test): the counterfactual options of issue 17, the numbers of ``docs/counterfactual.md``.

``spillover``  simulated trials (real 2013 schedule) with a planted event-day spillover and without: cohort
               High response under the all-days and the event-free reference against the planted one, the
               spillover estimate, and per household RMSE, median bootstrap SE and 95 % coverage of each.
``nocontrol``  simulated trials run with their control group, then with the control households removed (with
               and without the simulated temperature): cohort High, pseudo-event placebo, Spearman, responders.
``real``       the shared LCL 2013 subset: the control-group run (466 ToU + 566 Std) and the treatment-only
               run without a control group (with and without the DarkSky temperature), side by side.

Usage::

    .venv/bin/python benchmarks/bench_counterfactual.py spillover --seeds 11 12 13 14
    .venv/bin/python benchmarks/bench_counterfactual.py nocontrol --seeds 2 3 4
    .venv/bin/python benchmarks/bench_counterfactual.py nocontrol --seeds 2 --event-day-shock 3
    .venv/bin/python benchmarks/bench_counterfactual.py real --work /tmp/fp-real
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
LCL = ROOT.parent / "shared" / "data" / "lcl"


def _fmt(d: dict | None) -> str:
    if not d or d.get("pct") is None:
        return "n/a"
    return f"{d['pct']:+.2f} [{d['ci_low']:+.2f}, {d['ci_high']:+.2f}]"


def _households(res, truth: pd.DataFrame | None = None) -> dict:
    f = res.features
    out = {"median_se": round(float(f["high_response_se"].median()), 3), "responders": int(f["responder"].sum())}
    if truth is not None:
        m = f.merge(truth, on="household_id")
        err = m["high_response_pct"] - m["high_effect_pct"]
        cov = (m["high_response_ci_low"] <= m["high_effect_pct"]) & (m["high_effect_pct"] <= m["high_response_ci_high"])
        out.update(rmse=round(float(np.sqrt((err**2).mean())), 3), coverage=round(float(cov.mean()), 3))
    return out


def spillover(args, work: Path) -> None:
    from conftest import store_from_trial
    from flexpersona.config import Config
    from flexpersona.features import compute_features
    from flexpersona.simulate import plan_trial, planted_cohort_response, simulate_trial

    cfg = Config().replace(features={"bootstrap_replicates": args.replicates})
    for seed in args.seeds:
        for spill in (args.spillover, 0.0):
            kw = dict(seed=seed, start="2013-01-01", end="2013-12-31", survey=False, schedule=LCL / "tariffs" / "Tariffs.xlsx",
                      spillover_pct=spill)
            trial = simulate_trial(args.treatment, args.control, daily=False, **kw)
            planted = planted_cohort_response(plan_trial(args.treatment, args.control, **kw))
            st = store_from_trial(trial, work / f"spill_{seed}_{spill}")
            t0 = time.perf_counter()
            res = compute_features(st, cfg)  # reference_days = all (default), compared with event_free
            sec = time.perf_counter() - t0
            ef_run = compute_features(st, cfg.replace(features={"reference_days": "event_free", "compare_references": False}))
            c = res.info["reference_comparison"]["cohort"]
            al, ef = c["within_trial_all"]["treatment"]["high"], c["within_trial_event_free"]["treatment"]["high"]
            share = res.info["reference_comparison"]["reference_event_day_share"]["within_trial_all"]
            print(json.dumps({
                "seed": seed, "spillover": spill, "planted_high": round(planted["high"], 3),
                "all": _fmt(al), "event_free": _fmt(ef), "err_all": round(al["pct"] - planted["high"], 3),
                "err_event_free": round(ef["pct"] - planted["high"], 3), "all_minus_event_free": round(al["pct"] - ef["pct"], 3),
                "predicted_bias": round(-share * spill * (1 + planted["high"] / 100), 3),
                "spillover_estimate": _fmt(res.info["spillover"]), "planted_spill": round(planted["spill"], 3),
                "households_all": _households(res, trial.truth), "households_event_free": _households(ef_run, trial.truth),
                "seconds_with_comparison": round(sec, 1),
            }), flush=True)


def nocontrol(args, work: Path) -> None:
    from scipy.stats import spearmanr

    from conftest import store_from_trial
    from flexpersona.config import Config
    from flexpersona.features import compute_features
    from flexpersona.simulate import plan_trial, planted_cohort_response, simulate_trial

    cfg = Config().replace(features={"bootstrap_replicates": args.replicates})
    for seed in args.seeds:
        kw = dict(seed=seed, start="2013-01-01", end="2013-12-31", survey=False, schedule=LCL / "tariffs" / "Tariffs.xlsx",
                  event_day_shock_pct=args.event_day_shock)
        trial = simulate_trial(args.treatment, args.control, daily=False, **kw)
        planted = planted_cohort_response(plan_trial(args.treatment, args.control, **kw))
        runs = {
            "control_group": compute_features(store_from_trial(trial, work / f"nc_{seed}_both"), cfg),
            "no_control_temperature": compute_features(
                store_from_trial(trial, work / f"nc_{seed}_t", ("treatment",), weather=True), cfg),
            "no_control": compute_features(store_from_trial(trial, work / f"nc_{seed}_n", ("treatment",)), cfg),
        }
        a = runs["control_group"].features.set_index("household_id")["high_response_pct"]
        row = {"seed": seed, "event_day_shock": args.event_day_shock, "planted_high": round(planted["high"], 3)}
        for name, r in runs.items():
            c = r.info["cohort_response"]["treatment"]
            b = r.features.set_index("household_id")["high_response_pct"].reindex(a.index)
            row[name] = {"high": _fmt(c["high"]), "err": round(c["high"]["pct"] - planted["high"], 3),
                         "pseudo": _fmt(c.get("pseudo")), "spearman_vs_control_group": round(float(spearmanr(a, b)[0]), 4),
                         **_households(r, trial.truth)}
        print(json.dumps(row), flush=True)


def real(args, work: Path) -> None:
    from scipy.stats import spearmanr

    from flexpersona.config import Config
    from flexpersona.features import compute_features
    from flexpersona.io import ingest
    from flexpersona.store import Store

    lcl = Path(args.lcl)
    pieces = sorted((lcl / "hh2013").glob("block*sep.csv"))
    tou = [p for p in pieces if int(p.stem[5:-3]) >= 135]
    hh = pd.read_csv(lcl / "households" / "informations_households.csv")
    tou_hh = work / "households_tou.csv"
    hh[hh["stdorToU"] == "ToU"].to_csv(tou_hh, index=False)  # treatment households only
    tariff, weather = lcl / "tariffs" / "Tariffs.xlsx", lcl / "weather" / "weather_hourly_darksky.csv"
    ingest(pieces, work / "both", tariff=tariff, households=lcl / "households" / "informations_households.csv")
    ingest(tou, work / "tou_t", tariff=tariff, households=tou_hh, weather=weather)
    ingest(tou, work / "tou", tariff=tariff, households=tou_hh)
    cfg = Config().replace(features={"bootstrap_replicates": args.replicates})
    runs = {"control_group": Store(work / "both"), "no_control_temperature": Store(work / "tou_t"),
            "no_control": Store(work / "tou")}
    res = {}
    for name, st in runs.items():
        t0 = time.perf_counter()
        res[name] = compute_features(st, cfg)
        res[name].info["seconds"] = round(time.perf_counter() - t0, 1)
    a = res["control_group"].features.set_index("household_id")["high_response_pct"]
    for name, r in res.items():
        comp = r.info["reference_comparison"]["cohort"]
        t = {label: g["treatment"] for label, g in comp.items()}
        b = r.features.set_index("household_id")["high_response_pct"].reindex(a.index)
        print(json.dumps({
            "run": name, "method": r.info["counterfactual"]["method"], "households": r.info["n_households"],
            "high_all": _fmt(t["within_trial_all"]["high"]), "high_event_free": _fmt(t["within_trial_event_free"]["high"]),
            "low_all": _fmt(t["within_trial_all"]["low"]), "pseudo_all": _fmt(t["within_trial_all"].get("pseudo")),
            "spillover": _fmt(r.info["spillover"]), "placebo": r.info["placebo"],
            "spearman_vs_control_group": round(float(spearmanr(a, b, nan_policy="omit")[0]), 4),
            **_households(r), "seconds": r.info["seconds"],
        }), flush=True)
    ef = compute_features(runs["control_group"], cfg.replace(features={"reference_days": "event_free",
                                                                       "compare_references": False}))
    print(json.dumps({"run": "control_group_event_free_households", **_households(ef)}), flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="what", required=True)
    for name, nt, nc, seeds in (("spillover", 500, 500, [11]), ("nocontrol", 300, 300, [2])):
        p = sub.add_parser(name)
        p.add_argument("--seeds", type=int, nargs="+", default=seeds)
        p.add_argument("--treatment", type=int, default=nt)
        p.add_argument("--control", type=int, default=nc)
        p.add_argument("--replicates", type=int, default=100)
    sub.choices["spillover"].add_argument("--spillover", type=float, default=-5.0)
    sub.choices["nocontrol"].add_argument("--event-day-shock", type=float, default=0.0)
    p = sub.add_parser("real")
    p.add_argument("--lcl", default=str(LCL))
    p.add_argument("--replicates", type=int, default=200)
    for p in sub.choices.values():
        p.add_argument("--work", default=None, help="scratch folder (default: a temporary one, removed)")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT / "tests" / "features"))
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="fp-cf-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        {"spillover": spillover, "nocontrol": nocontrol, "real": real}[args.what](args, work)
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

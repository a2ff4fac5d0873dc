"""Calibration benchmark of the toolkit's kW intervals (issue 12, METHODS B.10): not a test, a measurement.

Simulates ``--trials`` planted trials on the real 2013 tariff schedule (``--schedule``), runs the feature stage
and the toolkit's joint bootstrap (households, day blocks and controls) on each, and reports how often the 95%
interval of the cohort's kW reduction per 1,000 households covers the planted value:

- **population** value: the mean over all trials of each trial's planted kW reduction (every trial draws new
  households from the same simulator, so this is the expectation the interval estimates);
- **in-sample** value: the trial's own households' planted reduction (an interval that also resamples
  households is conservative for it).

The planted reduction of a household is ``2 × mean over its High half-hours of (y − y_counterfactual)``, with
the counterfactual load generated from the same random streams without the planted effects.

The default population is the heavy-tailed ``continuum``, whose households are drawn independently. The
planted persona sets (``four``, ``three``) assign personas in their exact shares in every trial (a stratified
sample): the spread of trial means is then smaller than any household bootstrap assumes and every interval
over-covers (measured: 24/24 for both the joint and the household-only interval).

Example::

    .venv/bin/python benchmarks/calibrate_toolkit.py --trials 24 --treatment 150 --control 450 --out /tmp/cal

Measured (24 trials, 150 + 450 households, real 2013 schedule, noise_scale 1.6): the joint interval covered the
planted population value in 22/24 trials (91.7 %; sd of (estimate − planted)/SE 0.97), the household-only
interval in 20/24 (83.3 %; its SE is 1.32x too small).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from flexpersona.config import Config
from flexpersona.features import compute_features
from flexpersona.schema import READINGS_SCHEMA
from flexpersona.simulate import plan_trial
from flexpersona.simulate.trial import generate_block, readings_frame
from flexpersona.store import Store
from flexpersona.toolkit.uncertainty import cohort_kw

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "lcl" / "tariffs" / "Tariffs.xlsx"


def one_trial(seed: int, args: argparse.Namespace, out: Path) -> dict:
    plan = plan_trial(args.treatment, args.control, seed=seed, personas=args.personas, schedule=args.schedule,
                      survey=False, noise_scale=args.noise_scale, start=args.start, end=args.end)
    idx = np.arange(plan.n)
    y, present = generate_block(plan, idx)
    flat = dataclasses.replace(plan, truth=plan.truth.assign(high_effect_pct=0.0, low_effect_pct=0.0))
    y0, _ = generate_block(flat, idx)
    high = plan.band_code == 1
    treat = (plan.households["group"] == "treatment").to_numpy()
    d = (y - y0)[:, high]
    planted_kw = 2.0 * np.nanmean(np.where(np.isnan(y[:, high]), np.nan, d), axis=1)  # kW change per household
    store = Store(out / f"t{seed}" / "store")
    store.readings_dir.mkdir(parents=True, exist_ok=True)
    ids = plan.households["household_id"].to_numpy(dtype=object)
    readings = readings_frame(ids, plan.axis.ts, y, present)
    pq.write_table(pa.Table.from_pandas(readings, schema=READINGS_SCHEMA, preserve_index=False),
                   store.readings_dir / "part-0.parquet")
    store.write("households", plan.households)
    store.write("tariff", plan.tariff)
    cfg = Config().replace(features={"bootstrap_replicates": args.replicates, "prevalence_replicates": 20})
    res = compute_features(store, cfg)
    kw = cohort_kw(res.features, res.placebo, res.replicates, seed=seed)["high"]
    kept = set(res.features["household_id"])
    sel = treat & np.isin(ids, list(kept))
    return {"seed": seed, "kw_per_1000": kw["kw_per_1000"], "ci_low": kw["ci_low"], "ci_high": kw["ci_high"],
            "planted_in_sample": float(-1000 * np.nanmean(planted_kw[sel])),
            "household_only_ci": _household_ci(res.features["high_response_kw"].to_numpy(float), seed)}


def _household_ci(kw: np.ndarray, seed: int) -> list[float]:
    """The old interval (households resampled only), for comparison."""
    kw = kw[np.isfinite(kw)]
    rng = np.random.default_rng(seed)
    means = kw[rng.integers(0, len(kw), (1000, len(kw)))].mean(axis=1)
    return [float(-1000 * np.percentile(means, 97.5)), float(-1000 * np.percentile(means, 2.5))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=24)
    ap.add_argument("--treatment", type=int, default=150)
    ap.add_argument("--control", type=int, default=450)
    ap.add_argument("--personas", default="continuum")
    ap.add_argument("--noise-scale", type=float, default=1.6)
    ap.add_argument("--replicates", type=int, default=200)
    ap.add_argument("--schedule", default=str(SHARED) if SHARED.exists() else None)
    ap.add_argument("--start", default="2013-01-01")
    ap.add_argument("--end", default="2013-12-31")
    ap.add_argument("--out", type=Path, default=Path("bench-out/calibration"))
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    t0 = time.perf_counter()
    for seed in range(1, args.trials + 1):
        rows.append(one_trial(seed, args, args.out))
        r = rows[-1]
        print(f"trial {seed}: {r['kw_per_1000']:.1f} kW/1000 ({r['ci_low']:.1f} to {r['ci_high']:.1f}); "
              f"planted in-sample {r['planted_in_sample']:.1f}", flush=True)
    pop = float(np.mean([r["planted_in_sample"] for r in rows]))
    cov_pop = np.mean([r["ci_low"] <= pop <= r["ci_high"] for r in rows])
    cov_in = np.mean([r["ci_low"] <= r["planted_in_sample"] <= r["ci_high"] for r in rows])
    cov_old = np.mean([r["household_only_ci"][0] <= pop <= r["household_only_ci"][1] for r in rows])
    width = np.mean([r["ci_high"] - r["ci_low"] for r in rows])
    width_old = np.mean([r["household_only_ci"][1] - r["household_only_ci"][0] for r in rows])
    summary = {"trials": len(rows), "planted_population_kw_per_1000": pop,
               "coverage_population": float(cov_pop), "coverage_in_sample": float(cov_in),
               "coverage_household_only_interval": float(cov_old), "mean_width_joint": float(width),
               "mean_width_household_only": float(width_old), "seconds": round(time.perf_counter() - t0, 1),
               "args": {k: str(v) for k, v in vars(args).items()}, "trials_detail": rows}
    (args.out / "calibration.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps({k: v for k, v in summary.items() if k != "trials_detail"}, indent=1))


if __name__ == "__main__":
    main()

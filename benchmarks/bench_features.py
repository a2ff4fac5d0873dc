"""Benchmark (not a test): stage-1 features at LCL scale from a store, bootstrap included.

Builds (once, reused) a store of ``--treatment`` + ``--control`` simulated households over two years
(baseline and trial, ~35,000 half-hours each household) straight from :func:`flexpersona.simulate.plan_trial`
in chunks of households, then runs :func:`flexpersona.features.compute_features` in a child process and
reports its wall time and peak resident memory (``getrusage`` of the child), the reference chosen, the
cohort High response and the recovery of the planted High effects.

Usage::

    .venv/bin/python benchmarks/bench_features.py --treatment 1100 --control 4400 --out /tmp/bench-features
    .venv/bin/python benchmarks/bench_features.py --treatment 110 --control 440 --out /tmp/bf-small
    .venv/bin/python benchmarks/bench_features.py --treatment 110 --control 440 --out /tmp/bf-small --threads 1
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path


def build_store(out: Path, n_treatment: int, n_control: int, seed: int, chunk: int) -> Path:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from flexpersona.simulate.trial import generate_block, plan_trial, readings_frame
    from flexpersona.store import Store

    store = Store(out / "store")
    done = out / "store" / "done.json"
    if done.exists():
        return store.path
    t = time.perf_counter()
    plan = plan_trial(n_treatment, n_control, seed=seed, survey=False)
    store.readings_dir.mkdir(parents=True, exist_ok=True)
    ids = plan.households["household_id"].to_numpy(dtype=object)
    n_rows = 0
    for k, start in enumerate(range(0, plan.n, chunk)):
        idx = np.arange(start, min(start + chunk, plan.n))
        kwh, present = generate_block(plan, idx)
        frame = readings_frame(ids[idx], plan.axis.ts, kwh, present)
        table = pa.Table.from_pandas(frame, preserve_index=False)
        pq.write_table(table, store.readings_dir / f"part-{k:05d}.parquet")
        n_rows += table.num_rows
        print(f"  chunk {k}: {len(idx)} households, {table.num_rows:,} rows", file=sys.stderr, flush=True)
    store.write("households", plan.households)
    store.write("tariff", plan.tariff)
    plan.truth.to_parquet(out / "truth.parquet")
    done.write_text(json.dumps({"rows": n_rows, "seconds": time.perf_counter() - t}))
    return store.path


def measure(store_dir: str, replicates: int, engine: str, result_file: str, verbose: bool = False,
            threads: int | None = None) -> None:
    """Child process: run the stage, write a summary (``verbose``: the engine's per-query timings on stderr)."""
    import logging

    import numpy as np
    import pandas as pd
    from scipy.stats import spearmanr

    from flexpersona.config import Config
    from flexpersona.features import compute_features
    from flexpersona.store import Store

    if verbose:
        logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s")
        logging.getLogger("flexpersona.features").setLevel(logging.DEBUG)
    cfg = Config().replace(features={"bootstrap_replicates": replicates, "engine": engine},
                           data={"duckdb_threads": threads})
    t = time.perf_counter()
    res = compute_features(Store(store_dir), cfg)
    seconds = time.perf_counter() - t
    truth = pd.read_parquet(Path(store_dir).parent / "truth.parquet")
    f = res.features.merge(truth[["household_id", "high_effect_pct"]], on="household_id")
    cover = (f["high_response_ci_low"] <= f["high_effect_pct"]) & (f["high_effect_pct"] <= f["high_response_ci_high"])
    summary = {
        "seconds": round(seconds, 1),
        "timings_s": res.info["timings_s"],
        "reference": res.info["reference"],
        "n_households": res.info["n_households"],
        "cohort_high": res.info["cohort_response"]["treatment"]["high"],
        "cohort_low": res.info["cohort_response"]["treatment"]["low"],
        "spearman_high": float(spearmanr(f["high_response_pct"], f["high_effect_pct"], nan_policy="omit")[0]),
        "mean_diff_high_pp": float(np.nanmean(f["high_response_pct"]) - f["high_effect_pct"].mean()),
        "coverage_high": float(cover.mean()),
        "false_responder_rate": res.info["placebo"]["false_responder_rate"],
    }
    Path(result_file).write_text(json.dumps(summary, indent=1, default=str))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--treatment", type=int, default=1100)
    ap.add_argument("--control", type=int, default=4400)
    ap.add_argument("--out", default="bench-features", help="work folder (the simulated store is reused)")
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--chunk", type=int, default=250, help="households simulated at a time")
    ap.add_argument("--replicates", type=int, default=200, help="bootstrap replicates")
    ap.add_argument("--engine", default="duckdb", choices=["duckdb", "spark"])
    ap.add_argument("--verbose", action="store_true", help="log the time of every engine query")
    ap.add_argument("--threads", type=int, default=None, help="DuckDB threads (default: every core)")
    ap.add_argument("--measure", nargs=2, metavar=("STORE", "RESULT"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.measure:
        measure(args.measure[0], args.replicates, args.engine, args.measure[1], verbose=args.verbose,
                threads=args.threads)
        return 0
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    store = build_store(out, args.treatment, args.control, args.seed, args.chunk)
    print(f"store ready in {time.perf_counter() - t:.0f} s: {store}", flush=True)
    result = out / "result.json"
    cmd = [sys.executable, __file__, "--replicates", str(args.replicates), "--engine", args.engine,
           "--measure", str(store), str(result)] + (["--verbose"] if args.verbose else [])  # fmt: skip
    if args.threads is not None:
        cmd += ["--threads", str(args.threads)]
    t = time.perf_counter()
    subprocess.run(cmd, check=True)
    wall = time.perf_counter() - t
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    summary = json.loads(result.read_text())
    summary.update({"child_wall_s": round(wall, 1), "child_peak_rss_mb": round(peak_mb)})
    result.write_text(json.dumps(summary, indent=1))
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

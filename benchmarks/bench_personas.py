"""Benchmark (not a test): personas selection + stability for LCL-size cohorts (default config).

Makes a features table of ``--households`` treatment households with four planted personas (planted sd
2 pp + heteroscedastic estimation noise 1-3 pp + 1 % outliers, and half-year responses for split-half
stability), runs :func:`flexpersona.personas.build_personas` with the default config (k = 2..8, four
algorithms, 5 mixture restarts, gap test with 20 references, 50 bootstrap resamples) and prints the wall
time of each part, the chosen model and the adjusted Rand index against the planted personas.
``--null`` uses one response distribution instead (no personas).

Usage::

    .venv/bin/python benchmarks/bench_personas.py --households 1100
    .venv/bin/python benchmarks/bench_personas.py --households 1100 --null
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--households", type=int, default=1100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--null", action="store_true", help="one response distribution (no planted personas)")
    args = ap.parse_args(argv)

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "personas"))
    from persona_planted import null_features, planted_features
    from sklearn.metrics import adjusted_rand_score
    from sklearn.preprocessing import RobustScaler
    from threadpoolctl import threadpool_limits

    from flexpersona import Config
    from flexpersona.personas import build_personas
    from flexpersona.personas.existence import gap_statistic
    from flexpersona.personas.selection import select_model

    make = null_features if args.null else planted_features
    df = make(args.households, args.seed)
    rng = np.random.default_rng(args.seed)
    for c in ("high_response_pct", "low_response_pct"):
        for h in ("h1", "h2"):
            df[f"{c}_{h}"] = df[c] + rng.normal(0, 2.0, len(df))
    cfg = Config()
    pc = cfg.personas
    X = df[list(pc.features)].to_numpy()

    with threadpool_limits(limits=1):  # as build_personas does
        t = time.perf_counter()
        gap_statistic(RobustScaler().fit_transform(X), k_max=min(pc.k_max, 6), n_references=pc.null_references)
        t_gap = time.perf_counter() - t
        t = time.perf_counter()
        select_model(X, algorithms=pc.algorithms, k_min=pc.k_min, k_max=pc.k_max, gmm_restarts=pc.gmm_restarts)
        t_sel = time.perf_counter() - t
    t = time.perf_counter()
    res = build_personas(df, cfg)
    t_all = time.perf_counter() - t
    out = {
        "households": args.households,
        "null": args.null,
        "seconds_null_test": round(t_gap, 2),
        "seconds_selection": round(t_sel, 2),
        "seconds_build_personas_total": round(t_all, 2),
        "seconds_stability_etc": round(t_all - t_gap - t_sel, 2),
        "structure_found": res.structure_found,
        "chosen": res.stability.get("chosen"),
        "bootstrap_ari_mean": res.stability.get("bootstrap_ari_mean"),
        "split_half_ari": res.stability.get("split_half_ari"),
    }
    if not args.null:
        ok = res.personas["persona_id"].notna()
        out["ari_vs_planted"] = round(float(adjusted_rand_score(df.loc[ok, "truth"], res.personas.loc[ok, "persona_id"])), 3)
        out["personas"] = res.profiles[["persona_id", "persona_name", "n"]].to_dict("records")
    print(json.dumps(out, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

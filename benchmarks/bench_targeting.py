"""Benchmark (not a test): the toolkit's targeting on a planted table of LCL size.

Builds planted tables with ``tests/toolkit/targeting_planted.py`` (simulator truth, realistic estimation
noise, the 11 lifestyle columns + Acorn), then times :func:`flexpersona.toolkit.targeting.fit_targeting`
(cross-fitting, Qini bootstrap, placebo check, ranking the book) and the whole
:func:`flexpersona.toolkit.build_toolkit` with the default :class:`flexpersona.config.ToolkitConfig`
(``--n-jobs`` overrides ``toolkit.n_jobs``), best of ``--repeat`` runs, and prints the Qini numbers.

Usage::

    .venv/bin/python benchmarks/bench_targeting.py --treatment 500 --control 500
    .venv/bin/python benchmarks/bench_targeting.py --treatment 1100 --control 1100 --n-jobs 2
"""

from __future__ import annotations

import argparse
import inspect
import json
import sys
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--treatment", type=int, default=500)
    ap.add_argument("--control", type=int, default=500)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--n-jobs", type=int, default=None)
    ap.add_argument("--unpredictable", action="store_true", help="persona membership ignores the pre-trial trait")
    args = ap.parse_args()

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "toolkit"))
    from targeting_planted import planted_targeting

    from flexpersona.config import Config
    from flexpersona.toolkit import build_toolkit
    from flexpersona.toolkit.targeting import fit_targeting

    feats, life, hh, placebo, _ = planted_targeting(
        args.treatment, args.control, seed=args.seed, predictable=not args.unpredictable
    )
    cfg = Config()
    if args.n_jobs is not None:
        cfg = cfg.replace(toolkit={"n_jobs": args.n_jobs})
    takes_placebo = "placebo" in inspect.signature(fit_targeting).parameters
    extra = {"placebo": placebo} if takes_placebo else {}
    best_fit = best_build = float("inf")
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        res = fit_targeting(feats, life, hh, cfg, **extra)
        best_fit = min(best_fit, time.perf_counter() - t0)
        t0 = time.perf_counter()
        build_toolkit(feats, life, None, None, hh, cfg, **extra)
        best_build = min(best_build, time.perf_counter() - t0)
    keep = ("qini_coefficient", "qini_coefficient_ci_low", "qini_coefficient_ci_high", "area_vs_random_kw",
            "beats_random", "placebo_qini_coefficient", "placebo_qini_coefficient_ci_low",
            "placebo_qini_coefficient_ci_high", "placebo_excludes_zero", "n_book")
    out = {
        "households": args.treatment + args.control,
        "treatment": args.treatment,
        "control": args.control,
        "fit_targeting_seconds": round(best_fit, 2),
        "build_toolkit_seconds": round(best_build, 2),
        "toolkit_config": {k: v for k, v in cfg.toolkit.__dict__.items() if k in
                           ("n_estimators", "cv_repeats", "cv_folds", "n_jobs", "bootstrap_replicates")},
        **{k: res.summary[k] for k in keep if k in res.summary},
    }
    print(json.dumps(out, indent=1, default=str))


if __name__ == "__main__":
    main()

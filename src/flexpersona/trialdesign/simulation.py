"""The simulation check of the design model: simulate trials, run the real estimator, measure.

A trial of ``n_treatment`` + ``n_control`` households over the trial year (no baseline year: the within-trial
reference, as on LCL 2013) with ``n_events`` High events (the generated 2013-like schedule with that many High
runs, the same half-hours per event; Low runs unchanged) and two planted personas ``separation`` pp apart
(equal shares, spread τ), at ``noise_scale`` (1.6 ≈ LCL's 5–6 pp household SE). The features stage runs in
memory (:func:`flexpersona.features.compute_features`) and the design's quantities are measured:

- ``household_se_pp``: median bootstrap SE of the raw High response;
- ``cohort_ci_halfwidth_pp``: the run's cohort interval (households and day blocks) combined with the control
  mean error the run measured (the run's cohort interval holds the control group's mean fixed);
- ``reliability``: squared correlation of raw estimates with the planted effects;
- ``prevalence_ci_width_pp``: the run's interval of the share with θ < −5 %;
- ``persona_recovery_ari``: ARI of a two-cluster split of the raw High responses with the planted personas.

:func:`simulation_check` calibrates the analytic model on simulated trials at a base point and compares its
predictions at other points with the simulated measurements there.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..simulate import generate_schedule, simulate_trial
from .calibration import Calibration, calibrate_tables
from .model import DEFAULT_SEPARATION, DEFAULT_SPREAD, DESIGN_COLUMNS, Z95, predict

log = logging.getLogger(__name__)

#: Half-hours per High event of the generated schedule (788 over 69 runs, like the real 2013 one).
HALFHOURS_PER_EVENT = 788 / 69
#: Default check: base point (calibration) and the points it predicts (twice the households, half the events).
CHECK_BASE = (100, 100, 69)
CHECK_POINTS = ((200, 200, 69), (100, 100, 35))
NOISE_SCALE = 1.6


def _schedule(n_events: int, seed: int) -> pd.DataFrame:
    hh = int(round(HALFHOURS_PER_EVENT * n_events))
    return generate_schedule(2013, seed=seed, n_high_runs=n_events, high_half_hours=hh)


def _ari(x: np.ndarray, labels: np.ndarray) -> float:
    """ARI of a two-cluster (1-D k-means) split of ``x`` with the planted ``labels``."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score

    ok = np.isfinite(x)
    if ok.sum() < 4 or len(np.unique(labels[ok])) < 2:
        return math.nan
    pred = KMeans(2, n_init=10, random_state=0).fit_predict(x[ok].reshape(-1, 1))
    return float(adjusted_rand_score(labels[ok], pred))


def run_point(n_treatment: int, n_control: int, n_events: int, *, seed: int = 0, noise_scale: float = NOISE_SCALE,
              separation: float = DEFAULT_SEPARATION, spread: float = DEFAULT_SPREAD) -> tuple[dict[str, float], Calibration]:
    """Simulate one trial, run the features stage in memory, measure the design quantities.

    Returns the measurements (the columns of ``design.csv``) and the :class:`Calibration` of that trial.
    """
    from ..features import compute_features

    trial = simulate_trial(
        n_treatment, n_control, seed=seed, start="2013-01-01", end="2013-12-31", personas="three",
        persona_centres={"engaged_shifter": (-separation, 0.0), "inert": (0.0, 0.0)},
        persona_shares={"engaged_shifter": 0.5, "inert": 0.5, "contrarian": 0.0}, persona_spread=spread,
        noise_scale=noise_scale, schedule=_schedule(n_events, seed), survey=False, daily=False,
    )  # fmt: skip
    res = compute_features(trial.readings, trial.households, trial.tariff)
    cal = calibrate_tables(res.features, res.info, res.prior, res.replicates, source="simulated")
    f = res.features.merge(trial.truth[["household_id", "high_effect_pct", "persona"]], on="household_id")
    x, theta = f["high_response_pct"].to_numpy(float), f["high_effect_pct"].to_numpy(float)
    ok = np.isfinite(x)
    m = cal.measured
    hw = math.hypot(m["cohort_ci_halfwidth_pp"], Z95 * cal.control_error_sd)
    out = {
        "n_treatment": n_treatment, "n_control": n_control, "n_events": int(res.info["n_events"].get("High", 0)),
        "cohort_ci_halfwidth_pp": hw, "cohort_ci_halfwidth_kw_per_1000": hw / 100 * cal.baseline_kw * 1000,
        "household_se_pp": m["household_se_pp"],
        "reliability": float(np.corrcoef(x[ok], theta[ok])[0, 1] ** 2) if ok.sum() > 2 else math.nan,
        "prevalence_ci_width_pp": m["prevalence_ci_width_pp"],
        "persona_recovery_ari": _ari(x, f["persona"].to_numpy(dtype=object)),
    }  # fmt: skip
    return out, cal


def _cached_point(cache: Path | None, key: dict[str, Any]) -> tuple[dict[str, float], Calibration]:
    """:func:`run_point` with its result kept in ``cache/<hash>.json`` (the same arguments are not re-run)."""
    name = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    path = None if cache is None else Path(cache) / f"{name}.json"
    if path is not None and path.exists():
        d = json.loads(path.read_text(encoding="utf-8"))
        c = d["calibration"]
        c["se_ratios"] = tuple(c["se_ratios"])
        return d["measured"], Calibration(**c)
    t0 = time.perf_counter()
    measured, cal = run_point(**key)
    log.info("design: simulated %s in %.1f s", key, time.perf_counter() - t0)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"key": key, "measured": measured, "calibration": cal.to_dict()}), encoding="utf-8")
    return measured, cal


def pooled_calibration(cals: list[Calibration]) -> Calibration:
    """The mean of several calibrations (numbers averaged field by field; SE ratios quantile by quantile)."""
    first = cals[0]
    values: dict[str, Any] = {}
    for f in fields(Calibration):
        vals = [getattr(c, f.name) for c in cals]
        if f.name == "se_ratios":
            values[f.name] = tuple(np.mean(np.asarray(vals, float), axis=0).round(4))
        elif f.name == "measured":
            values[f.name] = {k: float(np.nanmean([v.get(k, math.nan) for v in vals])) for k in first.measured}
        elif isinstance(getattr(first, f.name), (int, float)) and not isinstance(getattr(first, f.name), bool):
            values[f.name] = type(getattr(first, f.name))(np.mean(vals))
        else:
            values[f.name] = getattr(first, f.name)
    values["source"] = f"simulated ({len(cals)} trials)"
    return Calibration(**values)


def simulation_check(replicates: int = 2, *, base: tuple[int, int, int] = CHECK_BASE,
                     points: tuple[tuple[int, int, int], ...] = CHECK_POINTS, seed: int = 0,
                     noise_scale: float = NOISE_SCALE, separation: float = DEFAULT_SEPARATION,
                     spread: float = DEFAULT_SPREAD, cache: str | Path | None = None) -> pd.DataFrame:
    """Analytic (calibrated on simulated trials at ``base``) against simulated, at ``base`` and ``points``.

    Returns rows with the columns of ``design.csv`` plus ``method`` (``simulated`` = mean over the
    ``replicates`` trials; ``analytic (simulator-calibrated)``), ``n_replicates`` and, for simulated rows,
    ``{column}_sd`` (sd over the replicates) of the cohort half-width and household SE.
    """
    if replicates < 1:
        return pd.DataFrame(columns=[*DESIGN_COLUMNS, "method"])
    common = {"noise_scale": noise_scale, "separation": separation, "spread": spread}
    runs: dict[tuple[int, int, int], list[tuple[dict[str, float], Calibration]]] = {}
    for p in (base, *points):
        runs[p] = [_cached_point(None if cache is None else Path(cache), {
            "n_treatment": p[0], "n_control": p[1], "n_events": p[2], "seed": seed + 1000 * r + 1, **common})
            for r in range(replicates)]  # fmt: skip
    cal = pooled_calibration([c for _, c in runs[base]])
    rows = []
    for p, res in runs.items():
        sim = pd.DataFrame([m for m, _ in res])
        row = {c: float(sim[c].mean()) for c in DESIGN_COLUMNS}
        row.update(n_treatment=p[0], n_control=p[1], n_events=int(round(sim["n_events"].mean())))
        rows.append({**row, "method": "simulated", "n_replicates": replicates,
                     "cohort_ci_halfwidth_pp_sd": float(sim["cohort_ci_halfwidth_pp"].std(ddof=1)) if replicates > 1 else math.nan,
                     "household_se_pp_sd": float(sim["household_se_pp"].std(ddof=1)) if replicates > 1 else math.nan})
        rows.append({**predict(cal, p[0], p[1], p[2], separation=separation, spread=spread),
                     "method": "analytic (simulator-calibrated)", "n_replicates": replicates})
    return pd.DataFrame(rows)

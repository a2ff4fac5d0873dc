"""What the design model needs to know about a trial, measured on a run (``--calibrate RUN``) or on LCL.

Every quantity is measured on the High band of a finished features stage (the tables of a run folder or a
:class:`~flexpersona.features.stage.FeatureResult` in memory):

- household noise: median bootstrap SE of the raw High response (``high_response_se``) and the spread of SEs
  around it (quantiles of SE / median, and the load-weighted mean squared SE);
- spread of true responses: the variance of the deconvolved treatment prior (``prior.csv``);
- the cohort interval's parts: household resampling (load-weighted variance of the raw estimates), the day
  blocks the households share (variance over bootstrap replicates of the load-weighted cohort mean with the
  households held fixed, ``replicates.parquet``; its common part is what remains after the households' own
  noise), and the control group's mean error (``features_info.json`` → ``posterior.control_mean_error_sd``);
- event count and sizes; the mean counterfactual High load (kW) for kW per 1,000 households;
- prevalence: share with θ < −5 %, the prior's density there and the measured interval width (anchor).

:data:`LCL` holds the same numbers measured on the whole shared 2013 LCL trial (``docs/design.md``).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ..schema import TREATMENT

#: Quantiles (2.5 % ... 97.5 %, 20 points) at which the SE / median-SE ratios are kept.
SE_QUANTILES = tuple(np.linspace(0.025, 0.975, 20).round(4))
#: Prevalence threshold [%] of the design's interval width (θ below it = a household cutting High use).
PREVALENCE_THRESHOLD = -5.0


@dataclass(frozen=True)
class Calibration:
    """The measured inputs of the design model (all in percentage points unless named otherwise).

    Attributes
    ----------
    source
        Where the numbers come from (a run folder, ``"LCL hh2013 (built in)"``, ``"simulated"``).
    n_treatment, n_control, n_events
        The calibrating trial's kept households and High events.
    se_median
        Median household SE of the raw High response at ``n_events`` [pp].
    se_ratios
        SE / median SE at :data:`SE_QUANTILES` (the spread of households' noise).
    se_w2
        Load-weighted mean of SE² [pp²].
    prior_var, prior_var_w
        Variance of the deconvolved prior of true responses [pp²]; the load-weighted variance of the raw
        estimates minus ``se_w2`` (the same, as the cohort's load weighting sees it).
    neff_ratio
        Effective number of households of the load-weighted cohort mean / number of households.
    idio_n2
        ``n ·`` Σ W² SE² [pp²]: the households' own day noise in the cohort mean, times n.
    common_var
        Variance of the cohort mean over shared day blocks that is common to the households [pp²].
    control_error_sd
        The control group's mean error at ``n_control`` [pp].
    baseline_kw
        Mean counterfactual load per household in High half-hours [kW].
    se_rms_ratio
        Root mean square SE / median SE (heavy-tailed noise: ≈ 1.4 on LCL).
    prevalence_share, prevalence_density
        Share with θ < −5 % and the prior's density there [1/pp].
    measured
        What the calibrating trial itself measured (household SE, cohort half-width, ...), for comparison.
    """

    source: str
    n_treatment: int
    n_control: int
    n_events: int
    se_median: float
    se_ratios: tuple[float, ...]
    se_w2: float
    prior_var: float
    prior_var_w: float
    neff_ratio: float
    idio_n2: float
    common_var: float
    control_error_sd: float
    baseline_kw: float
    prevalence_share: float
    prevalence_density: float
    se_rms_ratio: float = 1.0
    measured: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["se_ratios"] = list(self.se_ratios)
        return d


#: Measured on the whole shared 2013 LCL trial (466 dToU / 566 Std households, 69 High events), the run of
#: ``flexpersona run ../shared/data/lcl/hh2013 --tariff …/Tariffs.xlsx --households
#: …/informations_households.csv --daily …/kaggle_daily --out /tmp/realfull`` with the default config
#: (``calibrate_run("/tmp/realfull")``; see docs/design.md).
LCL = Calibration(
    source="LCL hh2013 (built in: 466 dToU / 566 Std households, 69 High events)",
    n_treatment=466, n_control=566, n_events=69, se_median=5.0498,
    se_ratios=(0.4369, 0.5317, 0.6169, 0.6893, 0.7462, 0.786, 0.8411, 0.8841, 0.9353, 0.9785, 1.0281, 1.1074,
               1.1922, 1.2573, 1.3451, 1.4644, 1.5999, 1.7242, 1.9947, 2.9938),
    se_w2=36.563, prior_var=62.284, prior_var_w=60.129, neff_ratio=0.65334, idio_n2=49.320, common_var=0.34492,
    control_error_sd=0.26106, baseline_kw=0.44938, prevalence_share=0.29518, prevalence_density=0.059271,
    se_rms_ratio=1.409,
    measured={"household_se_pp": 5.0498, "cohort_ci_halfwidth_pp": 1.7501, "prevalence_ci_width_pp": 15.790,
              "cohort_ci_halfwidth_kw_per_1000": 7.9245},
)  # fmt: skip


def _weights(feats: pd.DataFrame) -> np.ndarray:
    """Load weight of each household in the cohort mean (Σŷ over its High half-hours)."""
    w = feats["high_baseline_kw"].to_numpy(float) * feats["n_high_halfhours"].to_numpy(float)
    return np.where(np.isfinite(w) & (w > 0), w, 0.0)


def _prior_moments(prior: pd.DataFrame | None) -> tuple[float, float] | None:
    """Variance of the treatment High prior and its density [1/pp] at the prevalence threshold."""
    if prior is None or prior.empty:
        return None
    p = prior[(prior["band"].astype(str) == "High") & (prior["group"].astype(str) == TREATMENT)].sort_values("grid")
    if len(p) < 3:
        return None
    g, w = p["grid"].to_numpy(float), p["weight"].to_numpy(float)
    w = w / w.sum()
    m = float((g * w).sum())
    step = float(np.median(np.diff(g)))
    return float(((g - m) ** 2 * w).sum()), float(np.interp(PREVALENCE_THRESHOLD, g, w) / step)


def _day_var(replicates: pd.DataFrame | None, ids: pd.Series, w: np.ndarray) -> float | None:
    """Variance over day-block replicates of the load-weighted cohort mean, households held fixed."""
    if replicates is None or replicates.empty or "high_pct" not in replicates.columns:
        return None
    r = replicates[replicates["group"].astype(str) == TREATMENT]
    wide = r.pivot_table(index="household_id", columns="replicate", values="high_pct", aggfunc="first")
    wide = wide.reindex(pd.Index(ids.astype(str)))
    x = wide.to_numpy(float)
    ok = np.isfinite(x)
    num = np.where(ok, x, 0.0) * w[:, None]
    den = (ok * w[:, None]).sum(axis=0)
    means = num.sum(axis=0)[den > 0] / den[den > 0]
    return float(np.var(means, ddof=1)) if len(means) >= 3 else None


def _measured(info: dict[str, Any], se_median: float, toolkit: dict[str, Any] | None) -> dict[str, float]:
    """The calibrating trial's own measurements of the design's quantities (NaN when absent)."""
    out = {"household_se_pp": se_median}
    c = info.get("cohort_response", {}).get(TREATMENT, {}).get("high", {})
    out["cohort_ci_halfwidth_pp"] = (float(c["ci_high"]) - float(c["ci_low"])) / 2 if c else math.nan
    p = info.get("prevalence", {}).get(f"high_below_{PREVALENCE_THRESHOLD:g}", {})
    out["prevalence_ci_width_pp"] = 100 * (float(p["ci_high"]) - float(p["ci_low"])) if p else math.nan
    tot = (toolkit or {}).get("total", {})
    if "kw_per_1000_ci_high" in tot and "kw_per_1000_ci_low" in tot:
        out["cohort_ci_halfwidth_kw_per_1000"] = (float(tot["kw_per_1000_ci_high"]) - float(tot["kw_per_1000_ci_low"])) / 2
    return out


def calibrate_tables(
    features: pd.DataFrame,
    info: dict[str, Any],
    prior: pd.DataFrame | None = None,
    replicates: pd.DataFrame | None = None,
    *,
    source: str = "run",
    toolkit: dict[str, Any] | None = None,
) -> Calibration:
    """Measure a :class:`Calibration` on the features stage's tables (in memory or read from a run).

    Parameters
    ----------
    features
        ``features.parquet``: one row per treatment household (``high_response_pct``, ``high_response_se``,
        ``high_baseline_kw``, ``n_high_halfhours``).
    info
        ``features_info.json`` (``n_households``, ``n_events``, ``cohort_response``, ``posterior``,
        ``prevalence``).
    prior, replicates
        ``prior.csv`` and ``replicates.parquet``; without the replicates the common day term is what remains of
        the run's cohort interval after the household terms.
    source, toolkit
        A label, and ``toolkit.json`` (its kW per 1,000 interval is kept as a measurement).

    Raises
    ------
    InputError
        The tables have no treatment household with a High response and SE.
    """
    f = features.dropna(subset=["high_response_pct", "high_response_se"])
    f = f[np.isfinite(f["high_response_se"]) & (f["high_response_se"] > 0)]
    if len(f) < 3:
        msg = "the run has fewer than 3 treatment households with a High response and SE: nothing to calibrate"
        raise InputError(msg)
    n = len(f)
    x, se, w = f["high_response_pct"].to_numpy(float), f["high_response_se"].to_numpy(float), _weights(f)
    if w.sum() <= 0:
        w = np.ones(n)
    W = w / w.sum()
    xbar = float((W * x).sum())
    se_med = float(np.median(se))
    se_w2 = float((W * se**2).sum())
    var_w = float((W * (x - xbar) ** 2).sum())
    idio_n2 = float(n * (W**2 * se**2).sum())
    neff_ratio = float(1.0 / (W**2).sum() / n)
    hh_var = var_w / (n * neff_ratio)  # household resampling of the load-weighted mean
    moments = _prior_moments(prior)
    prior_var, density = moments if moments else (max(float(np.var(x, ddof=1)) - float((se**2).mean()), 0.0), LCL.prevalence_density)
    sizes = info.get("n_households", {})
    n_events = int(info.get("n_events", {}).get("High", 0)) or LCL.n_events
    measured = _measured(info, se_med, toolkit)
    day_var = _day_var(replicates, f["household_id"], w)
    if day_var is None:
        hw = measured["cohort_ci_halfwidth_pp"]
        day_var = max((hw / 1.96) ** 2 - hh_var, 0.0) if np.isfinite(hw) else LCL.common_var + LCL.idio_n2 / n
    common = max(day_var - idio_n2 / n, 0.0)
    ctrl = info.get("posterior", {}).get("control_mean_error_sd", {}).get("high")
    prev = info.get("prevalence", {}).get(f"high_below_{PREVALENCE_THRESHOLD:g}", {})
    cal = Calibration(
        source=source, n_treatment=int(sizes.get(TREATMENT, n)), n_control=int(sizes.get("control", 0)),
        n_events=n_events, se_median=se_med,
        se_ratios=tuple(float(v) for v in np.quantile(se / se_med, SE_QUANTILES).round(4)),
        se_w2=se_w2, prior_var=float(prior_var), prior_var_w=max(var_w - se_w2, 0.0), neff_ratio=neff_ratio,
        idio_n2=idio_n2, common_var=common,
        control_error_sd=float(ctrl) if ctrl is not None and np.isfinite(ctrl) else LCL.control_error_sd,
        baseline_kw=float(np.nanmean(f["high_baseline_kw"])) if "high_baseline_kw" in f else LCL.baseline_kw,
        prevalence_share=float(prev.get("share", LCL.prevalence_share)), prevalence_density=float(density),
        se_rms_ratio=float(np.sqrt((se**2).mean()) / se_med), measured=measured,
    )  # fmt: skip
    return cal


def calibrate_run(run: str | Path) -> Calibration:
    """Measure a :class:`Calibration` on a finished run folder (its features stage's tables).

    Raises
    ------
    InputError
        The folder has no ``features.parquet`` / ``features_info.json``.
    """
    from ..runfolder import RunFolder

    rf = RunFolder(run)
    for name in ("features", "features_info"):
        if not rf.exists(name):
            msg = f"{Path(run)} has no {rf.artifact(name).path}: give a finished run folder to --calibrate"
            raise InputError(msg)
    info = rf.load("features_info")
    toolkit = rf.load("toolkit", required=False)
    return calibrate_tables(
        rf.load("features"), info, rf.load("prior", required=False), rf.load("replicates", required=False),
        source=str(Path(run)), toolkit=toolkit,
    )


def read_calibration(path: str | Path) -> Calibration:
    """A calibration saved by :func:`flexpersona.trialdesign.design` (``calibration.json``)."""
    d = json.loads(Path(path).read_text(encoding="utf-8"))
    d["se_ratios"] = tuple(d["se_ratios"])
    return Calibration(**d)

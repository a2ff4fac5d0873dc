"""The analytic design model: what a trial of a given size and event count would measure (docs/design.md).

With ``k = E₀/E`` (events of the calibrating trial over the planned ones) and ``n_T``, ``n_C`` households:

- household SE (median) ``s(E) = s₀·√k`` (a household's High response averages its own event half-hours);
- reliability ``ρ = var(G) / (var(G) + r²·s(E)²)``, G the deconvolved prior, r the RMS / median SE ratio;
- cohort half-width ``1.96·√( (var_w(G) + s̄²_w·k)/n_eff + idio·k/n_T + common·k + c₀²·n_C₀/n_C )``:
  household resampling of the load-weighted mean (``n_eff`` = ``neff_ratio·n_T``), the households' own day
  noise and the day noise they share (both averaged over the events), the control group's mean error;
- kW per 1,000 households: the half-width in pp × the mean counterfactual High load × 10;
- prevalence interval width (θ < −5 %): ``2·1.96·√( p(1−p)/(n_T·ρ²) + (g(−5)·c(n_C))² )`` — a binomial whose
  information is thinned by the noise (deconvolution) plus the shift of the whole prior by the control error;
- persona recovery: two planted personas ``Δ`` apart (within-persona spread τ, equal shares) assigned at the
  midpoint: misclassification ``q = mean_h Φ(−Δ / (2·√(s_h² + τ²)))`` over the households' SEs, and for two
  equal clusters with symmetric error ``ARI = (1 − 2q)²``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import pandas as pd
from scipy.stats import norm

from .calibration import Calibration

#: The columns of ``design.csv``, in order.
DESIGN_COLUMNS = (
    "n_treatment", "n_control", "n_events", "cohort_ci_halfwidth_pp", "cohort_ci_halfwidth_kw_per_1000",
    "household_se_pp", "reliability", "prevalence_ci_width_pp", "persona_recovery_ari",
)  # fmt: skip
#: Default grid: treatment and control sizes and High event counts.
DEFAULT_SIZES = (100, 250, 500, 1000, 2000)
DEFAULT_EVENTS = (20, 35, 69, 140)
#: Planted persona separation [pp] and within-persona spread [pp] of the recovery column (the simulator's
#: moderate reducer vs inert, :mod:`flexpersona.simulate.personas`).
DEFAULT_SEPARATION = 10.0
DEFAULT_SPREAD = 2.5
Z95 = 1.959963984540054


def household_se(cal: Calibration, n_events: float) -> float:
    """Median household SE of the raw High response [pp] with ``n_events`` High events."""
    return cal.se_median * math.sqrt(cal.n_events / n_events)


def reliability(cal: Calibration, n_events: float) -> float:
    """Share of the between-household variance of raw responses that is true (not noise)."""
    noise = (cal.se_rms_ratio * household_se(cal, n_events)) ** 2
    return cal.prior_var / (cal.prior_var + noise) if cal.prior_var + noise > 0 else math.nan


def control_error(cal: Calibration, n_control: float) -> float:
    """The control group's mean error [pp] with ``n_control`` households."""
    if n_control <= 0:
        return math.nan
    return cal.control_error_sd * math.sqrt(max(cal.n_control, 1) / n_control)


def cohort_variance_parts(cal: Calibration, n_treatment: float, n_control: float, n_events: float) -> dict[str, float]:
    """The cohort response's variance [pp²] by source (see the module docstring)."""
    k = cal.n_events / n_events
    return {
        "households": (cal.prior_var_w + cal.se_w2 * k) / (cal.neff_ratio * n_treatment),
        "household_days": cal.idio_n2 * k / n_treatment,
        "common_days": cal.common_var * k,
        "control_mean": control_error(cal, n_control) ** 2,
    }


def cohort_halfwidth(cal: Calibration, n_treatment: float, n_control: float, n_events: float) -> float:
    """Half-width of the cohort High response's 95 % interval [pp]."""
    return Z95 * math.sqrt(sum(cohort_variance_parts(cal, n_treatment, n_control, n_events).values()))


def prevalence_width(cal: Calibration, n_treatment: float, n_control: float, n_events: float) -> float:
    """Width of the 95 % interval of the share with θ < −5 % [pp]."""
    p, rho = cal.prevalence_share, reliability(cal, n_events)
    binom = p * (1 - p) / (n_treatment * rho**2)
    shift = (cal.prevalence_density * control_error(cal, n_control)) ** 2
    return 100 * 2 * Z95 * math.sqrt(binom + shift)


def persona_ari(cal: Calibration, n_events: float, separation: float = DEFAULT_SEPARATION,
                spread: float = DEFAULT_SPREAD) -> float:
    """Expected ARI of two planted personas ``separation`` pp apart, assigned at the midpoint."""
    s = household_se(cal, n_events) * np.asarray(cal.se_ratios, float)
    q = float(np.mean(norm.cdf(-separation / (2 * np.sqrt(s**2 + spread**2)))))
    return (1 - 2 * q) ** 2


def predict(cal: Calibration, n_treatment: int, n_control: int, n_events: int, *,
            separation: float = DEFAULT_SEPARATION, spread: float = DEFAULT_SPREAD) -> dict[str, float]:
    """Every design quantity at one point (a row of ``design.csv``)."""
    hw = cohort_halfwidth(cal, n_treatment, n_control, n_events)
    return {
        "n_treatment": int(n_treatment), "n_control": int(n_control), "n_events": int(n_events),
        "cohort_ci_halfwidth_pp": hw, "cohort_ci_halfwidth_kw_per_1000": hw / 100 * cal.baseline_kw * 1000,
        "household_se_pp": household_se(cal, n_events), "reliability": reliability(cal, n_events),
        "prevalence_ci_width_pp": prevalence_width(cal, n_treatment, n_control, n_events),
        "persona_recovery_ari": persona_ari(cal, n_events, separation, spread),
    }  # fmt: skip


def design_grid(cal: Calibration, n_treatment: Iterable[int] = DEFAULT_SIZES, n_control: Iterable[int] | None = None,
                n_events: Iterable[int] = DEFAULT_EVENTS, *, include_calibration: bool = False,
                separation: float = DEFAULT_SEPARATION, spread: float = DEFAULT_SPREAD) -> pd.DataFrame:
    """The analytic design table over a grid (``method`` = ``analytic``), sorted by size and events.

    ``n_control`` None pairs every treatment size with the same control size; ``include_calibration`` adds the
    calibrating trial's own sizes and event count (its row has ``calibrating`` True).
    """
    nt, ne = [int(v) for v in n_treatment], [int(v) for v in n_events]
    points = {(t, t, e) for t in nt for e in ne} if n_control is None else {
        (t, int(c), e) for t in nt for c in n_control for e in ne}
    own = (cal.n_treatment, cal.n_control, cal.n_events)
    if include_calibration and min(own) > 0:
        points.add(own)
    rows = [predict(cal, *p, separation=separation, spread=spread) for p in sorted(points)]
    out = pd.DataFrame(rows, columns=list(DESIGN_COLUMNS))
    out["method"] = "analytic"
    out["calibrating"] = [(r["n_treatment"], r["n_control"], r["n_events"]) == own for r in rows]
    return out

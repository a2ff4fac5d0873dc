"""Household posteriors by empirical-Bayes deconvolution (METHODS B.7) and prevalence (B.8).

Each household's raw response ``x_h`` [%] with its day-block bootstrap standard error ``s_h`` is read as
``x_h = θ_h + s_h·z_h``: the standardised error ``z`` follows a noise model, either standard normal or — the
default — the *placebo null*: the distribution of ``z = x/s`` of the control households, run through the
identical estimator as pseudo-treated (METHODS B.2), estimated by a Gaussian kernel density with a 2 % normal
defensive component. The null carries what a normal model misses on real meters: the estimator's small bias,
skew and heavy tails, and standard errors that are a little too small or large. The true responses ``θ_h`` are
drawn from a prior ``G`` that is estimated from all households of the group at once. ``G`` is nonparametric: the Kiefer–Wolfowitz maximum-likelihood estimate on
a fine grid (NPMLE; Koenker & Mizera 2014, Jiang & Zhang 2009), found by EM with SQUAREM acceleration
(Varadhan & Roland 2008), then smoothed with a narrow Gaussian kernel. The NPMLE is a few atoms even when the
truth is continuous, and posterior intervals on a few atoms are too narrow; the smoothing bandwidth is
``smooth`` × min(median ``s_h``, sd of the NPMLE): about half the noise for a spread-out prior (the NPMLE
cannot resolve finer detail than the noise), never more than half the prior's own spread (so that a prior
concentrated near one value, as on control households, stays concentrated). On planted trials at realistic
noise this keeps the posterior means' accuracy of the unsmoothed NPMLE and gives 95% intervals that cover
the planted responses of 93-97% of households (heavy-tailed, multimodal and all-zero priors alike).

Given ``G`` on the grid, the posterior of ``θ_h`` is ``∝ G(θ) φ((x_h − θ)/s_h)``: its mean, sd, 95% equal-tailed
interval and tail probabilities are exact on the grid. Prevalence (the share of households with ``θ``
beyond a threshold) is a property of ``G``, estimated as the mean posterior probability, with a bootstrap
interval that resamples households and refits ``G``.

Example
-------
>>> rng = np.random.default_rng(0)
>>> theta = np.where(rng.random(400) < 0.5, -20.0, 0.0)
>>> s = np.full(400, 5.0)
>>> x = theta + rng.normal(0, s)
>>> prior = fit_prior(x, s)
>>> post = posterior_summary(prior, x, s)
>>> bool(np.sqrt(np.mean((post["mean"] - theta) ** 2)) < np.sqrt(np.mean((x - theta) ** 2)))
True
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

_SQRT_2PI = np.sqrt(2.0 * np.pi)
#: Range of the tabulated noise densities [standardised units] and their resolution.
_Z_MAX, _Z_POINTS = 20.0, 4001


@dataclass(frozen=True)
class NoiseModel:
    """Density of the standardised estimation error ``z = (x − θ)/s``, tabulated on a fine grid.

    Attributes
    ----------
    z
        Abscissae of the table.
    logpdf_table
        Log density at ``z``.
    name
        ``normal`` or ``placebo``.
    n
        Placebo households it was estimated from (0 for the normal model).
    """

    z: np.ndarray
    logpdf_table: np.ndarray
    name: str = "normal"
    n: int = 0

    @classmethod
    def normal(cls) -> NoiseModel:
        """The standard normal model."""
        z = np.linspace(-_Z_MAX, _Z_MAX, _Z_POINTS)
        return cls(z, -0.5 * z * z - np.log(_SQRT_2PI), "normal", 0)

    @classmethod
    def from_placebo(cls, z_null: np.ndarray, *, defensive: float = 0.02, min_n: int = 30) -> NoiseModel:
        """The placebo null: a Gaussian kernel density (Silverman's bandwidth) of the controls' ``z``, mixed with
        ``defensive`` of a N(0, 3²) so that no estimate has zero likelihood. Fewer than ``min_n`` finite
        values give the normal model."""
        zn = np.asarray(z_null, dtype=float)
        zn = zn[np.isfinite(zn)]
        if len(zn) < min_n:
            return cls.normal()
        z = np.linspace(-_Z_MAX, _Z_MAX, _Z_POINTS)
        sd = float(np.std(zn, ddof=1))
        iqr = float(np.subtract(*np.quantile(zn, [0.75, 0.25])))
        h = 0.9 * min(sd, iqr / 1.34 if iqr > 0 else sd) * len(zn) ** -0.2
        dens = np.zeros_like(z)
        for chunk in np.array_split(zn, max(1, len(zn) // 2000)):
            dens += np.exp(-0.5 * ((z[:, None] - chunk[None, :]) / h) ** 2).sum(axis=1)
        dens /= len(zn) * h * _SQRT_2PI
        tail = np.exp(-0.5 * (z / 3.0) ** 2) / (3.0 * _SQRT_2PI)
        return cls(z, np.log((1 - defensive) * dens + defensive * tail), "placebo", int(len(zn)))

    def logpdf(self, z: np.ndarray) -> np.ndarray:
        """Log density at ``z`` (linear interpolation of the table; beyond it, the defensive normal tail)."""
        out = np.interp(z, self.z, self.logpdf_table)
        far = np.abs(z) > _Z_MAX
        if far.any():
            out[far] = np.log(0.02) - 0.5 * (z[far] / 3.0) ** 2 - np.log(3.0 * _SQRT_2PI)
        return out

    def moments(self) -> dict[str, float]:
        """Mean, sd and 2.5/97.5 % quantiles of the noise (the null's bias, spread and tails), for the manifest."""
        p = np.exp(self.logpdf_table)
        p /= p.sum()
        m = float(p @ self.z)
        c = np.cumsum(p)
        return {"mean": m, "sd": float(np.sqrt(p @ (self.z - m) ** 2)),
                "q025": float(np.interp(0.025, c, self.z)), "q975": float(np.interp(0.975, c, self.z)),
                "n": self.n, "model": self.name}


#: A noise model per household: one model, or models with the index of each row's model.
Noise = NoiseModel | tuple[list[NoiseModel], np.ndarray]


@dataclass
class Prior:
    """A deconvolved prior on a grid.

    Attributes
    ----------
    grid
        Support points [%], increasing.
    weight
        Probability mass at each point (sums to 1).
    npmle
        The unsmoothed NPMLE weights (warm start of bootstrap refits); None when not fitted here.
    info
        How it was fitted (JSON-able): ``n``, ``iterations``, ``bandwidth``, ``grid_points``, support.
    """

    grid: np.ndarray
    weight: np.ndarray
    npmle: np.ndarray | None = None
    info: dict[str, Any] = field(default_factory=dict)
    noise: Any = None

    def mass(self, threshold: float, direction: str) -> float:
        """``G(θ < threshold)`` (``direction="below"``) or ``G(θ > threshold)`` (``"above"``)."""
        sel = self.grid < threshold if direction == "below" else self.grid > threshold
        return float(self.weight[sel].sum())

    def table(self, band: str) -> pd.DataFrame:
        """``grid``, ``weight``, ``band`` (the rows of ``prior.csv``)."""
        return pd.DataFrame({"grid": self.grid, "weight": self.weight, "band": band})


def make_grid(x: np.ndarray, s: np.ndarray, *, spacing: float | None = None, max_points: int = 600) -> np.ndarray:
    """A uniform grid covering the raw estimates (never below −100 %, the physical floor of a response)."""
    lo = max(float(np.min(x)) - float(np.median(s)), -100.0)
    hi = float(np.max(x)) + float(np.median(s))
    step = spacing if spacing is not None else max(float(np.median(s)) / 10.0, 1e-3)
    n = int(np.clip(np.ceil((hi - lo) / step) + 1, 50, max_points))
    return np.linspace(lo, hi, n)


def _likelihood(x: np.ndarray, s: np.ndarray, grid: np.ndarray, noise: Noise | None = None) -> np.ndarray:
    """``L[h, j] = f((x_h − g_j)/s_h) / s_h`` for the noise density ``f``, rescaled per row by its maximum
    (returned with the log scale)."""
    z = (x[:, None] - grid[None, :]) / s[:, None]
    if noise is None:
        noise = NoiseModel.normal()
    if isinstance(noise, NoiseModel):
        logl = noise.logpdf(z)
    else:
        models, which = noise
        logl = np.empty_like(z)
        for i, m in enumerate(models):
            rows = which == i
            logl[rows] = m.logpdf(z[rows])
    logl -= np.log(s)[:, None]
    m = logl.max(axis=1, keepdims=True)
    return np.exp(logl - m), m[:, 0]


def _rows(noise: Noise | None, ok: np.ndarray) -> Noise | None:
    """The noise of the rows ``ok`` (per-row model indices follow the selection)."""
    if noise is None or isinstance(noise, NoiseModel):
        return noise
    return noise[0], np.asarray(noise[1])[ok]


def _em_step(L: np.ndarray, w: np.ndarray, f: np.ndarray | None = None) -> np.ndarray:
    """One EM step from ``w``; ``f`` is ``L @ w`` when the caller has it."""
    f = L @ w if f is None else f
    return w * (L.T @ (1.0 / np.maximum(f, 1e-300))) / L.shape[0]


def _loglik(f: np.ndarray) -> float:
    """The log-likelihood from the mixture density of every row, ``f = L @ w``."""
    return float(np.log(np.maximum(f, 1e-300)).sum())


def npmle_weights(L: np.ndarray, w0: np.ndarray | None = None, *, max_iter: int = 500, tol: float = 1e-7) -> tuple[np.ndarray, int, float]:
    """Kiefer–Wolfowitz NPMLE of mixing weights for a fixed likelihood matrix (EM with SQUAREM steps).

    Returns the weights, the number of iterations and the log-likelihood (of the rescaled ``L``).
    """
    J = L.shape[1]
    w = np.full(J, 1.0 / J) if w0 is None else np.asarray(w0, dtype=float) / np.sum(w0)
    f = L @ w  # each iterate's L @ w is computed once: its log-likelihood and the next step share it
    ll = _loglik(f)
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 (the count is returned after the loop)
        w1 = _em_step(L, w, f)
        w2 = _em_step(L, w1)
        r = w1 - w
        v = w2 - w1 - r
        rn, vn = np.linalg.norm(r), np.linalg.norm(v)
        alpha = -rn / vn if vn > 0 else -1.0
        alpha = min(alpha, -1.0)
        wn = w - 2 * alpha * r + alpha * alpha * v
        wn = np.clip(wn, 0.0, None)
        if wn.sum() <= 0:
            wn = w2
        wn = _em_step(L, wn / wn.sum())
        fn = L @ wn
        lln = _loglik(fn)
        if lln < ll - 1e-9:  # the extrapolation overshot: fall back to the plain double EM step
            wn, fn = w2, L @ w2
            lln = _loglik(fn)
        done = abs(lln - ll) <= tol * (1.0 + abs(ll))
        w, ll, f = wn, lln, fn
        if done:
            break
    return w, it, ll


def _kernel(grid: np.ndarray, sd: float) -> np.ndarray:
    """Column-stochastic Gaussian kernel on the grid: ``v @ K`` spreads the mass of each point by N(0, sd²)."""
    k = np.exp(-0.5 * ((grid[:, None] - grid[None, :]) / sd) ** 2)
    return k / k.sum(axis=1, keepdims=True)


def _smooth(grid: np.ndarray, w: np.ndarray, bandwidth: float) -> np.ndarray:
    if bandwidth <= 0:
        return w
    k = np.exp(-0.5 * ((grid[:, None] - grid[None, :]) / bandwidth) ** 2)
    k /= k.sum(axis=0, keepdims=True)  # each atom's mass spread over the grid, total kept
    out = k @ w
    return out / out.sum()


def _clean(x: np.ndarray, s: np.ndarray) -> np.ndarray:
    x, s = np.asarray(x, dtype=float), np.asarray(s, dtype=float)
    return np.isfinite(x) & np.isfinite(s) & (s > 0)


def fit_prior(
    x: np.ndarray,
    s: np.ndarray,
    *,
    noise: Noise | None = None,
    grid: np.ndarray | None = None,
    smooth: float = 0.5,
    w0: np.ndarray | None = None,
    max_iter: int = 500,
) -> Prior:
    """Estimate the prior ``G`` of the true responses from raw estimates and their standard errors.

    Parameters
    ----------
    x
        Raw estimates [%] (non-finite values and those with a non-positive or non-finite ``s`` are ignored).
    s
        Their standard errors [%].
    noise
        Noise model of ``z = (x − θ)/s`` (a :class:`NoiseModel`, or models with each row's index); default
        standard normal.
    grid
        Support [%]; default :func:`make_grid`.
    smooth
        Bandwidth of the Gaussian kernel applied to the NPMLE, in units of min(median ``s``, sd of the NPMLE)
        (0 = the raw NPMLE).
    w0
        Starting weights (warm start, e.g. in a bootstrap).
    max_iter
        EM iterations at most (each is a SQUAREM cycle of three EM steps).

    Returns
    -------
    Prior
    """
    ok = _clean(x, s)
    x, s = np.asarray(x, dtype=float)[ok], np.asarray(s, dtype=float)[ok]
    noise = _rows(noise, ok)
    if len(x) < 2:
        msg = f"a prior needs at least 2 households with an estimate and a standard error, got {len(x)}"
        raise ValueError(msg)
    g = make_grid(x, s) if grid is None else np.asarray(grid, dtype=float)
    L, _ = _likelihood(x, s, g, noise)
    w, it, ll = npmle_weights(L, w0, max_iter=max_iter)
    bw = bandwidth(g, w, s, smooth)
    ws = _smooth(g, w, bw)
    info = {"n": int(len(x)), "iterations": int(it), "bandwidth": bw, "grid_points": int(len(g)),
            "support_min": float(g[0]), "support_max": float(g[-1])}
    return Prior(grid=g, weight=ws, npmle=w, info=info, noise=noise)


def bandwidth(grid: np.ndarray, w: np.ndarray, s: np.ndarray, smooth: float) -> float:
    """Smoothing bandwidth [%]: ``smooth`` × min(median ``s``, sd of the unsmoothed prior ``w``)."""
    m = float(w @ grid)
    sd = float(np.sqrt(max(float(w @ (grid * grid)) - m * m, 0.0)))
    return smooth * min(float(np.median(s)), sd)


def _posterior_matrix(prior: Prior, x: np.ndarray, s: np.ndarray, noise: Noise | None) -> np.ndarray:
    L, _ = _likelihood(x, s, prior.grid, noise)
    P = L * prior.weight[None, :]
    tot = P.sum(axis=1, keepdims=True)
    return P / np.where(tot > 0, tot, 1.0)


def _quantiles(grid: np.ndarray, P: np.ndarray, q: float) -> np.ndarray:
    """Posterior quantiles by linear interpolation of the cumulative mass between grid points."""
    c = np.cumsum(P, axis=1)
    j = (c < q).sum(axis=1)
    j = np.minimum(j, len(grid) - 1)
    prev = np.where(j > 0, c[np.arange(len(c)), np.maximum(j - 1, 0)], 0.0)
    here = c[np.arange(len(c)), j]
    frac = np.where(here > prev, (q - prev) / np.where(here > prev, here - prev, 1.0), 0.0)
    left = np.where(j > 0, grid[np.maximum(j - 1, 0)], grid[0])
    return left + np.clip(frac, 0.0, 1.0) * (grid[j] - left)


def posterior_summary(
    prior: Prior,
    x: np.ndarray,
    s: np.ndarray,
    *,
    noise: Noise | None = None,
    level: float = 0.95,
    thresholds: dict[str, tuple[float, str]] | None = None,
    shift_sd: float = 0.0,
) -> pd.DataFrame:
    """Posterior of each household's true response under ``prior``.

    Parameters
    ----------
    prior
        The deconvolved prior.
    x, s
        Raw estimates and standard errors [%] (rows with a missing value get NaN).
    noise
        Noise model of every row of ``x`` (as :func:`fit_prior`); default standard normal.
    shift_sd
        Standard deviation [%] of an error common to every household of the group (the control group's mean,
        which makes every counterfactual): each posterior is convolved with N(0, shift_sd²), which widens its
        interval and leaves its mean unchanged.
    level
        Coverage of the equal-tailed interval.
    thresholds
        ``name -> (threshold, "below"|"above")``: posterior probabilities ``P(θ < t)`` or ``P(θ > t)``.

    Returns
    -------
    pandas.DataFrame
        ``mean``, ``sd``, ``ci_low``, ``ci_high`` [%] and one column per threshold name, in input order.
    """
    x, s = np.asarray(x, dtype=float), np.asarray(s, dtype=float)
    ok = _clean(x, s)
    out = pd.DataFrame(index=np.arange(len(x)), columns=["mean", "sd", "ci_low", "ci_high"], dtype=float)
    thresholds = thresholds or {}
    for name in thresholds:
        out[name] = np.nan
    if not ok.any():
        return out
    P = _posterior_matrix(prior, x[ok], s[ok], _rows(noise, ok))
    g = prior.grid
    if shift_sd > 0:
        P = P @ _kernel(g, shift_sd)
    mean = P @ g
    var = np.maximum(P @ (g * g) - mean * mean, 0.0)
    a = (1.0 - level) / 2.0
    out.loc[ok, "mean"] = mean
    out.loc[ok, "sd"] = np.sqrt(var)
    out.loc[ok, "ci_low"] = _quantiles(g, P, a)
    out.loc[ok, "ci_high"] = _quantiles(g, P, 1.0 - a)
    for name, (t, direction) in thresholds.items():
        sel = g < t if direction == "below" else g > t
        out.loc[ok, name] = np.clip(P[:, sel].sum(axis=1), 0.0, 1.0)
    return out


def prevalence(
    x: np.ndarray,
    s: np.ndarray,
    thresholds: dict[str, tuple[float, str]],
    *,
    prior: Prior | None = None,
    noise: Noise | None = None,
    replicates: int = 100,
    seed: int = 0,
    smooth: float = 0.5,
    level: float = 0.95,
    shift_sd: float = 0.0,
) -> dict[str, dict[str, float]]:
    """Share of households whose true response is beyond each threshold, with a bootstrap interval.

    The plain estimate is the mean posterior probability under the prior fitted to all households (the
    in-sample expected share). Bootstrap replicates resample households with replacement and refit the prior
    (SQUAREM, warm-started), with two further sources of error drawn in every replicate: the smoothing
    bandwidth (``smooth`` × U(0.5, 1.5): a share whose threshold lies near the bulk of the responses depends on
    it) and an error common to every household, N(0, ``shift_sd``²) (the control group's mean moves every
    counterfactual together). The reported share is the plain one minus the replicates' mean bias, the centre
    of the basic bootstrap interval ``2·plain − quantiles`` (clipped to 0..1).

    On planted trials at realistic noise (5-6 pp per household) the share is within 3-5 pp of the planted
    share at 150-400 households; the interval covers it in 80-100 % of trials, least often when the threshold
    sits at the mode of a peaked prior.

    Returns
    -------
    dict
        ``name -> {"share", "ci_low", "ci_high", "share_plain", "bootstrap_bias", "threshold", "direction",
        "n"}`` (shares in 0..1; ``bootstrap_bias`` = mean replicate minus the plain share).
    """
    x, s = np.asarray(x, dtype=float), np.asarray(s, dtype=float)
    ok = _clean(x, s)
    x, s = x[ok], s[ok]
    noise = _rows(noise, ok)
    n = len(x)
    if n < 2:
        nan = float("nan")
        return {k: {"share": nan, "ci_low": nan, "ci_high": nan, "share_plain": nan, "bootstrap_bias": nan,
                    "threshold": t, "direction": d, "n": int(n)} for k, (t, d) in thresholds.items()}
    prior = prior or fit_prior(x, s, noise=noise, smooth=smooth)
    if prior.npmle is not None:  # the share uses this function's own smoothing of the NPMLE
        prior = Prior(prior.grid, _smooth(prior.grid, prior.npmle, bandwidth(prior.grid, prior.npmle, s, smooth)),
                      prior.npmle, prior.info, prior.noise)
    post = posterior_summary(prior, x, s, noise=noise, thresholds=thresholds)
    share = {k: float(post[k].mean()) for k in thresholds}
    g = prior.grid
    w_start = prior.npmle if prior.npmle is not None else prior.weight
    L_full, _ = _likelihood(x, s, g, noise)
    rng = np.random.default_rng(seed)
    reps = {k: np.empty(replicates) for k in thresholds}
    for r in range(replicates):
        idx = rng.integers(0, n, n)
        L = L_full[idx]
        w = npmle_weights(L, w_start, max_iter=40, tol=1e-6)[0]
        ws = _smooth(g, w, bandwidth(g, w, s[idx], smooth * float(rng.uniform(0.5, 1.5))))
        P = L * ws[None, :]
        P /= np.maximum(P.sum(axis=1, keepdims=True), 1e-300)
        cum = np.cumsum(P.sum(axis=0)) / n  # the replicate's share below each grid point
        delta = float(rng.normal(0.0, shift_sd)) if shift_sd > 0 else 0.0
        for k, (t, d) in thresholds.items():
            below = float(np.interp(t + delta, g, cum, left=0.0, right=1.0))
            reps[k][r] = below if d == "below" else 1.0 - below
    a = (1.0 - level) / 2.0
    out = {}
    for k, (t, d) in thresholds.items():
        q_lo, q_hi = np.quantile(reps[k], [a, 1.0 - a])
        bias = float(np.mean(reps[k]) - share[k])
        out[k] = {"share": float(np.clip(share[k] - bias, 0.0, 1.0)),
                  "ci_low": float(np.clip(2 * share[k] - q_hi, 0.0, 1.0)),
                  "ci_high": float(np.clip(2 * share[k] - q_lo, 0.0, 1.0)),
                  "share_plain": share[k], "bootstrap_bias": bias, "threshold": float(t), "direction": d,
                  "n": int(n)}
    return out


def robust_z_sd(pct: np.ndarray, se: np.ndarray) -> float:
    """Robust standard deviation (1.4826 × MAD) of ``pct / se``: 1 when the standard errors are right."""
    pct, se = np.asarray(pct, dtype=float), np.asarray(se, dtype=float)
    ok = _clean(pct, se)
    if ok.sum() < 10:
        return float("nan")
    z = pct[ok] / se[ok]
    return float(1.4826 * np.median(np.abs(z - np.median(z))))


# -- the feature stage's use: posterior columns of a group of households ---------------------------------

#: Per band: the tail probability column and its threshold [%] (METHODS B.7).
TAIL = {"high": ("high_p_reduction_gt5", -5.0, "below"), "low": ("low_p_increase_gt5", 5.0, "above")}
#: Prevalence thresholds (METHODS B.8): name -> (band, threshold [%], direction).
PREVALENCE = {
    "high_below_-5": ("high", -5.0, "below"),
    "high_below_-10": ("high", -10.0, "below"),
    "low_above_5": ("low", 5.0, "above"),
    "low_above_10": ("low", 10.0, "above"),
}
#: Halves whose posterior means are kept (temporal validation and cross-fitting).
HALVES = ("h1", "h2", "wa", "wb")


def null_noise(per_control: pd.DataFrame, measure: str, *, calibration: str) -> NoiseModel:
    """The noise model of a measure: the controls' placebo null (``calibration="placebo"``) or normal."""
    if calibration != "placebo":
        return NoiseModel.normal()
    x = per_control[f"{measure}_pct"].to_numpy(float)
    s = per_control[f"{measure}_se"].to_numpy(float)
    ok = _clean(x, s)
    return NoiseModel.from_placebo(x[ok] / s[ok])


def crossfit_noise(per_control: pd.DataFrame, measure: str, *, calibration: str) -> Noise:
    """Noise for the control households themselves: the null of the other half of the controls (two folds by
    position), so that no control's own estimate shapes the noise it is judged against."""
    fold = np.arange(len(per_control)) % 2
    models = [null_noise(per_control[fold == 1 - k], measure, calibration=calibration) for k in (0, 1)]
    return models, fold


def control_shift_sd(per_control: pd.DataFrame, band: str, *, replicates: int = 200, seed: int = 0) -> float:
    """Standard deviation [%] of the control group's mean error: the load-weighted placebo response of the
    controls, ``100 · Σ(y − ŷ) / Σŷ``, over bootstrap resamples of the control households. It moves every
    treatment household's counterfactual together."""
    d = per_control[f"{band}_kwh"].to_numpy(float)
    yh = per_control[f"{band}_yhat_kwh"].to_numpy(float)
    ok = np.isfinite(d) & np.isfinite(yh) & (yh > 0)
    d, yh = d[ok], yh[ok]
    if len(d) < 10:
        return 0.0
    u = np.random.default_rng(seed).multinomial(len(d), np.full(len(d), 1.0 / len(d)), size=replicates)
    return float(np.std(100.0 * (u @ d) / (u @ yh), ddof=1))


def group_posteriors(
    per: pd.DataFrame,
    noise: dict[str, Noise],
    *,
    halves: tuple[str, ...] = HALVES,
    shift_sd: dict[str, float] | None = None,
) -> tuple[pd.DataFrame, dict[str, Prior]]:
    """Posterior columns of one group's households from the response estimator's per-household table.

    Parameters
    ----------
    per
        Rows of :func:`flexpersona.features.response.estimate_responses` for one group: ``{m}_pct`` and
        ``{m}_se`` of ``high``, ``low`` and their halves ``{band}_{half}``.
    noise
        Noise model per measure (``high``, ``low``, ``high_h1``, ...; see :func:`null_noise`).
    shift_sd
        Per band, the sd of the error common to the group (:func:`control_shift_sd`); widens the intervals.
    halves
        Halves whose posterior means to add (each with a prior of its own, fitted on that half's estimates).

    Returns
    -------
    columns : pandas.DataFrame
        In the rows' order: ``{band}_response_post``, ``_post_sd``, ``_post_ci_low``, ``_post_ci_high`` [%],
        the tail probability of :data:`TAIL`, and ``{band}_response_post_{half}`` [%].
    priors : dict
        ``band -> Prior`` of the full-trial estimates (the noise model used is ``Prior.noise``).
    """
    out: dict[str, Any] = {}
    priors: dict[str, Prior] = {}
    for band, (tail, t, direction) in TAIL.items():
        x, s = per[f"{band}_pct"].to_numpy(float), per[f"{band}_se"].to_numpy(float)
        nz = noise[band]
        if _clean(x, s).sum() < 2:
            for c in ("", "_sd", "_ci_low", "_ci_high"):
                out[f"{band}_response_post{c}"] = np.nan
            out[tail] = np.nan
        else:
            prior = fit_prior(x, s, noise=nz)
            prior.info["shift_sd"] = (shift_sd or {}).get(band, 0.0)
            priors[band] = prior
            post = posterior_summary(prior, x, s, noise=nz, thresholds={tail: (t, direction)},
                                     shift_sd=prior.info["shift_sd"])
            out[f"{band}_response_post"] = post["mean"].to_numpy()
            out[f"{band}_response_post_sd"] = post["sd"].to_numpy()
            out[f"{band}_response_post_ci_low"] = post["ci_low"].to_numpy()
            out[f"{band}_response_post_ci_high"] = post["ci_high"].to_numpy()
            out[tail] = post[tail].to_numpy()
        for h in halves:
            m = f"{band}_{h}"
            xh, sh = per[f"{m}_pct"].to_numpy(float), per[f"{m}_se"].to_numpy(float)
            col = f"{band}_response_post_{h}"
            if _clean(xh, sh).sum() < 2:
                out[col] = np.nan
                continue
            nz = noise[m]
            out[col] = posterior_summary(fit_prior(xh, sh, noise=nz), xh, sh, noise=nz)["mean"].to_numpy()
    return pd.DataFrame(out, index=per.index), priors


def group_prevalence(
    per: pd.DataFrame, priors: dict[str, Prior], *, replicates: int, seed: int
) -> dict[str, dict[str, float]]:
    """Prevalence of :data:`PREVALENCE` for one group, with bootstrap intervals (shares in 0..1)."""
    out: dict[str, dict[str, float]] = {}
    for band in ("high", "low"):
        if band not in priors:
            continue
        ths = {k: (t, d) for k, (b, t, d) in PREVALENCE.items() if b == band}
        x, s = per[f"{band}_pct"].to_numpy(float), per[f"{band}_se"].to_numpy(float)
        res = prevalence(x, s, ths, prior=priors[band], noise=priors[band].noise, replicates=replicates, seed=seed,
                         shift_sd=priors[band].info.get("shift_sd", 0.0))
        out.update({k: {**v, "band": band} for k, v in res.items()})
    return out

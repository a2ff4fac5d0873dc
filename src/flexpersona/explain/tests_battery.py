"""The statistical test battery: does each pre-trial variable differ between personas?

Decision rule (documented, applied per numeric variable)
--------------------------------------------------------
Groups are the personas with at least :data:`MIN_GROUP` non-missing values (at least two such groups, else
the variable is not tested). One-way ANOVA with Tukey HSD is used only when both assumptions hold at the 1%
level: Shapiro-Wilk on the within-persona residuals (a seeded sample of at most 5,000) *and* Levene's test
(median-centred, Brown-Forsythe) on the groups. Otherwise Kruskal-Wallis with Dunn's post-hoc test
(Holm-adjusted within the variable) is used. Effect sizes: eta squared (ANOVA) and epsilon squared
(Kruskal-Wallis, ``H / (n - 1)``).

Categorical variables (Acorn, Acorn group, yes/no survey items): chi-squared test of independence of
persona x category (unknown categories left out), effect size Cramér's V; the post-hoc summary names the
cell with the largest adjusted standardised residual.

Benjamini-Hochberg is applied once across the whole battery (every variable tested), giving ``q``;
``significant`` means ``q < alpha``.
"""

from __future__ import annotations

import itertools
import logging

import numpy as np
import pandas as pd
import scikit_posthocs as sp
from scipy import stats
from statsmodels.stats.multicomp import pairwise_tukeyhsd

from ..stats import bh_qvalues as benjamini_hochberg
from ..stats import holm
from .variables import UNKNOWN_CATEGORY

logger = logging.getLogger(__name__)

#: Fewest non-missing values a persona needs to enter a test of a variable.
MIN_GROUP = 3
#: Level of the assumption checks (Shapiro-Wilk, Levene) deciding ANOVA vs Kruskal-Wallis.
ASSUMPTION_ALPHA = 0.01

TEST_COLUMNS = [
    "variable",
    "variable_set",
    "kind",
    "test",
    "rule",
    "n",
    "n_groups",
    "statistic",
    "p",
    "q",
    "effect_size",
    "effect_name",
    "significant",
    "posthoc",
]
POSTHOC_COLUMNS = ["variable", "method", "group_a", "group_b", "difference", "p_adj", "significant"]


def _numeric_test(
    values: pd.Series, persona: pd.Series, alpha: float, rng: np.random.Generator
) -> tuple[dict, list[dict]] | None:
    """One numeric variable by the module's rule: its battery row and post-hoc pairs (None: not testable)."""
    v, g = _tested_values(values, persona)
    groups = sorted(set(g))
    if len(groups) < 2 or np.nanstd(v) == 0:
        return None
    samples = [v[g == k] for k in groups]
    means = {k: float(s.mean()) for k, s in zip(groups, samples, strict=True)}
    normal_p, levene_p = _assumption_pvalues(samples, rng)
    parametric = normal_p >= ASSUMPTION_ALPHA and levene_p >= ASSUMPTION_ALPHA
    rule = f"Shapiro p={normal_p:.3g}, Levene p={levene_p:.3g}"
    res = _anova_tukey(v, g, samples, alpha) if parametric else _kruskal_dunn(v, g, samples)
    if res is None:
        return None
    omnibus, pairs = res
    for pr in pairs:
        pr["significant"] = bool(pr["p_adj"] < alpha)
    ordered = sorted(means, key=means.get, reverse=True)
    row = {
        "kind": "numeric",
        "test": omnibus["test"],
        "rule": rule + (" -> ANOVA" if parametric else " -> Kruskal-Wallis"),
        "n": len(v),
        "n_groups": len(groups),
        "statistic": omnibus["statistic"],
        "p": omnibus["p"],
        "effect_size": omnibus["effect_size"],
        "effect_name": omnibus["effect_name"],
        "posthoc": _posthoc_summary(pairs) + f" (highest mean: {ordered[0]})",
    }
    return row, pairs


def _tested_values(values: pd.Series, persona: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Non-missing values and their personas, for personas with at least :data:`MIN_GROUP` of them."""
    ok = values.notna().to_numpy()
    v = values.to_numpy(dtype="float64")[ok]
    g = persona.to_numpy(dtype=object)[ok]
    counts = pd.Series(g).value_counts()
    keep_groups = counts.index[counts >= MIN_GROUP]
    mask = np.isin(g, keep_groups)
    return v[mask], g[mask]


def _assumption_pvalues(samples: list[np.ndarray], rng: np.random.Generator) -> tuple[float, float]:
    """Shapiro-Wilk p of the within-persona residuals (seeded sample of at most 5,000) and Levene p (median).

    Each is 0 when it cannot be computed (no residual spread; a persona with constant values).
    """
    resid = np.concatenate([s - s.mean() for s in samples])
    if np.std(resid) == 0:
        normal_p = 0.0
    else:
        sample = resid if len(resid) <= 5000 else rng.choice(resid, 5000, replace=False)
        normal_p = float(stats.shapiro(sample).pvalue)
    spreads = [s for s in samples if np.std(s) > 0]
    levene_p = float(stats.levene(*samples, center="median").pvalue) if len(spreads) == len(samples) else 0.0
    return normal_p, levene_p


def _omnibus(test: str, statistic: float, p: float, effect_size: float, effect_name: str) -> dict:
    """The omnibus test's part of a battery row (:data:`TEST_COLUMNS`)."""
    return {"test": test, "statistic": statistic, "p": p, "effect_size": float(effect_size), "effect_name": effect_name}


def _anova_tukey(v: np.ndarray, g: np.ndarray, samples: list[np.ndarray], alpha: float) -> tuple[dict, list[dict]]:
    """One-way ANOVA (F, p, eta squared) and Tukey HSD pairs (difference = mean of a minus mean of b)."""
    res = stats.f_oneway(*samples)
    grand = v.mean()
    ss_between = sum(len(s) * (s.mean() - grand) ** 2 for s in samples)
    ss_total = float(((v - grand) ** 2).sum())
    tk = pairwise_tukeyhsd(v, g.astype(str), alpha=alpha)
    pairs = [
        {
            "method": "tukey_hsd",
            "group_a": str(row[0]),
            "group_b": str(row[1]),
            "difference": -float(row[2]),  # statsmodels reports mean(b) - mean(a)
            "p_adj": float(row[3]),
        }
        for row in tk.summary().data[1:]
    ]
    return _omnibus("anova", float(res.statistic), float(res.pvalue), ss_between / ss_total, "eta_squared"), pairs


def _kruskal_dunn(v: np.ndarray, g: np.ndarray, samples: list[np.ndarray]) -> tuple[dict, list[dict]] | None:
    """Kruskal-Wallis (H, p, epsilon squared) and Dunn pairs, Holm-adjusted; None when H is undefined."""
    try:
        res = stats.kruskal(*samples)
    except ValueError:
        return None
    stat, p = float(res.statistic), float(res.pvalue)
    frame = pd.DataFrame({"v": v, "g": g.astype(str)})
    mat = sp.posthoc_dunn(frame, val_col="v", group_col="g", p_adjust=None)
    group_means = frame.groupby("g")["v"].mean()
    mean_ranks = frame.assign(r=stats.rankdata(frame["v"])).groupby("g")["r"].mean()
    combos = list(itertools.combinations(sorted(mat.index), 2))
    adjusted = holm(np.array([float(mat.loc[a, b]) for a, b in combos]))
    pairs = [
        {
            "method": "dunn_holm",
            "group_a": a,
            "group_b": b,
            "difference": float(group_means[a] - group_means[b]),
            "rank_difference": float(mean_ranks[a] - mean_ranks[b]),
            "p_adj": float(padj),
        }
        for (a, b), padj in zip(combos, adjusted, strict=True)
    ]
    return _omnibus("kruskal", stat, p, stat / (len(v) - 1), "epsilon_squared"), pairs


def _posthoc_summary(pairs: list[dict]) -> str:
    """The significant pairs as ``a>b``: by mean ranks for Dunn (what the test compares), by means for Tukey."""
    summary_bits = [
        (
            f"{pr['group_a']}>{pr['group_b']}"
            if pr.get("rank_difference", pr["difference"]) > 0
            else f"{pr['group_b']}>{pr['group_a']}"
        )
        for pr in pairs
        if pr["significant"]
    ]
    return "; ".join(summary_bits) if summary_bits else "no pair differs"


def _categorical_test(values: pd.Series, persona: pd.Series) -> dict | None:
    v = values.astype("string")
    ok = (v.notna() & (v != UNKNOWN_CATEGORY)).to_numpy()
    table = pd.crosstab(persona.to_numpy(dtype=object)[ok], v.to_numpy(dtype=object)[ok])
    table = table.loc[table.sum(axis=1) > 0, table.sum(axis=0) > 0]
    if table.shape[0] < 2 or table.shape[1] < 2:
        return None
    res = stats.chi2_contingency(table.to_numpy())
    n = int(table.to_numpy().sum())
    k = min(table.shape) - 1
    v_cramer = float(np.sqrt(res.statistic / (n * k)))
    obs = table.to_numpy(dtype=float)
    exp = res.expected_freq
    row_p = obs.sum(axis=1, keepdims=True) / n
    col_p = obs.sum(axis=0, keepdims=True) / n
    adj = (obs - exp) / np.sqrt(exp * (1 - row_p) * (1 - col_p))
    i, j = np.unravel_index(np.nanargmax(np.abs(adj)), adj.shape)
    return {
        "kind": "categorical",
        "test": "chi2",
        "rule": "categorical -> chi-squared",
        "n": n,
        "n_groups": int(table.shape[0]),
        "statistic": float(res.statistic),
        "p": float(res.pvalue),
        "effect_size": v_cramer,
        "effect_name": "cramers_v",
        "posthoc": f"largest residual: {table.index[i]} x {table.columns[j]} ({adj[i, j]:+.1f})",
    }


def run_battery(
    frame: pd.DataFrame,
    variables: dict[str, str],
    categorical: set[str],
    *,
    alpha: float = 0.05,
    seed: int = 42,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Test every variable for a difference between personas; BH across the whole battery.

    Parameters
    ----------
    frame
        One row per household with a ``persona`` column and the variables.
    variables
        Variable name -> the predictor set it belongs to (``lifestyle``, ``acorn``, ``survey``).
    categorical
        Names of the variables tested with chi-squared.
    alpha
        False-discovery rate of the battery and level of the post-hoc tests.
    seed
        Seed of the Shapiro-Wilk subsample.

    Returns
    -------
    tests, posthoc
        One row per tested variable (:data:`TEST_COLUMNS`) and one row per persona pair and numeric variable
        (:data:`POSTHOC_COLUMNS`).
    """
    rng = np.random.default_rng(seed)
    rows: list[dict] = []
    pairs: list[dict] = []
    persona = frame["persona"].astype(str)
    for var, vset in variables.items():
        if var not in frame.columns:
            continue
        if var in categorical:
            got = _categorical_test(frame[var], persona)
            these: list[dict] = []
        else:
            res = _numeric_test(frame[var].astype("float64"), persona, alpha, rng)
            got, these = (None, []) if res is None else res
        if got is None:
            logger.info("variable %s not tested (fewer than two personas with data, or constant)", var)
            continue
        rows.append({"variable": var, "variable_set": vset, **got})
        pairs += [{"variable": var, **pr} for pr in these]
    tests = pd.DataFrame(rows, columns=[c for c in TEST_COLUMNS if c not in ("q", "significant")])
    if len(tests):
        tests["q"] = benjamini_hochberg(tests["p"].to_numpy())
        tests["significant"] = tests["q"] < alpha
    else:
        tests["q"] = pd.Series(dtype="float64")
        tests["significant"] = pd.Series(dtype="bool")
    tests = tests[TEST_COLUMNS].sort_values("q", kind="stable").reset_index(drop=True)
    posthoc = pd.DataFrame(pairs, columns=POSTHOC_COLUMNS)
    return tests, posthoc

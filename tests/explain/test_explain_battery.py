"""The test battery: decision rule, effect sizes, post-hoc tests and Benjamini-Hochberg across variables."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from flexpersona.explain.tests_battery import TEST_COLUMNS, run_battery


def _frame(seed=0, n=300):
    rng = np.random.default_rng(seed)
    persona = np.repeat(["A", "B", "C"], n // 3)
    shift = pd.Series(persona).map({"A": 0.0, "B": 0.0, "C": 1.0}).to_numpy()
    return pd.DataFrame(
        {
            "persona": persona,
            "normal_signal": rng.normal(0, 1, n) + shift,  # normal, equal variance: ANOVA
            "skewed_signal": rng.lognormal(0, 1, n) * np.exp(shift),  # skewed: Kruskal-Wallis
            "null": rng.normal(0, 1, n),
            "category": np.where(rng.random(n) < 0.3 + 0.4 * (persona == "C"), "x", "y"),
            "null_category": rng.choice(["u", "v", "w"], n),
        }
    )


def test_rule_effect_sizes_and_bh():
    df = _frame()
    variables = {c: "lifestyle" for c in df.columns if c != "persona"}
    tests, posthoc = run_battery(df, variables, {"category", "null_category"}, alpha=0.05, seed=1)
    assert list(tests.columns) == TEST_COLUMNS
    t = tests.set_index("variable")
    assert t.loc["normal_signal", "test"] == "anova"
    assert t.loc["skewed_signal", "test"] == "kruskal"
    assert t.loc["category", "test"] == "chi2"
    assert t.loc[["normal_signal", "skewed_signal", "category"], "significant"].all()
    assert not t.loc[["null", "null_category"], "significant"].any()
    # eta squared equals the one computed by hand
    v, g = df["normal_signal"], df["persona"]
    ss_b = sum(len(x) * (x.mean() - v.mean()) ** 2 for _, x in v.groupby(g))
    assert t.loc["normal_signal", "effect_size"] == pytest.approx(ss_b / ((v - v.mean()) ** 2).sum())
    h = stats.kruskal(*[x for _, x in df["skewed_signal"].groupby(g)]).statistic
    assert t.loc["skewed_signal", "effect_size"] == pytest.approx(h / (len(df) - 1))
    assert t.loc["category", "effect_name"] == "cramers_v" and 0 < t.loc["category", "effect_size"] < 1
    # BH across the whole battery
    p = t["p"].sort_values()
    m = len(p)
    bh = np.minimum.accumulate((p * m / np.arange(1, m + 1)).to_numpy()[::-1])[::-1]
    assert np.allclose(np.minimum(bh, 1), t.loc[p.index, "q"].to_numpy())
    # post-hoc: C differs from A and B, A and B do not differ
    ph = posthoc[posthoc["variable"] == "normal_signal"].set_index(["group_a", "group_b"])
    assert ph.loc[("A", "C"), "significant"] and ph.loc[("B", "C"), "significant"]
    assert not ph.loc[("A", "B"), "significant"]
    assert ph.loc[("A", "C"), "difference"] < 0  # mean(A) - mean(C)
    assert "C>A" in t.loc["normal_signal", "posthoc"]
    assert set(posthoc.loc[posthoc["variable"] == "skewed_signal", "method"]) == {"dunn_holm"}


def test_untestable_variables_are_skipped():
    df = pd.DataFrame({"persona": ["A"] * 5 + ["B"] * 2, "const": 1.0, "few": np.arange(7.0)})
    tests, _ = run_battery(df, {"const": "lifestyle", "few": "lifestyle"}, set())
    assert tests.empty and list(tests.columns) == TEST_COLUMNS


def test_adjustments_match_statsmodels():
    from statsmodels.stats.multitest import multipletests

    from flexpersona.explain.tests_battery import benjamini_hochberg, holm

    p = np.random.default_rng(3).uniform(0, 0.2, 17) ** 2
    assert np.allclose(benjamini_hochberg(p), multipletests(p, method="fdr_bh")[1])
    assert np.allclose(holm(p), multipletests(p, method="holm")[1])


def test_dunn_direction_follows_ranks_when_medians_tie():
    # ordinal answers with equal medians: B is shifted up, though both medians are 3
    a = [3] * 60 + [2] * 30 + [4] * 10
    b = [3] * 60 + [2] * 10 + [4] * 30
    df = pd.DataFrame({"persona": ["A"] * 100 + ["B"] * 100, "item": np.array(a + b, dtype=float)})
    tests, posthoc = run_battery(df, {"item": "survey"}, set())
    t = tests.iloc[0]
    assert t["test"] == "kruskal" and t["significant"]
    assert t["posthoc"].startswith("B>A")
    assert posthoc.iloc[0]["difference"] == pytest.approx(np.mean(a) - np.mean(b))

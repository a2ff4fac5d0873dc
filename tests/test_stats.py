import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.multitest import multipletests

from flexpersona.stats import bh_qvalues, holm, row_percentiles

pvals = st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=1, max_size=40)


@settings(max_examples=60, deadline=None)
@given(pvals)
def test_bh_and_holm_equal_statsmodels(p):
    p = np.array(p)
    assert np.allclose(bh_qvalues(p), multipletests(p, method="fdr_bh")[1])
    assert np.allclose(holm(p), multipletests(p, method="holm")[1])


def test_nan_stays_nan_and_does_not_count():
    q = bh_qvalues([0.01, np.nan, 0.04])
    assert np.isnan(q[1])
    assert np.allclose(q[[0, 2]], multipletests([0.01, 0.04], method="fdr_bh")[1])
    assert np.isnan(holm([np.nan])).all()


@pytest.mark.parametrize("min_finite", [1, 2])
@pytest.mark.parametrize("seed", range(6))
def test_vectorised_percentiles_equal_numpys_bit_for_bit(seed, min_finite):
    """The one-sort percentiles of the bootstrap (issue 14) give numpy.nanpercentile's values exactly: ties,
    NaN and ±inf (left out), rows with too few finite values (NaN), tiny and huge magnitudes."""
    rng = np.random.default_rng(seed)
    for _ in range(40):
        x = rng.normal(0, rng.choice([1e-3, 1.0, 1e6]), (int(rng.integers(1, 40)), int(rng.integers(1, 220))))
        if rng.random() < 0.3:
            x = np.round(x, 1)
        x[rng.random(x.shape) < rng.choice([0.0, 0.1, 0.6, 0.98])] = np.nan
        x[rng.random(x.shape) < 0.01] = rng.choice([np.inf, -np.inf])
        for q in ([2.5, 97.5], [97.5], [0, 50, 100], [5, 33.3, 95]):
            ok = np.isfinite(x).sum(axis=1) >= min_finite
            want = np.full((len(q), len(x)), np.nan)
            if ok.any():
                want[:, ok] = np.nanpercentile(np.where(np.isfinite(x[ok]), x[ok], np.nan), q, axis=1)
            np.testing.assert_array_equal(row_percentiles(x, q, min_finite=min_finite), want)

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.multitest import multipletests

from flexpersona.stats import bh_qvalues, holm

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

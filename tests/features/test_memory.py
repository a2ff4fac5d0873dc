"""Issue 14 (memory): the engine hands numpy compact, typed tables, and the narrow ``K`` sums change nothing.

A full-size run (5,500 households) must stay within 2 GB: the per household x day tables are fetched with integer
keys and no strings (:data:`~flexpersona.features.definitions.DAY_AGG`,
:data:`~flexpersona.features.definitions.REF_INFLUENCE`), and ``rk`` carries one High ``K`` sum per cell.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from flexpersona.config import Config
from flexpersona.features import counterfactual as cf
from flexpersona.features import definitions as q
from flexpersona.features.calendar import CATEGORIES, HIGH_CATS, INTERVAL_CATS, build_calendar
from flexpersona.features.engine import DuckDBEngine
from flexpersona.features.stage import _kept_households

from .conftest import make_trial

CFG = Config().replace(data={"min_baseline_coverage": 0.1})


@pytest.fixture(scope="module")
def passes(tmp_path_factory):
    t = make_trial(tmp_path_factory.mktemp("memory") / "store", n_treatment=6, n_control=8, seed=3)
    hh = _kept_households(t.store)
    cal = build_calendar(t.store.read("tariff"), CFG, reference="baseline", lifestyle_source="halfhourly")
    eng = DuckDBEngine(threads=2)
    eng.register("hh", hh.assign(hid=np.arange(len(hh), dtype="int64")))
    eng.readings(t.store.readings_source)
    out = cf.reference_passes(eng, cal.table)
    yield eng, cal, out
    eng.close()


@pytest.mark.parametrize("period", ["month", "season"])
def test_a_reference_cell_has_at_most_one_high_category(period):
    """What lets ``rk`` keep one High ``K`` sum per cell: the High category is a function of the slot."""
    ts = pd.date_range("2013-01-01", "2014-01-01", freq="30min", inclusive="left")
    band = np.where(ts.day % 3 == 0, "High", "Normal")  # whole days: every time of day, in and out of the peak
    tariff = pd.DataFrame({"ts": ts, "band": band, "price": 0.1})
    cal = build_calendar(tariff, Config().replace(features={"reference_period": period}), reference="baseline",
                         lifestyle_source="halfhourly").table
    high = cal[cal["cat"].isin(HIGH_CATS)]
    assert high["cat"].nunique() >= 5  # every time of day, in and out of the system peak
    assert high.groupby("cell")["cat"].nunique().max() == 1


def test_fetched_tables_are_typed_and_compact(passes):
    _, _, out = passes
    day, ref = out["day_agg"], out["ref_influence"]
    assert dict(day.dtypes.astype(str)) == {"hid": "int32", "day": "int32", "cat": "int16", "lvl": "int16",
                                            "sy": "float64", "syh": "float64", "n": "int32"}
    assert dict(ref.dtypes.astype(str)) == {"hid": "int32", "day": "int32",
                                            **{f"e_{c}": "float64" for c in INTERVAL_CATS}}
    assert day.memory_usage(deep=True, index=False).sum() == 32 * len(day)
    assert set(np.unique(day["cat"])) <= set(range(len(CATEGORIES)))
    assert day["cat"].isin([CATEGORIES.index(c) for c in HIGH_CATS]).any()


def _reference_relations(eng, cal):
    eng.register("cal", cal.table)
    cf.readings_view(eng)
    for name, sql in q.reference_tables():
        eng.table(name, sql)
    eng.view("tc", q.trial_view())
    for name, sql in q.TRIAL_VIEWS:
        eng.view(name, sql)


def test_one_high_k_sum_gives_the_per_category_influence(passes):
    """``ref_influence`` equals, bit for bit, the influence with a ``K`` sum per category (12 a cell)."""
    eng, cal, out = passes
    _reference_relations(eng, cal)
    kq = q.fixed_short("c_t")
    kt = ("SELECT hcell, " + ", ".join(
        f"{q.unfixed(f'SUM(CASE WHEN cat = {c!r} THEN {kq} END)')} / MIN(b_c) AS k_{c}" for c in INTERVAL_CATS)
        + " FROM tr WHERE lvl = 1 AND b_c <> 0 AND cat <> 'normal' GROUP BY hcell")
    sums = ", ".join(f"{q.fixed_sum(f'(d.kwh - m.b) * m.k_{c} / m.n', short=True)} AS e_{c}" for c in INTERVAL_CATS)
    direct = eng.fetch(
        f"SELECT CAST(d.hid AS INTEGER) AS hid, CAST(d.day AS INTEGER) AS day, {sums} FROM rd d "
        f"JOIN (SELECT r.hcell, r.b, r.n, k.* EXCLUDE (hcell) FROM ref_m r JOIN ({kt}) k ON k.hcell = r.hcell) m "
        "ON m.hcell = d.hcell WHERE d.ref = 1 GROUP BY d.hid, d.day ORDER BY 1, 2")
    assert out["ref_influence"][[f"e_{c}" for c in HIGH_CATS]].notna().any().sum() >= 4  # several High categories
    pd.testing.assert_frame_equal(out["ref_influence"], direct, check_exact=True)


def test_k_sums_are_the_sums_of_the_counterfactual_factor(passes):
    """``rk``'s ``K`` (``Σ C(t)`` of ``kc`` divided by the cell's ``B_C``) is ``Σ C(t)/B_C`` over the trial readings of
    the level-1 cell: ``B_C`` is one value per household x cell, and the fixed-point sums differ only below 1e-9."""
    eng, cal, _ = passes
    _reference_relations(eng, cal)
    eng.table("kc", q.KC)
    eng.table("rk", q.RK)
    assert eng.fetch("SELECT COUNT(*) AS n FROM (SELECT hcell FROM tr GROUP BY hcell HAVING COUNT(DISTINCT b_c) > 1)"
                     ).loc[0, "n"] == 0
    cols = ", ".join(f"SUM(CASE WHEN cat = {c!r} THEN c_t / b_c END) AS d_{c}" for c in q.K_SUMS[1:])
    direct = eng.fetch(f"SELECT hcell, SUM(CASE WHEN cat LIKE 'high%' THEN c_t / b_c END) AS d_high, {cols} "
                       "FROM tr WHERE lvl = 1 AND b_c <> 0 AND cat <> 'normal' GROUP BY hcell")
    rk = eng.fetch("SELECT * FROM rk").merge(direct, on="hcell", how="outer", indicator=True)
    assert (rk["_merge"] == "both").all() and len(rk) > 100
    assert rk["k_high"].notna().sum() > 50 and rk["k_low"].notna().sum() > 50
    for c in q.K_SUMS:
        np.testing.assert_allclose(rk[f"k_{c}"], rk[f"d_{c}"], rtol=1e-9, atol=0)
    eng.drop("kc", "rk")

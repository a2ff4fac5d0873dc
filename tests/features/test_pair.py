"""Issue 14: the run's reference and the comparison reference share one scan of the trial readings
(``counterfactual.reference_pair``), with the tables of two separate passes bit for bit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from flexpersona.config import Config
from flexpersona.features import counterfactual as cf
from flexpersona.features.calendar import build_calendar
from flexpersona.features.engine import DuckDBEngine
from flexpersona.features.stage import _kept_households

from .conftest import make_trial

CFG = Config().replace(data={"min_baseline_coverage": 0.1})


@pytest.fixture(scope="module")
def trial(tmp_path_factory):
    t = make_trial(tmp_path_factory.mktemp("pair") / "store", n_treatment=6, n_control=8, seed=4)
    hh = _kept_households(t.store)
    readings = pd.read_parquet(t.store.readings_dir)
    # one treatment and one control household without a baseline year: no cell of the baseline reference, cells
    # of the within-trial one (each side of the shared scan keeps its own rows)
    gone = readings["household_id"].isin(["D0001", "N0002"]) & (readings["ts"].dt.year == 2012)
    return t.store.read("tariff"), hh, readings[~gone].reset_index(drop=True)


class _Recording(DuckDBEngine):
    def __init__(self):
        super().__init__(threads=2)
        self.tables = []

    def table(self, name, sql):
        self.tables.append(name)
        super().table(name, sql)


def _engine(hh, readings):
    eng = _Recording()
    eng.register("hh", hh.assign(hid=np.arange(len(hh), dtype="int64")))
    eng.readings(readings)
    return eng


@pytest.mark.parametrize("refs", [(("baseline", "event_free"), ("within_trial", "event_free")),
                                  (("within_trial", "all"), ("within_trial", "event_free"))])
def test_one_trial_scan_for_two_references_gives_the_tables_of_two_passes(trial, refs):
    tariff, hh, readings = trial
    (r1, d1), (r2, d2) = refs
    cal1 = build_calendar(tariff, CFG, reference=r1, lifestyle_source="halfhourly", reference_days=d1).table
    cal2 = build_calendar(tariff, CFG, reference=r2, lifestyle_source="halfhourly", reference_days=d2).table
    assert (cal1["ref"] != cal2["ref"]).any()
    eng, pair = _assert_pair_is_two_passes(hh, readings, cal1, cal2)
    # the two references' cells are the same: one table of the trial's C(t) sums serves both
    assert eng.tables.count("kc") == 1 and eng.tables.count("rk") == 2
    # the households without a baseline year have within-trial cells only
    hid = hh.index[hh["household_id"] == "D0001"][0]
    assert (pair[1]["day_agg"]["hid"] == hid).any()
    if r1 == "baseline":
        assert not (pair[0]["day_agg"]["hid"] == hid).any()


def test_a_comparison_with_other_cells_is_refused(trial):
    """The shared scan keys both references by the run's cells: calendars with other cells (month and season
    cells) are refused with what to do, not summed on the wrong cells."""
    tariff, hh, readings = trial
    cal1 = build_calendar(tariff, CFG, reference="baseline", lifestyle_source="halfhourly").table
    season = CFG.replace(features={"reference_period": "season"})
    cal2 = build_calendar(tariff, season, reference="within_trial", lifestyle_source="halfhourly").table
    eng = _engine(hh, readings)
    with pytest.raises(ValueError, match="same features.reference_period"):
        cf.reference_pair(eng, cal1, cal2)
    eng.close()
    assert eng.tables == []


def _assert_pair_is_two_passes(hh, readings, cal1, cal2):
    """The tables of :func:`reference_pair` are those of two separate passes, bit for bit; returns the pair's
    engine (with the names of the tables it made) and its tables."""
    sides = []
    for cal, events in ((cal1, True), (cal2, False)):
        eng = _engine(hh, readings)
        sides.append(cf.reference_passes(eng, cal, events=events))
        eng.close()
    eng = _engine(hh, readings)
    pair = cf.reference_pair(eng, cal1, cal2)
    eng.close()
    # one table of trial sums for both references, no per-reference ``tagg``
    assert eng.tables.count("tagg_pair") == 1 and "tagg" not in eng.tables
    for separate, shared in zip(sides, pair):
        assert set(shared) == set(separate)
        for name, frame in separate.items():
            assert len(frame) > 0
            pd.testing.assert_frame_equal(shared[name], frame, check_exact=True)
    return eng, pair

"""Issue 14 item 4: the feature stage's progress bar on stderr when asked, nothing otherwise, same tables."""

from __future__ import annotations

import re

import pandas as pd

from flexpersona.config import Config
from flexpersona.features import compute_features

from .conftest import PlantedTrial

#: A percent and elapsed<remaining (the ETA), as tqdm draws them.
BAR = re.compile(r"\d+%\|.*\| \d\d:\d\d<(\d\d:\d\d|\?)")

CFG = Config().replace(features={"bootstrap_replicates": 40}, data={"min_baseline_coverage": 0.1})
TABLES = ("features", "events", "lifestyle", "placebo", "prior", "replicates", "event_households")


def test_features_show_a_bar_only_when_asked_and_give_the_same_tables(small_trial: PlantedTrial, capsys):
    off = compute_features(small_trial.store, CFG)
    assert capsys.readouterr().err == ""
    on = compute_features(small_trial.store, CFG, progress=True)
    err = capsys.readouterr().err
    assert "features:" in err and BAR.search(err), err
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(off, name), getattr(on, name), check_exact=True, obj=name)
    assert {k: v for k, v in on.info.items() if k != "timings_s"} == {
        k: v for k, v in off.info.items() if k != "timings_s"}

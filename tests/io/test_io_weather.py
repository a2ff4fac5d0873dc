"""Hourly weather (Kaggle DarkSky): the reader, detection inside an input folder, the store's weather table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from flexpersona.errors import InputError
from flexpersona.io import ingest, read_weather
from flexpersona.store import Store, read_json

DARKSKY = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "lcl" / "weather" / "weather_hourly_darksky.csv"


@pytest.mark.skipif(not DARKSKY.exists(), reason="../shared/data/lcl is absent")
def test_real_darksky_file():
    w = read_weather(DARKSKY)
    assert list(w.columns) == ["ts", "temperature_c"] and w.attrs["date_format"] == "ISO"
    assert len(w) == 21165 and w["ts"].is_monotonic_increasing and not w["ts"].duplicated().any()
    assert w["ts"].min() == pd.Timestamp("2011-11-01 00:00") and w["ts"].max() == pd.Timestamp("2014-03-31 22:00")
    jan = w[(w["ts"] >= "2013-01-01") & (w["ts"] < "2013-02-01")]["temperature_c"].mean()
    jul = w[(w["ts"] >= "2013-07-01") & (w["ts"] < "2013-08-01")]["temperature_c"].mean()
    assert 0 < jan < 6 and 16 < jul < 23  # London, 2013 (a cold spring, a hot July)


def test_reader_errors_and_issues(tmp_path):
    bad = tmp_path / "w.csv"
    bad.write_text("time,temperature\n2013-01-01 00:00:00,3.5\nsoon,4\n")
    with pytest.raises(InputError, match="does not parse") as e:
        read_weather(bad)
    assert "line 3" in str(e.value)
    other = tmp_path / "x.csv"
    other.write_text("when,temp\n2013-01-01 00:00:00,3.5\n")
    with pytest.raises(InputError, match="not a weather file"):
        read_weather(other)
    dup = tmp_path / "d.csv"
    dup.write_text("visibility,temperature,time\n5,3.5,2013-01-01 00:00:00\n5,,2013-01-01 01:00:00\n"
                   "5,9.0,2013-01-01 00:00:00\n")
    issues = []
    w = read_weather(dup, issues=issues)
    assert w["temperature_c"].tolist() == [3.5]
    assert sorted(i.code for i in issues) == ["duplicate_timestamp", "unparseable_value"]


def test_ingest_finds_the_weather_file_in_a_folder(tmp_path):
    from flexpersona.simulate import simulate_trial, write_trial

    trial = simulate_trial(3, 3, seed=2, start="2013-01-01", end="2013-01-31", survey=False)
    write_trial(trial, tmp_path / "in", "datastore")
    assert (tmp_path / "in" / "weather_hourly_darksky.csv").exists()
    rep = ingest([tmp_path / "in"], tmp_path / "store")
    assert [Path(f).name for f in rep.skipped_files] == ["truth.csv"]
    st = Store(tmp_path / "store")
    w = st.read("weather")
    assert len(w) == 31 * 24
    np.testing.assert_allclose(w["temperature_c"].to_numpy(), trial.weather["temperature"].to_numpy())
    info = read_json(tmp_path / "store" / "ingest.json")
    assert info["weather"]["rows"] == 31 * 24 and Path(info["weather"]["file"]).name == "weather_hourly_darksky.csv"
    # a re-ingest without it leaves no stale weather table behind
    (tmp_path / "in" / "weather_hourly_darksky.csv").unlink()
    ingest([tmp_path / "in"], tmp_path / "store")
    assert not st.has("weather")

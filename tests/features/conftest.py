"""Planted-truth trials written into a Store, for the feature tests (independent of flexpersona.simulate)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flexpersona.schema import BAND_PRICES, READINGS_SCHEMA
from flexpersona.store import Store
from paths import SHARED_DATA  # noqa: F401


@dataclass
class PlantedTrial:
    store: Store
    truth: pd.DataFrame  # household_id, group, high_effect_pct, low_effect_pct, base_kwh


def _tariff(year: int, months: tuple[int, ...], rng: np.random.Generator, high_days: float, low_days: float):
    ts = pd.date_range(f"{year}-01-01", f"{year + 1}-01-01", freq="30min", inclusive="left", unit="us")
    band = np.full(len(ts), "Normal", dtype=object)
    days = pd.date_range(f"{year}-01-01", f"{year}-12-31", freq="D")
    days = days[days.month.isin(months)]
    for d in days:
        i0 = int((d - ts[0]) / pd.Timedelta(minutes=30))
        if rng.random() < high_days:
            s = int(rng.integers(14, 40))
            ln = int(rng.integers(4, 13))
            band[i0 + s : i0 + min(s + ln, 48)] = "High"
        if rng.random() < low_days:
            s = int(rng.integers(0, 12)) if rng.random() < 0.6 else int(rng.integers(20, 30))
            ln = int(rng.integers(6, 17))
            seg = band[i0 + s : i0 + min(s + ln, 48)]
            seg[seg == "Normal"] = "Low"
            band[i0 + s : i0 + min(s + ln, 48)] = seg
    return pd.DataFrame({"ts": ts, "band": band, "price": pd.Series(band).map(BAND_PRICES).to_numpy()})


def make_trial(
    path: Path,
    *,
    n_treatment: int = 40,
    n_control: int = 60,
    seed: int = 0,
    months: tuple[int, ...] = (1, 2, 3),
    baseline: bool = True,
    years: tuple[int, int] = (2012, 2013),
    noise_cv: float = 0.5,
    high_mean: float = -8.0,
    high_sd: float = 12.5,
    missing: float = 0.02,
) -> PlantedTrial:
    """Simulate readings over ``months`` of the baseline (optional) and trial years with planted effects.

    The planted High effects (mean -8%, sd 12.5 pp) match the spread of ``flexpersona.simulate``'s personas.

    kWh = base_h · profile_h(slot, weekend) · season(month) · common(day) · lognormal noise, times
    (1 + effect/100) in High (Low) half-hours for treatment households.
    """
    rng = np.random.default_rng(seed)
    n = n_treatment + n_control
    ids = [f"D{i:04d}" for i in range(n_treatment)] + [f"N{i:04d}" for i in range(n_control)]
    group = np.array(["treatment"] * n_treatment + ["control"] * n_control)
    base_kwh = rng.lognormal(np.log(0.17), 0.5, n)
    high_eff = np.where(group == "treatment", np.clip(rng.normal(high_mean, high_sd, n), -50, 25), 0.0)
    low_eff = np.where(group == "treatment", np.clip(rng.normal(8.0, 8.0, n), -20, 40), 0.0)
    shape = np.array([0.81, 0.57, 0.52, 0.70, 1.04, 0.97, 0.99, 0.95, 1.08, 1.44, 1.50, 1.27])
    slot_prof = np.repeat(shape, 4)
    prof = slot_prof[None, :] * rng.lognormal(0, 0.15, (n, 48))
    season = {1: 1.25, 2: 1.2, 3: 1.05, 4: 0.95, 5: 0.85, 6: 0.8, 7: 0.78, 8: 0.8, 9: 0.88, 10: 1.0, 11: 1.15, 12: 1.3}
    tariff = _tariff(years[1], months, rng, high_days=0.35, low_days=0.4)
    sig = np.sqrt(np.log(1 + noise_cv**2))
    frames = []
    for k, year in enumerate(years):
        if k == 0 and not baseline:
            continue
        ts = pd.date_range(f"{year}-01-01", f"{year + 1}-01-01", freq="30min", inclusive="left", unit="us")
        ts = ts[ts.month.isin(months)]
        T = len(ts)
        slot = np.asarray(ts.hour * 2 + ts.minute // 30)
        wk = np.asarray(ts.day_of_week >= 5)
        day = np.asarray((ts - ts[0]) // pd.Timedelta(days=1))
        common = rng.normal(1.0, 0.06, day.max() + 1)[day] * (1.03 if k == 1 else 1.0)
        sea = pd.Series(ts.month).map(season).to_numpy()
        mean = base_kwh[:, None] * prof[:, slot] * (1 + 0.05 * wk)[None, :] * (sea * common)[None, :]
        y = mean * rng.lognormal(-sig**2 / 2, sig, (n, T))
        if k == 1:
            b = pd.Series(tariff["band"].to_numpy(), index=tariff["ts"]).reindex(ts).to_numpy()
            y = y * np.where(b == "High", 1 + high_eff[:, None] / 100, 1.0)
            y = y * np.where(b == "Low", 1 + low_eff[:, None] / 100, 1.0)
        keep = rng.random((n, T)) >= missing
        nulls = rng.random((n, T)) < 0.003
        y = np.where(nulls, np.nan, y)
        hi, ti = np.nonzero(keep)
        frames.append(pd.DataFrame({"household_id": np.array(ids)[hi], "ts": ts[ti], "kwh": y[hi, ti]}))
    readings = pd.concat(frames, ignore_index=True).sort_values(["household_id", "ts"], kind="stable")
    store = Store(path)
    store.readings_dir.mkdir(parents=True, exist_ok=True)
    tbl = pa.Table.from_pandas(readings, schema=READINGS_SCHEMA, preserve_index=False)
    pq.write_table(tbl, store.readings_dir / "part-0.parquet")
    hh = pd.DataFrame({"household_id": ids, "group": group, "acorn": None, "acorn_grouped": None})
    store.write("households", hh)
    store.write("tariff", tariff)
    truth = pd.DataFrame(
        {"household_id": ids, "group": group, "high_effect_pct": high_eff, "low_effect_pct": low_eff, "base_kwh": base_kwh}
    )
    return PlantedTrial(store=store, truth=truth)


def store_from_trial(trial, path: Path, groups=("treatment", "control"), *, weather: bool = False) -> Store:
    """A ``flexpersona.simulate`` trial as an ingest store (readings, households, tariff; the simulated hourly
    temperature as the ``weather`` table if asked), keeping the households of ``groups`` only."""
    st = Store(path)
    st.readings_dir.mkdir(parents=True, exist_ok=True)
    hh = trial.households[trial.households["group"].isin(groups)].reset_index(drop=True)
    r = trial.readings[trial.readings["household_id"].isin(set(hh["household_id"]))]
    pq.write_table(pa.Table.from_pandas(r, schema=READINGS_SCHEMA, preserve_index=False),
                   st.readings_dir / "part-0.parquet")
    st.write("households", hh)
    st.write("tariff", trial.tariff)
    if weather:
        st.write("weather", trial.weather.rename(columns={"temperature": "temperature_c"}))
    return st


@pytest.fixture(scope="module")
def small_trial(tmp_path_factory: pytest.TempPathFactory) -> PlantedTrial:
    return make_trial(tmp_path_factory.mktemp("trial") / "store", n_treatment=20, n_control=30, seed=1)

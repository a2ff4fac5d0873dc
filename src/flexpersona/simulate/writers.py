"""Writers of a simulated trial in the real LCL layouts (one writer per layout), in memory or streaming.

Layouts (mimicking the real files, quirks included):

``datastore``
    London Datastore pieces ``LCL-June2015v2_{N}.csv`` (~1 M rows each, a household straddles two pieces),
    header ``LCLid,stdorToU,DateTime,KWH/hh (per half hour) `` (trailing space), CRLF, timestamps
    ``2012-10-12 00:30:00.0000000``, values space-padded (`` 0.123 ``), ``Null`` for missing. Std households
    first, then ToU, each by id.
``kaggle``
    ``halfhourly_dataset/block_{N}.csv`` (``LCLid,tstp,energy(kWh/hh)``, padded values, ``Null``),
    ``daily_dataset/block_{N}.csv`` (daily aggregates), ``informations_households.csv``; 50 households a block.
``day48``
    ``block{N}sep.csv``: ``LCLid,Date,00:00:00,...,23:30:00``, one row per household-day of London Datastore
    piece ``N``; a day straddling two pieces appears in both, each copy with part of the values.
``ukds``
    UK Data Service: ``consumption_d.csv`` (``GMT`` + one column per treatment household ``D0001``..),
    ``consumption_n.csv`` (``N0001``..), ``tariff_d.csv`` (``GMT,Price,Event_tags``), ``survey_answers.csv``
    (``Household_id,Q01..``; some ids un-padded, e.g. ``D31``; one household duplicated). GMT is written
    day-first (``31/12/2013 23:30``).

Every layout also gets ``truth.csv``, ``households.csv`` (``LCLid,stdorToU,Acorn,Acorn_grouped,file``) and
``weather_hourly_darksky.csv`` (``time,temperature``: the simulated hourly temperature, in the Kaggle DarkSky
file's columns); the non-UKDS layouts get ``Tariffs.csv`` (``TariffDateTime,Tariff``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from ..errors import ConfigError, InputError
from ..schema import HALF_HOURS_PER_DAY, HIGH, LOW, TREATMENT
from .profiles import KWH_MAX, TimeAxis
from .trial import SimulatedTrial, daily_arrays, generate_block, plan_trial

log = logging.getLogger(__name__)

LAYOUTS = ("datastore", "kaggle", "day48", "ukds")
ROWS_PER_PIECE = 1_000_000
HOUSEHOLDS_PER_BLOCK = 50
WEATHER_FILE = "weather_hourly_darksky.csv"
DATASTORE_HEADER = "LCLid,stdorToU,DateTime,KWH/hh (per half hour) "
KAGGLE_HH_HEADER = "LCLid,tstp,energy(kWh/hh)"
KAGGLE_DAILY_HEADER = "LCLid,day,energy_median,energy_mean,energy_max,energy_count,energy_std,energy_sum,energy_min"
SLOT_NAMES = [f"{h:02d}:{m:02d}:00" for h in range(24) for m in (0, 30)]
_N_MILLI = int(round(KWH_MAX * 1000)) + 1

Source = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


# -- formatting ---------------------------------------------------------------------------------------
def _value_table(style: str) -> pa.Array:
    """Strings of 0.000 .. KWH_MAX kWh in steps of 0.001, plus the missing marker as the last entry."""
    plain = [repr(k / 1000) for k in range(_N_MILLI)]
    if style == "padded":  # London Datastore / Kaggle: " 0 ", " 0.123 ", "Null"
        vals = [" " + (s[:-2] if s.endswith(".0") else s) + " " for s in plain] + ["Null"]
    else:  # day x 48 and UKDS: "0.0", "0.123", empty
        vals = plain + [""]
    return pa.array(vals, pa.string())


_TABLES: dict[str, pa.Array] = {}


def format_values(kwh: np.ndarray, style: str) -> pa.Array:
    """kWh values as CSV strings in a layout's style (``padded`` or ``plain``); NaN as the missing marker."""
    table = _TABLES.setdefault(style, _value_table(style))
    milli = np.rint(np.nan_to_num(kwh, nan=-1.0) * 1000.0)
    nan = np.isnan(kwh)
    exact = nan | ((milli >= 0) & (milli < _N_MILLI) & (milli / 1000.0 == kwh))
    if exact.all():
        codes = np.where(nan, _N_MILLI, milli).astype(np.int32)
        return table.take(pa.array(codes))
    # values off the 0.001 grid (a trial edited by hand): shortest round-trip repr
    arr = pa.array(kwh, pa.float64(), from_pandas=True).cast(pa.string())
    missing = "Null" if style == "padded" else ""
    strings = [missing if s is None else (f" {s} " if style == "padded" else s) for s in arr.to_pylist()]
    return pa.array(strings, pa.string())


def _ts_strings(ts: np.ndarray, fmt: str) -> pa.Array:
    s = pd.DatetimeIndex(ts).strftime(fmt)
    return pa.array(np.asarray(s, dtype=object), pa.string())


def _write_csv(table: pa.Table, f, eol: str) -> None:
    pacsv.write_csv(table, f, pacsv.WriteOptions(include_header=False, quoting_style="none", eol=eol))


class _Appender:
    """Appends rows to numbered files, writing the header when a file is first opened."""

    def __init__(self, header: str, eol: str) -> None:
        self.header = header
        self.eol = eol
        self.files: list[Path] = []
        self._open: dict[Path, object] = {}

    def write(self, path: Path, table: pa.Table) -> None:
        f = self._open.get(path)
        if f is None:
            path.parent.mkdir(parents=True, exist_ok=True)
            f = path.open("wb")
            f.write((self.header + self.eol).encode())
            self._open[path] = f
            self.files.append(path)
        if table.num_rows:
            _write_csv(table, f, self.eol)

    def close_except(self, keep: set[Path]) -> None:
        for p in [p for p in self._open if p not in keep]:
            self._open.pop(p).close()

    def close(self) -> list[Path]:
        self.close_except(set())
        return self.files


# -- layouts ------------------------------------------------------------------------------------------
class _PieceCounter:
    """Global row numbering of the London Datastore export (Std then ToU, by id) -> piece numbers."""

    def __init__(self, rows_per_piece: int) -> None:
        self.rows_per_piece = rows_per_piece
        self.offset = 0

    def pieces(self, n_rows: int) -> np.ndarray:
        rows = np.arange(self.offset, self.offset + n_rows, dtype=np.int64)
        self.offset += n_rows
        return rows // self.rows_per_piece


class DatastoreWriter:
    """London Datastore pieces of ``rows_per_piece`` rows, appended block by block (one piece open at a time)."""

    def __init__(self, out: Path, axis: TimeAxis, households: pd.DataFrame, rows_per_piece: int) -> None:
        self.out = out
        self.households = households
        self.counter = _PieceCounter(rows_per_piece)
        self.ts = _ts_strings(axis.ts, "%Y-%m-%d %H:%M:%S.0000000")
        self.files = _Appender(DATASTORE_HEADER, "\r\n")

    def write_block(self, idx: np.ndarray, kwh: np.ndarray, present: np.ndarray) -> None:
        n, t = kwh.shape
        cells = np.flatnonzero(present.ravel())  # row-major: household, then time
        piece = self.counter.pieces(len(cells))
        ids = pa.array(self.households["household_id"].to_numpy(dtype=object)[idx], pa.string())
        tou = np.where(self.households["group"].to_numpy(dtype=object)[idx] == TREATMENT, "ToU", "Std")
        grp = pa.array(tou.astype(object), pa.string())
        values = kwh.ravel()
        bounds = np.flatnonzero(np.diff(piece)) + 1
        for sel in np.split(np.arange(len(cells)), bounds):  # one piece at a time keeps memory small
            if not len(sel):
                continue
            c = cells[sel]
            hh = pa.array(c // t)
            table = pa.table(
                {
                    "LCLid": ids.take(hh),
                    "stdorToU": grp.take(hh),
                    "DateTime": self.ts.take(pa.array(c % t)),
                    "KWH": format_values(values[c], "padded"),
                }
            )
            path = self.out / f"LCL-June2015v2_{int(piece[sel[0]])}.csv"
            self.files.write(path, table)
        if len(piece):
            self.files.close_except({self.out / f"LCL-June2015v2_{int(piece[-1])}.csv"})

    def close(self) -> list[Path]:
        return self.files.close()


class Day48Writer:
    """Day × 48 files, one per London Datastore piece; a day cut by a piece boundary is written in both."""

    def __init__(self, out: Path, axis: TimeAxis, households: pd.DataFrame, rows_per_piece: int) -> None:
        self.out = out
        self.households = households
        self.counter = _PieceCounter(rows_per_piece)
        self.dates = _ts_strings(axis.days.astype("datetime64[us]"), "%Y-%m-%d")
        self.files = _Appender(",".join(["LCLid", "Date", *SLOT_NAMES]), "\n")

    def write_block(self, idx: np.ndarray, kwh: np.ndarray, present: np.ndarray) -> None:
        n, t = kwh.shape
        nd = t // HALF_HOURS_PER_DAY
        piece = np.full(n * t, -1, dtype=np.int64)
        mask = present.ravel()
        piece[mask] = self.counter.pieces(int(mask.sum()))
        piece = piece.reshape(n, nd, HALF_HOURS_PER_DAY)
        x = kwh.reshape(n, nd, HALF_HOURS_PER_DAY)
        ids = self.households["household_id"].to_numpy(dtype=object)[idx]
        last = None
        for p in np.unique(piece[piece >= 0]):
            in_p = piece == p
            hi, di = np.nonzero(in_p.any(axis=2))
            vals = np.where(in_p[hi, di], x[hi, di], np.nan)  # (rows, 48)
            cols = {"LCLid": pa.array(ids[hi], pa.string()), "Date": self.dates.take(pa.array(di))}
            flat = format_values(vals.ravel(), "plain")
            rows = len(hi)
            for s, name in enumerate(SLOT_NAMES):
                cols[name] = flat.take(pa.array(np.arange(rows) * HALF_HOURS_PER_DAY + s))
            last = self.out / f"block{int(p)}sep.csv"
            self.files.write(last, pa.table(cols))
        if last is not None:
            self.files.close_except({last})

    def close(self) -> list[Path]:
        return self.files.close()


class KaggleWriter:
    """Kaggle half-hourly and daily block files (50 households a block) and ``informations_households.csv``."""

    def __init__(self, out: Path, axis: TimeAxis, households: pd.DataFrame, order: np.ndarray) -> None:
        self.out = out
        self.households = households
        self.block_of = np.empty(len(households), dtype=np.int64)
        self.block_of[order] = np.arange(len(order)) // HOUSEHOLDS_PER_BLOCK
        self.ts = _ts_strings(axis.ts, "%Y-%m-%d %H:%M:%S")
        self.days = _ts_strings(axis.days.astype("datetime64[us]"), "%Y-%m-%d")
        self.hh_files = _Appender(KAGGLE_HH_HEADER, "\n")
        self.daily_files = _Appender(KAGGLE_DAILY_HEADER, "\n")

    def write_block(self, idx: np.ndarray, kwh: np.ndarray, present: np.ndarray) -> None:
        ids = self.households["household_id"].to_numpy(dtype=object)
        t = kwh.shape[1]
        agg = daily_arrays(kwh, median=True)
        for b in np.unique(self.block_of[idx]):
            sel = np.flatnonzero(self.block_of[idx] == b)
            k, p = kwh[sel], present[sel]
            mask = p.ravel()
            hh = np.repeat(sel, t)[mask]
            table = pa.table(
                {
                    "LCLid": pa.array(ids[idx[hh]], pa.string()),
                    "tstp": self.ts.take(pa.array(np.tile(np.arange(t), len(sel))[mask])),
                    "energy": format_values(k.ravel()[mask], "padded"),
                }
            )
            self.hh_files.write(self.out / "halfhourly_dataset" / f"block_{int(b)}.csv", table)
            has = agg["count"][sel] > 0
            hi, di = np.nonzero(has)

            def col(name: str, _sel=sel, _has=has) -> pa.Array:
                return pa.array(agg[name][_sel][_has], pa.float64(), from_pandas=True).cast(pa.string())

            daily = pa.table(
                {
                    "LCLid": pa.array(ids[idx[sel[hi]]], pa.string()),
                    "day": self.days.take(pa.array(di)),
                    "energy_median": col("median"),
                    "energy_mean": col("mean"),
                    "energy_max": col("max"),
                    "energy_count": pa.array(agg["count"][sel][has]).cast(pa.string()),
                    "energy_std": col("std"),
                    "energy_sum": col("sum"),
                    "energy_min": col("min"),
                }
            )
            self.daily_files.write(self.out / "daily_dataset" / f"block_{int(b)}.csv", daily)

    def close(self) -> list[Path]:
        files = self.hh_files.close() + self.daily_files.close()
        return files + [_write_households_csv(self.households, self.block_of, self.out / "informations_households.csv")]


class UkdsWriter:
    """UK Data Service wide layout; keeps milli-kWh (int16) of every household until :meth:`close`."""

    def __init__(self, out: Path, axis: TimeAxis, households: pd.DataFrame, tariff: pd.DataFrame,
                 survey: pd.DataFrame | None) -> None:
        self.out = out
        self.axis = axis
        self.households = households
        self.tariff = tariff
        self.survey = survey
        self.milli = np.full((len(households), axis.n), -1, dtype=np.int16)

    def write_block(self, idx: np.ndarray, kwh: np.ndarray, present: np.ndarray) -> None:
        ok = ~np.isnan(kwh)
        milli = np.rint(np.nan_to_num(kwh, nan=0.0) * 1000.0)
        if ((milli / 1000.0 != kwh) & ok).any() or (milli > _N_MILLI - 1).any():
            msg = "the UKDS writer keeps kWh on a 0.001 grid up to the simulator's maximum; round the readings"
            raise ConfigError(msg)
        self.milli[idx] = np.where(ok, milli, -1).astype(np.int16)

    def close(self) -> list[Path]:
        files = []
        gmt = _ts_strings(self.axis.ts, "%d/%m/%Y %H:%M")
        table = _TABLES.setdefault("plain", _value_table("plain"))
        ukds_ids = self.households["household_id"].to_numpy(dtype=object)
        groups = self.households["group"].to_numpy(dtype=object)
        for name, is_treat in (("consumption_d.csv", True), ("consumption_n.csv", False)):
            members = np.flatnonzero((groups == TREATMENT) == is_treat)
            cols = {"GMT": gmt}
            for h in members:
                codes = np.where(self.milli[h] < 0, _N_MILLI, self.milli[h]).astype(np.int32)
                cols[str(ukds_ids[h])] = table.take(pa.array(codes))
            path = self.out / name
            with path.open("wb") as f:
                f.write((",".join(cols) + "\r\n").encode())
                _write_csv(pa.table(cols), f, "\r\n")
            files.append(path)
        files.append(_write_tariff_d(self.tariff, self.out / "tariff_d.csv"))
        if self.survey is not None:
            files.append(_write_survey(self.survey, self.out / "survey_answers.csv"))
        return files


def _write_tariff_d(tariff: pd.DataFrame, path: Path) -> Path:
    t = tariff.sort_values("ts").reset_index(drop=True)
    band = t["band"].to_numpy(dtype=object)
    new = np.r_[True, band[1:] != band[:-1]]
    tags = np.full(len(t), "", dtype=object)
    for b, letter in ((HIGH, "H"), (LOW, "L")):
        starts = new & (band == b)
        run_no = np.cumsum(starts)
        tags[band == b] = [f"{letter}{k}" for k in run_no[band == b]]
    out = pd.DataFrame(
        {"GMT": pd.DatetimeIndex(t["ts"]).strftime("%d/%m/%Y %H:%M"), "Price": t["price"].map(repr), "Event_tags": tags}
    )
    out.to_csv(path, index=False, lineterminator="\r\n")
    return path


def _write_survey(survey: pd.DataFrame, path: Path) -> Path:
    """``Household_id,Q..``: every 7th id un-padded (``D31``), and the middle household written twice (the
    second copy with other answers; readers keep the first)."""
    s = survey.rename(columns={"household_id": "Household_id"}).reset_index(drop=True)
    ids = s["Household_id"].astype("str").to_numpy(dtype=object)
    unpadded = np.array([i[0] + str(int(i[1:])) if k % 7 == 3 and i[1:].isdigit() else i for k, i in enumerate(ids)],
                        dtype=object)
    s["Household_id"] = unpadded
    if len(s):
        mid = len(s) // 2
        dup = s.iloc[[mid]].copy()
        for q in [c for c in s.columns if c != "Household_id"]:
            dup[q] = "Neither agree nor disagree" if q in ("Q137", "Q180", "Q187") else dup[q]
        dup["Household_id"] = ids[mid]
        s = pd.concat([s.iloc[: mid + 1], dup, s.iloc[mid + 1 :]], ignore_index=True)
    s.to_csv(path, index=False, lineterminator="\r\n")
    return path


def _write_households_csv(households: pd.DataFrame, block_of: np.ndarray, path: Path) -> Path:
    out = pd.DataFrame(
        {
            "LCLid": households["household_id"],
            "stdorToU": np.where(households["group"].to_numpy(dtype=object) == TREATMENT, "ToU", "Std"),
            "Acorn": households["acorn"],
            "Acorn_grouped": households["acorn_grouped"],
            "file": [f"block_{int(b)}" for b in block_of],
        }
    )
    out.to_csv(path, index=False, lineterminator="\r\n")
    return path


def _write_tariffs_csv(tariff: pd.DataFrame, path: Path) -> Path:
    out = pd.DataFrame({"TariffDateTime": pd.DatetimeIndex(tariff["ts"]).strftime("%Y-%m-%d %H:%M:%S"),
                        "Tariff": tariff["band"]})
    out.to_csv(path, index=False, lineterminator="\r\n")
    return path


def _write_weather(weather: pd.DataFrame, path: Path) -> Path:
    """Hourly temperature in the Kaggle DarkSky file's columns (``time``, ``temperature`` [°C])."""
    out = pd.DataFrame({"time": pd.DatetimeIndex(weather["ts"]).strftime("%Y-%m-%d %H:%M:%S"),
                        "temperature": weather["temperature"].to_numpy()})
    out.to_csv(path, index=False)
    return path


def _write_truth(truth: pd.DataFrame, path: Path) -> Path:
    truth = truth.sort_values("household_id", kind="stable")
    truth.to_csv(path, index=False, date_format="%Y-%m-%d %H:%M:%S")
    return path


# -- drivers ------------------------------------------------------------------------------------------
def ukds_ids(households: pd.DataFrame) -> dict[str, str]:
    """Map simulator ids to UK Data Service ids: treatment ``D0001``.., control ``N0001``.. (by id order)."""
    h = households.sort_values("household_id")
    mapping = {}
    for prefix, group in (("D", TREATMENT), ("N", "control")):
        ids = h.loc[h["group"] == group, "household_id"].tolist()
        mapping.update({old: f"{prefix}{k + 1:04d}" for k, old in enumerate(ids)})
    return mapping


def _write_order(households: pd.DataFrame) -> np.ndarray:
    """Export order of the London Datastore: Std households first, then ToU, each by id."""
    h = households.reset_index(drop=True)
    key = pd.DataFrame({"tou": h["group"].to_numpy(dtype=object) == TREATMENT, "id": h["household_id"]})
    return key.sort_values(["tou", "id"], kind="stable").index.to_numpy()


def _check_layout(layout: str) -> None:
    if layout not in LAYOUTS:
        msg = f"unknown layout {layout!r}; use one of {', '.join(LAYOUTS)}"
        raise ConfigError(msg)


def _write_all(
    out: Path,
    layout: str,
    axis: TimeAxis,
    households: pd.DataFrame,
    tariff: pd.DataFrame,
    survey: pd.DataFrame | None,
    truth: pd.DataFrame,
    source: Source,
    *,
    chunk_households: int,
    rows_per_piece: int,
    weather: pd.DataFrame | None = None,
) -> list[Path]:
    _check_layout(layout)
    out.mkdir(parents=True, exist_ok=True)
    if layout == "ukds":
        mapping = ukds_ids(households)
        households = households.assign(household_id=households["household_id"].map(mapping).astype("str"))
        truth = truth.assign(household_id=truth["household_id"].map(mapping).astype("str"))
        if survey is not None:
            survey = survey.assign(household_id=survey["household_id"].map(mapping).astype("str"))
            survey = survey.sort_values("household_id", kind="stable").reset_index(drop=True)
    order = _write_order(households)
    if layout == "datastore":
        writer = DatastoreWriter(out, axis, households, rows_per_piece)
    elif layout == "day48":
        writer = Day48Writer(out, axis, households, rows_per_piece)
    elif layout == "kaggle":
        writer = KaggleWriter(out, axis, households, order)
    else:
        writer = UkdsWriter(out, axis, households, tariff, survey)
    for k in range(0, len(order), max(1, chunk_households)):
        idx = order[k : k + chunk_households]
        kwh, present = source(idx)
        writer.write_block(idx, kwh, present)
        log.debug("wrote households %d-%d of %d", k, k + len(idx), len(order))
    files = writer.close()
    block_of = np.empty(len(households), dtype=np.int64)
    block_of[order] = np.arange(len(order)) // HOUSEHOLDS_PER_BLOCK
    files.append(_write_households_csv(households, block_of, out / "households.csv"))
    if layout != "ukds":
        files.append(_write_tariffs_csv(tariff, out / "Tariffs.csv"))
    files.append(_write_truth(truth, out / "truth.csv"))
    if weather is not None:
        files.append(_write_weather(weather, out / WEATHER_FILE))
    return files


def _dense(trial: SimulatedTrial) -> tuple[TimeAxis, np.ndarray, np.ndarray, pd.DataFrame]:
    """Dense ``(N, T)`` kWh and presence arrays of an in-memory trial (households sorted by id)."""
    hh = trial.households.sort_values("household_id").reset_index(drop=True)
    r = trial.readings
    if r.empty:
        raise InputError("<trial>", "the trial has no readings", "simulate at least one household and one day")
    ts = r["ts"].to_numpy().astype("datetime64[us]")
    d0 = ts.min().astype("datetime64[D]")
    d1 = ts.max().astype("datetime64[D]")
    days = np.arange(d0, d1 + 1, dtype="datetime64[D]")
    axis = TimeAxis(
        ts=(days.astype("datetime64[us]")[:, None] + np.arange(HALF_HOURS_PER_DAY) * np.timedelta64(30, "m")).ravel(),
        days=days,
    )
    pos = pd.Index(hh["household_id"]).get_indexer(r["household_id"])
    if (pos < 0).any():
        missing = r["household_id"][pos < 0].iloc[0]
        raise InputError("<trial>", f"household {missing} has readings but is not in the households table",
                         "add it to trial.households")
    tpos = ((ts - axis.ts[0]) // np.timedelta64(30, "m")).astype(np.int64)
    kwh = np.full((len(hh), axis.n), np.nan)
    present = np.zeros((len(hh), axis.n), dtype=bool)
    kwh[pos, tpos] = r["kwh"].to_numpy(dtype=float, na_value=np.nan)
    present[pos, tpos] = True
    return axis, kwh, present, hh


def write_trial(
    trial: SimulatedTrial,
    out_dir: str | Path,
    layout: str,
    *,
    rows_per_piece: int = ROWS_PER_PIECE,
) -> list[Path]:
    """Write an in-memory trial in a real layout plus ``truth.csv``, ``households.csv`` (and ``Tariffs.csv``).

    Parameters
    ----------
    trial
        A simulated trial (:func:`flexpersona.simulate.simulate_trial`).
    out_dir
        Folder to write into (created).
    layout
        ``datastore``, ``kaggle``, ``day48`` or ``ukds`` (see the module docstring).
    rows_per_piece
        Rows per London Datastore piece (``datastore`` and ``day48``).

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    _check_layout(layout)
    axis, kwh, present, hh = _dense(trial)
    truth = trial.truth.set_index("household_id").loc[hh["household_id"]].reset_index()

    def source(idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return kwh[idx], present[idx]

    return _write_all(Path(out_dir), layout, axis, hh, trial.tariff, trial.survey, truth, source,
                      chunk_households=len(hh), rows_per_piece=rows_per_piece, weather=trial.weather)


def simulate_to(
    out_dir: str | Path,
    layout: str,
    n_treatment: int,
    n_control: int,
    *,
    seed: int = 0,
    start=None,
    end=None,
    chunk_households: int = 250,
    rows_per_piece: int = ROWS_PER_PIECE,
    **kwargs,
) -> pd.DataFrame:
    """Simulate a trial and write it in a layout chunk by chunk (benchmark scale, bounded memory).

    Generates ``chunk_households`` households at a time (about 80 MB of floats each for two years) and
    appends them to the layout's files, so memory stays well under 2 GB at full LCL size (the ``ukds``
    layout keeps 2 bytes per half-hour and household until the end). A household's readings equal those of
    :func:`flexpersona.simulate.simulate_trial` with the same arguments, whatever the chunking.

    Parameters
    ----------
    out_dir, layout
        As :func:`write_trial`.
    n_treatment, n_control, seed, start, end
        As :func:`flexpersona.simulate.simulate_trial`; other keyword arguments go to it too.
    chunk_households
        Households generated at a time.
    rows_per_piece
        Rows per London Datastore piece.

    Returns
    -------
    pandas.DataFrame
        The planted truth (as written to ``truth.csv``, with the simulator's ids).
    """
    _check_layout(layout)
    kwargs.setdefault("survey", layout == "ukds")
    plan = plan_trial(n_treatment, n_control, seed=seed, start=start, end=end, **kwargs)

    def source(idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return generate_block(plan, idx)

    _write_all(Path(out_dir), layout, plan.axis, plan.households, plan.tariff, plan.survey, plan.truth, source,
               chunk_households=chunk_households, rows_per_piece=rows_per_piece, weather=plan.weather)
    return plan.truth.copy()

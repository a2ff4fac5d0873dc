"""Hourly weather: the Kaggle "Smart meters in London" ``weather_hourly_darksky.csv`` (DarkSky, London).

Only the temperature is used (by the counterfactual without a control group,
:mod:`flexpersona.features.nocontrol`). The file's ``time`` is read as GMT (the day means the model uses do not
move with a one-hour offset); other columns are ignored.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError, QualityIssue
from ._csvtext import read_small_csv
from .dates import ISO, infer_datetime_format
from .sources import SourceFile

logger = logging.getLogger(__name__)

#: DarkSky column -> canonical weather column.
COLUMNS = {"time": "ts", "temperature": "temperature_c"}


def matches(header: list[str]) -> bool:
    """A weather file: ``time`` and ``temperature`` columns (the DarkSky export has more)."""
    low = {h.lower() for h in header}
    return {"time", "temperature"} <= low


def read_weather(path: str | Path | SourceFile, *, issues: list[QualityIssue] | None = None) -> pd.DataFrame:
    """Read an hourly weather file as the canonical weather table.

    Parameters
    ----------
    path
        ``weather_hourly_darksky.csv`` (or any CSV with ``time`` and ``temperature`` [°C] columns).
    issues
        Duplicate times and unparseable temperatures are appended here (first value kept / row skipped).

    Returns
    -------
    pandas.DataFrame
        ``ts`` (GMT), ``temperature_c`` [°C], sorted by ``ts``; ``attrs["date_format"]`` names the format.

    Raises
    ------
    InputError
        No ``time``/``temperature`` column, or times that do not parse (with the line).

    Examples
    --------
    >>> w = read_weather("../shared/data/lcl/weather/weather_hourly_darksky.csv")  # doctest: +SKIP
    >>> list(w.columns)  # doctest: +SKIP
    ['ts', 'temperature_c']
    """
    src = path if isinstance(path, SourceFile) else SourceFile(Path(path))
    header, rows = read_small_csv(src)
    low = [h.lower() for h in header]
    if not matches(header):
        raise InputError(src.name, f"not a weather file (header: {', '.join(header[:8])})",
                         "pass an hourly weather CSV with time and temperature columns (Kaggle DarkSky)", line=1)
    ti, vi = low.index("time"), low.index("temperature")
    times = [r[ti] for _, r in rows]
    try:
        fmt = infer_datetime_format(times, source=src.name)
    except ValueError as exc:
        raise InputError(src.name, str(exc), "write times as ISO (2013-01-01 00:00:00)", column=header[ti]) from None
    pattern = "ISO8601" if fmt.name == ISO else fmt.patterns[0]
    ts = pd.to_datetime(pd.Series(times, dtype=object).str.strip(), format=pattern, errors="coerce")
    bad_t = ts.isna().to_numpy()
    if bad_t.any():
        line = rows[int(np.flatnonzero(bad_t)[0])][0]
        raise InputError(src.name, f"time {times[int(np.flatnonzero(bad_t)[0])]!r} does not parse as {fmt.name}",
                         "fix or remove that row", line=line, column=header[ti])
    temp = pd.to_numeric(pd.Series([r[vi] for _, r in rows], dtype=object), errors="coerce")
    df = pd.DataFrame({"ts": ts.dt.floor("s").astype("datetime64[us]").to_numpy(), "temperature_c": temp.to_numpy(float)})
    n_bad = int(df["temperature_c"].isna().sum())
    if n_bad and issues is not None:
        issues.append(QualityIssue("unparseable_value", "weather rows without a temperature; skipped",
                                   file=src.name, count=n_bad))
    df = df.dropna(subset=["temperature_c"])
    dup = df.duplicated("ts", keep="first")
    if dup.any() and issues is not None:
        issues.append(QualityIssue("duplicate_timestamp", "weather time listed twice; first kept", file=src.name,
                                   count=int(dup.sum())))
    df = df.loc[~dup].sort_values("ts", ignore_index=True)
    df.attrs["date_format"] = fmt.name
    logger.info("weather %s: %d rows, %s to %s", src.name, len(df), df["ts"].min(), df["ts"].max())
    return df

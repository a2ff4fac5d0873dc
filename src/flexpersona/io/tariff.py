"""Tariff schedules: London Datastore ``Tariffs.xlsx`` (``TariffDateTime, Tariff``), its CSV copies (byte-order
mark, CRLF, ``M/D/YY H:MM`` dates) and UK Data Service ``tariff_d.csv`` (``GMT, Price, Event_tags``; band from
price: > 0.6 High, < 0.04 Low, else Normal)."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pandas as pd

from ..config import Config
from ..errors import InputError, QualityIssue
from ..schema import BANDS, NORMAL, band_from_price
from ._csvtext import read_small_csv
from .dates import ISO, infer_datetime_format
from .sources import SourceFile

logger = logging.getLogger(__name__)


def matches(header: list[str]) -> bool:
    low = [h.lower() for h in header]
    return ("tariffdatetime" in low and "tariff" in low) or (low[:2] == ["gmt", "price"])


def _xlsx_rows(path: Path) -> tuple[list[str], list[tuple[int, list[object]]]]:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise InputError(path, f"not a readable .xlsx workbook ({exc})", "re-save the workbook") from None
    ws = wb.worksheets[0]
    it = ws.iter_rows(values_only=True)
    try:
        header = [str(h).strip() if h is not None else "" for h in next(it)]
    except StopIteration:
        raise InputError(path, "the first sheet is empty", "put the schedule on the first sheet", line=1) from None
    rows = [(i, list(r)) for i, r in enumerate(it, start=2) if any(v is not None for v in r)]
    wb.close()
    return header, rows


def read_tariff(
    path: str | Path, *, config: Config | None = None, issues: list[QualityIssue] | None = None
) -> pd.DataFrame:
    """Read a tariff schedule as the canonical tariff table.

    Parameters
    ----------
    path
        ``Tariffs.xlsx``, a CSV copy of it, or UKDS ``tariff_d.csv``.
    config
        Supplies band prices [GBP/kWh] for schedules that give only bands.
    issues
        Duplicate half-hours are appended here (first kept).

    Returns
    -------
    pandas.DataFrame
        ``ts`` (GMT, start of the half-hour), ``band`` (High|Normal|Low), ``price`` [GBP/kWh], sorted by
        ``ts``; ``attrs["date_format"]`` names the timestamp format used.

    Raises
    ------
    InputError
        Unknown header, unparseable time or band (with the line).
    """
    cfg = config or Config()
    prices = {"High": cfg.data.high_price, "Normal": cfg.data.normal_price, "Low": cfg.data.low_price}
    src = path if isinstance(path, SourceFile) else SourceFile(Path(path))
    name = src.name
    if src.suffix == ".xlsx":
        if src.member is not None:
            raise InputError(name, ".xlsx inside a zip is not supported", "extract the workbook")
        header, rows = _xlsx_rows(src.path)
    else:
        header, rows = read_small_csv(src)
    low = [h.lower() for h in header]
    if "tariffdatetime" in low and "tariff" in low:
        ti, vi, by_price = low.index("tariffdatetime"), low.index("tariff"), False
    elif low[:2] == ["gmt", "price"]:
        ti, vi, by_price = 0, 1, True
    else:
        raise InputError(name, f"not a tariff schedule (header: {', '.join(header)})",
                         "use Tariffs.xlsx (TariffDateTime, Tariff) or tariff_d.csv (GMT, Price, Event_tags)",
                         line=1)
    texts = [r[ti] for _, r in rows if not isinstance(r[ti], dt.datetime)]
    fmt = None
    if texts:
        try:
            fmt = infer_datetime_format([str(t) for t in texts if t is not None], source=name)
        except ValueError as exc:
            raise InputError(name, str(exc), "write times as ISO or D/M/YYYY H:MM", column=header[ti]) from None
    out_ts, out_band, out_price = [], [], []
    fast: dict[str, dt.datetime] = {}
    if fmt is not None and (len(fmt.patterns) == 1 or fmt.name == ISO):  # vectorised parse, common cases
        uniq = pd.Series(sorted({str(t) for t in texts if t is not None}), dtype=object)
        pattern = "ISO8601" if fmt.name == ISO else fmt.patterns[0]
        parsed = pd.to_datetime(uniq.str.strip(), format=pattern, errors="coerce")
        fast = {u: p.to_pydatetime() for u, p in zip(uniq, parsed) if not pd.isna(p)}
    for line, r in rows:
        raw_t, raw_v = r[ti], r[vi]
        if isinstance(raw_t, dt.datetime):
            t = raw_t
        elif str(raw_t) in fast:
            t = fast[str(raw_t)]
        else:
            t = fmt.parse(str(raw_t)) if fmt and raw_t else None
        if t is None:
            raise InputError(name, f"time {raw_t!r} does not parse as {fmt.name if fmt else 'a date'}",
                             "fix or remove that row", line=line, column=header[ti])
        if by_price:
            try:
                price = float(str(raw_v).strip())
            except ValueError:
                raise InputError(name, f"price {raw_v!r} is not a number", "fix that row", line=line,
                                 column=header[vi]) from None
            band = band_from_price(price)
        else:
            band = str(raw_v).strip().capitalize() if raw_v is not None else ""
            if band not in BANDS:
                raise InputError(name, f"band {raw_v!r} is not High, Normal or Low", "fix that row",
                                 line=line, column=header[vi])
            price = prices[band]
        out_ts.append(t.replace(microsecond=0))
        out_band.append(band)
        out_price.append(price)
    df = pd.DataFrame({"ts": pd.to_datetime(out_ts).astype("datetime64[us]"), "band": out_band,
                       "price": pd.Series(out_price, dtype="float64")})
    dup = df.duplicated("ts", keep="first")
    if dup.any():
        if issues is not None:
            issues.append(QualityIssue("duplicate_timestamp", "tariff half-hour listed twice; first kept",
                                       file=name, count=int(dup.sum())))
        df = df.loc[~dup]
    df = df.sort_values("ts", ignore_index=True)
    df.attrs["date_format"] = "excel" if fmt is None else fmt.name
    logger.info("tariff %s: %d half-hours (%s)", name, len(df), df["band"].value_counts().to_dict())
    return df


def fill_tariff_gaps(tariff: pd.DataFrame, trial_year: int, config: Config | None = None) -> tuple[pd.DataFrame, int]:
    """Add every half-hour of the trial year the schedule lacks as ``Normal``.

    Returns
    -------
    (pandas.DataFrame, int)
        The completed schedule (sorted) and the number of half-hours added.
    """
    cfg = config or Config()
    full = pd.date_range(f"{trial_year}-01-01", f"{trial_year + 1}-01-01", freq="30min", inclusive="left")
    full = full.astype("datetime64[us]")
    missing = full.difference(pd.DatetimeIndex(tariff["ts"]))
    if len(missing) == 0:
        return tariff, 0
    add = pd.DataFrame({"ts": missing, "band": NORMAL, "price": cfg.data.normal_price})
    out = pd.concat([tariff, add], ignore_index=True).sort_values("ts", ignore_index=True)
    out.attrs = dict(tariff.attrs)
    return out, len(missing)

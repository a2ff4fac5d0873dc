"""``read_readings``: half-hourly readings in any supported layout as the canonical DataFrame, in memory.

The same code reads them as :func:`~flexpersona.io.ingest.ingest` does (layout specs, streaming or general
path, row rules, duplicate merging): the frame equals the ``readings/`` an ingest of the same files writes.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..config import Config
from ..errors import InputError
from ..schema import READINGS_SCHEMA
from . import generic
from . import result as res
from .ingest import collect_inputs, read_readings_files
from .rejects import strict_error


def read_readings(
    path: str | Path | Sequence[str | Path],
    layout: str | None = None,
    *,
    column_map: str | dict[str, str] | None = None,
    config: Config | None = None,
    strict: bool | None = None,
) -> pd.DataFrame:
    """Read half-hourly readings as the canonical readings table.

    Parameters
    ----------
    path
        A readings file (``.csv``, ``.csv.gz``, ``.parquet``), a folder or ``.zip`` of them, or a list of
        those. Side files found in a folder (households, tariff, ...) are ignored.
    layout
        Force the layout: ``datastore``, ``kaggle``, ``day48``, ``ukds`` or ``generic`` (default: detected).
    column_map
        For ``generic`` files: ``"household_id=meter,ts=time,kwh=value"`` (or a dict).
    config
        ``config.data``: timestamp convention (``timestamp_marks``) and kWh cap.
    strict
        Any rejected row is an :class:`~flexpersona.errors.InputError` naming its file and line (None:
        ``config.data.strict``).

    Returns
    -------
    pandas.DataFrame
        ``household_id`` (str), ``ts`` (GMT, start of the half-hour), ``kwh`` [kWh] (NaN = missing), one row per
        household x half-hour (duplicates merged), sorted by household and time. ``attrs``: ``accounting``
        (per layout: rows read = kept + rejected, by reason), ``date_formats`` (per file), ``files_by_layout``.

    Raises
    ------
    InputError
        A structural problem (unknown layout, missing column, undecodable bytes, no readings file), and with
        ``strict`` any rejected row.

    Examples
    --------
    >>> import flexpersona as fp
    >>> readings = fp.read_readings("LCL-June2015v2_0.csv")  # doctest: +SKIP
    >>> readings.attrs["accounting"]["datastore"]["rejected_by_reason"]  # doctest: +SKIP
    {'duplicate_timestamp': 17, 'off_grid_timestamp': 1}
    """
    df, _ = read_readings_with_issues(path, layout, column_map=column_map, config=config, strict=strict)
    return df


def read_readings_with_issues(
    path: str | Path | Sequence[str | Path],
    layout: str | None = None,
    *,
    column_map: str | dict[str, str] | None = None,
    config: Config | None = None,
    strict: bool | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`read_readings` and the rejected rows as the ingest's issue list (``store/issues``): ``code``,
    ``household_id``, ``file``, ``line`` (an example line), ``count``, ``detail``."""
    cfg = config or Config()
    strict = cfg.data.strict if strict is None else strict
    mapping = generic.parse_column_map(column_map)
    paths = [path] if isinstance(path, (str, Path)) else list(path)
    found = collect_inputs(paths, layout=layout, mapping=mapping)
    if not found.readings:
        kinds = ", ".join(f"{s.name} ({kind})" for kind, ss in found.side.items() for s in ss)
        found_text = f": {kinds}" if kinds else ""
        raise InputError(", ".join(str(p) for p in paths), f"no readings file among the inputs{found_text}",
                         "pass half-hourly readings files; read side files with read_households / read_tariff / "
                         "read_survey")
    with tempfile.TemporaryDirectory(prefix="flexpersona-") as tmp:
        result = read_readings_files(found.readings, Path(tmp) / "work", mapping=mapping, config=cfg)
        issues = res.issues_frame(result)
        if strict and (err := strict_error(issues, result.files)) is not None:
            raise err
        tables = [pq.read_table(p, columns=READINGS_SCHEMA.names) for p in result.parts]
    table = pa.concat_tables(tables) if tables else READINGS_SCHEMA.empty_table()
    df = table.cast(READINGS_SCHEMA).to_pandas()
    df = df.sort_values(["household_id", "ts"], ignore_index=True)
    df.attrs = {"accounting": res.accounting(result), "date_formats": dict(result.date_formats),
                "files_by_layout": result.files_by_layout}
    return df, issues

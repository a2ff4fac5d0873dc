"""UK Data Service ``survey_answers.csv``: ``Household_id, Q01..Q335`` as strings, one row per household.

Ids are normalised (``D31`` -> ``D0031``); a duplicated household keeps its first row and the duplicate is
recorded as a ``survey_duplicate`` issue."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from ..errors import InputError, QualityIssue
from ._csvtext import read_small_csv
from .sources import SourceFile
from .ukds import normalise_id

logger = logging.getLogger(__name__)


def matches(header: list[str]) -> bool:
    low = [h.lower() for h in header]
    return "household_id" in low and any(h.startswith("q") and h[1:].isdigit() for h in low)


def read_survey(path: str | Path | SourceFile, *, issues: list[QualityIssue] | None = None) -> pd.DataFrame:
    """Read the survey as the canonical survey table.

    Returns
    -------
    pandas.DataFrame
        ``household_id`` then one string column per question (blank answers are None);
        ``attrs["duplicates"]`` lists the households whose later rows were dropped.
    """
    src = path if isinstance(path, SourceFile) else SourceFile(Path(path))
    header, rows = read_small_csv(src)
    low = [h.lower() for h in header]
    if "household_id" not in low:
        raise InputError(src.name, f"no Household_id column (header: {', '.join(header[:6])}...)",
                         "use survey_answers.csv with a Household_id column", line=1, column="Household_id")
    hi = low.index("household_id")
    qcols = [(i, h) for i, h in enumerate(header) if i != hi]
    seen: dict[str, int] = {}
    records = []
    dups = []
    for line, r in rows:
        hid = normalise_id(r[hi])
        if not hid:
            continue
        if hid in seen:
            dups.append(hid)
            if issues is not None:
                issues.append(QualityIssue("survey_duplicate", f"second survey row; the row of line {seen[hid]} is kept",
                                           household_id=hid, file=src.name, line=line))
            continue
        seen[hid] = line
        records.append([hid] + [r[i] if r[i] != "" else None for i, _ in qcols])
    df = pd.DataFrame(records, columns=["household_id"] + [h for _, h in qcols], dtype=object)
    df.attrs["duplicates"] = dups
    logger.info("survey %s: %d households, %d duplicate rows dropped", src.name, len(df), len(dups))
    return df

"""Households files: Kaggle ``informations_households.csv`` (``LCLid, stdorToU, Acorn, Acorn_grouped, file``)
or any CSV with ``household_id`` and ``group`` columns."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from ..errors import InputError, QualityIssue
from ..schema import CONTROL, TREATMENT
from ._csvtext import read_small_csv
from .sources import SourceFile
from .ukds import normalise_id

logger = logging.getLogger(__name__)

#: Group labels as written in sources -> canonical group.
GROUP_LABELS = {"tou": TREATMENT, "std": CONTROL, "treatment": TREATMENT, "control": CONTROL,
                "d": TREATMENT, "n": CONTROL}
#: Acorn codes that mean "unknown".
UNKNOWN_ACORN = {"", "ACORN-", "ACORN-U"}
_ID_NAMES = ("household_id", "lclid", "household_id", "id")
_GROUP_NAMES = ("group", "stdortou")


def canonical_group(raw: str | None) -> str | None:
    """``ToU``/``D`` -> treatment, ``Std``/``N`` -> control, anything else -> None."""
    if raw is None:
        return None
    return GROUP_LABELS.get(str(raw).strip().lower())


def matches(header: list[str]) -> bool:
    low = [h.lower() for h in header]
    if len(header) > 6:  # e.g. the simulator's truth.csv (household_id, group, persona, effects...)
        return False
    return any(n in low for n in _ID_NAMES) and any(g in low for g in _GROUP_NAMES) and not any(
        h in low for h in ("datetime", "tstp", "date", "day", "gmt"))


def read_households(
    path: str | Path | SourceFile, *, issues: list[QualityIssue] | None = None
) -> pd.DataFrame:
    """Read a households file as the canonical households table (one row per household).

    A household listed with two different groups keeps ``group`` = None and gets an ``in_both_groups``
    issue; an unrecognised group label gives ``unknown_group``.

    Returns
    -------
    pandas.DataFrame
        ``household_id``, ``group`` (treatment|control|None), ``acorn``, ``acorn_grouped`` (None when unknown).
    """
    src = path if isinstance(path, SourceFile) else SourceFile(Path(path))
    header, rows = read_small_csv(src)
    low = [h.lower() for h in header]
    hi = next((low.index(n) for n in _ID_NAMES if n in low), None)
    gi = next((low.index(n) for n in _GROUP_NAMES if n in low), None)
    if hi is None or gi is None:
        raise InputError(src.name, f"a households file needs an id (LCLid) and a group (stdorToU) column; "
                         f"header has: {', '.join(header)}", "use informations_households.csv or add the columns",
                         line=1)
    ai = low.index("acorn") if "acorn" in low else None
    agi = low.index("acorn_grouped") if "acorn_grouped" in low else None
    out: dict[str, dict[str, object]] = {}
    conflicts: set[str] = set()
    for line, r in rows:
        hid = normalise_id(r[hi])
        if not hid:
            continue
        grp = canonical_group(r[gi])
        if grp is None and issues is not None:
            issues.append(QualityIssue("unknown_group", f"group label {r[gi]!r} is not ToU/Std/treatment/control",
                                       household_id=hid, file=src.name, line=line))
        acorn = r[ai] if ai is not None and r[ai] not in UNKNOWN_ACORN else None
        acg = r[agi] if agi is not None and r[agi] not in UNKNOWN_ACORN else None
        if hid in out:
            prev = out[hid]["group"]
            if prev is not None and grp is not None and prev != grp:
                conflicts.add(hid)
                if issues is not None:
                    issues.append(QualityIssue("in_both_groups", "listed as treatment and as control",
                                               household_id=hid, file=src.name, line=line))
            continue
        out[hid] = {"household_id": hid, "group": grp, "acorn": acorn, "acorn_grouped": acg}
    df = pd.DataFrame(list(out.values()), columns=["household_id", "group", "acorn", "acorn_grouped"])
    df = df.astype({"household_id": "str", "group": "object", "acorn": "object", "acorn_grouped": "object"})
    for c in ("group", "acorn", "acorn_grouped"):
        df[c] = df[c].where(df[c].notna(), None)
    df.attrs["in_both_groups"] = sorted(conflicts)
    logger.info("households %s: %d households", src.name, len(df))
    return df

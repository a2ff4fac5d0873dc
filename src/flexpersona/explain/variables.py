"""The pre-trial predictor table of stage 2, built from an allow-list so trial outcomes can never leak.

Only these columns can ever become predictors:

* lifestyle (intrinsic, pre-trial) features: :data:`LIFESTYLE_FEATURES`;
* Acorn: ``acorn`` and ``acorn_grouped`` (categorical);
* survey items encoded with the codebook and the two traits (:mod:`flexpersona.explain.survey`).

Anything else in the input tables is ignored; a column that looks like a trial-year outcome
(:data:`OUTCOME_PATTERNS`) is additionally reported as *refused*. All-NaN lifestyle columns (e.g. the
half-hourly features when only daily data exist) are dropped and listed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import contracts
from ..errors import InputError
from . import survey as sv

logger = logging.getLogger(__name__)

#: The pre-trial lifestyle battery (one list, from :mod:`flexpersona.contracts`).
LIFESTYLE_FEATURES: tuple[str, ...] = contracts.PRE_TRIAL
ACORN_COLUMNS: tuple[str, ...] = ("acorn", "acorn_grouped")
#: Category given to a missing or unknown Acorn (a level of its own in models; left out of χ² tests).
UNKNOWN_CATEGORY = "unknown"
SURVEY_COLUMNS: tuple[str, ...] = sv.ITEM_NAMES + sv.TRAITS
#: Every name that may ever be a predictor.
ALLOWED_PREDICTORS: frozenset[str] = frozenset(LIFESTYLE_FEATURES + ACORN_COLUMNS + SURVEY_COLUMNS)
#: The leakage guard: trial-year outcomes are never predictors, whatever table they arrive in
#: (:func:`flexpersona.contracts.is_outcome`: outcome columns of every contract, and outcome-like names).
is_outcome = contracts.is_outcome


def is_allowed(name: str) -> bool:
    """Whether a column may be a predictor: on the allow-list and not an outcome."""
    return name in ALLOWED_PREDICTORS and not is_outcome(name)


@dataclass
class PredictorTable:
    """Persona labels joined to the pre-trial predictors.

    Attributes
    ----------
    frame
        ``household_id``, ``persona`` (the label used in analyses: persona name, else id), ``persona_id``
        and the predictor columns; assigned households only.
    numeric, categorical
        Predictor columns by kind.
    sets
        Named predictor sets: ``lifestyle``, ``acorn``, ``survey`` (possibly empty), ``all``.
    dropped_all_nan
        Lifestyle columns dropped because no household has a value.
    refused
        Input columns refused as trial-year outcomes.
    n_unassigned
        Households without a persona (excluded).
    n_without_lifestyle
        Assigned households absent from the lifestyle table (kept, predictors missing).
    n_low_confidence
        Assigned households flagged ``low_confidence`` by the personas stage (kept).
    """

    frame: pd.DataFrame
    numeric: list[str]
    categorical: list[str]
    sets: dict[str, list[str]]
    dropped_all_nan: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    n_unassigned: int = 0
    n_without_lifestyle: int = 0
    n_low_confidence: int = 0

    @property
    def predictors(self) -> list[str]:
        return self.numeric + self.categorical


def _require(df: pd.DataFrame, cols: tuple[str, ...], what: str) -> None:
    miss = [c for c in cols if c not in df.columns]
    if miss:
        raise InputError(what, f"missing column(s) {', '.join(miss)}", f"provide a {what} table with {', '.join(cols)}")


def persona_labels(personas: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Assigned households with a ``persona`` label (name, else id) and the number left unassigned."""
    _require(personas, ("household_id", "persona_id"), "personas")
    p = personas.copy()
    p["household_id"] = p["household_id"].astype("string")
    assigned = p["persona_id"].notna()
    n_unassigned = int((~assigned).sum())
    p = p.loc[assigned.to_numpy()].drop_duplicates("household_id")
    name = p["persona_name"] if "persona_name" in p.columns else p["persona_id"]
    p["persona"] = name.astype("string").fillna(p["persona_id"].astype("string"))
    p["persona_id"] = p["persona_id"].astype("string")
    return p[["household_id", "persona_id", "persona"]].reset_index(drop=True), n_unassigned


def assemble_predictors(
    personas: pd.DataFrame,
    lifestyle: pd.DataFrame | None,
    households: pd.DataFrame | None,
    survey_items: pd.DataFrame | None,
) -> PredictorTable:
    """Join persona labels to the allowed pre-trial predictors.

    Parameters
    ----------
    personas
        ``household_id``, ``persona_id`` (None = unassigned, excluded), ``persona_name``.
    lifestyle
        ``household_id`` and pre-trial features; any other column is ignored.
    households
        ``household_id``, ``acorn``, ``acorn_grouped``.
    survey_items
        Encoded survey (``SurveyEncoding.items``) or None.

    Returns
    -------
    PredictorTable
    """
    frame, n_unassigned = persona_labels(personas)
    n_low = 0
    if "low_confidence" in personas.columns:
        assigned = personas["persona_id"].notna().to_numpy()
        n_low = int(personas.loc[assigned, "low_confidence"].fillna(False).astype(bool).sum())
    refused: set[str] = set()
    numeric: list[str] = []
    categorical: list[str] = []
    dropped: list[str] = []
    n_without = 0
    sets: dict[str, list[str]] = {"lifestyle": [], "acorn": [], "survey": []}

    def take(table: pd.DataFrame | None, what: str) -> pd.DataFrame | None:
        if table is None:
            return None
        _require(table, ("household_id",), what)
        for c in table.columns:
            if c != "household_id" and is_outcome(str(c)):
                refused.add(str(c))
        keep = ["household_id"] + [c for c in table.columns if is_allowed(str(c))]
        t = table[keep].copy()
        t["household_id"] = t["household_id"].astype("string")
        return t.drop_duplicates("household_id")

    life = take(lifestyle, "lifestyle")
    if life is not None:
        cols = [c for c in LIFESTYLE_FEATURES if c in life.columns]
        for c in cols:
            life[c] = pd.to_numeric(life[c], errors="coerce").astype("float64")
            life[c] = life[c].where(np.isfinite(life[c]))
        dropped = [c for c in cols if life[c].isna().all()]
        cols = [c for c in cols if c not in dropped]
        n_without = int((~frame["household_id"].isin(life["household_id"])).sum())
        frame = frame.merge(life[["household_id"] + cols], on="household_id", how="left")
        numeric += cols
        sets["lifestyle"] = list(cols)
        if dropped:
            logger.info("lifestyle columns without any value dropped: %s", ", ".join(dropped))
    hh = take(households, "households")
    if hh is not None:
        cols = [c for c in ACORN_COLUMNS if c in hh.columns]
        for c in cols:
            s = hh[c].astype("string").str.strip()
            # 'ACORN-' and 'ACORN-U' mean unknown in LCL.
            hh[c] = s.mask(s.isin(["", "ACORN-", "ACORN-U"]), pd.NA)
        cols = [c for c in cols if hh[c].notna().any()]
        frame = frame.merge(hh[["household_id"] + cols], on="household_id", how="left")
        categorical += cols
        sets["acorn"] = list(cols)
    srv = take(survey_items, "survey")
    if srv is not None:
        cols = [c for c in SURVEY_COLUMNS if c in srv.columns]
        frame = frame.merge(srv[["household_id"] + cols], on="household_id", how="left")
        cols = [c for c in cols if frame[c].notna().any()]
        numeric += cols
        sets["survey"] = list(cols)
    sets["all"] = numeric + categorical
    if refused:
        logger.info("trial-year outcome columns refused as predictors: %s", ", ".join(sorted(refused)))
    for c in categorical:
        frame[c] = frame[c].astype("string").fillna(UNKNOWN_CATEGORY).astype(object)
    return PredictorTable(
        frame=frame,
        numeric=numeric,
        categorical=categorical,
        sets=sets,
        dropped_all_nan=dropped,
        refused=sorted(refused),
        n_unassigned=n_unassigned,
        n_without_lifestyle=n_without,
        n_low_confidence=n_low,
    )

"""The personas stage's part of "how far to trust this": ``validation.json`` and ``persistence``.

``validation.json`` = the feature stage's temporal validation (:mod:`flexpersona.features.validation`) plus the
persona (or segment) agreement between the halves of the events, and the plain-words summary the report shows.
``persistence.csv``/``persistence.json``: the response per event and its trend over the trial for the cohort and
each persona (:mod:`flexpersona.features.persistence`).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..features.persistence import persistence
from ..features.validation import trust_summary


def persona_validation(result: Any, feature_info: dict[str, Any] | None) -> dict[str, Any]:
    """``validation.json``: the features' split-half validation + persona agreement + sentences."""
    v = dict((feature_info or {}).get("validation") or {})
    cf = result.stability.get("crossfit", {}) if result is not None else {}
    kind = "segments" if result is not None and result.stability.get("segments") else "personas"
    v["personas"] = {
        "kind": kind,
        "agreement_year_halves": cf.get("agreement_year_halves", {}),
        "agreement_weeks": cf.get("agreement_weeks", {}),
        "structure_found": bool(result.structure_found) if result is not None else None,
    }
    v["trust"] = trust_summary(v)
    return v


def persona_persistence(
    personas: pd.DataFrame | None,
    event_households: pd.DataFrame | None,
    events: pd.DataFrame | None,
    *,
    replicates: int = 200,
    seed: int = 0,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Per-event responses and trends of the cohort (``all``) and every persona."""
    if event_households is None or events is None or event_households.empty:
        empty = pd.DataFrame({c: pd.Series(dtype=t) for c, t in (
            ("group", "str"), ("band", "str"), ("event_id", "int64"), ("start", "object"), ("months", "float64"),
            ("response_pct", "float64"), ("n_households", "int64"))})
        return empty, {"note": "no per-household event table (event_households.parquet)"}
    groups = None
    if personas is not None and "persona_id" in personas.columns:
        groups = personas.dropna(subset=["persona_id"]).set_index(personas["household_id"].astype(str).rename(None))["persona_id"].astype(str)
        groups = groups[~groups.index.duplicated()]
    return persistence(event_households, events, groups, replicates=replicates, seed=seed)

"""The tables of a run folder that the report reads: :class:`RunTables` and :func:`load_run`.

Every table is read through :class:`~flexpersona.runfolder.RunFolder` by its artifact name. Every table but
``features.parquet`` is optional: an absent one is None (or empty), and each section says so
in a note instead of failing, so the report renders older and partial run folders.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..runfolder import RunFolder
from ..simulate.recovery import find_truth
from ..store import run_features_path


@dataclass
class RunTables:
    """The tables of a run folder (``None`` when absent)."""

    run_dir: Path
    features: pd.DataFrame
    ledger: pd.DataFrame | None = None
    lifestyle: pd.DataFrame | None = None
    events: pd.DataFrame | None = None
    placebo: pd.DataFrame | None = None
    personas: pd.DataFrame | None = None
    profiles: pd.DataFrame | None = None
    selection: pd.DataFrame | None = None
    stability: dict[str, Any] = field(default_factory=dict)
    explain: dict[str, pd.DataFrame] = field(default_factory=dict)
    explain_summary: dict[str, Any] = field(default_factory=dict)
    toolkit: dict[str, Any] | None = None
    targets: pd.DataFrame | None = None
    qini: pd.DataFrame | None = None
    manifest: dict[str, Any] = field(default_factory=dict)
    households: pd.DataFrame | None = None
    persona_matrix: pd.DataFrame | None = None
    #: ``features_info.json`` (cohort responses with intervals, reference, placebo calibration, prevalence).
    feature_info: dict[str, Any] = field(default_factory=dict)
    validation: dict[str, Any] = field(default_factory=dict)
    persistence: dict[str, Any] = field(default_factory=dict)
    persistence_events: pd.DataFrame | None = None
    prior: pd.DataFrame | None = None
    #: The simulator's planted truth when the run's input holds one (``truth.csv``), else None.
    truth: pd.DataFrame | None = None
    truth_path: Path | None = None


def load_run(run_dir: str | Path) -> RunTables:
    """Read every table the report uses from a run folder.

    Raises
    ------
    StageError
        When ``features.parquet`` is missing (nothing to report).
    """
    run = Path(run_dir)
    run_features_path(run, then=f", then flexpersona report {run}")
    rf = RunFolder(run)
    got = {name: rf.load(name, required=False) for name in _ARTIFACTS}
    manifest = got["manifest"] or {}
    info = got["features_info"] or manifest.get("stages", {}).get("features", {}).get("counts", {}).get("info") or {}
    truth_path = find_truth(run, manifest.get("inputs", {}).get("inputs") or [])
    personas, pca = got["personas"], got["persona_pca"]  # the personas stage's PCA picture (household_id, pc1, pc2)
    if personas is not None and pca is not None and {"pc1", "pc2"} <= set(pca.columns) and "pc1" not in personas.columns:
        personas = personas.merge(pca[["household_id", "pc1", "pc2"]], on="household_id", how="left")
    return RunTables(
        run_dir=run, features=got["features"], ledger=got["ledger"], lifestyle=got["lifestyle"],
        events=got["events"], placebo=got["placebo"], personas=personas, profiles=got["persona_profiles"],
        persona_matrix=got["persona_matrix"], selection=got["selection"], stability=got["stability"] or {},
        explain=got["explain"] or {}, explain_summary=got["explain_summary"] or {}, toolkit=got["toolkit"],
        targets=got["targets"], qini=got["qini"], manifest=manifest, households=got["households"],
        feature_info=info, validation=got["validation"] or {}, persistence=got["persistence"] or {},
        persistence_events=got["persistence_events"], prior=got["prior"],
        truth=truth_table(truth_path) if truth_path else None, truth_path=truth_path,
    )


#: Run-folder artifacts the report reads (all optional but ``features``, checked first).
_ARTIFACTS = ("features", "ledger", "lifestyle", "events", "placebo", "personas", "persona_pca", "persona_profiles",
              "persona_matrix", "selection", "stability", "explain", "explain_summary", "toolkit", "targets", "qini",
              "manifest", "households", "features_info", "validation", "persistence", "persistence_events", "prior")


def truth_table(path: Path) -> pd.DataFrame:
    """``truth.csv`` with ``household_id`` as text."""
    return pd.read_csv(path, dtype={"household_id": str})

"""The tables of a run folder that the report reads: :class:`RunTables` and :func:`load_run`.

Every table but ``features.parquet`` is optional: an absent one is None (or empty), and each section says so
in a note instead of failing, so the report renders older and partial run folders.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..explain.runfolder import read_explain_tables
from ..simulate.recovery import find_truth
from ..store import read_json, read_optional_table, run_features_path


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

    def table(name: str) -> pd.DataFrame | None:
        return read_optional_table(run / name)

    def js(name: str) -> Any:
        p = run / name
        return read_json(p) if p.exists() else None

    explain = read_explain_tables(run)
    manifest = js("manifest.json") or {}
    info = js("features_info.json") or manifest.get("stages", {}).get("features", {}).get("counts", {}).get("info") or {}
    truth_path = find_truth(run, manifest.get("inputs", {}).get("inputs") or [])
    personas = table("personas.parquet")
    pca = table("persona_pca.csv")  # the personas stage's PCA picture (household_id, pc1, pc2)
    if personas is not None and pca is not None and {"pc1", "pc2"} <= set(pca.columns) and "pc1" not in personas.columns:
        personas = personas.merge(pca[["household_id", "pc1", "pc2"]], on="household_id", how="left")
    return RunTables(
        run_dir=run, features=table("features.parquet"), ledger=table("ledger.parquet"),
        lifestyle=table("lifestyle.parquet"), events=table("events.parquet"), placebo=table("placebo.parquet"),
        personas=personas, profiles=table("persona_profiles.csv"), persona_matrix=table("persona_matrix.csv"), selection=table("selection.csv"),
        stability=js("stability.json") or {}, explain=explain, explain_summary=js("explain/summary.json") or {},
        toolkit=js("toolkit.json"), targets=table("targets.csv"), qini=table("qini.csv"),
        manifest=manifest, households=table("store/households.parquet"),
        feature_info=info, validation=js("validation.json") or {},
        persistence=js("persistence.json") or {}, persistence_events=table("persistence.csv"), prior=table("prior.csv"),
        truth=truth_table(truth_path) if truth_path else None, truth_path=truth_path,
    )


def truth_table(path: Path) -> pd.DataFrame:
    """``truth.csv`` with ``household_id`` as text."""
    return pd.read_csv(path, dtype={"household_id": str})

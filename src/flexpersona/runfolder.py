"""The run folder: every path, save and load of a run's tables and documents, by name.

One naming for every stage: a stage's result object lists what it produced as ``artifacts()`` (artifact name
→ table, dict or text), :meth:`RunFolder.save_many` writes them (tables validated against their contract in
:mod:`flexpersona.contracts`, atomically, with a CSV twin where analysts expect one), and
:meth:`RunFolder.load_many` reads what a stage declares it reads. No stage opens a path itself.

Example
-------
>>> rf = RunFolder("runs/lcl")  # doctest: +SKIP
>>> feats = rf.load("features")  # doctest: +SKIP
>>> rf.save("personas", personas_table)  # doctest: +SKIP
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .contracts import validate
from .errors import StageError
from .store import Store, atomic_path, read_json, read_optional_table, write_csv, write_json, write_table, write_text


@dataclass(frozen=True)
class Artifact:
    """One file (or folder) of a run: its name, path relative to the run folder, kind and contract."""

    name: str
    path: str
    kind: str  # parquet | csv | json | text | pickle | tables (a folder of CSV tables)
    csv_twin: bool = False
    contract: str | None = None
    #: Stage that writes it (for the error naming the fix when it is missing).
    stage: str = ""


ARTIFACTS: dict[str, Artifact] = {a.name: a for a in (
    Artifact("ingest", "store/ingest.json", "json", stage="ingest"),
    Artifact("ledger", "ledger.parquet", "parquet", True, stage="ingest"),
    Artifact("features", "features.parquet", "parquet", True, "features", "features"),
    Artifact("events", "events.parquet", "parquet", True, "events", "features"),
    Artifact("lifestyle", "lifestyle.parquet", "parquet", True, "lifestyle", "features"),
    Artifact("placebo", "placebo.parquet", "parquet", True, "placebo", "features"),
    Artifact("prior", "prior.csv", "csv", contract="prior", stage="features"),
    Artifact("replicates", "replicates.parquet", "parquet", contract="replicates", stage="features"),
    Artifact("event_households", "event_households.parquet", "parquet", contract="event_households", stage="features"),
    Artifact("features_info", "features_info.json", "json", stage="features"),
    Artifact("personas", "personas.parquet", "parquet", True, "personas", "personas"),
    Artifact("persona_profiles", "persona_profiles.csv", "csv", contract="persona_profiles", stage="personas"),
    Artifact("selection", "selection.csv", "csv", stage="personas"),
    Artifact("stability", "stability.json", "json", stage="personas"),
    Artifact("persona_pca", "persona_pca.csv", "csv", stage="personas"),
    Artifact("persona_matrix", "persona_matrix.csv", "csv", stage="personas"),
    Artifact("persona_model", "persona_model.pkl", "pickle", stage="personas"),
    Artifact("validation", "validation.json", "json", stage="personas"),
    Artifact("persistence", "persistence.json", "json", stage="personas"),
    Artifact("persistence_events", "persistence.csv", "csv", contract="persistence", stage="personas"),
    Artifact("explain", "explain", "tables", stage="explain"),
    Artifact("explain_summary", "explain/summary.json", "json", stage="explain"),
    Artifact("toolkit", "toolkit.json", "json", stage="toolkit"),
    Artifact("toolkit_md", "toolkit.md", "text", stage="toolkit"),
    Artifact("targets", "targets.csv", "csv", contract="targets", stage="toolkit"),
    Artifact("qini", "qini.csv", "csv", contract="qini", stage="toolkit"),
    Artifact("targeting_model", "targeting_model.pkl", "pickle", stage="toolkit"),
    Artifact("eda_summary", "eda/summary.json", "json", stage="eda"),
    Artifact("report", "report.html", "text", stage="report"),
    Artifact("manifest", "manifest.json", "json", stage="run"),
)}  # fmt: skip
#: Tables of the ingest store a stage may read by name (``households``, ``survey``, ...).
STORE_TABLES = ("households", "tariff", "survey", "daily", "weather", "issues")


class RunFolder:
    """A run folder (``flexpersona run ... --out DIR``): paths, saves and loads by artifact name.

    Parameters
    ----------
    path
        The folder; created on the first save.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r})"

    @property
    def store(self) -> Store:
        """The ingest store inside the run folder (``DIR/store``)."""
        return Store(self.path / "store")

    def artifact(self, name: str) -> Artifact:
        if name not in ARTIFACTS:
            msg = f"unknown run artifact {name!r}; known: {', '.join(ARTIFACTS)}"
            raise KeyError(msg)
        return ARTIFACTS[name]

    def file(self, name: str) -> Path:
        """The path of an artifact (or of a store table: ``households``, ``survey``, ...)."""
        if name in STORE_TABLES:
            return self.store.table_path(name)
        return self.path / self.artifact(name).path

    def exists(self, name: str) -> bool:
        if name in STORE_TABLES:
            return self.store.has(name)
        return self.file(name).exists()

    # -- loading ---------------------------------------------------------------------------------
    def load(self, name: str, *, required: bool = True) -> Any:
        """Read an artifact (DataFrame, dict, text or the pickled object); None when absent and not required.

        Raises
        ------
        StageError
            A required artifact is missing: names the stage that writes it.
        """
        if name in STORE_TABLES:
            if not self.store.has(name):
                return self._missing(name, required, "ingest")
            return self.store.read(name)
        a = self.artifact(name)
        p = self.path / a.path
        if not p.exists():
            return self._missing(name, required, a.stage)
        if a.kind in ("parquet", "csv"):
            return read_optional_table(p)
        if a.kind == "json":
            return read_json(p)
        if a.kind == "text":
            return p.read_text(encoding="utf-8")
        if a.kind == "pickle":
            return pickle.loads(p.read_bytes())
        return _read_tables(p)

    def _missing(self, name: str, required: bool, stage: str) -> None:
        if not required:
            return None
        msg = (f"{self.file(name)} is missing: run the {stage} stage first "
               f"(flexpersona run ... --out {self.path}{' --to ' + stage if stage not in ('', 'run') else ''})")
        raise StageError(msg)

    def load_many(self, names: tuple[str, ...] | list[str], *, optional: tuple[str, ...] = ()) -> dict[str, Any]:
        """Artifacts by name; those in ``optional`` are None when absent, the others must exist."""
        return {n: self.load(n, required=n not in optional) for n in names}

    # -- saving ----------------------------------------------------------------------------------
    def save(self, name: str, obj: Any) -> Path:
        """Write an artifact; tables are validated against their contract first (:func:`contracts.validate`).

        ``None`` removes an optional artifact (e.g. no persona model on the continuum).
        """
        a = self.artifact(name)
        p = self.path / a.path
        if obj is None:
            if p.is_file():
                p.unlink()
            return p
        p.parent.mkdir(parents=True, exist_ok=True)
        if a.kind in ("parquet", "csv"):
            if a.contract:
                validate(a.contract, obj)
            return write_table(obj, p, csv_twin=a.csv_twin) if a.kind == "parquet" else write_csv(obj, p)
        if a.kind == "json":
            return write_json(obj, p)
        if a.kind == "text":
            return write_text(obj, p)
        if a.kind == "pickle":
            with atomic_path(p) as tmp:
                tmp.write_bytes(pickle.dumps(obj))
            return p
        p.mkdir(parents=True, exist_ok=True)
        for table_name, table in obj.items():
            write_csv(table, p / f"{table_name}.csv")
        return p

    def save_many(self, artifacts: dict[str, Any]) -> list[Path]:
        """Write every artifact of a stage's result (``result.artifacts()``), in order."""
        return [self.save(n, obj) for n, obj in artifacts.items()]


def _read_tables(folder: Path) -> dict[str, pd.DataFrame]:
    """The CSV tables of a folder by stem; a table written empty (no columns) reads as an empty DataFrame."""
    out: dict[str, pd.DataFrame] = {}
    if not folder.is_dir():
        return out
    for p in sorted(folder.glob("*.csv")):
        try:
            out[p.stem] = pd.read_csv(p)
        except pd.errors.EmptyDataError:
            out[p.stem] = pd.DataFrame()
    return out


def save_run(out: str | Path, *results: Any, config: Any = None) -> RunFolder:
    """Write in-memory stage results into a run folder (a notebook's counterpart of ``flexpersona run``).

    Parameters
    ----------
    out
        The run folder (created).
    *results
        Any of :class:`~flexpersona.features.FeatureResult`, :class:`~flexpersona.personas.PersonaResult`,
        :class:`~flexpersona.explain.ExplainResult`, :class:`~flexpersona.toolkit.ToolkitResult` (anything with
        ``artifacts()``); each is saved under the run folder's names, validated against its contracts.
    config
        The :class:`~flexpersona.config.Config` the results were made with (recorded in ``manifest.json``).

    Returns
    -------
    RunFolder
        Ready for :func:`flexpersona.write_report`.
    """
    from ._version import __version__
    from .config import Config

    rf = RunFolder(out)
    for res in results:
        rf.save_many(res.artifacts())
    manifest = rf.load("manifest", required=False) or {}
    manifest.update({"flexpersona": __version__, "config": (config or Config()).to_dict(),
                     "source": "library (flexpersona.save_run)",
                     "saved": sorted(type(r).__name__ for r in results)})
    rf.save("manifest", manifest)
    return rf

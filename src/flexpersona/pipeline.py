"""The end-to-end run: named stages with declared inputs and outputs, partial runs, re-use, manifest.

A run folder holds every stage's artefacts (see ``docs/architecture.md``). Each stage records in
``manifest.json`` a hash of what it depends on (its config sections, the fingerprints of its input files and
the package version); a re-run skips a stage whose hash is unchanged and whose outputs exist.

Example
-------
>>> from flexpersona.pipeline import run  # doctest: +SKIP
>>> run(["trial/"], "out/", tariff="trial/Tariffs.csv")  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import logging
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from . import __version__
from .config import Config
from .errors import StageError
from .store import Store, file_fingerprint, read_json, write_json, write_table

log = logging.getLogger(__name__)

STAGES: tuple[str, ...] = ("ingest", "features", "personas", "explain", "toolkit", "eda", "report")


@dataclass
class RunInputs:
    """What the ingest stage reads (all optional but ``inputs``)."""

    inputs: list[str] = field(default_factory=list)
    layout: str | None = None
    tariff: str | None = None
    households: str | None = None
    survey: str | None = None
    daily: list[str] = field(default_factory=list)
    column_map: dict[str, str] | None = None
    weather: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "inputs": self.inputs,
            "layout": self.layout,
            "tariff": self.tariff,
            "households": self.households,
            "survey": self.survey,
            "daily": self.daily,
            "column_map": self.column_map,
            "weather": self.weather,
        }


@dataclass
class Stage:
    name: str
    #: Config sections the stage depends on.
    sections: tuple[str, ...]
    #: Files in the run folder the stage reads (relative paths; globs allowed).
    reads: tuple[str, ...]
    #: Files the stage writes (relative paths); all must exist for the stage to be re-usable.
    writes: tuple[str, ...]
    func: Callable[["RunContext"], dict[str, Any]]


@dataclass
class RunContext:
    run_dir: Path
    config: Config
    run_inputs: RunInputs | None
    progress: bool = False

    @property
    def store(self) -> Store:
        return Store(self.run_dir / "store")

    def path(self, rel: str) -> Path:
        return self.run_dir / rel

    def table(self, rel: str) -> pd.DataFrame:
        p = self.path(rel)
        if not p.exists():
            msg = f"{p} is missing: run the stage that writes it first (flexpersona run ... --out {self.run_dir})"
            raise StageError(msg)
        if p.suffix == ".parquet":
            return pd.read_parquet(p)
        return pd.read_csv(p)

    def optional_table(self, rel: str) -> pd.DataFrame | None:
        return self.table(rel) if self.path(rel).exists() else None


# -- the stages ------------------------------------------------------------------------------------


def _stage_ingest(ctx: RunContext) -> dict[str, Any]:
    from .io import ingest

    ri = ctx.run_inputs
    if ri is None or not ri.inputs:
        if ctx.store.has("readings"):
            log.info("no inputs given: re-using the store in %s", ctx.store.path)
            return {"reused_store": True}
        msg = "no INPUT given and the run folder has no store; pass the trial's files or folders"
        raise StageError(msg)
    report = ingest(
        ri.inputs,
        ctx.store.path,
        layout=ri.layout,
        tariff=ri.tariff,
        households=ri.households,
        survey=ri.survey,
        daily=ri.daily or None,
        column_map=ri.column_map,
        config=ctx.config,
        progress=ctx.progress,
        weather=ri.weather,
    )
    ledger = ctx.store.read("ledger")
    write_table(ledger, ctx.path("ledger.parquet"), csv_twin=True)
    return _as_counts(report)


def _stage_features(ctx: RunContext) -> dict[str, Any]:
    from .features import compute_features, save_features

    res = compute_features(ctx.store, ctx.config)
    save_features(res, ctx.run_dir)
    return {"treatment_households": int(len(res.features)), "events": int(len(res.events)), "info": res.info}


def _stage_personas(ctx: RunContext) -> dict[str, Any]:
    from .personas import run_personas

    res = run_personas(ctx.run_dir, ctx.config)
    return {
        "structure_found": bool(res.structure_found),
        "n_personas": int(res.personas["persona_id"].nunique()),
        "method": res.method,
    }


def _stage_explain(ctx: RunContext) -> dict[str, Any]:
    from .explain.runfolder import explain_run

    res = explain_run(ctx.run_dir, ctx.config)
    return {"tables": sorted(res.tables)}


def _stage_toolkit(ctx: RunContext) -> dict[str, Any]:
    from .toolkit import toolkit_for_run

    res = toolkit_for_run(ctx.run_dir, ctx.config)
    return {"targets": int(len(res.targets))}


def _stage_eda(ctx: RunContext) -> dict[str, Any]:
    from .eda import explore_run

    res = explore_run(ctx.run_dir, ctx.config)
    return {"tables": sorted(res.tables), "figures": sorted(res.figures)}


def _stage_report(ctx: RunContext) -> dict[str, Any]:
    from .report import write_report

    path = write_report(ctx.run_dir, ctx.config)
    return {"report": str(path)}


STAGE_DEFS: dict[str, Stage] = {
    s.name: s
    for s in (
        Stage("ingest", ("data",), (), ("store/ingest.json", "ledger.parquet"), _stage_ingest),
        Stage(
            "features",
            ("data", "features"),
            ("store/ingest.json",),
            ("features.parquet", "lifestyle.parquet", "placebo.parquet", "events.parquet"),
            _stage_features,
        ),
        Stage(
            "personas",
            ("personas",),
            ("features.parquet", "features_info.json", "event_households.parquet", "events.parquet"),
            ("personas.parquet", "persona_profiles.csv", "selection.csv", "stability.json", "validation.json"),
            _stage_personas,
        ),
        Stage(
            "explain",
            ("explain",),
            ("personas.parquet", "lifestyle.parquet", "store/ingest.json"),
            ("explain/summary.json",),
            _stage_explain,
        ),
        Stage(
            "toolkit",
            ("toolkit",),
            ("features.parquet", "lifestyle.parquet", "placebo.parquet", "replicates.parquet", "features_info.json",
             "personas.parquet", "explain/summary.json"),
            ("toolkit.json", "toolkit.md", "targets.csv"),
            _stage_toolkit,
        ),
        Stage("eda", ("report",), ("features.parquet", "lifestyle.parquet"), ("eda/summary.json",), _stage_eda),
        Stage(
            "report",
            ("report",),
            (
                "ledger.parquet",
                "features.parquet",
                "events.parquet",
                "personas.parquet",
                "stability.json",
                "selection.csv",
                "explain/summary.json",
                "toolkit.json",
                "eda/summary.json",
            ),
            ("report.html",),
            _stage_report,
        ),
    )
}


# -- orchestration ---------------------------------------------------------------------------------


@dataclass
class RunResult:
    run_dir: Path
    ran: list[str]
    reused: list[str]
    manifest: dict[str, Any]

    @property
    def report(self) -> Path:
        return self.run_dir / "report.html"


def select_stages(start: str | None = None, stop: str | None = None) -> list[str]:
    """The stages from ``start`` to ``stop`` inclusive, in pipeline order."""
    for name in (start, stop):
        if name is not None and name not in STAGES:
            msg = f"unknown stage {name!r}; stages are: {', '.join(STAGES)}"
            raise StageError(msg)
    i = STAGES.index(start) if start else 0
    j = STAGES.index(stop) if stop else len(STAGES) - 1
    if i > j:
        msg = f"--from {start} comes after --to {stop}; stages run in the order {', '.join(STAGES)}"
        raise StageError(msg)
    return list(STAGES[i : j + 1])


def _stage_hash(stage: Stage, ctx: RunContext) -> str:
    h = hashlib.sha256()
    h.update(__version__.encode())
    h.update(ctx.config.section_hash(*stage.sections).encode())
    if stage.name == "ingest":
        ri = ctx.run_inputs.to_dict() if ctx.run_inputs else {}
        h.update(json.dumps(ri, sort_keys=True).encode())
        for f in _input_files(ctx.run_inputs):
            h.update(f"{f}={file_fingerprint(f)}".encode())
    for rel in stage.reads:
        p = ctx.path(rel)
        h.update(f"{rel}={file_fingerprint(p) if p.exists() else 'missing'}".encode())
    return h.hexdigest()[:20]


def _input_files(ri: RunInputs | None) -> list[Path]:
    if ri is None:
        return []
    paths: list[Path] = []
    for item in [*ri.inputs, ri.tariff, ri.households, ri.survey, *ri.daily, ri.weather]:
        if not item:
            continue
        p = Path(item)
        if p.is_dir():
            paths.extend(sorted(q for q in p.rglob("*") if q.is_file()))
        elif p.exists():
            paths.append(p)
    return paths


def run(
    inputs: Sequence[str | Path] | None,
    out: str | Path,
    *,
    config: Config | None = None,
    layout: str | None = None,
    tariff: str | Path | None = None,
    households: str | Path | None = None,
    survey: str | Path | None = None,
    daily: Sequence[str | Path] | None = None,
    column_map: dict[str, str] | None = None,
    start: str | None = None,
    stop: str | None = None,
    force: bool = False,
    progress: bool = False,
    weather: str | Path | None = None,
) -> RunResult:
    """Run the pipeline (or the stages ``start``..``stop``) into the run folder ``out``.

    Stages whose inputs and config are unchanged since the last run are re-used unless ``force``.
    """
    config = config or Config()
    run_dir = Path(out)
    run_dir.mkdir(parents=True, exist_ok=True)
    run_inputs = RunInputs(
        inputs=[str(Path(p).resolve()) for p in (inputs or [])],
        layout=layout,
        tariff=str(Path(tariff).resolve()) if tariff else None,
        households=str(Path(households).resolve()) if households else None,
        survey=str(Path(survey).resolve()) if survey else None,
        daily=[str(Path(p).resolve()) for p in (daily or [])],
        column_map=column_map,
        weather=str(Path(weather).resolve()) if weather else None,
    )
    ctx = RunContext(run_dir=run_dir, config=config, run_inputs=run_inputs, progress=progress)
    manifest_path = run_dir / "manifest.json"
    manifest: dict[str, Any] = read_json(manifest_path) if manifest_path.exists() else {}
    stages_state: dict[str, Any] = manifest.get("stages", {})
    if not run_inputs.inputs and manifest.get("inputs"):
        # A re-run on an existing folder keeps the inputs it was made from.
        ctx.run_inputs = RunInputs(**manifest["inputs"])
    ran: list[str] = []
    reused: list[str] = []
    t_all = time.perf_counter()
    for name in select_stages(start, stop):
        stage = STAGE_DEFS[name]
        digest = _stage_hash(stage, ctx)
        prev = stages_state.get(name, {})
        outputs_exist = all(ctx.path(w).exists() for w in stage.writes)
        if not force and prev.get("hash") == digest and outputs_exist:
            log.info("stage %s: unchanged, re-used", name)
            reused.append(name)
            continue
        log.info("stage %s: running", name)
        t0 = time.perf_counter()
        counts = stage.func(ctx)
        elapsed = time.perf_counter() - t0
        # Hash again after running: the stage's own reads may have been written by itself (ingest).
        stages_state[name] = {
            "hash": _stage_hash(stage, ctx),
            "seconds": round(elapsed, 3),
            "counts": counts,
            "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        ran.append(name)
        # Written after every stage, so that a later failure still leaves an honest record.
        manifest = _manifest(ctx, stages_state, ran, reused, time.perf_counter() - t_all)
        write_json(manifest, manifest_path)
    manifest = _manifest(ctx, stages_state, ran, reused, time.perf_counter() - t_all)
    write_json(manifest, manifest_path)
    return RunResult(run_dir=run_dir, ran=ran, reused=reused, manifest=manifest)


def _manifest(ctx: RunContext, stages_state: dict[str, Any], ran: list[str], reused: list[str],
              seconds: float) -> dict[str, Any]:
    return {
        "flexpersona": __version__,
        "config": ctx.config.to_dict(),
        "inputs": ctx.run_inputs.to_dict() if ctx.run_inputs else {},
        "input_fingerprints": {str(p): file_fingerprint(p) for p in _input_files(ctx.run_inputs)},
        "versions": _versions(ctx.config),
        "stages": stages_state,
        "last_run": {"ran": ran, "reused": reused, "seconds": round(seconds, 3)},
        "counts": _summary_counts(ctx),
        "counterfactual": _counterfactual(stages_state),
    }


def _counterfactual(stages_state: dict[str, Any]) -> dict[str, Any] | None:
    """The feature stage's counterfactual at the top of the manifest: control group or not (and what that
    costs), the reference used, the cohort High response under both references and the spillover."""
    info = stages_state.get("features", {}).get("counts", {}).get("info")
    if not isinstance(info, dict):
        return None
    comp = info.get("reference_comparison", {})
    high = {label: g.get("treatment", {}).get("high") for label, g in comp.get("cohort", {}).items()}
    return {**info.get("counterfactual", {}), "reference": info.get("reference"),
            "reference_days": info.get("reference_days"), "cohort_high_by_reference": high,
            "spillover": info.get("spillover")}


def _versions(config: Config) -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    names = ["duckdb", "pyarrow", "pandas", "numpy", "scipy", "scikit-learn", "statsmodels", "plotly"]
    if config.features.engine == "spark":
        names.append("pyspark")
    out = {"python": platform.python_version()}
    for n in names:
        try:
            out[n] = version(n)
        except PackageNotFoundError:
            out[n] = "not installed"
    return out


def _summary_counts(ctx: RunContext) -> dict[str, Any]:
    counts: dict[str, Any] = {}
    ledger = ctx.path("ledger.parquet")
    if ledger.exists():
        df = pd.read_parquet(ledger)
        counts["households"] = int(len(df))
        if {"group", "status"} <= set(df.columns):
            counts["by_group_status"] = {
                f"{g}/{s}": int(n) for (g, s), n in df.groupby(["group", "status"], dropna=False).size().items()
            }
    info = ctx.store.info()
    if "accounting" in info:
        counts["rows"] = info["accounting"]
    return counts


def _as_counts(report: Any) -> dict[str, Any]:
    if hasattr(report, "to_dict"):
        return report.to_dict()
    if hasattr(report, "__dataclass_fields__"):
        import dataclasses

        return json.loads(json.dumps(dataclasses.asdict(report), default=str))
    return {"report": str(report)}

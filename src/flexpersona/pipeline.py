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
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._version import __version__
from .config import Config
from .errors import StageError
from .plotting.pool import drawing_pool
from .runfolder import RunFolder
from .store import Store, file_fingerprint, file_fingerprints, read_json, write_json

log = logging.getLogger(__name__)

STAGES: tuple[str, ...] = ("ingest", "features", "eda", "personas", "explain", "toolkit", "report")


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
    """A named stage: the config sections and run artifacts (:mod:`flexpersona.runfolder`) it reads, the
    artifacts it writes (all must exist for it to be re-used) and the function that runs it."""

    name: str
    #: Config sections the stage depends on.
    sections: tuple[str, ...]
    #: Artifacts the stage reads (by name).
    reads: tuple[str, ...]
    #: Artifacts the stage writes; all must exist for the stage to be re-usable.
    writes: tuple[str, ...]
    func: Callable[[RunContext], dict[str, Any]]


@dataclass
class RunContext:
    run_dir: Path
    config: Config
    run_inputs: RunInputs | None
    progress: bool = False
    #: The ingest store, when it lives outside the run folder (``flexpersona features STORE --out DIR``).
    store_dir: Path | None = None
    #: ``{path: [stat key, fingerprint, when taken]}`` of the inputs as the run folder's manifest recorded them
    #: (``input_stats``): a file whose stat key is unchanged is not read again (:func:`~.store.file_fingerprints`).
    known_inputs: dict[str, list[Any]] = field(default_factory=dict, repr=False)
    #: Fingerprints of the input files, taken once per run (the ingest's hash and every manifest write use
    #: them; a run does not write its inputs, and at full LCL size a pass over 222 files costs ~0.5 s).
    _input_fps: tuple[Any, dict[str, list[Any]]] | None = field(default=None, repr=False)

    def input_stats(self) -> dict[str, list[Any]]:
        """``{path: [stat key, fingerprint, when taken]}`` of every input file of the run (taken on first use)."""
        if self._input_fps is None or self._input_fps[0] is not self.run_inputs:
            self._input_fps = (self.run_inputs, file_fingerprints(_input_files(self.run_inputs), self.known_inputs))
        return self._input_fps[1]

    def input_fingerprints(self) -> dict[str, str]:
        """``{path: fingerprint}`` of every input file of the run."""
        return {p: entry[1] for p, entry in self.input_stats().items()}

    @property
    def folder(self) -> RunFolder:
        return RunFolder(self.run_dir)

    @property
    def store(self) -> Store:
        return Store(self.store_dir) if self.store_dir is not None else self.folder.store

    def file(self, name: str) -> Path:
        if name == "ingest" and self.store_dir is not None:
            return self.store_dir / "ingest.json"
        return self.folder.file(name)


# -- the stages: each loads what it declares, calls the library function, saves the result's artifacts --------


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
    ctx.folder.save("ledger", ctx.store.read("ledger"))
    return _as_counts(report)


def _stage_features(ctx: RunContext) -> dict[str, Any]:
    from .features import compute_features

    res = compute_features(ctx.store, ctx.config, progress=ctx.progress)
    if ctx.store_dir is not None and ctx.store.has("ledger"):
        ctx.folder.save("ledger", ctx.store.read("ledger"))
    ctx.folder.save_many(res.artifacts())
    return {"treatment_households": int(len(res.features)), "events": int(len(res.events)), "info": res.info}


def _stage_personas(ctx: RunContext) -> dict[str, Any]:
    from .personas import build_personas

    opt = ("features_info", "event_households", "events")
    t = ctx.folder.load_many(("features", *opt), optional=opt)
    res = build_personas(t["features"], ctx.config, feature_info=t["features_info"] or {},
                         event_households=t["event_households"], events=t["events"])
    ctx.folder.save_many(res.artifacts())
    return {
        "structure_found": bool(res.structure_found),
        "n_personas": int(res.personas["persona_id"].nunique()),
        "method": res.method,
    }


def _stage_explain(ctx: RunContext) -> dict[str, Any]:
    from .explain import explain_personas
    from .explain.variables import LIFESTYLE_FEATURES

    opt = ("lifestyle", "features", "households", "survey")
    t = ctx.folder.load_many(("personas", *opt), optional=opt)
    lifestyle = t["lifestyle"]
    if lifestyle is None and t["features"] is not None:  # an older run: lifestyle columns of the features
        lifestyle = t["features"][["household_id", *(c for c in LIFESTYLE_FEATURES if c in t["features"])]]
    if lifestyle is None and t["households"] is None and t["survey"] is None:
        msg = (f"{ctx.run_dir} has neither lifestyle.parquet, features.parquet, store/households.parquet nor "
               "store/survey.parquet: nothing to explain personas with; run the features stage first")
        raise StageError(msg)
    res = explain_personas(t["personas"], lifestyle, t["households"], t["survey"], ctx.config)
    ctx.folder.save_many(res.artifacts())
    return {"tables": sorted(res.tables)}


def _stage_toolkit(ctx: RunContext) -> dict[str, Any]:
    from .toolkit import build_toolkit

    opt = ("lifestyle", "placebo", "replicates", "features_info", "personas", "explain", "explain_summary",
           "households")
    t = ctx.folder.load_many(("features", *opt), optional=opt)
    explain = {**(t["explain"] or {}), **({"summary": t["explain_summary"]} if t["explain_summary"] else {})}
    res = build_toolkit(t["features"], t["personas"], explain, config=ctx.config, lifestyle=t["lifestyle"],
                        households=t["households"], placebo=t["placebo"], replicates=t["replicates"],
                        feature_info=t["features_info"])
    ctx.folder.save_many(res.artifacts())
    return {"targets": int(len(res.targets))}


def _stage_eda(ctx: RunContext) -> dict[str, Any]:
    from .eda import explore, save_eda

    t = ctx.folder.load_many(("features", "lifestyle"), optional=("lifestyle",))
    res = explore(t["features"], ctx.config, lifestyle=t["lifestyle"])
    save_eda(res, ctx.run_dir)
    return {"tables": sorted(res.tables), "figures": sorted(res.figures)}


def _stage_report(ctx: RunContext) -> dict[str, Any]:
    from .report import write_report

    path = write_report(ctx.run_dir, ctx.config)
    return {"report": str(path)}


STAGE_DEFS: dict[str, Stage] = {
    s.name: s
    for s in (
        Stage("ingest", ("data",), (), ("ingest", "ledger"), _stage_ingest),
        Stage("features", ("data", "features"), ("ingest",),
              ("features", "lifestyle", "placebo", "events", "features_info"), _stage_features),
        Stage("personas", ("personas",), ("features", "features_info", "event_households", "events"),
              ("personas", "persona_profiles", "selection", "stability", "validation"), _stage_personas),
        Stage("explain", ("explain",), ("personas", "lifestyle", "ingest"), ("explain_summary",), _stage_explain),
        Stage("toolkit", ("toolkit",),
              ("features", "lifestyle", "placebo", "replicates", "features_info", "personas", "explain_summary"),
              ("toolkit", "toolkit_md", "targets"), _stage_toolkit),
        Stage("eda", ("report",), ("features", "lifestyle"), ("eda_summary",), _stage_eda),
        Stage("report", ("report",),
              ("ledger", "features", "events", "personas", "stability", "selection", "explain_summary", "toolkit",
               "eda_summary", "validation"),
              ("report",), _stage_report),
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
        h.update(f"strict={ctx.config.data.strict}".encode())  # a strict re-run checks the rows again
        for f, fp in ctx.input_fingerprints().items():
            h.update(f"{f}={fp}".encode())
    for name in stage.reads:
        p = ctx.file(name)
        h.update(f"{name}={file_fingerprint(p) if p.exists() else 'missing'}".encode())
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
    store: str | Path | None = None,
) -> RunResult:
    """Run the pipeline (or the stages ``start``..``stop``) into the run folder ``out``.

    Stages whose inputs and config are unchanged since the last run are re-used unless ``force``. ``store``
    points at an ingest store outside the run folder (``flexpersona features STORE --out DIR``).
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
    manifest_path = run_dir / "manifest.json"
    manifest: dict[str, Any] = read_json(manifest_path) if manifest_path.exists() else {}
    store_dir = Path(store).resolve() if store else (Path(manifest["store"]) if manifest.get("store") else None)
    if store_dir is not None and store_dir == (run_dir / "store").resolve():
        store_dir = None
    ctx = RunContext(run_dir=run_dir, config=config, run_inputs=run_inputs, progress=progress, store_dir=store_dir,
                     known_inputs=manifest.get("input_stats") or {})
    stages_state: dict[str, Any] = manifest.get("stages", {})
    if not run_inputs.inputs and manifest.get("inputs"):
        # A re-run on an existing folder keeps the inputs it was made from.
        ctx.run_inputs = RunInputs(**manifest["inputs"])
    ran: list[str] = []
    reused: list[str] = []
    t_all = time.perf_counter()
    # figures are drawn by worker processes while the stages go on; every file is written before the manifest
    with drawing_pool(config.report.figure_jobs) as pool:
        for name in select_stages(start, stop):
            _one_stage(ctx, name, stages_state, ran, reused, force=force, t_all=t_all)
    manifest = _manifest(ctx, stages_state, ran, reused, time.perf_counter() - t_all)
    if pool.drawn:
        manifest["figures"] = {"drawn": pool.drawn, "processes": pool.workers, "drawn_by_run": pool.drawn_here,
                               "seconds_waited": round(pool.waited, 3)}
        _progress_line(ctx, f"{'figures':<9} {pool.waited:6.1f} s   waited for {pool.drawn} figures drawn in "
                            f"{pool.workers or 1} process(es), {pool.drawn_here} of them by the run's own at the end "
                            f"(run so far {time.perf_counter() - t_all:6.1f} s)")
    write_json(manifest, manifest_path)
    return RunResult(run_dir=run_dir, ran=ran, reused=reused, manifest=manifest)


def _one_stage(ctx: RunContext, name: str, stages_state: dict[str, Any], ran: list[str], reused: list[str], *,
              force: bool, t_all: float) -> None:
    """Run (or re-use) one stage; its record goes into ``stages_state`` and the manifest is written."""
    stage = STAGE_DEFS[name]
    digest = _stage_hash(stage, ctx)
    prev = stages_state.get(name, {})
    outputs_exist = all(ctx.file(w).exists() for w in stage.writes)
    if not force and prev.get("hash") == digest and outputs_exist:
        log.info("stage %s: unchanged, re-used", name)
        _progress_line(ctx, f"{name:<9} re-used (inputs and config unchanged)")
        reused.append(name)
        return
    log.info("stage %s: running", name)
    t0 = time.perf_counter()
    counts = stage.func(ctx)
    elapsed = time.perf_counter() - t0
    _progress_line(ctx, f"{name:<9} {elapsed:6.1f} s   (run so far {time.perf_counter() - t_all:6.1f} s)")
    # Hash again after running: the stage's own reads may have been written by itself (ingest).
    stages_state[name] = {
        "hash": _stage_hash(stage, ctx),
        "seconds": round(elapsed, 3),
        "counts": counts,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    ran.append(name)
    # Written after every stage, so that a later failure still leaves an honest record.
    write_json(_manifest(ctx, stages_state, ran, reused, time.perf_counter() - t_all), ctx.run_dir / "manifest.json")


def _progress_line(ctx: RunContext, text: str) -> None:
    """One line per stage on the terminal (only with ``progress``, i.e. when stderr is a terminal)."""
    if ctx.progress:
        print(f"flexpersona: {text}", file=sys.stderr, flush=True)


def run_stage(run_dir: str | Path, stage: str, config: Config, *, store: str | Path | None = None,
              progress: bool = False) -> RunResult:
    """Run one stage on a run folder (always, whatever its hash), updating the run's ``manifest.json``.

    The CLI's stage commands (``flexpersona features|personas|explain|toolkit ...``) are this call: the run's
    inputs and other stages' records stay as they are. ``progress``: the stage's line (and bar) on stderr.
    """
    return run(None, run_dir, config=config, start=stage, stop=stage, force=True, store=store, progress=progress)


def _manifest(ctx: RunContext, stages_state: dict[str, Any], ran: list[str], reused: list[str],
              seconds: float) -> dict[str, Any]:
    return {
        "flexpersona": __version__,
        **({"store": str(ctx.store_dir)} if ctx.store_dir is not None else {}),
        "config": ctx.config.to_dict(),
        "inputs": ctx.run_inputs.to_dict() if ctx.run_inputs else {},
        "input_fingerprints": ctx.input_fingerprints(),
        "input_stats": ctx.input_stats(),
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
    df = ctx.folder.load("ledger", required=False)
    if df is not None:
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

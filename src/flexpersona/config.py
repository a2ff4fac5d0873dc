"""Run configuration: one frozen dataclass per stage, loadable from TOML.

Every option of every stage lives here, so that a run is fully described by its config (written into
``manifest.json``) and a TOML file can set any of them::

    [data]
    baseline_year = 2012
    [features]
    engine = "duckdb"
    [personas]
    names = { P1 = "Early birds" }

Each stage owns its section; add fields with defaults only.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .schema import BAND_PRICES, FLAT_PRICE

log = logging.getLogger(__name__)

#: Allowed values of the categorical options (checked when a :class:`Config` is built, before any work).
CHOICES: dict[tuple[str, str], tuple[str, ...]] = {
    ("features", "engine"): ("duckdb", "spark"),
    ("features", "reference"): ("auto", "baseline", "within_trial"),
    ("features", "reference_period"): ("month", "season"),
    ("features", "reference_days"): ("event_free", "all"),
    ("features", "day_adjustment"): ("same_day", "none"),
    ("features", "posterior_calibration"): ("placebo", "normal"),
    ("features", "counterfactual"): ("auto", "control_group", "no_control"),
    ("personas", "method"): ("default", "seed"),
    ("personas", "membership"): ("posterior", "raw"),
    ("report", "correlation"): ("spearman", "pearson"),
    ("data", "timestamp_marks"): ("start", "end"),
}
#: Persona clustering algorithms.
ALGORITHMS = ("kmeans", "gmm", "ward", "hdbscan")

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@dataclass(frozen=True)
class DataConfig:
    """Data semantics (METHODS section 0)."""

    baseline_year: int = 2012
    trial_year: int = 2013
    #: Whether source timestamps mark the ``start`` or the ``end`` of the half-hour.
    timestamp_marks: str = "start"
    #: Readings above this are implausible for one half-hour of one home [kWh].
    kwh_cap: float = 10.0
    #: Share of the baseline-year half-hours a household needs (when the baseline is half-hourly).
    min_baseline_coverage: float = 0.25
    #: Share of the trial-year half-hours a household needs.
    min_trial_coverage: float = 0.25
    #: Treat UK bank holidays as weekend days (off for seed parity).
    bank_holidays_as_weekend: bool = False
    high_price: float = BAND_PRICES["High"]
    normal_price: float = BAND_PRICES["Normal"]
    low_price: float = BAND_PRICES["Low"]
    flat_price: float = FLAT_PRICE
    #: Memory limit of every DuckDB connection of ingest and features (DuckDB syntax, e.g. ``"1500MB"``);
    #: bigger operations spill to a temp folder under the store.
    duckdb_memory_limit: str = "1GB"
    #: DuckDB worker threads of ingest and features (None, the default = every core). Results do not depend on it:
    #: the feature stage's sums are exact fixed-point integer sums (issue 14), so any count gives identical tables.
    duckdb_threads: int | None = None
    #: DuckDB worker threads of the streaming ingest of long CSV files (None = every core). Its output does not
    #: depend on the count: each layout's rows are written in file order into one Parquet file.
    ingest_threads: int | None = None
    #: Any rejected readings row (blank line, missing/extra field, cut last line, bad value ...) stops the ingest
    #: with an error naming its file and line, instead of being counted in the ledger (``--strict``).
    strict: bool = False


#: Options that no longer exist, with what replaced them: accepted and ignored (with a log warning), so that the
#: config in an older run folder's ``manifest.json`` or TOML file still loads.
RETIRED = {
    ("toolkit", "holdout_share"): "targeting is validated by repeated cross-fitting (toolkit.cv_repeats, toolkit.cv_folds)",
}

#: (section, key) of settings that change resources, not results: not part of :meth:`Config.section_hash`.
#: (``data.strict`` changes only whether an ingest with rejected rows fails; the pipeline's ingest stage hashes
#: it itself.)
NOT_IN_HASH = {("data", "duckdb_memory_limit"), ("data", "duckdb_threads"), ("data", "ingest_threads"),
               ("data", "strict"), ("toolkit", "n_jobs"), ("report", "figure_jobs")}


@dataclass(frozen=True)
class FeaturesConfig:
    """Stage 1 (METHODS A and B.1-B.3)."""

    engine: str = "duckdb"  # duckdb | spark
    spark_master: str = "local[2]"
    #: Reference of the counterfactual: auto | baseline | within_trial.
    reference: str = "auto"
    #: Cell of the reference profile: month | season.
    reference_period: str = "month"
    bootstrap_replicates: int = 200
    #: Days per block of the day-block bootstrap.
    bootstrap_block_days: int = 7
    fdr_alpha: float = 0.05
    rebound_hours: float = 3.0
    seed: int = 42
    #: Time placebo: this many event-free trial days get pseudo events (same windows as real High events),
    #: excluded from the within-trial reference; their cohort response should be ~0 (0 = off).
    time_placebo_days: int = 0
    #: ``auto`` reference picks the baseline when at least this share of treatment households has
    #: half-hourly baseline-year coverage of ``data.min_baseline_coverage``.
    auto_baseline_share: float = 0.5
    #: Same-day adjustment of the counterfactual: ``same_day`` scales ŷ of a day's High/Low/rebound/pseudo
    #: half-hours by the household's Σy/Σŷ over that day's other Normal half-hours (shrunk towards 1 by
    #: ``day_adjustment_shrink`` pseudo half-hours); ``none`` (default) is the plain METHODS B.1
    #: counterfactual. same_day narrows intervals on the simulator but widens them on real LCL data.
    day_adjustment: str = "none"
    day_adjustment_shrink: float = 5.0
    #: System-peak window [hour of day from, to): High half-hours starting inside it give the peak kW.
    system_peak_hours: tuple[float, float] = (16.0, 20.0)
    #: Noise model of the household posteriors (METHODS B.7): ``placebo`` (the controls' standardised placebo
    #: estimates: the estimator's bias, skew and tails) or ``normal`` (x ~ N(θ, se²)).
    posterior_calibration: str = "placebo"
    #: Bootstrap resamples of the prevalence intervals (METHODS B.8).
    prevalence_replicates: int = 100
    #: Days whose Normal half-hours make the within-trial reference: ``all`` (every day; an event-day
    #: spillover then leaks into the reference) or ``event_free`` (days without any High or Low half-hour, and
    #: more than ``reference_margin_days`` days from one). Why all is the default: docs/counterfactual.md.
    reference_days: str = "all"
    reference_margin_days: int = 0
    #: Also run the counterfactual with the other within-trial reference (event_free <-> all; with a baseline
    #: reference: within_trial event_free) and report both cohort responses and the event-day spillover.
    compare_references: bool = True
    #: ``auto`` (a control group when the input has control households, else ``no_control``),
    #: ``control_group`` or ``no_control`` (per-household baseline model on non-event days, no control group).
    counterfactual: str = "auto"
    #: Without a control group the placebo calibration uses pseudo events on this many event-free days (when
    #: ``time_placebo_days`` is 0).
    no_control_placebo_days: int = 40


@dataclass(frozen=True)
class PersonasConfig:
    """Clustering, selection, existence, stability and naming (METHODS A and B.4)."""

    method: str = "default"  # default | seed
    k_min: int = 2
    k_max: int = 8
    algorithms: tuple[str, ...] = ("kmeans", "gmm", "ward", "hdbscan")
    features: tuple[str, ...] = ("high_response_pct", "low_response_pct")
    bootstrap_resamples: int = 50
    low_confidence_below: float = 0.6
    null_test_alpha: float = 0.05
    #: Override names by persona id, e.g. {"P1": "Night owls"}.
    names: dict[str, str] = field(default_factory=dict)
    seed: int = 42
    #: Independent restarts of every Gaussian mixture in model selection (BIC spread reported).
    gmm_restarts: int = 5
    #: Smallest share of households a persona may hold in an eligible candidate model.
    min_persona_share: float = 0.03
    #: Reference samples of the gap-statistic null-structure test.
    null_references: int = 20
    #: Persona membership from the households' ``posterior`` means (METHODS B.9; the existence test stays on the
    #: raw estimates) or from the ``raw`` estimates.
    membership: str = "posterior"


@dataclass(frozen=True)
class ExplainConfig:
    """Stage 2."""

    outer_folds: int = 5
    inner_folds: int = 3
    bootstrap_replicates: int = 500
    fdr_alpha: float = 0.05
    permutation_repeats: int = 10
    seed: int = 42


@dataclass(frozen=True)
class ToolkitConfig:
    """Interventions and targeting."""

    population: int = 1_000_000
    seed: int = 42
    #: Bootstrap resamples (over households) of the kW-per-1,000 intervals and of the targeting Qini.
    bootstrap_replicates: int = 1000
    #: A persona "responds strongly" when its mean High response is a reduction of at least this [%].
    strong_response_pct: float = 5.0
    #: ... and at least this share of its households are significant responders (when known).
    min_responder_share: float = 0.2
    #: Trees of each fold model of the targeting forests (``cv_repeats`` × ``cv_folds`` models per target;
    #: a household's out-of-fold prediction averages ``cv_repeats`` of them, the book's all of them).
    n_estimators: int = 20
    #: Targeting validation by repeated cross-fitting: this many random partitions ...
    cv_repeats: int = 5
    #: ... into this many folds; each household is predicted by the models that did not see its fold.
    cv_folds: int = 5
    #: Threads fitting the targeting fold models (-1 = every core, the default); results do not depend on it:
    #: every fold model has its own seed (full LCL size: the toolkit stage 11.1 s on 1 thread, 8.0 s on 2).
    n_jobs: int = -1
    #: Fewer treatment households than this: no targeting model (too few to fit and validate).
    min_training_households: int = 20


@dataclass(frozen=True)
class ReportConfig:
    title: str = "flexpersona report"
    correlation: str = "spearman"  # spearman | pearson
    #: Processes drawing the PNG/SVG figures while the run goes on (-1 = every core but the run's own, at least
    #: one, the default; 0 = drawn in the run's own process, one after the other). The files do not depend on it.
    figure_jobs: int = -1


@dataclass(frozen=True)
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    features: FeaturesConfig = field(default_factory=FeaturesConfig)
    personas: PersonasConfig = field(default_factory=PersonasConfig)
    explain: ExplainConfig = field(default_factory=ExplainConfig)
    toolkit: ToolkitConfig = field(default_factory=ToolkitConfig)
    report: ReportConfig = field(default_factory=ReportConfig)

    def __post_init__(self) -> None:
        validate_config(self)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def section_hash(self, *sections: str) -> str:
        """A stable hash of the named sections (used to decide whether a stage can be reused).

        Settings in :data:`NOT_IN_HASH` (resources that leave every output identical) are left out.
        """
        payload = {s: {k: v for k, v in dataclasses.asdict(getattr(self, s)).items() if (s, k) not in NOT_IN_HASH}
                   for s in sections}
        text = json.dumps(payload, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def replace(self, **sections: dict[str, Any]) -> Config:
        """A copy with some fields changed, e.g. ``cfg.replace(features={"engine": "spark"})``."""
        return from_dict({**self.to_dict(), **{k: {**self.to_dict()[k], **v} for k, v in sections.items()}})


def _check(ok: bool, msg: str) -> None:
    if not ok:
        raise ConfigError(msg)


def validate_config(config: Config) -> None:
    """Every option's value, checked when the config is built — a typo surfaces before any work is done.

    Raises
    ------
    ConfigError
        Naming the option, the allowed values or range, and the value given.
    """
    for (section, key), allowed in CHOICES.items():
        value = getattr(getattr(config, section), key)
        _check(value in allowed, f"{section}.{key} must be one of {', '.join(allowed)}, got {value!r}")
    f, p, t = config.features, config.personas, config.toolkit
    _check(f.bootstrap_replicates >= 20, f"features.bootstrap_replicates must be at least 20, got {f.bootstrap_replicates}")
    _check(f.bootstrap_block_days >= 1, f"features.bootstrap_block_days must be at least 1, got {f.bootstrap_block_days}")
    _check(f.day_adjustment_shrink >= 0, f"features.day_adjustment_shrink must be >= 0, got {f.day_adjustment_shrink}")
    _check(0 < f.fdr_alpha < 1, f"features.fdr_alpha must be in (0, 1), got {f.fdr_alpha}")
    hours = tuple(f.system_peak_hours)
    _check(len(hours) == 2 and 0 <= float(hours[0]) < float(hours[1]) <= 24,
           f"features.system_peak_hours must be [from, to) hours with 0 <= from < to <= 24, got {f.system_peak_hours}")
    _check(f.prevalence_replicates >= 20, f"features.prevalence_replicates must be at least 20, got {f.prevalence_replicates}")
    _check(isinstance(f.reference_margin_days, int) and 0 <= f.reference_margin_days <= 14,
           f"features.reference_margin_days must be a whole number of days in 0..14, got {f.reference_margin_days!r}")
    _check(f.no_control_placebo_days >= 1,
           "features.no_control_placebo_days must be at least 1 (pseudo events are the placebo without a control "
           f"group), got {f.no_control_placebo_days}")
    unknown = [a for a in p.algorithms if a not in ALGORITHMS]
    _check(not unknown, f"personas.algorithms has unknown {unknown}; use some of {', '.join(ALGORITHMS)}")
    _check(len(p.features) > 0, "personas.features is empty; name at least one response feature (e.g. high_response_pct)")
    _check(2 <= p.k_min <= p.k_max, f"personas.k_min and k_max must satisfy 2 <= k_min <= k_max, got {p.k_min}, {p.k_max}")
    _check(t.cv_folds >= 2 and t.cv_repeats >= 1,
           f"toolkit.cv_folds must be at least 2 and toolkit.cv_repeats at least 1, got {t.cv_folds} and {t.cv_repeats}")
    _check(config.data.baseline_year != config.data.trial_year,
           f"data.baseline_year and data.trial_year are both {config.data.trial_year}; set two different years")


def from_dict(raw: dict[str, Any]) -> Config:
    """Build a :class:`Config` from nested dicts, rejecting unknown sections and keys."""
    sections = {f.name: f.type for f in dataclasses.fields(Config)}
    kwargs: dict[str, Any] = {}
    for name, values in raw.items():
        if name not in sections:
            msg = f"unknown config section [{name}]; known sections: {', '.join(sections)}"
            raise ConfigError(msg)
        cls = type(getattr(Config(), name))
        known = {f.name: f for f in dataclasses.fields(cls)}
        for key in values:
            if (name, key) in RETIRED:
                log.warning("option %s.%s is retired and ignored: %s", name, key, RETIRED[name, key])
            elif key not in known:
                msg = f"unknown option {name}.{key}; known options: {', '.join(known)}"
                raise ConfigError(msg)
        fixed = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items() if (name, k) not in RETIRED}
        kwargs[name] = cls(**fixed)
    return Config(**kwargs)


def load_config(path: str | Path | None) -> Config:
    """Read a TOML config file; ``None`` gives the defaults."""
    if path is None:
        return Config()
    p = Path(path)
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        msg = f"config file {p} does not exist"
        raise ConfigError(msg) from None
    except tomllib.TOMLDecodeError as exc:
        msg = f"{p}: not valid TOML ({exc}); fix the line it names"
        raise ConfigError(msg) from None
    return from_dict(raw)


def resolve_config(
    config_file: str | Path | None = None,
    *,
    run_dir: str | Path | None = None,
    **sections: dict[str, Any],
) -> Config:
    """The config of a command: the TOML file when given, else the run folder's own config (its
    ``manifest.json``), else the defaults — then ``sections`` (e.g. ``personas={"method": "seed"}``) on top,
    leaving out options set to None.

    Raises
    ------
    ConfigError
        When the file or the run's manifest holds an invalid config (naming it and the fix).
    """
    if config_file:
        config = load_config(config_file)
    elif run_dir is not None and (Path(run_dir) / "manifest.json").exists():
        manifest = Path(run_dir) / "manifest.json"
        raw = json.loads(manifest.read_text(encoding="utf-8")).get("config") or {}
        try:
            config = from_dict(raw)
        except (ConfigError, TypeError) as exc:
            msg = f"{manifest}: its config cannot be read ({exc}); pass --config FILE instead"
            raise ConfigError(msg) from None
    else:
        config = Config()
    changes = {s: {k: v for k, v in vals.items() if v is not None} for s, vals in sections.items()}
    changes = {s: v for s, v in changes.items() if v}
    return config.replace(**changes) if changes else config

"""Table contracts: every output table of a run, its columns, their type, role and unit — in one place.

Each column has a **role**:

``id``
    identifies a row (``household_id``, ``event_id``, ...).
``pre_trial``
    known before the trial (baseline-year load shape, Acorn): may predict a response (targeting, stage 2).
``outcome``
    measured in the trial year or derived from it (responses, posteriors, bills, labels): never a predictor.
``diagnostic``
    provenance and bookkeeping (sources, counts of the ledger, interval bounds of diagnostics).
``label``
    a name or category for people to read (persona names, quadrants, rationales).

From the contracts derive what the stages share instead of repeating it: the response, posterior, seed and
lifestyle column lists (:data:`RESPONSE_COLUMNS`, ...), the pre-trial feature list (:data:`PRE_TRIAL`), the
leakage guard (:func:`is_outcome`), the units (:data:`UNITS`) and the column names the report reads.
:func:`validate` checks a table against its contract; :class:`flexpersona.runfolder.RunFolder` calls it on
every save, so a wrong column or type is a clear error naming the table and the column.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

import pandas as pd

from .errors import ContractError

TOD_NAMES = ("night", "morning", "afternoon", "evening")
#: Halves of the events: first/second half of the trial (validation), alternating weeks (cross-fitting).
HALVES = ("h1", "h2", "wa", "wb")
ROLES = ("id", "pre_trial", "outcome", "diagnostic", "label")
DTYPES = ("str", "float", "int", "bool", "datetime", "any")


@dataclass(frozen=True)
class Column:
    """One column: name, type (``str``, ``float``, ``int``, ``bool``, ``datetime``, ``any``), role, unit."""

    name: str
    dtype: str
    role: str
    unit: str = ""
    required: bool = True

    def __post_init__(self) -> None:
        if self.dtype not in DTYPES or self.role not in ROLES:
            msg = f"column {self.name}: dtype {self.dtype!r} or role {self.role!r} unknown"
            raise ValueError(msg)


@dataclass(frozen=True)
class Table:
    """A table's contract: its columns in order; ``patterns`` for families of columns (``median_*``);
    ``extra`` allows columns the contract does not name (tables whose columns follow the data)."""

    name: str
    file: str
    columns: tuple[Column, ...]
    patterns: tuple[Column, ...] = ()
    extra: bool = False
    doc: str = ""

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column | None:
        for c in self.columns:
            if c.name == name:
                return c
        for p in self.patterns:
            if fnmatch.fnmatchcase(name, p.name):
                return Column(name, p.dtype, p.role, p.unit, required=False)
        return None


def _cols(names, dtype: str, role: str, unit: str = "") -> tuple[Column, ...]:
    return tuple(Column(n, dtype, role, unit) for n in names)


# -- features: seed (METHODS A), response (B.1-B.3, B.10), posteriors (B.7), bills, lifestyle -------------
SEED_COLUMNS = (
    "base_weekday_peak", "base_weekday_offpeak", "base_weekend_peak", "base_weekend_offpeak",
    "trial_weekday_high", "trial_weekday_low", "trial_weekday_normal",
    "trial_weekend_high", "trial_weekend_low", "trial_weekend_normal",
    "peak_reduction_weekday", "peak_reduction_weekend", "load_shift_weekday",
    "peak_reduction_pct_weekday", "peak_reduction_pct_weekend",
    "intrinsic_daily_volatility", "intrinsic_load_factor", "base_peak_to_offpeak_ratio",
    "base_day_to_night_ratio", "base_morning_vs_evening_peak_ratio",
    "estimated_cost_savings_pct", "economic_rationality_score",
)  # fmt: skip
LIFESTYLE_COLUMNS = (
    "baseload_kwh", "evening_share", "weekend_weekday_ratio", "winter_summer_ratio", "morning_evening_peak_ratio",
    "mean_daily_kwh", "intrinsic_daily_volatility", "intrinsic_load_factor", "base_peak_to_offpeak_ratio",
    "base_day_to_night_ratio", "base_morning_vs_evening_peak_ratio",
)  # fmt: skip
RESPONSE_COLUMNS = (
    "high_response_pct", "high_response_ci_low", "high_response_ci_high", "high_response_se",
    "low_response_pct", "low_response_ci_low", "low_response_ci_high", "low_response_se",
    "high_response_kwh_per_event", "low_response_kwh_per_event", "high_response_kw",
    "high_response_pct_weekday", "high_response_pct_weekend",
    *(f"high_response_pct_{t}" for t in TOD_NAMES),
    "rebound_pct", "rebound_ci_low", "rebound_ci_high", "normal_response_pct", "spill_response_pct",
    "high_response_pct_h1", "high_response_pct_h2", "low_response_pct_h1", "low_response_pct_h2",
    "n_high_halfhours", "n_low_halfhours",
    # system-peak window (features.system_peak_hours) and kW by time of day of the High half-hours
    "high_response_pct_peak", "high_response_se_peak", "high_response_kw_peak", "n_high_halfhours_peak",
    *(f"high_response_kw_{t}" for t in TOD_NAMES),
    # counterfactual (baseline) load during the same half-hours [kW]: the scale of the kW numbers
    "high_baseline_kw", "high_baseline_kw_peak", *(f"high_baseline_kw_{t}" for t in TOD_NAMES),
    # halves of the events: standard errors of every half, responses and kW of the week halves
    *(f"{b}_response_se_{h}" for b in ("high", "low") for h in HALVES),
    *(f"{b}_response_pct_{h}" for b in ("high", "low") for h in ("wa", "wb")),
    *(f"high_response_kw_{h}" for h in ("wa", "wb")), *(f"high_response_kw_peak_{h}" for h in ("wa", "wb")),
)  # fmt: skip
POSTERIOR_COLUMNS = (
    *(f"high_response_post{c}" for c in ("", "_sd", "_ci_low", "_ci_high")), "high_p_reduction_gt5",
    *(f"low_response_post{c}" for c in ("", "_sd", "_ci_low", "_ci_high")), "low_p_increase_gt5",
    *(f"{b}_response_post_{h}" for b in ("high", "low") for h in HALVES),
)  # fmt: skip
LABEL_COLUMNS = ("p_high", "q_high", "responder")
BILL_COLUMNS = ("bill_dynamic_gbp", "bill_flat_gbp", "bill_saving_structural_pct", "bill_saving_behavioural_pct")


def unit_of(name: str) -> str:
    """The unit of a feature column by its documented naming (``[%]`` for ``*_pct``, kW for ``*_kw``, ...)."""
    exact = {
        "p_high": "probability", "q_high": "probability (BH-adjusted)", "responder": "share (0/1)",
        "economic_rationality_score": "ratio (kWh Low / kWh High)", "baseload_kwh": "kWh per half-hour",
        "mean_daily_kwh": "kWh/day", "intrinsic_daily_volatility": "kWh/day", "evening_share": "share of daily kWh",
        "intrinsic_load_factor": "ratio", "load_shift_weekday": "kWh per half-hour",
    }
    if name in exact:
        return exact[name]
    rules = (
        ("*_p_*_gt5", "probability"), ("n_*", "half-hours"), ("*_se", "percentage points"),
        ("*_se_*", "percentage points"), ("*_kwh_per_event", "kWh per event"), ("*_kw", "kW"), ("*_kw_*", "kW"),
        ("*_pct", "%"), ("*_pct_*", "%"), ("*_post", "%"), ("*_post_*", "%"), ("*_ci_low", "%"), ("*_ci_high", "%"),
        ("*_gbp", "GBP"), ("*_ratio", "ratio"), ("base_*", "kWh per half-hour"), ("trial_*", "kWh per half-hour"),
        ("peak_reduction_week*", "kWh per half-hour"),
    )  # fmt: skip
    for pattern, unit in rules:
        if fnmatch.fnmatchcase(name, pattern):
            return unit
    return ""


def _feature_columns(names, role: str) -> tuple[Column, ...]:
    out = []
    for n in names:
        dtype = "int" if n.startswith("n_") else "float"
        out.append(Column(n, dtype, role, unit_of(n)))
    return tuple(out)


_SEED_PRE = tuple(c for c in SEED_COLUMNS if c.startswith(("base_", "intrinsic_")))
_SEED_OUT = tuple(c for c in SEED_COLUMNS if c not in _SEED_PRE)
_LIFE_EXTRA = tuple(c for c in LIFESTYLE_COLUMNS if c not in SEED_COLUMNS)
_RESPONSES = (
    *_feature_columns(RESPONSE_COLUMNS, "outcome"),
    *_feature_columns(POSTERIOR_COLUMNS, "outcome"),
    Column("p_high", "float", "outcome", "probability"), Column("q_high", "float", "outcome", "probability (BH-adjusted)"),
    Column("responder", "bool", "outcome", "share (0/1)"),
)

FEATURES = Table(
    "features", "features.parquet",
    (
        Column("household_id", "str", "id"),
        *_feature_columns(_SEED_PRE, "pre_trial"), *_feature_columns(_SEED_OUT, "outcome"),
        *_RESPONSES,
        *_feature_columns(BILL_COLUMNS, "outcome"),
        Column("lifestyle_source", "str", "diagnostic"),
        *_feature_columns(_LIFE_EXTRA, "pre_trial"),
    ),
    doc="one row per kept treatment household: seed, response, posterior, bill and pre-trial features",
)
PLACEBO = Table(
    "placebo", "placebo.parquet",
    (Column("household_id", "str", "id"), Column("null_source", "str", "diagnostic"),
     # without a control group the null is pseudo events of the treatment households: High columns only
     *(c if c.name in ("high_response_pct", "high_response_se") else Column(c.name, c.dtype, c.role, c.unit, False)
       for c in _RESPONSES),
     Column("z_high", "float", "outcome", "standard errors", False)),
    doc="the response estimator on control households as pseudo-treated (or pseudo events without controls)",
)
LIFESTYLE = Table(
    "lifestyle", "lifestyle.parquet",
    (Column("household_id", "str", "id"), Column("group", "str", "diagnostic"),
     Column("lifestyle_source", "str", "diagnostic"), *_feature_columns(LIFESTYLE_COLUMNS, "pre_trial")),
    doc="pre-trial (intrinsic) features of every kept household",
)
EVENTS = Table(
    "events", "events.parquet",
    (Column("event_id", "int", "id"), Column("band", "str", "label"), Column("start", "datetime", "id"),
     Column("end", "datetime", "id"), Column("n_halfhours", "int", "diagnostic", "half-hours"),
     Column("n_households", "int", "diagnostic", "households"), Column("response_pct", "float", "outcome", "%"),
     Column("ci_low", "float", "outcome", "%"), Column("ci_high", "float", "outcome", "%"),
     Column("kwh_change", "float", "outcome", "kWh"), Column("mean_kw_change", "float", "outcome", "kW")),
    doc="one row per tariff event (run of High or Low half-hours): the cohort's response",
)
PRIOR = Table(
    "prior", "prior.csv",
    (Column("grid", "float", "outcome", "%"), Column("weight", "float", "outcome", "probability"),
     Column("band", "str", "label"), Column("group", "str", "label")),
    doc="the deconvolved priors of the true responses (METHODS B.7)",
)
REPLICATES = Table(
    "replicates", "replicates.parquet",
    (Column("household_id", "str", "id"), Column("group", "str", "label"), Column("replicate", "int", "id")),
    patterns=(Column("*_kw", "float", "outcome", "kW"), Column("*_pct", "float", "outcome", "%")),
    doc="day-block bootstrap replicates per household (shared day weights)",
)
EVENT_HOUSEHOLDS = Table(
    "event_households", "event_households.parquet",
    (Column("household_id", "str", "id"), Column("event_id", "int", "id"), Column("sy", "float", "outcome", "kWh"),
     Column("syh", "float", "outcome", "kWh"), Column("n", "int", "diagnostic", "half-hours")),
    doc="per treatment household and event: Σy, Σŷ, half-hours",
)
PERSONAS = Table(
    "personas", "personas.parquet",
    (Column("household_id", "str", "id"), Column("persona_id", "str", "outcome"),
     Column("persona_name", "str", "label"), Column("membership", "float", "outcome", "probability"),
     Column("low_confidence", "bool", "outcome"), Column("persona_rationale", "str", "label"),
     Column("unassigned_reason", "any", "diagnostic"),
     *(Column(f"persona_id_{h}", "str", "outcome") for h in HALVES)),
    doc="one row per treatment household: its persona (or segment) and the per-half assignments",
)
PERSONA_PROFILES = Table(
    "persona_profiles", "persona_profiles.csv",
    (Column("persona_id", "str", "id"), Column("persona_name", "str", "label"), Column("n", "int", "diagnostic"),
     Column("share", "float", "diagnostic", "share")),
    patterns=(Column("median_*", "float", "outcome"), Column("ratio_*", "float", "outcome", "ratio"),
              Column("crossfit_*", "float", "outcome"), Column("insample_*", "float", "outcome"),
              Column("persona_rationale", "str", "label")),
    doc="per persona: size, medians and ratios of every feature, cross-fitted and in-sample responses",
)
TARGETS = Table(
    "targets", "targets.csv",
    (Column("household_id", "str", "id"), Column("predicted_response_pct", "float", "outcome", "%"),
     Column("predicted_kw", "float", "outcome", "kW"), Column("predicted_bill_change_pct", "float", "outcome", "%"),
     Column("rank", "int", "outcome"), Column("do_no_harm", "bool", "outcome")),
    extra=True,
    doc="the customer book ranked by predicted reduction",
)
QINI = Table(
    "qini", "qini.csv",
    (Column("share_targeted", "float", "diagnostic", "share"), Column("n_targeted", "int", "diagnostic"),
     Column("gain_model_kw", "float", "outcome", "kW"), Column("gain_random_kw", "float", "outcome", "kW"),
     Column("gain_perfect_kw", "float", "outcome", "kW")),
    extra=True,
    doc="cumulative gain of targeting (cross-fitted)",
)
PERSISTENCE = Table(
    "persistence", "persistence.csv",
    (Column("group", "str", "label"), Column("band", "str", "label"), Column("event_id", "int", "id"),
     Column("start", "any", "id"), Column("months", "float", "diagnostic", "months"),
     Column("response_pct", "float", "outcome", "%"), Column("n_households", "int", "diagnostic")),
    doc="response per event and group over the trial",
)

#: Every contract by table name.
CONTRACTS: dict[str, Table] = {t.name: t for t in (
    FEATURES, PLACEBO, LIFESTYLE, EVENTS, PRIOR, REPLICATES, EVENT_HOUSEHOLDS, PERSONAS, PERSONA_PROFILES,
    TARGETS, QINI, PERSISTENCE,
)}  # fmt: skip

#: Pre-trial features (may predict a response), in the lifestyle table's order.
PRE_TRIAL: tuple[str, ...] = tuple(c.name for c in LIFESTYLE.columns if c.role == "pre_trial")
#: Every column that is a trial outcome in some contract (never a predictor).
OUTCOMES: frozenset[str] = frozenset(c.name for t in CONTRACTS.values() for c in t.columns if c.role == "outcome")
#: Unit of every named column of the feature tables.
UNITS: dict[str, str] = {c.name: c.unit for t in (FEATURES, LIFESTYLE, PLACEBO) for c in t.columns if c.unit}
#: Names of columns outside the contracts that smell of the trial year (a leakage guard for user tables).
OUTCOME_PATTERNS: tuple[str, ...] = (
    "*response*", "trial_*", "bill_*", "*responder*", "rebound*", "p_high", "q_high", "*saving*", "*rationality*",
    "*reduction*", "load_shift*", "*_post*", "persona*", "*_gt5",
)  # fmt: skip


def declared(*names: str) -> tuple[str, ...]:
    """``names`` unchanged when each is a column of some contract; a :class:`ContractError` naming the others.

    Modules that pick columns by name (the report's profile features, ...) wrap their lists in it, so a renamed
    or misspelt column fails at import, not as a silently empty figure.
    """
    known = {c.name for t in CONTRACTS.values() for c in t.columns}
    unknown = [n for n in names if n not in known]
    if unknown:
        msg = f"column(s) {', '.join(unknown)} are in no table contract (flexpersona.contracts): rename or declare them"
        raise ContractError(msg)
    return names


def is_outcome(name: str) -> bool:
    """Whether a column is (or looks like) a trial outcome: never a predictor of a response."""
    low = name.lower()
    if low in PRE_TRIAL:
        return False
    return name in OUTCOMES or any(fnmatch.fnmatchcase(low, p) for p in OUTCOME_PATTERNS)


def _dtype_ok(series: pd.Series, dtype: str) -> bool:
    if dtype == "any" or series.isna().all():
        return True
    if dtype == "float":
        return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
    if dtype == "int":
        return pd.api.types.is_integer_dtype(series)
    if dtype == "bool":
        return pd.api.types.is_bool_dtype(series)
    if dtype == "datetime":
        return pd.api.types.is_datetime64_any_dtype(series)
    return pd.api.types.is_string_dtype(series) or pd.api.types.is_object_dtype(series)


def validate(name: str, table: pd.DataFrame) -> pd.DataFrame:
    """Check ``table`` against the contract ``name``; return it unchanged.

    Raises
    ------
    ContractError
        A required column is missing, a column has the wrong type, or a column the contract does not know
        (when the table allows no extra columns) — naming the table, the column and the fix.
    """
    t = CONTRACTS.get(name)
    if t is None:
        return table
    cols = list(table.columns)
    missing = [c.name for c in t.columns if c.required and c.name not in cols]
    if missing:
        msg = f"table {name} ({t.file}) lacks column(s) {', '.join(missing)}: its contract is flexpersona.contracts.{name.upper()}"
        raise ContractError(msg)
    for c in cols:
        spec = t.column(c)
        if spec is None:
            if t.extra:
                continue
            msg = (f"table {name} ({t.file}) has column {c!r}, which its contract does not name; add it to "
                   f"flexpersona.contracts.{name.upper()} or drop it before saving")
            raise ContractError(msg)
        if not _dtype_ok(table[c], spec.dtype):
            msg = (f"table {name} ({t.file}) column {c!r} has type {table[c].dtype}, its contract "
                   f"flexpersona.contracts.{name.upper()} says {spec.dtype}: convert the column before saving")
            raise ContractError(msg)
    return table

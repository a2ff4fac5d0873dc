"""Units, input resolution, summary statistics and correlations of the feature table.

The exploration reads only the run's ``features.parquet`` (one row per treatment household). Which column
stands for the "weekday response", the "baseline peak ratio" and the "savings" depends on what the run could
compute: the seed-compatible columns need a half-hourly baseline year, which the real 2013-only data lack.
:func:`resolve_inputs` makes that choice once, and every view reads the derived, sign-harmonised columns it
adds (:data:`RESPONSE`, :data:`SAVINGS`), so views read the same whichever estimator fed them.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..contracts import UNITS
from ..errors import ConfigError, InputError

# pre-trial lifestyle features (super-responder battery): the same list, in the same order, as stage 2's
from ..explain.variables import LIFESTYLE_FEATURES

logger = logging.getLogger(__name__)

#: Derived column: weekday response to High prices [%], positive = reduction (whatever the source).
RESPONSE = "weekday_response_pct"
#: Derived column: bill saving of the dynamic tariff [%], positive = the household saves.
SAVINGS = "savings_pct"

#: Unit of every feature the pipeline writes (and of the derived columns) -- the one place units live.
FEATURE_UNITS: dict[str, str] = {
    **UNITS,  # every feature column, from flexpersona.contracts
    # derived here
    RESPONSE: "% (positive = reduction)",
    SAVINGS: "% (positive = saving)",
}

#: Short labels of the key features (compact heatmap, panel titles).
SHORT_LABELS: dict[str, str] = {
    RESPONSE: "WD response",
    "base_peak_to_offpeak_ratio": "Peak/off-peak",
    "intrinsic_daily_volatility": "Volatility",
    "economic_rationality_score": "Rationality",
    SAVINGS: "Savings",
    "intrinsic_load_factor": "Load factor",
    "mean_daily_kwh": "Daily kWh",
    "weekend_weekday_ratio": "WE/WD",
    "winter_summer_ratio": "Winter/summer",
    "evening_share": "Evening share",
    "base_day_to_night_ratio": "Day/night",
    "high_response_pct": "High resp.",
    "low_response_pct": "Low resp.",
}

#: Key features, in display order (those present are shown).
KEY_FEATURES: tuple[str, ...] = tuple(SHORT_LABELS)

#: Financial features (super-responder battery).
FINANCIAL_FEATURES: tuple[str, ...] = (
    "estimated_cost_savings_pct",
    "economic_rationality_score",
    "bill_dynamic_gbp",
    "bill_flat_gbp",
    "bill_saving_structural_pct",
    "bill_saving_behavioural_pct",
)

CORRELATION_METHODS = ("spearman", "pearson")
#: A column needs this many finite values to count as available.
MIN_VALUES = 3


@dataclass(frozen=True)
class ResolvedInputs:
    """Which feature columns feed the exploration's views.

    Attributes
    ----------
    response_source
        Column the weekday response came from (``peak_reduction_pct_weekday`` or
        ``high_response_pct_weekday``), ``None`` when neither is available.
    response_sign
        +1 when the source already means "positive = reduction", -1 when it was flipped.
    peak_ratio, volatility, rationality, savings_source
        Source columns, ``None`` when absent or all missing.
    notes
        Human-readable sentence per choice (used in captions and ``summary.json``).
    """

    response_source: str | None
    response_sign: int
    peak_ratio: str | None
    volatility: str | None
    rationality: str | None
    savings_source: str | None
    notes: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def column(self, role: str) -> str | None:
        """Column of a role (``response``, ``savings``, ``peak_ratio``, ``volatility``, ``rationality``)."""
        return getattr(self, role)

    @property
    def response(self) -> str | None:
        """Column of the harmonised weekday response (:data:`RESPONSE`) when available."""
        return RESPONSE if self.response_source else None

    @property
    def savings(self) -> str | None:
        """Column of the harmonised savings (:data:`SAVINGS`) when available."""
        return SAVINGS if self.savings_source else None


def available(features: pd.DataFrame, column: str) -> bool:
    """Whether ``column`` exists and holds at least :data:`MIN_VALUES` finite values."""
    if column not in features.columns:
        return False
    values = pd.to_numeric(features[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return int(np.isfinite(values).sum()) >= MIN_VALUES


def check_features(features: pd.DataFrame) -> None:
    """Raise :class:`InputError` unless ``features`` looks like a run's feature table."""
    if "household_id" not in features.columns:
        msg = "the feature table has no household_id column"
        raise InputError("features.parquet", msg, "pass the run's features.parquet (written by the features stage)")
    if features["household_id"].duplicated().any():
        dup = features.loc[features["household_id"].duplicated(), "household_id"].iloc[0]
        msg = f"household {dup} appears more than once"
        raise InputError("features.parquet", msg, "re-run the features stage; it writes one row per household")


def fill_from_lifestyle(
    features: pd.DataFrame, lifestyle: pd.DataFrame | None
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Fill missing pre-trial features of ``features`` from the run's ``lifestyle.parquet``.

    Only values missing in ``features`` are filled (a feature value is never replaced), only for the
    pre-trial columns of :data:`LIFESTYLE_FEATURES`, matched on ``household_id``.

    Parameters
    ----------
    features
        The run's feature table.
    lifestyle
        The run's lifestyle table (``household_id`` and intrinsic features), or ``None``.

    Returns
    -------
    frame
        A copy of ``features`` with the gaps filled.
    filled
        Column -> number of values taken from ``lifestyle`` (only columns with at least one).
    """
    frame = features.copy()
    if lifestyle is None or lifestyle.empty or "household_id" not in lifestyle.columns:
        return frame, {}
    life = (lifestyle.assign(household_id=lifestyle["household_id"].astype(str))
            .drop_duplicates("household_id").set_index("household_id"))
    ids = frame["household_id"].astype(str)
    filled: dict[str, int] = {}
    for c in LIFESTYLE_FEATURES:
        if c not in life.columns:
            continue
        donor = pd.to_numeric(life[c], errors="coerce").astype("float64").reindex(ids).to_numpy()
        own = (pd.to_numeric(frame[c], errors="coerce").astype("float64").to_numpy() if c in frame.columns
               else np.full(len(frame), np.nan))
        take = ~np.isfinite(own) & np.isfinite(donor)
        if take.any():
            frame[c] = np.where(take, donor, own)
            filled[c] = int(take.sum())
    if filled:
        logger.info("eda: pre-trial features filled from lifestyle.parquet: %s", filled)
    return frame, filled


def resolve_inputs(features: pd.DataFrame) -> tuple[pd.DataFrame, ResolvedInputs]:
    """Choose the source columns of the views and add the harmonised :data:`RESPONSE`/:data:`SAVINGS`.

    Parameters
    ----------
    features
        The run's feature table (one row per treatment household).

    Returns
    -------
    frame
        A copy of ``features`` with :data:`RESPONSE` [%, positive = reduction] and :data:`SAVINGS`
        [%, positive = saving] added where a source exists (numeric columns as float).
    resolved
        The choices and a sentence on each.
    """
    check_features(features)
    frame = features.copy()
    notes: dict[str, str] = {}
    if available(frame, "peak_reduction_pct_weekday"):
        source, sign = "peak_reduction_pct_weekday", 1
        notes["response"] = (
            "Weekday response = seed peak_reduction_pct_weekday (% of the baseline weekday peak; "
            "positive = reduction)."
        )
    elif available(frame, "high_response_pct_weekday"):
        source, sign = "high_response_pct_weekday", -1
        notes["response"] = (
            "Weekday response = default estimator high_response_pct_weekday with its sign flipped "
            "(seed peak_reduction_pct_weekday unavailable: no half-hourly baseline); positive = reduction."
        )
    else:
        source, sign = None, 1
        notes["response"] = (
            f"No weekday response: neither peak_reduction_pct_weekday nor high_response_pct_weekday has "
            f"{MIN_VALUES} or more values."
        )
    if source:
        frame[RESPONSE] = sign * pd.to_numeric(frame[source], errors="coerce").astype("float64")

    savings_source = next(
        (c for c in ("estimated_cost_savings_pct", "bill_saving_behavioural_pct") if available(frame, c)), None
    )
    if savings_source:
        frame[SAVINGS] = pd.to_numeric(frame[savings_source], errors="coerce").astype("float64")
        notes["savings"] = f"Savings = {savings_source} (% of the flat-tariff bill; positive = saving)."
    else:
        notes["savings"] = (f"No savings: neither estimated_cost_savings_pct nor bill_saving_behavioural_pct has "
                            f"{MIN_VALUES} or more values.")

    def pick(column: str, what: str, needs: str) -> str | None:
        if available(frame, column):
            return column
        notes[what] = f"No {what}: {column} is absent or has fewer than {MIN_VALUES} values ({needs})."
        return None

    resolved = ResolvedInputs(
        response_source=source,
        response_sign=sign,
        peak_ratio=pick("base_peak_to_offpeak_ratio", "peak_ratio", "it needs a half-hourly baseline year"),
        volatility=pick("intrinsic_daily_volatility", "volatility", "it needs baseline daily totals"),
        rationality=pick("economic_rationality_score", "rationality", "a seed-compatible feature"),
        savings_source=savings_source,
        notes=notes,
    )
    logger.info("eda inputs: response=%s savings=%s peak_ratio=%s", source, savings_source, resolved.peak_ratio)
    return frame, resolved


def numeric_columns(frame: pd.DataFrame) -> list[str]:
    """Numeric (and boolean) feature columns, in table order, without ``household_id``."""
    cols = []
    for c in frame.columns:
        if c == "household_id":
            continue
        s = frame[c]
        if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
            cols.append(c)
    return cols


def as_float(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """The columns as float64 (booleans as 0/1, missing as NaN, infinities as NaN)."""
    cols = {}
    for c in columns:
        values = pd.to_numeric(frame[c], errors="coerce").astype("float64")
        cols[c] = values.where(np.isfinite(values))
    return pd.DataFrame(cols, index=frame.index, columns=list(columns))


def feature_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Summary statistics of every numeric feature, with its unit.

    Parameters
    ----------
    frame
        Feature table (after :func:`resolve_inputs`).

    Returns
    -------
    DataFrame
        One row per feature: ``feature``, ``unit``, ``count`` (finite values), ``share_missing`` (0-1, missing or
        infinite), ``mean``, ``sd`` (ddof 1), ``min``, ``q01``, ``q25``, ``median``, ``q75``, ``q99``, ``max``
        (all in the feature's unit).
    """
    columns = numeric_columns(frame)
    values = as_float(frame, columns)
    n = len(frame)
    rows = []
    for c in columns:
        x = values[c].to_numpy()
        x = x[np.isfinite(x)]
        row: dict[str, Any] = {
            "feature": c,
            "unit": FEATURE_UNITS.get(c, ""),
            "count": int(x.size),
            "share_missing": float(1 - x.size / n) if n else float("nan"),
        }
        if x.size:
            q = np.quantile(x, [0.0, 0.01, 0.25, 0.5, 0.75, 0.99, 1.0])
            row.update(
                mean=float(x.mean()),
                sd=float(x.std(ddof=1)) if x.size > 1 else float("nan"),
                min=q[0], q01=q[1], q25=q[2], median=q[3], q75=q[4], q99=q[5], max=q[6],
            )
        rows.append(row)
    out = pd.DataFrame(rows)
    stats = ["mean", "sd", "min", "q01", "q25", "median", "q75", "q99", "max"]
    for s in stats:
        if s not in out.columns:
            out[s] = np.nan
    return out[["feature", "unit", "count", "share_missing", *stats]]


def check_method(method: str) -> str:
    """Validate a correlation method name (``spearman`` | ``pearson``)."""
    m = str(method).lower()
    if m not in CORRELATION_METHODS:
        msg = f"correlation method {method!r} is not known; use one of {', '.join(CORRELATION_METHODS)}"
        raise ConfigError(msg)
    return m


def correlation_matrix(frame: pd.DataFrame, columns: list[str], method: str = "spearman") -> pd.DataFrame:
    """Pairwise-complete correlation matrix of ``columns`` (constant or near-empty columns left out).

    Parameters
    ----------
    frame
        Feature table.
    columns
        Candidate columns.
    method
        ``spearman`` (rank) or ``pearson`` (linear).

    Returns
    -------
    DataFrame
        Square matrix indexed and labelled by feature; dimensionless, in [-1, 1]; NaN where a pair shares
        fewer than :data:`MIN_VALUES` households.
    """
    method = check_method(method)
    values = as_float(frame, columns)
    keep = [c for c in columns if values[c].notna().sum() >= MIN_VALUES and values[c].nunique(dropna=True) > 1]
    if not keep:
        return pd.DataFrame()
    return values[keep].corr(method=method, min_periods=MIN_VALUES)


def matrix_long(matrix: pd.DataFrame, method: str) -> pd.DataFrame:
    """A correlation matrix as a long table (``feature_a``, ``feature_b``, ``method``, ``r``) for CSV."""
    if matrix.empty:
        return pd.DataFrame(columns=["feature_a", "feature_b", "method", "r"])
    rows = [
        {"feature_a": a, "feature_b": b, "method": method, "r": float(matrix.loc[a, b])}
        for a in matrix.index
        for b in matrix.columns
    ]
    return pd.DataFrame(rows)

"""Personas of demand flexibility: clustering, selection, existence, stability and naming (METHODS A, B.4).

Two paths (``PersonasConfig.method``):

``default``
    Cluster on the time-matched response features (``PersonasConfig.features``, default High and Low
    response [%]), robust-scaled. First a null-structure test (:mod:`.existence`): if it finds no structure,
    every household is put on the ``continuum`` (persona ``P0``) and the run says that continuous response
    scores should be used instead of personas. Otherwise every algorithm x k is scored
    (:mod:`.selection`), the model is chosen by a documented rule, its bootstrap and split-half stability
    measured, and personas named from their centres (:mod:`.naming`).
``seed``
    The original study's procedure exactly (:mod:`.seed`).

Example
-------
>>> from flexpersona import Config
>>> from flexpersona.personas import build_personas  # doctest: +SKIP
>>> res = build_personas(features, Config())  # doctest: +SKIP
>>> res.personas[["household_id", "persona_id", "persona_name"]]  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.preprocessing import RobustScaler

from .._version import __version__
from ..config import Config
from ..errors import StageError
from ..features.potential import performance_potential
from ..threads import one_thread
from .crossfit import (
    SEGMENTS,
    WEEK_HALVES,
    YEAR_HALVES,
    agreement,
    assign_halves,
    crossfit_effects,
    naive_effects,
    posterior_columns,
    segment_labels,
)
from .existence import bootstrap_stability, gap_statistic, null_test_summary, split_half_stability
from .model import PersonaModel
from .naming import NAMING_RULES, assignment_table, name_personas
from .profiles import pca_coordinates, persona_profiles
from .selection import select_model

log = logging.getLogger(__name__)

__all__ = ["PersonaModel", "PersonaResult", "build_personas", "run_personas", "save_personas"]

#: Format of ``persona_model.pkl`` (a dict: ``format_version``, ``flexpersona``, ``model``, ``features``,
#: ``method``); bump when its keys or meaning change.
PERSONA_MODEL_FORMAT = 1

PERSONA_COLUMNS = [
    "household_id", "persona_id", "persona_name", "membership", "low_confidence", "persona_rationale",
    "unassigned_reason", "persona_id_wa", "persona_id_wb", "persona_id_h1", "persona_id_h2",
]
#: The per-half assignment columns of ``personas.parquet`` (persona id from that half's posteriors).
HALF_ID_COLUMNS = {h: f"persona_id_{h}" for h in ("wa", "wb", "h1", "h2")}

NO_STRUCTURE_MESSAGE = (
    "No persona structure exists in the response features: the null-structure test could not tell them "
    "from one continuous distribution. Every household is on one continuum (persona P0); use the continuous "
    "response scores (e.g. high_response_pct) rather than personas."
)
SEGMENT_MESSAGE = (
    "No persona structure exists in the response features: the null-structure test could not tell them "
    "from one continuous distribution. Households are on a continuum, cut into three segments by their "
    "posterior mean High response (expected cut above 5%, up to 5%, none): segments of a continuum, not "
    "personas; their responses are cross-fitted like personas'."
)


@dataclass
class PersonaResult:
    """Everything the personas stage produces.

    Attributes
    ----------
    personas : DataFrame
        One row per input household: ``household_id``, ``persona_id`` (None if unassigned),
        ``persona_name``, ``membership`` (max posterior, 0-1; NaN on the continuum or unassigned),
        ``low_confidence`` (bool), ``persona_rationale``, ``unassigned_reason``.
    profiles : DataFrame
        Per persona: ``n``, ``share``, ``median_<f>``, ``ratio_<f>`` (to the cohort median), name, rationale.
    selection : DataFrame
        ``algorithm, k, covariance_type, index, value, chosen`` for every candidate x index.
    stability : dict
        Null test, ``structure_found``, bootstrap and split-half ARI, chosen model, rules, ``message``.
    model : PersonaModel or None
        The fitted model (None on the continuum).
    pca : DataFrame
        ``household_id, pc1, pc2``.
    matrix : DataFrame
        Performance-potential matrix: ``persona_id, persona_name, quadrant, n, row_pct``.
    method : str
        ``default`` or ``seed``.
    structure_found : bool
        Whether the null-structure test found persona structure.
    n_unassigned : int
        Households without a persona (missing or infinite clustering features).
    features : list of str
        The clustering features, in the model's column order.
    """

    personas: pd.DataFrame
    profiles: pd.DataFrame
    selection: pd.DataFrame
    stability: dict[str, Any]
    model: PersonaModel | None
    pca: pd.DataFrame
    matrix: pd.DataFrame
    method: str
    structure_found: bool
    n_unassigned: int = 0
    features: list[str] = field(default_factory=list)
    validation: dict[str, Any] = field(default_factory=dict)
    persistence: dict[str, Any] = field(default_factory=dict)
    persistence_events: pd.DataFrame = field(default_factory=pd.DataFrame)

    def artifacts(self) -> dict[str, Any]:
        """What the stage writes into a run folder, by artifact name (:mod:`flexpersona.runfolder`)."""
        model = None if self.model is None else {"format_version": PERSONA_MODEL_FORMAT, "flexpersona": __version__,
                                                  "model": self.model, "features": self.features,
                                                  "method": self.method}
        out: dict[str, Any] = {
            "personas": self.personas,
            "persona_profiles": self.profiles,
            "selection": self.selection,
            "stability": {**self.stability, "method": self.method, "structure_found": self.structure_found,
                          "n_unassigned": self.n_unassigned},
            "persona_pca": self.pca,
            "persona_matrix": self.matrix,
            "persona_model": model,
        }
        if self.validation or self.persistence:
            out.update(validation=self.validation, persistence=self.persistence,
                       persistence_events=self.persistence_events)
        return out


def _finite_rows(features: pd.DataFrame, cols: list[str]) -> tuple[np.ndarray, pd.Series]:
    """Mask of rows with every column finite, and for the others the reason."""
    values = features[cols].apply(pd.to_numeric, errors="coerce").astype(float).to_numpy()
    bad = ~np.isfinite(values)
    reasons = pd.Series([None] * len(features), index=features.index, dtype=object)
    for i in np.flatnonzero(bad.any(axis=1)):
        missing = [c for c, b in zip(cols, bad[i]) if b]
        reasons.iloc[i] = "missing or infinite " + ", ".join(missing)
    return ~bad.any(axis=1), reasons


def _split_halves(features: pd.DataFrame, cols: list[str], ok: np.ndarray,
                  split_halves: tuple[pd.DataFrame, pd.DataFrame] | None) -> tuple[np.ndarray, np.ndarray] | None:
    h_cols = [(f"{c}_h1", f"{c}_h2") for c in cols]
    if all(a in features.columns and b in features.columns for a, b in h_cols):
        sub = features[ok]
        return (sub[[a for a, _ in h_cols]].astype(float).to_numpy(), sub[[b for _, b in h_cols]].astype(float).to_numpy())
    if split_halves is None:
        return None
    ids = features.loc[ok, "household_id"]
    out = []
    for half in split_halves:
        missing = [c for c in cols if c not in half.columns]
        if missing:
            msg = f"split_halves tables lack {', '.join(missing)}; give them the clustering feature columns"
            raise StageError(msg)
        if "household_id" in half.columns:
            aligned = half.set_index("household_id").reindex(ids)[cols]
        else:
            aligned = half.reset_index(drop=True).loc[np.flatnonzero(ok), cols]
        out.append(aligned.astype(float).to_numpy())
    return out[0], out[1]


def _assemble(features: pd.DataFrame, ok: np.ndarray, reasons: pd.Series, assigned: pd.DataFrame) -> pd.DataFrame:
    """Personas of every household: assigned rows from ``assigned``, the rest unassigned with a reason."""
    base = pd.DataFrame({"household_id": features["household_id"].astype(str).to_numpy()})
    assigned = assigned.assign(**{c: None for c in HALF_ID_COLUMNS.values() if c not in assigned.columns})
    out = base.merge(assigned, on="household_id", how="left")
    un = ~ok
    out.loc[un, "persona_id"] = None
    out.loc[un, "persona_name"] = "unassigned"
    out.loc[un, "membership"] = np.nan
    out["low_confidence"] = out["low_confidence"].astype("boolean").fillna(True).astype(bool)
    out["unassigned_reason"] = reasons.to_numpy()
    out.loc[un, "persona_rationale"] = "no persona: " + reasons[un].astype(str).to_numpy()
    for c in ("persona_id", *HALF_ID_COLUMNS.values()):
        out[c] = out[c].astype(object).where(out[c].notna(), None)
    return out[PERSONA_COLUMNS]


def build_personas(
    features: Any,
    config: Config | None = None,
    *,
    split_halves: tuple[pd.DataFrame, pd.DataFrame] | None = None,
    feature_info: dict[str, Any] | None = None,
    event_households: pd.DataFrame | None = None,
    events: pd.DataFrame | None = None,
) -> PersonaResult:
    """Personas of the treatment households from their response features.

    Parameters
    ----------
    features : FeatureResult or DataFrame
        The feature stage's result, or its ``features`` table: one row per treatment household with
        ``household_id`` and the clustering features (``config.personas.features``, [%]); half-year responses
        ``<feature>_h1`` and ``<feature>_h2`` are used for split-half stability when present.
    config : Config, optional
        ``config.personas`` drives the method, k range, algorithms, resamples, thresholds and names.
    split_halves : (DataFrame, DataFrame), optional
        Features estimated on the first and second half of the trial year (same columns; aligned on
        ``household_id`` when present), used when ``features`` lacks the ``_h1``/``_h2`` columns.
    feature_info, event_households, events
        The feature stage's ``info`` and per-household event table (taken from a :class:`FeatureResult`):
        with them the result also carries ``validation`` and ``persistence`` (METHODS B.9, B.11).

    Returns
    -------
    PersonaResult

    Raises
    ------
    StageError
        If ``household_id`` or a clustering feature is missing, or fewer than 10 households have them.
    ConfigError
        If the method or an option is invalid.

    Notes
    -----
    Clustering runs with OpenMP/BLAS limited to one thread: on per-household tables (10^3 rows) thread
    start-up costs more than it gains, and on a loaded shared machine k-means with oversubscribed threads
    was measured about 20x slower (240 s instead of 11 s for 1,100 households).
    """
    config = config or Config()
    if hasattr(features, "features") and hasattr(features, "info"):  # a FeatureResult
        feature_info = features.info if feature_info is None else feature_info
        event_households = features.event_households if event_households is None else event_households
        events = features.events if events is None else events
        features = features.features
    with one_thread():
        if config.personas.method == "seed":
            from .seed import seed_personas

            result = seed_personas(features, config)
        else:
            result = _build_default(features, config, split_halves)
    if feature_info is not None or event_households is not None:
        _add_trust(result, feature_info, event_households, events, config)
    return result


def _add_trust(result: PersonaResult, feature_info: dict[str, Any] | None, event_households: pd.DataFrame | None,
               events: pd.DataFrame | None, config: Config) -> None:
    """``validation`` and ``persistence`` of the result (see :mod:`flexpersona.personas.trust`)."""
    from .trust import persona_persistence, persona_validation

    result.validation = persona_validation(result, feature_info)
    per_event, trend = persona_persistence(result.personas, event_households, events,
                                           replicates=config.features.bootstrap_replicates, seed=config.personas.seed)
    result.persistence, result.persistence_events = trend, per_event


@dataclass
class _Clustering:
    """The households that can be clustered and their matrices (raw estimates, and the membership columns)."""

    features: pd.DataFrame
    cols: list[str]
    m_cols: list[str]
    use_post: bool
    ok: np.ndarray
    reasons: pd.Series
    ids: pd.Series
    X: np.ndarray
    Xm: np.ndarray
    sub: pd.DataFrame

    @property
    def hi(self) -> int:
        return self.cols.index("high_response_pct") if "high_response_pct" in self.cols else 0

    @property
    def lo(self) -> int | None:
        return self.cols.index("low_response_pct") if "low_response_pct" in self.cols else None


def _clustering_inputs(features: pd.DataFrame, pc: Any) -> _Clustering:
    """Rows with finite clustering features; membership on the posterior means when the table has them (B.9)."""
    cols = list(pc.features)
    missing = [c for c in ["household_id", *cols] if c not in features.columns]
    if missing:
        msg = (f"the features table lacks {', '.join(missing)}; re-run the features stage or set "
               "personas.features to columns it has")
        raise StageError(msg)
    features = features.reset_index(drop=True)
    post_cols = posterior_columns(cols)
    use_post = pc.membership == "posterior" and post_cols != cols and all(c in features.columns for c in post_cols)
    m_cols = post_cols if use_post else cols
    ok, reasons = _finite_rows(features, sorted(set(cols) | set(m_cols)))
    if int(ok.sum()) < 10:
        empty = [c for c in cols if not np.isfinite(pd.to_numeric(features[c], errors="coerce").astype(float)).any()]
        hint = f" ({', '.join(empty)} has no value at all: drop it from personas.features)" if empty else ""
        msg = f"only {int(ok.sum())} households have finite {', '.join(cols)}{hint}; personas need at least 10"
        raise StageError(msg)
    return _Clustering(features, cols, m_cols, use_post, ok, reasons, features.loc[ok, "household_id"].astype(str),
                       features.loc[ok, cols].astype(float).to_numpy(), features.loc[ok, m_cols].astype(float).to_numpy(),
                       features[ok].reset_index(drop=True))


def _build_default(
    features: pd.DataFrame,
    config: Config,
    split_halves: tuple[pd.DataFrame, pd.DataFrame] | None,
) -> PersonaResult:
    pc = config.personas  # method, algorithms, membership and features are checked when the Config is built
    c = _clustering_inputs(features, pc)
    # the existence test on the raw estimates: shrinkage could make a continuum look clumped
    scaled = RobustScaler().fit_transform(c.X)
    gap = gap_statistic(scaled, k_max=min(pc.k_max, 6), n_references=pc.null_references, random_state=pc.seed)
    # the model (number and shape of personas) is selected on the raw estimates, whose spread is the data's;
    # households are then assigned by their posterior means, which the same model places more surely
    sel = select_model(
        c.X, algorithms=tuple(pc.algorithms), k_min=pc.k_min, k_max=pc.k_max, gmm_restarts=pc.gmm_restarts,
        min_persona_share=pc.min_persona_share, random_state=pc.seed, sort_feature=c.hi,
    )
    n_ok = int(c.ok.sum())
    stability: dict[str, Any] = {
        "method": "default", "features": c.cols,
        "membership": "posterior means " + ", ".join(c.m_cols) if c.use_post else "raw estimates " + ", ".join(c.cols),
        **null_test_summary(gap), "chosen": sel.chosen, "votes": sel.votes, "selection_rule": sel.rule,
        "naming_rule": NAMING_RULES, "n_households": int(len(c.features)), "n_clustered": n_ok,
        "n_unassigned": int(len(c.features) - n_ok), "low_confidence_below": pc.low_confidence_below,
    }  # fmt: skip
    if gap.structure_found:
        model, selection = sel.model, sel.table
        labels, names, assigned, half_labels = _personas_of(model, c, pc, split_halves, stability)
        stability["message"] = (
            f"{model.n_personas_} personas ({sel.chosen['algorithm']}, k = {sel.chosen['k']}); bootstrap mean "
            f"ARI {stability.get('bootstrap_ari_mean') or float('nan'):.2f}; "
            f"{stability['n_low_confidence']} households have membership below {pc.low_confidence_below}."
        )
    else:
        model, selection = None, sel.table.assign(chosen=False)
        stability.update(bootstrap_ari_mean=None, split_half_ari=None, split_half_available=False, chosen=None,
                         best_candidate_without_structure=sel.chosen)
        labels, names, assigned, half_labels = _continuum(c, stability)
    pid = names["persona_id"].to_numpy()
    for h, col in HALF_ID_COLUMNS.items():
        lab = half_labels.get(h)
        assigned[col] = None if lab is None else [pid[k] if k >= 0 else None for k in lab]
    stability.update(_crossfit_summary(c.sub, labels, half_labels, names))
    personas = _assemble(c.features, c.ok, c.reasons, assigned)
    profiles = _with_crossfit(persona_profiles(c.features, personas, names), c.sub, labels, half_labels, names)
    matrix = performance_potential(c.features).by_persona(personas)
    return PersonaResult(
        personas=personas, profiles=profiles, selection=selection, stability=stability, model=model,
        pca=pca_coordinates(c.ids, scaled, random_state=pc.seed), matrix=matrix, method="default",
        structure_found=bool(gap.structure_found), n_unassigned=int(len(c.features) - n_ok), features=c.m_cols,
    )


def _personas_of(model: PersonaModel, c: _Clustering, pc: Any, split_halves: Any, stability: dict[str, Any]):
    """Persona of every household by its membership values, names, stability and the per-half assignments."""
    proba = model.predict_proba(c.Xm)
    labels = proba.argmax(axis=1)
    centres = model.cluster_centers_
    counts = np.bincount(labels, minlength=model.n_personas_)
    names = name_personas(
        pd.DataFrame({"high": centres[:, c.hi], "low": centres[:, c.lo] if c.lo is not None else np.nan, "n": counts}),
        overrides=pc.names,
        high_label="High response" if c.cols[c.hi] == "high_response_pct" else c.cols[c.hi],
    )
    assigned = assignment_table(c.ids, names, labels, proba, pc.low_confidence_below)
    stability.update(bootstrap_stability(model, c.X, model.predict(c.X), n_resamples=pc.bootstrap_resamples,
                                         random_state=pc.seed))
    stability.update(split_half_stability(model, _split_halves(c.features, c.m_cols, c.ok, split_halves), labels,
                                          random_state=pc.seed))
    half_labels = {**assign_halves(model, c.sub, c.m_cols, WEEK_HALVES),
                   **assign_halves(model, c.sub, c.m_cols, YEAR_HALVES)}
    stability["n_low_confidence"] = int(assigned["low_confidence"].sum())
    stability["personas"] = names[["persona_id", "persona_name", "persona_rationale"]].to_dict("records")
    return labels, names, assigned, half_labels


def _continuum(c: _Clustering, stability: dict[str, Any]):
    """No persona structure: segments of the continuum by posterior mean High response (cross-fitted), or one
    continuum ``P0`` without posteriors."""
    hp = "high_response_post" if "high_response_post" in c.features.columns else None
    if hp is not None and c.use_post:
        labels = segment_labels(c.sub[hp].to_numpy(float))
        names = pd.DataFrame({"persona_id": [s_[0] for s_ in SEGMENTS], "persona_name": [s_[1] for s_ in SEGMENTS],
                              "persona_rationale": [f"{s_[1]}: posterior mean High response in [{s_[2]}, {s_[3]}) %"
                                                    for s_ in SEGMENTS]})
        assigned = pd.DataFrame({
            "household_id": c.ids.to_numpy(), "persona_id": names["persona_id"].to_numpy()[labels],
            "persona_name": names["persona_name"].to_numpy()[labels], "membership": np.nan,
            "low_confidence": False, "persona_rationale": names["persona_rationale"].to_numpy()[labels],
        })
        half_labels = {h: segment_labels(c.sub[f"{hp}_{h}"].to_numpy(float)) if f"{hp}_{h}" in c.sub.columns
                       else np.full(len(c.sub), -1) for h in (*WEEK_HALVES, *YEAR_HALVES)}
        stability.update(message=SEGMENT_MESSAGE, segments=True)
        return labels, names, assigned, half_labels
    assigned = pd.DataFrame({
        "household_id": c.ids.to_numpy(), "persona_id": "P0", "persona_name": "continuum", "membership": np.nan,
        "low_confidence": False, "persona_rationale": "no persona structure: use the continuous response scores",
    })
    names = pd.DataFrame({"persona_id": ["P0"], "persona_name": ["continuum"],
                          "persona_rationale": [NO_STRUCTURE_MESSAGE]})
    stability.update(message=NO_STRUCTURE_MESSAGE, segments=False)
    return np.zeros(len(c.sub), dtype=int), names, assigned, {}


def _crossfit_summary(sub: pd.DataFrame, labels: np.ndarray, half_labels: dict[str, np.ndarray],
                      names: pd.DataFrame) -> dict[str, Any]:
    """Persona agreement between the halves of the events (stability.json)."""
    if not half_labels:
        return {"crossfit": {"available": False, "note": "no half-event posteriors in the features"}}
    wa, wb = (half_labels.get(h, np.full(len(sub), -1)) for h in WEEK_HALVES)
    h1, h2 = (half_labels.get(h, np.full(len(sub), -1)) for h in YEAR_HALVES)
    return {
        "crossfit": {
            "available": bool((wa >= 0).any() and (wb >= 0).any()),
            "split": "alternating weeks of the trial (assigned on one, measured on the other, both ways)",
            "agreement_weeks": agreement(wa, wb),
            "agreement_year_halves": agreement(h1, h2),
            "agreement_weeks_vs_full": {h: agreement(half_labels[h], labels) for h in WEEK_HALVES if h in half_labels},
            "groups": names["persona_id"].tolist(),
        }
    }


def _with_crossfit(profiles: pd.DataFrame, sub: pd.DataFrame, labels: np.ndarray,
                   half_labels: dict[str, np.ndarray], names: pd.DataFrame) -> pd.DataFrame:
    """Profiles plus the cross-fitted (``crossfit_*``) and in-sample (``insample_*``) response of each persona."""
    k = len(names)
    naive = naive_effects(sub, labels, k)
    cf = crossfit_effects(sub, half_labels, k) if all(h in half_labels for h in WEEK_HALVES) else None
    extra = naive if cf is None else naive.merge(cf, on="group")
    extra["persona_id"] = names["persona_id"].to_numpy()[extra["group"].to_numpy()]
    return profiles.merge(extra.drop(columns="group"), on="persona_id", how="left")


def save_personas(result: PersonaResult, run_dir: str | Path) -> list[Path]:
    """Write a :class:`PersonaResult` into a run folder (:meth:`PersonaResult.artifacts`, validated against
    their contracts): ``personas.parquet`` (+ ``.csv``), ``persona_profiles.csv``, ``selection.csv``,
    ``stability.json``, ``persona_pca.csv``, ``persona_matrix.csv``, ``persona_model.pkl`` (the fitted
    :class:`PersonaModel` with its feature names; removed on the continuum) and, when the result carries them,
    ``validation.json``, ``persistence.json`` and ``persistence.csv``."""
    from ..runfolder import RunFolder

    return RunFolder(run_dir).save_many(result.artifacts())


def run_personas(run_dir: str | Path, config: Config) -> PersonaResult:
    """The personas stage on a run folder: read the feature stage's artifacts, build personas, save them.

    Raises
    ------
    StageError
        If the run folder has no ``features.parquet``.
    """
    from ..runfolder import RunFolder

    rf = RunFolder(run_dir)
    t = rf.load_many(("features", "features_info", "event_households", "events"),
                     optional=("features_info", "event_households", "events"))
    result = build_personas(t["features"], config, feature_info=t["features_info"] or {},
                            event_households=t["event_households"], events=t["events"])
    save_personas(result, rf.path)
    return result

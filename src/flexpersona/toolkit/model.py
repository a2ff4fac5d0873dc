"""The saved targeting model (``RUN/targeting_model.pkl``): the toolkit's fold models, versioned.

What is saved is what the toolkit already fitted: every fold model of the repeated cross-fitting
(:func:`~.targeting.cross_fit`, ``cv_repeats × cv_folds`` forests per target), so that a household scored
later gets the average of the same models that ranked the run's own book (``targets.csv``) — no refit. With
them: the pre-trial feature list (column order of the model's matrix), the run's config, the lifestyle source
of the features stage, the out-of-fold residuals of the kW model (prediction intervals), the cohort medians of
the lever rules, the run's Qini curve (validated MW), the flexpersona version and :data:`FORMAT_VERSION`.

The pickle holds a plain dict (``format_version`` first, read before anything else is trusted); a file of
another format version is a :class:`~flexpersona.errors.StageError` naming the file and the fix (re-run the
toolkit stage).
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import StageError

#: Bump when the saved dict's keys or meaning change; older files are refused with the fix.
FORMAT_VERSION = 1
#: Targets of the fold models: High response [kW] and [%], dynamic-minus-flat bill [%], responder label (0/1).
TARGETS = ("kw", "pct", "bill", "responder")
#: Pre-trial columns of the lever rules' cohort medians (:func:`~.levers.lifestyle_flags`).
LEVER_COLUMNS = ("evening_share", "base_peak_to_offpeak_ratio", "baseload_kwh")


@dataclass
class TargetingModel:
    """Everything :func:`flexpersona.score` needs from a run.

    Attributes
    ----------
    models
        ``{target: [fitted pipeline i = r × folds + k]}`` for :data:`TARGETS` the run could fit.
    features
        Column names of the model's matrix, in order (lifestyle columns, then one-hot ``acorn_*``).
    config
        The run's config as a dict (:meth:`flexpersona.config.Config.to_dict`).
    lifestyle_source
        Where the run's pre-trial features came from (``halfhourly`` | ``within_trial_normal`` | ``daily``).
    residuals_kw
        Out-of-fold residuals of the kW model on the treatment households, ``y - prediction`` [kW], every
        repeat pooled.
    cohort_medians
        Medians of :data:`LEVER_COLUMNS` over the run's lifestyle table (peak-heavy / high-baseload flags).
    qini
        The run's cross-fitted Qini curve with interval columns (``qini.csv``).
    numbers
        The run's targeting summary (Qini coefficient and interval, placebo check, sizes).
    training_ids, book_ids
        Treatment households the models were fitted on; the run's book (control households in ``targets.csv``).
    """

    models: dict[str, list[Any]]
    features: list[str]
    config: dict[str, Any]
    lifestyle_source: str
    residuals_kw: np.ndarray
    cohort_medians: dict[str, float]
    qini: pd.DataFrame
    numbers: dict[str, Any] = field(default_factory=dict)
    training_ids: list[str] = field(default_factory=list)
    book_ids: list[str] = field(default_factory=list)
    format_version: int = FORMAT_VERSION
    flexpersona_version: str = ""
    sklearn_version: str = ""

    def predict(self, X: pd.DataFrame) -> dict[str, np.ndarray]:
        """``{target: (n_models, n)}`` predictions of every fold model for the rows of ``X`` (reindexed to
        :attr:`features`; a missing ``acorn_*`` column is 0, any other missing column NaN, imputed by the
        models' training medians)."""
        Xm = align(X, self.features).to_numpy(dtype=float)
        if len(Xm) == 0:
            return {t: np.empty((len(ms), 0)) for t, ms in self.models.items()}
        return {t: np.vstack([np.asarray(m.predict(Xm), dtype=float) for m in ms]) for t, ms in self.models.items()}

    def to_dict(self) -> dict[str, Any]:
        """The saved form: a plain dict, ``format_version`` first (the models are not copied)."""
        out = {"format_version": self.format_version}
        out.update({f.name: getattr(self, f.name) for f in fields(self)})
        return out


def align(X: pd.DataFrame, features: list[str]) -> pd.DataFrame:
    """``X`` with exactly the model's columns in order (``acorn_*`` absent → 0, others absent → NaN)."""
    out = X.reindex(columns=features)
    acorn = [c for c in features if c.startswith("acorn_")]
    if acorn:
        out[acorn] = out[acorn].fillna(0.0)
    return out.astype(float)


def dumps(model: TargetingModel) -> bytes:
    """The pickle of :func:`save_model` (a plain dict with ``format_version`` first)."""
    return pickle.dumps(model.to_dict())


def save_model(model: TargetingModel, path: str | Path) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(dumps(model))
    return p


def load_model(path: str | Path) -> TargetingModel:
    """Read a saved targeting model, refusing another format version.

    Raises
    ------
    StageError
        The file is missing, unreadable, or of another :data:`FORMAT_VERSION`; the message names the file and
        the fix (re-run the toolkit stage).
    """
    p = Path(path)
    run = p.parent
    fix = f"re-run the toolkit stage: flexpersona toolkit {run} (or flexpersona run ... --out {run})"
    if not p.exists():
        msg = f"{p} is missing: the run has no saved targeting model; {fix}"
        raise StageError(msg)
    try:
        raw = pickle.loads(p.read_bytes())
    except Exception as exc:
        msg = f"{p} cannot be read as a targeting model ({type(exc).__name__}: {exc}); {fix}"
        raise StageError(msg) from None
    version = raw.get("format_version") if isinstance(raw, dict) else None
    if version != FORMAT_VERSION:
        made = raw.get("flexpersona_version", "an unknown version") if isinstance(raw, dict) else "an unknown version"
        msg = (f"{p} is a targeting model of format version {version} (written by flexpersona {made}); this "
               f"flexpersona reads format version {FORMAT_VERSION}: {fix}")
        raise StageError(msg)
    raw = dict(raw)
    return TargetingModel(**raw)

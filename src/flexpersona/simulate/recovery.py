"""Planted vs recovered: how close a run on simulated data comes to the truth the simulator planted.

The simulator writes ``truth.csv`` beside the readings (:func:`flexpersona.simulate.write_trial`); a run on
those files can then be scored against it: the estimated High and Low responses against the planted effects
(rank correlation, bias, error spread, coverage of the 95% intervals) and the recovered personas against the
planted ones (adjusted Rand index, confusion table). :func:`find_truth` locates the file of a run folder;
:func:`compare_with_truth` does the scoring on plain tables (no I/O).

Example
-------
>>> from flexpersona.simulate.recovery import compare_with_truth  # doctest: +SKIP
>>> rec = compare_with_truth(features, personas, truth)  # doctest: +SKIP
>>> rec.summary["persona_ari"]  # doctest: +SKIP
0.97
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

#: Columns a truth file needs.
TRUTH_REQUIRED = ("household_id", "group", "persona", "high_effect_pct", "low_effect_pct")


@dataclass
class RecoveryResult:
    """Scores of a run against its planted truth.

    Attributes
    ----------
    summary
        JSON-able numbers: ``n_households`` (treatment households in both tables), per measure ``high`` and
        ``low``: ``spearman``, ``bias_pp`` (mean of estimate − planted), ``error_sd_pp``, ``coverage`` (share
        of planted values inside the 95% interval), ``median_se_pp``; ``high_post`` the same for the posterior
        mean when the features have ``high_response_post`` (coverage of its ``_ci_low``/``_ci_high`` interval and
        median ``_sd`` when present); ``persona_ari`` (planted vs recovered, None
        without personas), ``n_planted_personas``, ``n_recovered_personas``, ``separation_se`` (smallest
        distance between planted persona centres in units of the median standard error).
    households
        One row per household: ``household_id``, ``planted_persona``, ``persona_name``, ``planted_high``,
        ``estimated_high`` (and ``_ci_low``/``_ci_high``), ``planted_low``, ``estimated_low``.
    confusion
        Households per planted persona (rows) and recovered persona (columns).
    planted
        Per planted persona: ``n``, ``centre_high``, ``centre_low`` (mean planted effects [%]).
    """

    summary: dict[str, Any] = field(default_factory=dict)
    households: pd.DataFrame = field(default_factory=pd.DataFrame)
    confusion: pd.DataFrame = field(default_factory=pd.DataFrame)
    planted: pd.DataFrame = field(default_factory=pd.DataFrame)


def find_truth(run_dir: str | Path, inputs: Iterable[str] = ()) -> Path | None:
    """The planted truth of a run: ``RUN/truth.csv``, else ``truth.csv`` in an input folder (or beside an
    input file); None when there is none or it lacks :data:`TRUTH_REQUIRED`."""
    candidates = [Path(run_dir) / "truth.csv"]
    for item in inputs:
        p = Path(item)
        candidates.append(p / "truth.csv" if p.is_dir() else p.parent / "truth.csv")
    for c in candidates:
        if c.is_file():
            header = pd.read_csv(c, nrows=0).columns
            if set(TRUTH_REQUIRED) <= set(header):
                return c
    return None


def _measure(planted: pd.Series, est: pd.Series, lo: pd.Series | None, hi: pd.Series | None,
             se: pd.Series | None) -> dict[str, Any]:
    ok = planted.notna() & est.notna()
    p, e = planted[ok].astype(float), est[ok].astype(float)
    if len(p) < 3:
        return {"n": int(len(p))}
    err = e - p
    out: dict[str, Any] = {
        "n": int(len(p)),
        "spearman": float(p.rank().corr(e.rank())),
        "bias_pp": float(err.mean()),
        "error_sd_pp": float(err.std(ddof=1)),
    }
    if lo is not None and hi is not None:
        inside = (p >= lo[ok].astype(float)) & (p <= hi[ok].astype(float))
        out["coverage"] = float(inside.mean())
    if se is not None:
        out["median_se_pp"] = float(se[ok].astype(float).median())
    return out


def compare_with_truth(
    features: pd.DataFrame, personas: pd.DataFrame | None, truth: pd.DataFrame
) -> RecoveryResult:
    """Score a run's estimates and personas against the planted truth.

    Parameters
    ----------
    features
        ``features.parquet`` (``household_id``, ``high_response_pct`` with ``_ci_low``/``_ci_high``/``_se``,
        ``low_response_pct`` alike; ``high_response_post`` when present).
    personas
        ``personas.parquet`` (``household_id``, ``persona_id``, ``persona_name``), or None.
    truth
        ``truth.csv`` of the simulator (:data:`TRUTH_REQUIRED`); control households are ignored.

    Returns
    -------
    RecoveryResult
    """
    from sklearn.metrics import adjusted_rand_score

    t = truth[truth["group"].astype(str) == "treatment"].copy()
    t["household_id"] = t["household_id"].astype(str)
    f = features.copy()
    f["household_id"] = f["household_id"].astype(str)
    d = t.merge(f, on="household_id", how="inner")
    if personas is not None and {"household_id", "persona_name"} <= set(personas.columns):
        p = personas[["household_id", "persona_id", "persona_name"]].copy()
        p["household_id"] = p["household_id"].astype(str)
        d = d.merge(p, on="household_id", how="left")
    else:
        d["persona_id"], d["persona_name"] = None, None

    def col(name: str) -> pd.Series | None:
        return d[name] if name in d.columns else None

    summary: dict[str, Any] = {"n_households": int(len(d))}
    for m in ("high", "low"):
        if f"{m}_response_pct" in d.columns:
            summary[m] = _measure(d[f"{m}_effect_pct"], d[f"{m}_response_pct"], col(f"{m}_response_ci_low"),
                                  col(f"{m}_response_ci_high"), col(f"{m}_response_se"))
    if "high_response_post" in d.columns:
        summary["high_post"] = _measure(d["high_effect_pct"], d["high_response_post"], col("high_response_post_ci_low"),
                                        col("high_response_post_ci_high"), col("high_response_post_sd"))

    planted = (d.groupby("persona").agg(n=("household_id", "size"), centre_high=("high_effect_pct", "mean"),
                                        centre_low=("low_effect_pct", "mean"))
               .sort_values("centre_high").reset_index().rename(columns={"persona": "planted_persona"}))
    summary["n_planted_personas"] = int(len(planted))
    se = summary.get("high", {}).get("median_se_pp")
    if len(planted) > 1 and se:
        c = planted[["centre_high", "centre_low"]].to_numpy(dtype=float)
        dist = np.sqrt(((c[:, None, :] - c[None, :, :]) ** 2).sum(axis=2))
        summary["nearest_centres_pp"] = float(dist[np.triu_indices(len(c), 1)].min())
        summary["separation_se"] = summary["nearest_centres_pp"] / float(se)

    has_personas = d["persona_id"].notna().any()
    if has_personas:
        recovered = d["persona_name"].fillna("unassigned").astype(str)
        summary["persona_ari"] = float(adjusted_rand_score(d["persona"].astype(str), recovered))
        summary["n_recovered_personas"] = int(d["persona_id"].dropna().nunique())
        confusion = pd.crosstab(d["persona"].astype(str).rename("planted persona"), recovered.rename("recovered"))
        order = [p for p in planted["planted_persona"] if p in confusion.index]
        confusion = confusion.loc[order]
        cols = (d.dropna(subset=["persona_id"]).drop_duplicates("persona_name")
                .sort_values("persona_id", key=lambda s: s.str[1:].astype(int))["persona_name"].tolist())
        confusion = confusion[[c for c in cols if c in confusion.columns]
                              + [c for c in confusion.columns if c not in cols]]
        confusion.columns.name = None
    else:
        summary["persona_ari"] = None
        summary["n_recovered_personas"] = 0
        confusion = pd.DataFrame()

    keep = {"household_id": "household_id", "persona": "planted_persona", "persona_name": "persona_name",
            "high_effect_pct": "planted_high", "high_response_pct": "estimated_high",
            "high_response_ci_low": "estimated_high_ci_low", "high_response_ci_high": "estimated_high_ci_high",
            "high_response_post": "posterior_high", "low_effect_pct": "planted_low",
            "low_response_pct": "estimated_low"}
    households = d[[c for c in keep if c in d.columns]].rename(columns=keep)
    return RecoveryResult(summary=summary, households=households, confusion=confusion, planted=planted)

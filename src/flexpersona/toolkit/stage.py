"""The intervention toolkit: lever per persona, expected kW at High price, MW at scale, bills, targets.

:func:`build_toolkit` takes the stage tables and returns a :class:`ToolkitResult`; :func:`save_toolkit`
writes ``toolkit.json``, ``toolkit.md``, ``targets.csv`` and ``qini.csv`` into a run folder;
:func:`toolkit_for_run` does both from a run folder (the ``flexpersona toolkit`` command).

Numbers (per persona)
---------------------
``kw_per_1000``
    Expected kW *reduction* during High half-hours per 1,000 households =
    1,000 × mean over the persona's households of ``-high_response_kw`` [kW]; interval by a percentile
    bootstrap over households (``ToolkitConfig.bootstrap_replicates``, seeded).
``mw_at_population``
    ``population`` × persona share × mean per-household reduction / 1,000 [MW] (share = the persona's
    share of the trial's treatment households with a response).
``bill_*``
    Mean dynamic-minus-flat bill [GBP/year of the trial] and its structural/behavioural parts [%]; the share
    of households paying more on the dynamic tariff (do-no-harm).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..config import Config
from ..errors import StageError
from .levers import LEVERS, RULES, choose_lever, lifestyle_flags, strategic_quadrants
from .model import TargetingModel
from .targeting import TargetingResult, fit_targeting, qini_area, qini_curve
from .uncertainty import cohort_kw, indexed, persona_kw

log = logging.getLogger(__name__)

__all__ = [
    "LEVERS",
    "RULES",
    "ToolkitResult",
    "build_toolkit",
    "fit_targeting",
    "qini_area",
    "qini_curve",
    "save_toolkit",
    "toolkit_for_run",
]

ALL = "all"


@dataclass
class ToolkitResult:
    """What :func:`build_toolkit` returns.

    Attributes
    ----------
    toolkit
        JSON-able dict: ``population``, ``rule_basis``, ``rules``, ``personas`` (list of per-persona dicts,
        see the module docstring), ``total``, ``do_no_harm``, ``targeting``.
    markdown
        The same as a readable ``toolkit.md``.
    targets
        Ranked customer book (see :class:`flexpersona.toolkit.targeting.TargetingResult`).
    qini
        Cumulative-gain curve of all treatment households ranked by out-of-fold predictions, with intervals.
    per_persona
        The per-persona numbers as a table.
    """

    toolkit: dict[str, Any]
    markdown: str
    targets: pd.DataFrame
    qini: pd.DataFrame
    per_persona: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: The saved targeting model (``targeting_model.pkl``, :mod:`.model`); None when targeting was not fitted.
    model: TargetingModel | None = None

    def artifacts(self) -> dict[str, Any]:
        """What the stage writes into a run folder: ``toolkit.json``, ``toolkit.md``, ``targets.csv``, ``qini.csv``
        and ``targeting_model.pkl`` (removed when no model was fitted)."""
        targets = self.targets
        if targets.empty:
            targets = pd.DataFrame({c: pd.Series(dtype=t) for c, t in (
                ("household_id", "str"), ("predicted_response_pct", "float64"), ("predicted_kw", "float64"),
                ("predicted_bill_change_pct", "float64"), ("rank", "int64"), ("do_no_harm", "bool"))})
        return {"toolkit": self.toolkit, "toolkit_md": self.markdown, "targets": targets, "qini": self.qini,
                "targeting_model": None if self.model is None else self.model.to_dict()}


def _bootstrap_mean_ci(values: np.ndarray, reps: int, rng: np.random.Generator) -> tuple[float, float]:
    """95% percentile-bootstrap interval of a mean (over households)."""
    v = values[np.isfinite(values)]
    if len(v) < 2:
        return (float("nan"), float("nan"))
    idx = rng.integers(0, len(v), size=(reps, len(v)))
    means = v[idx].mean(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return float(lo), float(hi)


def _f(x: Any) -> float | None:
    """JSON-safe float (NaN → None)."""
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if np.isfinite(x) else None


def build_toolkit(
    features: Any,
    personas: Any = None,
    explain: Any = None,
    *,
    config: Config | None = None,
    lifestyle: pd.DataFrame | None = None,
    households: pd.DataFrame | None = None,
    placebo: pd.DataFrame | None = None,
    replicates: pd.DataFrame | None = None,
    feature_info: Mapping[str, Any] | None = None,
) -> ToolkitResult:
    """Build the intervention toolkit from the other stages' results (or their tables).

    Parameters
    ----------
    features
        A :class:`~flexpersona.features.FeatureResult` (its ``lifestyle``, ``placebo``, ``replicates`` and
        ``info`` are used unless given) or the ``features`` table (treatment): needs ``household_id``,
        ``high_response_kw`` [kW] and ``high_response_pct`` [%] (negative = reduction); uses
        ``high_response_ci_low/high``, ``responder``, ``bill_dynamic_gbp``, ``bill_flat_gbp`` [GBP],
        ``bill_saving_structural_pct``, ``bill_saving_behavioural_pct`` [%] when present.
    personas
        A :class:`~flexpersona.personas.PersonaResult` or the ``personas`` table (``household_id``,
        ``persona_id``, ``persona_name``); ``None`` or empty → one group "all".
    explain
        An :class:`~flexpersona.explain.ExplainResult` or explain tables by name plus ``summary``; only the
        strategic quadrants are used.
    config
        ``config.toolkit`` (population, cross-fitting, seed, thresholds); defaults when None.
    lifestyle
        ``lifestyle.parquet``: pre-trial features of every household (targeting, fallback lever rules).
    households
        Canonical households table (``group``, ``acorn_grouped``).
    placebo
        ``placebo.parquet`` (control households' placebo ``high_response_kw``) for the targeting's placebo
        check and the control part of the kW intervals; None skips both.
    replicates
        ``replicates.parquet`` (day-block bootstrap replicates per household): with it, kW intervals resample
        households, day blocks and controls jointly and personas' numbers are cross-fitted
        (:mod:`flexpersona.toolkit.uncertainty`); without it, intervals resample households only.
    feature_info
        ``features_info.json``: its prevalence (METHODS B.8) and placebo calibration are repeated in the
        toolkit.

    Raises
    ------
    StageError
        When ``features`` lacks ``household_id`` or ``high_response_kw``.
    """
    config = config or Config()
    if hasattr(features, "features") and hasattr(features, "info"):  # a FeatureResult
        lifestyle = features.lifestyle if lifestyle is None else lifestyle
        placebo = features.placebo if placebo is None else placebo
        replicates = features.replicates if replicates is None else replicates
        feature_info = features.info if feature_info is None else feature_info
        features = features.features
    personas = getattr(personas, "personas", personas)
    if hasattr(explain, "as_mapping"):
        explain = explain.as_mapping()
    tk = config.toolkit
    f = _households_by_persona(features, personas)
    quadrants = strategic_quadrants(explain)
    joint = replicates is not None and not replicates.empty
    replicates = indexed(replicates)  # indexed once for the cohort's and the personas' measures
    cohort = cohort_kw(f, placebo, replicates, seed=tk.seed) if joint else {}
    crossfit = (persona_kw(f, personas, placebo, replicates, seed=tk.seed).set_index("persona_id")
                if joint and personas is not None and "persona_id_wa" in personas.columns else None)
    rng = np.random.default_rng(tk.seed)
    rows = [_persona_row(g, str(pid), str(pname), f, personas, lifestyle, quadrants, crossfit, rng, config)
            for (pid, pname), g in f.groupby(["persona_id", "persona_name"], sort=True)]
    per = pd.DataFrame(rows)
    tres: TargetingResult = (
        fit_targeting(f, lifestyle, households, config, placebo=placebo) if lifestyle is not None and not lifestyle.empty
        else TargetingResult(qini_curve(np.array([]), np.array([])), pd.DataFrame(), {"fitted": False, "note": "no lifestyle table"})
    )
    toolkit = {
        "population": int(tk.population),
        "prevalence": _prevalence(feature_info),
        "rule_basis": "survey strategic quadrants (stage 2) + response (stage 1)" if quadrants is not None else (
            "response (stage 1) + pre-trial lifestyle; no survey quadrants in this run"),
        "rules": RULES,
        "levers": list(LEVERS),
        "personas": [{k: (_f(v) if isinstance(v, (float, np.floating)) else v) for k, v in r.items()} for r in rows],
        "total": _total(f, per, cohort, rng, config),
        "do_no_harm": _do_no_harm(f),
        "targeting": {k: (_f(v) if isinstance(v, (float, np.floating)) else v) for k, v in tres.summary.items()},
        "units": {
            "kw_per_1000": "kW reduction during High half-hours per 1,000 households (positive = less load)",
            "mw_at_population": "MW reduction during High half-hours at the population, split by persona share",
            "bill_change_gbp_mean": "mean dynamic minus flat bill over the trial year [GBP] (positive = pays more)",
        },
    }
    return ToolkitResult(toolkit, toolkit_markdown(toolkit), tres.targets, tres.qini, per, tres.model)


def _households_by_persona(features: pd.DataFrame, personas: pd.DataFrame | None) -> pd.DataFrame:
    """Treatment households with a finite kW response and their persona (one group "all" without personas)."""
    missing = [c for c in ("household_id", "high_response_kw", "high_response_pct") if c not in features.columns]
    if missing:
        msg = (f"features.parquet lacks {', '.join(missing)}: the toolkit needs the default response estimator's "
               "columns; re-run the features stage (flexpersona run ... --from features)")
        raise StageError(msg)
    f = features.assign(household_id=features["household_id"].astype(str)).drop_duplicates("household_id")
    f = f[np.isfinite(f["high_response_kw"].astype(float))]
    if len(f) == 0:
        msg = "features.parquet has no household with a finite high_response_kw; check the features stage's ledger"
        raise StageError(msg)
    if personas is None or personas.empty or "persona_id" not in personas.columns:
        return f.assign(persona_id=ALL, persona_name="All households")
    p = personas.assign(household_id=personas["household_id"].astype(str), persona_id=personas["persona_id"].astype(str))
    if "persona_name" not in p.columns:
        p = p.assign(persona_name=p["persona_id"])
    f = f.merge(p[["household_id", "persona_id", "persona_name"]].drop_duplicates("household_id"), on="household_id",
                how="left")
    f["persona_id"] = f["persona_id"].fillna("unassigned")
    f["persona_name"] = f["persona_name"].fillna("Unassigned").astype(str)
    return f


def _persona_row(g: pd.DataFrame, pid: str, pname: str, f: pd.DataFrame, personas: pd.DataFrame | None,
                 lifestyle: pd.DataFrame | None, quadrants: pd.Series | None, crossfit: pd.DataFrame | None,
                 rng: np.random.Generator, config: Config) -> dict[str, Any]:
    """One persona's lever (by the documented rules), kW and MW with intervals (cross-fitted when the replicates
    allow it), and bill numbers."""
    tk = config.toolkit
    red = -g["high_response_kw"].astype(float).to_numpy()  # kW reduction per household
    mean_red = float(red.mean())
    lo, hi = _bootstrap_mean_ci(red, tk.bootstrap_replicates, rng)
    insample = {"kw_per_1000_insample": 1000 * mean_red,
                "mean_response_pct_insample": float(g["high_response_pct"].astype(float).mean())}
    cf = crossfit.loc[pid] if crossfit is not None and pid in crossfit.index else None
    kw_basis = "household bootstrap, in-sample (no replicates)"
    if cf is not None and np.isfinite(cf["high_kw_per_1000"]):
        mean_red, lo, hi = (cf["high_kw_per_1000"] / 1000, cf["high_kw_per_1000_ci_low"] / 1000,
                            cf["high_kw_per_1000_ci_high"] / 1000)
        kw_basis = ("cross-fitted (assigned on alternate weeks, measured on the others); households, day blocks "
                    "and controls resampled")
    share = len(g) / len(f)
    responder_share = float(g["responder"].astype(float).mean()) if "responder" in g.columns else float("nan")
    ev = {
        "mean_response_pct": _crossfit_pct(g, personas, pid, f) if cf is not None else insample["mean_response_pct_insample"],
        "kw_ci_low": lo, "kw_ci_high": hi, "responder_share": responder_share,
        "quadrant": _lookup(quadrants, pid, pname), **lifestyle_flags(lifestyle, g["household_id"]),
    }
    lever, rule = choose_lever(ev, config)
    return {
        "persona_id": pid, "persona_name": pname, "n_households": int(len(g)), "share": share,
        "quadrant": ev["quadrant"], "lever": lever, "rule": rule, "rule_text": RULES[rule],
        "mean_response_pct": ev["mean_response_pct"], "responder_share": responder_share,
        "mean_high_response_kw": float(g["high_response_kw"].astype(float).mean()),
        "kw_per_1000": 1000 * mean_red, "kw_per_1000_ci_low": 1000 * lo, "kw_per_1000_ci_high": 1000 * hi,
        "mw_at_population": tk.population * share * mean_red / 1000,
        "mw_ci_low": tk.population * share * lo / 1000, "mw_ci_high": tk.population * share * hi / 1000,
        "kw_basis": kw_basis, **insample, **_peak_numbers(cf), **_bill_numbers(g),
    }  # fmt: skip


def _total(f: pd.DataFrame, per: pd.DataFrame, cohort: dict[str, Any], rng: np.random.Generator,
           config: Config) -> dict[str, Any]:
    """Every treatment household together: kW per 1,000 (joint interval when the replicates allow it), in the
    system-peak window and by time of day, MW at the population, bill numbers."""
    tk = config.toolkit
    all_red = -f["high_response_kw"].astype(float).to_numpy()
    t_lo, t_hi = _bootstrap_mean_ci(all_red, tk.bootstrap_replicates, rng)
    if "high" in cohort:
        t_lo, t_hi = cohort["high"]["ci_low"] / 1000, cohort["high"]["ci_high"] / 1000
    t_mean = float(all_red.mean())
    peak = {}
    if "high_peak" in cohort:
        peak = {"kw_per_1000_peak": _f(cohort["high_peak"]["kw_per_1000"]),
                "kw_per_1000_peak_ci_low": _f(cohort["high_peak"]["ci_low"]),
                "kw_per_1000_peak_ci_high": _f(cohort["high_peak"]["ci_high"]),
                "system_peak_hours": list(config.features.system_peak_hours)}
    return {
        "n_households": int(len(f)),
        "kw_per_1000": 1000 * t_mean,
        "kw_per_1000_ci_low": _f(1000 * t_lo),
        "kw_per_1000_ci_high": _f(1000 * t_hi),
        "kw_basis": ("households, day blocks and control households resampled jointly" if "high" in cohort
                     else "households resampled (no replicates.parquet)"),
        "mw_at_population": tk.population * t_mean / 1000,
        "mw_ci_low": _f(tk.population * t_lo / 1000),
        "mw_ci_high": _f(tk.population * t_hi / 1000),
        "mw_by_persona_sum": float(per["mw_at_population"].sum()),
        **peak,
        "kw_by_time_of_day": {m.removeprefix("high_"): {k: _f(v) for k, v in d.items()}
                              for m, d in cohort.items() if m not in ("high", "high_peak")},
        **{k: _f(v) for k, v in _bill_numbers(f).items()},
    }


def _crossfit_pct(g: pd.DataFrame, personas: pd.DataFrame | None, pid: str, f: pd.DataFrame) -> float:
    """Cross-fitted mean High response [%] of a persona: households assigned on one half of the events
    (``persona_id_wa``/``_wb``), their raw response on the other half (``high_response_pct_wb``/``_wa``)."""
    if personas is None or "persona_id_wa" not in personas.columns:
        return float(g["high_response_pct"].astype(float).mean())
    p = personas.assign(household_id=personas["household_id"].astype(str)).set_index("household_id")
    vals = []
    for a, m in (("wa", "wb"), ("wb", "wa")):
        col = f"high_response_pct_{m}"
        if col not in f.columns:
            continue
        ids = p.index[p[f"persona_id_{a}"].astype(object) == pid]
        vals.append(pd.to_numeric(f.set_index("household_id").reindex(ids)[col], errors="coerce").dropna().to_numpy())
    v = np.concatenate(vals) if vals else np.array([])
    return float(v.mean()) if len(v) else float("nan")


def _peak_numbers(cf: pd.Series | None) -> dict[str, float]:
    """Cross-fitted kW per 1,000 in the system-peak window (NaN without replicates)."""
    keys = ("kw_per_1000_peak", "kw_per_1000_peak_ci_low", "kw_per_1000_peak_ci_high", "kw_per_1000_peak_insample")
    if cf is None:
        return dict.fromkeys(keys, float("nan"))
    return {"kw_per_1000_peak": float(cf["high_peak_kw_per_1000"]),
            "kw_per_1000_peak_ci_low": float(cf["high_peak_kw_per_1000_ci_low"]),
            "kw_per_1000_peak_ci_high": float(cf["high_peak_kw_per_1000_ci_high"]),
            "kw_per_1000_peak_insample": float(cf["high_peak_kw_per_1000_insample"])}


def _prevalence(info: Mapping[str, Any] | None) -> dict[str, Any]:
    """The feature stage's prevalence and responder-label calibration, as the toolkit repeats them."""
    if not info:
        return {"note": "no features_info.json"}
    placebo = info.get("placebo", {}) or {}
    return {
        "shares": info.get("prevalence", {}),
        "responder_label": {k: placebo.get(k) for k in (
            "n_responders", "alpha", "p_cutoff", "false_responder_rate_at_cutoff", "expected_false_labels",
            "n_tested")},
    }


def _lookup(quadrants: pd.Series | None, *keys: str) -> str | None:
    """The quadrant of a persona by id, else by name (the explain stage labels personas by name)."""
    if quadrants is None:
        return None
    for k in keys:
        if k in quadrants.index:
            return str(quadrants[k])
    return None


def _bill_numbers(g: pd.DataFrame) -> dict[str, float]:
    out = {"bill_change_gbp_mean": float("nan"), "bill_saving_structural_pct_mean": float("nan"),
           "bill_saving_behavioural_pct_mean": float("nan"), "share_paying_more": float("nan")}
    if {"bill_dynamic_gbp", "bill_flat_gbp"} <= set(g.columns):
        diff = g["bill_dynamic_gbp"].astype(float) - g["bill_flat_gbp"].astype(float)
        out["bill_change_gbp_mean"] = float(diff.mean())
        out["share_paying_more"] = float((diff > 0).mean())
    for c in ("bill_saving_structural_pct", "bill_saving_behavioural_pct"):
        if c in g.columns:
            out[c + "_mean"] = float(g[c].astype(float).mean())
    return out


def _do_no_harm(f: pd.DataFrame) -> dict[str, Any]:
    """Treatment households that paid more on the dynamic tariff than they would have on the flat one."""
    if not {"bill_dynamic_gbp", "bill_flat_gbp"} <= set(f.columns):
        return {"basis": "no bill columns in features", "n_paying_more": None, "share_paying_more": None}
    more = f["bill_dynamic_gbp"].astype(float) > f["bill_flat_gbp"].astype(float)
    return {
        "basis": "bill_dynamic_gbp > bill_flat_gbp (treatment households, trial year)",
        "n_paying_more": int(more.sum()),
        "share_paying_more": float(more.mean()),
        "household_ids": sorted(f.loc[more, "household_id"].astype(str))[:500],
    }


def _num(x: Any, fmt: str = ",.1f") -> str:
    return "n/a" if x is None or (isinstance(x, float) and not np.isfinite(x)) else format(x, fmt)


def toolkit_markdown(tk: Mapping[str, Any]) -> str:
    """Render the toolkit dict as Markdown (``toolkit.md``)."""
    lines = [
        "# Intervention toolkit",
        "",
        f"Levers chosen from: {tk['rule_basis']}.",
        f"Scaled to a population of {tk['population']:,} customers.",
        "",
        "| persona | households | lever (rule) | kW cut per 1,000 at High (95% CI) | MW at population (95% CI) | bill change GBP | paying more |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    for r in tk["personas"]:
        lines.append(
            f"| {r['persona_name']} | {r['n_households']} | {r['lever']} ({r['rule']}) | "
            f"{_num(r['kw_per_1000'])} ({_num(r['kw_per_1000_ci_low'])} to {_num(r['kw_per_1000_ci_high'])}) | "
            f"{_num(r['mw_at_population'], ',.2f')} ({_num(r['mw_ci_low'], ',.2f')} to {_num(r['mw_ci_high'], ',.2f')}) | "
            f"{_num(r['bill_change_gbp_mean'], '+,.2f')} | {_share(r['share_paying_more'])} |"
        )
    t = tk["total"]
    lines += [
        f"| **all** | {t['n_households']} | | {_num(t['kw_per_1000'])} ({_num(t['kw_per_1000_ci_low'])} to "
        f"{_num(t['kw_per_1000_ci_high'])}) | {_num(t['mw_at_population'], ',.2f')} ({_num(t['mw_ci_low'], ',.2f')} to "
        f"{_num(t['mw_ci_high'], ',.2f')}) | {_num(t.get('bill_change_gbp_mean'), '+,.2f')} | "
        f"{_share(t.get('share_paying_more'))} |",
        "",
        "## Rules",
        "",
        *[f"- `{k}` {v}" for k, v in tk["rules"].items()],
        "",
        "## Do no harm",
        "",
    ]
    h = tk["do_no_harm"]
    if h.get("n_paying_more") is None:
        lines.append(f"Not assessed: {h['basis']}.")
    else:
        lines.append(f"{h['n_paying_more']} treatment households ({_num(_pct(h['share_paying_more']), '.0f')}%) paid more "
                     f"on the dynamic tariff ({h['basis']}).")
    g = tk["targeting"]
    lines += ["", "## Targeting", ""]
    if not g.get("fitted"):
        lines.append(f"No targeting model: {g.get('note', 'not fitted')}.")
    else:
        lines += _targeting_lines(g)
    return "\n".join(lines) + "\n"


def _targeting_lines(g: Mapping[str, Any]) -> list[str]:
    """The targeting paragraph of ``toolkit.md``: cross-fitted Qini with its interval, placebo check, book."""
    verdict = ("beats random targeting (the interval's lower bound is above 0)" if g.get("beats_random")
               else "is not shown to beat random targeting (the interval reaches 0 or below)")
    lines = [
        f"Model: {g['model']}, target {g['target']}, pre-trial features only ({len(g['features'])} columns).",
        "",
        f"Validation: {g.get('validation', 'cross-fitting')}. Over the {_num(g.get('n_treatment'), ',d')} treatment "
        f"households the model {verdict}: Qini coefficient {_num(g.get('qini_coefficient'), '.2f')} (95% interval "
        f"{_num(g.get('qini_coefficient_ci_low'), '.2f')} to {_num(g.get('qini_coefficient_ci_high'), '.2f')}), area "
        f"between the Qini curve and random targeting {_num(g.get('area_vs_random_kw'), '.3f')} kW "
        f"({_num(g.get('area_vs_random_kw_ci_low'), '.3f')} to {_num(g.get('area_vs_random_kw_ci_high'), '.3f')}). "
        f"Interval: {g.get('bootstrap', 'bootstrap')}.",
    ]
    reps = [v for v in g.get("qini_coefficient_by_repeat") or [] if v is not None]
    if reps:
        lines[-1] += f" The coefficient of single partitions ranged {min(reps):.2f} to {max(reps):.2f}."
    if g.get("placebo_fitted"):
        lines += ["", f"Placebo check ({g['placebo_n']} control households' placebo responses, the same procedure): "
                  f"Qini coefficient {_num(g.get('placebo_qini_coefficient'), '.2f')} "
                  f"({_num(g.get('placebo_qini_coefficient_ci_low'), '.2f')} to "
                  f"{_num(g.get('placebo_qini_coefficient_ci_high'), '.2f')}); {g.get('placebo_note', '')}."]
    elif g.get("placebo_note"):
        lines += ["", f"Placebo check: {g['placebo_note']}."]
    agree = g.get("do_no_harm_oof_agreement")
    lines += [
        "",
        f"Ranked {g.get('n_book', 0)} control households (the customer book) in `targets.csv` by the average of "
        f"{g.get('book_models', 'all')} fold models; {g.get('n_do_no_harm_book', 0)} flagged do-no-harm. Basis: "
        f"{g.get('do_no_harm_basis', '')}"
        + (f"; out of fold the flag agreed with the actual bill for {_num(_pct(agree), '.0f')}% of treatment households "
           f"(flagging nobody would agree for {_num(100 - (_pct(g.get('do_no_harm_share_treatment')) or float('nan')), '.0f')}%)."
           if agree is not None else "."),
    ]
    return lines


def _share(x: Any) -> str:
    """A share as a whole percentage ("n/a" when unknown)."""
    p = _pct(x)
    return "n/a" if p is None else f"{p:.0f}%"


def _pct(x: Any) -> float | None:
    return None if x is None or not np.isfinite(float(x)) else 100 * float(x)


def save_toolkit(result: ToolkitResult, run_dir: str | Path) -> list[Path]:
    """Write ``toolkit.json``, ``toolkit.md``, ``targets.csv`` and ``qini.csv`` into a run folder."""
    from ..runfolder import RunFolder

    return RunFolder(run_dir).save_many(result.artifacts())


def read_explain(run_dir: str | Path) -> dict[str, Any]:
    """Explain tables of a run folder by name (``explain/*.csv``) plus ``summary`` (``summary.json``)."""
    from ..runfolder import RunFolder

    rf = RunFolder(run_dir)
    out: dict[str, Any] = dict(rf.load("explain", required=False) or {})
    summary = rf.load("explain_summary", required=False)
    if summary is not None:
        out["summary"] = summary
    return out


def toolkit_for_run(run_dir: str | Path, config: Config) -> ToolkitResult:
    """Build the toolkit from a run folder's tables and write its files there (the ``toolkit`` command).

    Raises
    ------
    StageError
        When the run folder lacks ``features.parquet``.
    """
    from ..runfolder import RunFolder

    rf = RunFolder(run_dir)
    opt = ("lifestyle", "placebo", "replicates", "features_info", "personas", "households")
    t = rf.load_many(("features", *opt), optional=opt)
    res = build_toolkit(t["features"], t["personas"], read_explain(run_dir), config=config,
                        lifestyle=t["lifestyle"], households=t["households"], placebo=t["placebo"],
                        replicates=t["replicates"], feature_info=t["features_info"])
    save_toolkit(res, run_dir)
    return res

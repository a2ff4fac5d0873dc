"""The report's sentences about the counterfactual: control group or not (and what that costs), the
cohort response under both within-trial references, and the event-day spillover (issue 17).

Everything comes from the feature stage's ``info`` (``features_info.json``, or the ``counterfactual`` block of a
pipeline ``manifest.json``); nothing is computed here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..store import read_json

LABELS = {
    "within_trial_event_free": "Normal half-hours of event-free days",
    "within_trial_all": "Normal half-hours of all days",
    "baseline": "the baseline year",
}


def features_info(run_dir: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """The feature stage's ``info`` of a run folder (empty when unknown)."""
    p = Path(run_dir) / "features_info.json"
    if p.exists():
        return read_json(p)
    info = manifest.get("stages", {}).get("features", {}).get("counts", {}).get("info")
    return info if isinstance(info, dict) else manifest.get("info", {}) or {}


def _pct(d: dict[str, Any] | None) -> str:
    if not d or d.get("pct") is None:
        return "n/a"
    lo, hi = d.get("ci_low"), d.get("ci_high")
    ci = f" (95% interval {lo:.1f}% to {hi:.1f}%)" if lo is not None and hi is not None else ""
    return f"{d['pct']:.1f}%{ci}"


def counterfactual_text(info: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Paragraphs and notes (warnings) of the trial summary about the counterfactual."""
    paragraphs: list[str] = []
    notes: list[str] = []
    mode = info.get("counterfactual") or {}
    if mode.get("method") == "no_control":
        notes.append(str(mode.get("statement") or "No control group was used.")
                     + f" (Why no control group: {mode.get('reason', 'none in the input')}.)")
        bias = mode.get("control_households_high_pct")
        if isinstance(bias, dict) and bias.get("pct") is not None:
            notes.append(f"Measured on this run's control households under the same no-control model, the "
                         f"High-band 'response' is {_pct(bias)}: the bias a missing control group brings here.")
    elif mode.get("method") == "control_group":
        n = info.get("n_households", {}).get("control")
        paragraphs.append(f"The counterfactual is differenced against the control group ({n} households): "
                          "shocks common to every household cancel.")
    comp = info.get("reference_comparison") or {}
    cohort = comp.get("cohort") or {}
    used = comp.get("used")
    if used:
        parts = []
        for label, groups in cohort.items():
            hi = (groups.get("treatment") or {}).get("high")
            tag = " (used)" if label == used else ""
            parts.append(f"{LABELS.get(label, label)}{tag}: {_pct(hi)}")
        if parts:
            paragraphs.append("Cohort High-band response by counterfactual reference — " + "; ".join(parts) + ".")
    sp = info.get("spillover") or {}
    if sp.get("pct") is not None:
        verdict = "differs from zero" if sp.get("significant") else "is not distinguishable from zero"
        paragraphs.append(
            f"Event-day spillover (Normal-hour use on event days against event-free days): {_pct(sp)}; it "
            f"{verdict}. A negative value is all-day conservation on event days, which a reference built from "
            "all days would take in (docs/counterfactual.md)."
        )
        if sp.get("advice"):
            notes.append(str(sp["advice"]))
    return paragraphs, notes

"""The short summary ``flexpersona run`` prints at the end: the headline numbers of a run folder.

:func:`run_summary` reads the run folder's own files (``ledger.parquet``, ``features_info.json``,
``stability.json`` and ``personas.parquet``, ``toolkit.json``, ``report.html``) and returns a few lines of
text; parts whose stage did not run are left out. No number is computed here that the stages did not write.

Example
-------
>>> print("\\n".join(run_summary("demo-run")))  # doctest: +SKIP
households: 598 kept, 2 excluded (insufficient_trial 2)
cohort High response: -9.8% (95% interval -11.2% to -8.4%)
...
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd


def pct_interval(c: dict[str, Any]) -> str:
    """``-9.8% (95% interval -11.2% to -8.4%)`` from ``{"pct", "ci_low", "ci_high"}``."""
    text = f"{c['pct']:+.1f}%"
    if c.get("ci_low") is not None and c.get("ci_high") is not None:
        text += f" (95% interval {c['ci_low']:+.1f}% to {c['ci_high']:+.1f}%)"
    return text


def _json(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def _households_line(run: Path) -> str | None:
    p = run / "ledger.parquet"
    if not p.exists():
        return None
    led = pd.read_parquet(p, columns=["status", "reason"])
    kept = int((led["status"] == "kept").sum())
    excluded = int(len(led) - kept)
    line = f"households: {kept:,} kept, {excluded:,} excluded"
    if excluded:
        top = led.loc[led["status"] != "kept", "reason"].fillna("unknown").value_counts().head(3)
        line += " (" + ", ".join(f"{r} {int(n):,}" for r, n in top.items()) + ")"
    return line


def _response_lines(run: Path) -> list[str]:
    info = _json(run / "features_info.json") or {}
    cohort = info.get("cohort_response", {}).get("treatment", {})
    out = []
    for measure, word in (("high", "High"), ("low", "Low")):
        c = cohort.get(measure)
        if isinstance(c, dict) and c.get("pct") is not None:
            n = c.get("n_households")
            tail = f", {n:,} treatment households" if isinstance(n, int) else ""
            out.append(f"cohort {word} response: {pct_interval(c)}{tail}")
    return out


def _personas_line(run: Path) -> str | None:
    p = run / "personas.parquet"
    if not p.exists():
        return None
    stab = _json(run / "stability.json") or {}
    pers = pd.read_parquet(p)
    found = stab.get("structure_found")
    named = pers.dropna(subset=["persona_id"])
    if found is False or (found is None and named["persona_id"].nunique() <= 1):
        return "personas: no structure (households stay on a continuous response scale)"
    sizes = named.groupby(["persona_id", "persona_name"]).size().reset_index(name="n")
    sizes = sizes.assign(k=pd.to_numeric(sizes["persona_id"].str[1:], errors="coerce")).sort_values(["k", "persona_id"])
    parts = [f"{r.persona_name} {int(r.n):,}" for r in sizes.itertuples()]
    line = f"personas: {len(parts)} ({'; '.join(parts)})"
    n_out = int(pers["persona_id"].isna().sum())
    return line + (f"; {n_out:,} households unassigned" if n_out else "")


def _toolkit_line(run: Path) -> str | None:
    tk = _json(run / "toolkit.json")
    tot = (tk or {}).get("total", {})
    if tot.get("kw_per_1000") is None:
        return None
    line = f"kW per 1,000 households at High: {tot['kw_per_1000']:,.1f}"
    if tot.get("kw_per_1000_ci_low") is not None and tot.get("kw_per_1000_ci_high") is not None:
        line += f" (95% interval {tot['kw_per_1000_ci_low']:,.1f} to {tot['kw_per_1000_ci_high']:,.1f})"
    return line


def run_summary(run_dir: str | Path) -> list[str]:
    """Headline lines of a run folder: households kept/excluded, cohort High and Low response with intervals,
    personas (or "no structure"), kW per 1,000 households with interval, and the report's path."""
    run = Path(run_dir)
    lines = [_households_line(run), *_response_lines(run), _personas_line(run), _toolkit_line(run)]
    if (run / "report.html").exists():
        lines.append(f"report: {(run / 'report.html').resolve()}")
    return [x for x in lines if x]

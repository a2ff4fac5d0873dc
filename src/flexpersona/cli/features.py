"""``flexpersona features``: stage 1 on an ingest store, written to a folder."""

from __future__ import annotations

from pathlib import Path

import click

from .app import handle_errors, main, progress_enabled


def _num(x) -> str:
    return "n/a" if x is None else f"{x:.2f}"


def counterfactual_lines(info: dict) -> list[str]:
    """What the feature stage says about its counterfactual: no control group, references compared, spillover."""
    out = []
    mode = info.get("counterfactual", {})
    if mode.get("method") == "no_control":
        out.append(f"no control group ({mode.get('reason')}): {mode.get('statement', '')}")
    comp = info.get("reference_comparison", {})
    if comp.get("compared"):
        rows = []
        used = comp.get("used")
        for label, groups in sorted(comp["cohort"].items(), key=lambda kv: kv[0] != used):  # the reference used first
            h = groups.get("treatment", {}).get("high", {})
            rows.append(f"{label} {_num(h.get('pct'))}% [{_num(h.get('ci_low'))}, {_num(h.get('ci_high'))}]")
        out.append("cohort High response by reference: " + "; ".join(rows) + f" (used: {comp['used']})")
    sp = info.get("spillover", {})
    if sp.get("pct") is not None:
        out.append(f"event-day spillover (Normal half-hours of event days vs other days): {_num(sp['pct'])}% "
                   f"[{_num(sp.get('ci_low'))}, {_num(sp.get('ci_high'))}]")
    return out


@main.command("features")
@click.argument("store", type=click.Path(exists=True, file_okay=False))
@click.option("--out", "out", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False), help="TOML config.")
@click.option("--engine", type=click.Choice(["duckdb", "spark"]), help="SQL engine (default duckdb).")
@click.option("--spark-master", help="Spark master URL, e.g. local[2] or spark://host:7077.")
@click.option(
    "--reference",
    type=click.Choice(["auto", "baseline", "within_trial"]),
    help="Counterfactual reference: the baseline year, or the trial year's Normal half-hours (auto picks).",
)
@click.option("--reference-days", type=click.Choice(["event_free", "all"]),
              help="Days lending the within-trial reference: all days (default) or days without any event.")
@click.option("--no-control", "no_control", is_flag=True,
              help="No control group: each household's own baseline model on non-event days (auto when the "
                   "input has no control households).")
@click.option("--replicates", type=int, help="Bootstrap replicates (default 200).")
@handle_errors
def features_cmd(store, out, config_file, engine, spark_master, reference, reference_days, no_control, replicates):
    """Compute stage-1 features (seed set, response with intervals, placebo, bills, lifestyle).

    Writes the feature stage's tables (features, events, lifestyle, placebo, prior, ... and the ledger) into
    OUT and records the stage in OUT/manifest.json (a run folder's own config is used unless --config).

    \b
    Example:
      flexpersona features run1/store --out run1/features
      flexpersona features run1/store --out f2 --engine spark --reference within_trial
      flexpersona features run1/store --out f3 --no-control --reference-days event_free
    """
    from ..config import resolve_config
    from ..pipeline import run_stage
    from ..runfolder import RunFolder

    out_dir = Path(out)
    cfg = resolve_config(config_file, run_dir=out_dir, features={
        "engine": engine, "spark_master": spark_master, "reference": reference, "reference_days": reference_days,
        "counterfactual": "no_control" if no_control else None, "bootstrap_replicates": replicates,
    })  # fmt: skip
    run_stage(out_dir, "features", cfg, store=store, progress=progress_enabled())
    rf = RunFolder(out_dir)
    info, n = rf.load("features_info"), len(rf.load("features"))
    hi = info.get("cohort_response", {}).get("treatment", {}).get("high", {})
    click.echo(
        f"features: {n} treatment households, reference {info['reference']}, "
        f"cohort High response {hi.get('pct', float('nan')):.2f}% "
        f"[{hi.get('ci_low', float('nan')):.2f}, {hi.get('ci_high', float('nan')):.2f}] -> {out_dir}"
    )
    for line in counterfactual_lines(info):
        click.echo(line)

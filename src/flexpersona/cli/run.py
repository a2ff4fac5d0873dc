"""``flexpersona run`` and ``flexpersona demo``: the whole pipeline."""

from __future__ import annotations

import click

from ..config import load_config
from ..errors import ConfigError
from ..summary import run_summary
from .app import handle_errors, main, progress_enabled


def parse_column_map(items: tuple[str, ...]) -> dict[str, str] | None:
    """``("household_id=meter", "ts=time")`` or ``("household_id=meter,ts=time",)`` → dict."""
    if not items:
        return None
    out: dict[str, str] = {}
    for item in items:
        for pair in item.split(","):
            if "=" not in pair:
                msg = f"--map expects canonical=source pairs such as household_id=meter, got {pair!r}"
                raise ConfigError(msg)
            key, value = (s.strip() for s in pair.split("=", 1))
            if key not in {"household_id", "ts", "kwh", "group"}:
                msg = f"--map: {key!r} is not a canonical column (household_id, ts, kwh, group)"
                raise ConfigError(msg)
            out[key] = value
    return out


def _overrides(engine, spark_master, reference, method, population, reference_days=None, no_control=False):
    sections: dict[str, dict] = {}
    if reference_days:
        sections.setdefault("features", {})["reference_days"] = reference_days
    if no_control:
        sections.setdefault("features", {})["counterfactual"] = "no_control"
    if engine:
        sections.setdefault("features", {})["engine"] = engine
    if spark_master:
        sections.setdefault("features", {})["spark_master"] = spark_master
    if reference:
        sections.setdefault("features", {})["reference"] = reference
    if method:
        sections.setdefault("personas", {})["method"] = method
    if population:
        sections.setdefault("toolkit", {})["population"] = population
    return sections


STAGE_CHOICE = click.Choice(["ingest", "features", "eda", "personas", "explain", "toolkit", "report"])


@main.command("run")
@click.argument("inputs", nargs=-1, type=click.Path(exists=True))
@click.option("--out", "out", required=True, type=click.Path(file_okay=False), help="Run folder.")
@click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False), help="TOML config.")
@click.option("--layout", type=click.Choice(["datastore", "kaggle", "day48", "ukds", "generic"]), help="Force a layout.")
@click.option("--map", "column_map", multiple=True, help="Generic layout: household_id=meter,ts=time,kwh=value.")
@click.option("--tariff", type=click.Path(exists=True), help="Tariff schedule (Tariffs.xlsx, CSV copy, tariff_d.csv).")
@click.option("--households", type=click.Path(exists=True), help="Households file (group, Acorn).")
@click.option("--survey", type=click.Path(exists=True), help="UKDS survey_answers.csv.")
@click.option("--daily", multiple=True, type=click.Path(exists=True), help="Kaggle daily_dataset file or folder.")
@click.option("--weather", type=click.Path(exists=True), help="Hourly weather (Kaggle weather_hourly_darksky.csv).")
@click.option("--from", "start", type=STAGE_CHOICE, help="First stage to run.")
@click.option("--to", "stop", type=STAGE_CHOICE, help="Last stage to run.")
@click.option("--force", is_flag=True, help="Run stages even when their inputs are unchanged.")
@click.option("--engine", type=click.Choice(["duckdb", "spark"]), help="Engine of the feature stage.")
@click.option("--spark-master", help="Spark master URL (e.g. local[2], spark://host:7077).")
@click.option("--reference", type=click.Choice(["auto", "baseline", "within_trial"]), help="Counterfactual reference.")
@click.option("--reference-days", type=click.Choice(["event_free", "all"]),
              help="Days lending the within-trial reference: all days (default) or days without any event.")
@click.option("--no-control", "no_control", is_flag=True,
              help="No control group: each household's baseline model on non-event days (auto without controls).")
@click.option("--method", type=click.Choice(["default", "seed"]), help="Persona method.")
@click.option("--population", type=int, help="Customers to scale the toolkit's MW to.")
@click.option("--strict", is_flag=True, help="Stop at the first rejected readings row, naming its file and line "
              "(default: reject it, count it in the ledger and read on).")
@handle_errors
def run_cmd(inputs, out, config_file, layout, column_map, tariff, households, survey, daily, weather, start, stop,
            force, engine, spark_master, reference, reference_days, no_control, method, population, strict):
    """Run every stage (ingest → features → eda → personas → explain → toolkit → report).

    \b
    Example (the real London data fragments):
      flexpersona run ../shared/data/lcl/hh2013 \\
          --tariff ../shared/data/lcl/tariffs/Tariffs.xlsx \\
          --households ../shared/data/lcl/households/informations_households.csv \\
          --daily ../shared/data/lcl/kaggle_daily --out runs/lcl
    Without a control group (an opt-in tariff; or --no-control):
      flexpersona run ../shared/data/lcl/hh2013/block13{5,6,7}sep.csv \\
          --tariff ../shared/data/lcl/tariffs/Tariffs.xlsx \\
          --weather ../shared/data/lcl/weather/weather_hourly_darksky.csv --out runs/tou
    A re-run re-uses finished stages whose inputs and config are unchanged.
    """
    from ..pipeline import run

    cfg = load_config(config_file)
    sections = _overrides(engine, spark_master, reference, method, population, reference_days, no_control)
    if strict:
        sections.setdefault("data", {})["strict"] = True
    if sections:
        cfg = cfg.replace(**sections)
    result = run(
        list(inputs), out, config=cfg, layout=layout, tariff=tariff, households=households, survey=survey,
        daily=list(daily), column_map=parse_column_map(column_map), start=start, stop=stop, force=force,
        progress=progress_enabled(), weather=weather,
    )
    click.echo(f"ran: {', '.join(result.ran) or '-'}; re-used: {', '.join(result.reused) or '-'}")
    for line in run_summary(result.run_dir):
        click.echo(line)


@main.command("demo")
@click.option("--out", "out", default="demo-run", show_default=True, type=click.Path(file_okay=False))
@click.option("--treatment", default=200, show_default=True, help="Treatment households to simulate.")
@click.option("--control", default=400, show_default=True, help="Control households to simulate.")
@click.option("--seed", default=7, show_default=True)
@handle_errors
def demo_cmd(out, treatment, control, seed):
    """Simulate a trial with planted, recoverable personas (UK Data Service layout, with survey) and run every
    stage; the report compares what was recovered with what was planted.

    \b
    Example:
      flexpersona demo --out demo-run && open demo-run/report.html
    """
    from ..demo import demo_statement, run_demo

    result = run_demo(out, n_treatment=treatment, n_control=control, seed=seed, progress=progress_enabled())
    click.echo(demo_statement())
    for line in run_summary(result.run_dir):
        click.echo(line)

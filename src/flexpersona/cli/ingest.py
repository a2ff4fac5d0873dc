"""``flexpersona ingest`` (inputs in any supported layout -> store) and ``flexpersona quality`` (ledger summary)."""

from __future__ import annotations

import click

from ..config import load_config
from .app import handle_errors, main, progress_enabled


@main.command("ingest")
@click.argument("inputs", nargs=-1, required=True, type=click.Path())
@click.option("--store", "store", required=True, type=click.Path(file_okay=False), help="Store folder to fill.")
@click.option("--layout", type=click.Choice(["datastore", "kaggle", "day48", "ukds", "generic"]),
              help="Force the readings layout (default: detected from names and headers).")
@click.option("--map", "column_map", help="Generic layout column map: household_id=COL,ts=COL,kwh=COL[,group=COL].")
@click.option("--tariff", type=click.Path(), help="Tariff schedule: Tariffs.xlsx, its CSV copy, or tariff_d.csv.")
@click.option("--households", multiple=True, type=click.Path(), help="Households file (group, Acorn); repeatable.")
@click.option("--survey", type=click.Path(), help="UK Data Service survey_answers.csv.")
@click.option("--daily", multiple=True, type=click.Path(), help="Kaggle daily_dataset file or folder; repeatable.")
@click.option("--weather", type=click.Path(), help="Hourly weather (Kaggle weather_hourly_darksky.csv: time, temperature).")
@click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False), help="TOML config.")
@click.option("--strict", is_flag=True,
              help="Stop at the first rejected row (blank line, missing/extra field, cut last line, bad value), "
                   "naming its file and line; default: reject it, count it in the ledger and read on.")
@handle_errors
def ingest_cmd(inputs, store, layout, column_map, tariff, households, survey, daily, weather, config_file,
               strict):
    """Read INPUT files, folders or .zip archives into a Parquet store and build the quality ledger.

    Layouts: London Datastore long CSV, Kaggle halfhourly/hhblock/daily, day x 48 wide, UK Data Service
    consumption_d/n.csv, or any long CSV/Parquet with --map; .csv.gz files are read as streams. A bad row
    (blank line, missing or extra field, cut last line) is rejected with its file and line in the store's
    issues table, and the rest is read (--strict: an error). Unchanged inputs are not re-read.

    \b
    Example:
      flexpersona ingest data/hh2013 --households data/informations_households.csv \\
          --tariff data/Tariffs.xlsx --store run1/store
      flexpersona ingest meters.parquet --map household_id=meter,ts=time,kwh=value \\
          --households groups.csv --store s2
      flexpersona ingest data/hh2013 --tariff data/Tariffs.xlsx \
          --weather data/weather_hourly_darksky.csv --store run3/store
      flexpersona ingest LCL-June2015v2_0.csv.gz --store s3 --strict
    """
    from ..io import ingest

    rep = ingest(list(inputs), store, layout=layout, tariff=tariff, households=list(households) or None,
                 survey=survey, daily=list(daily) or None, column_map=column_map, config=load_config(config_file),
                 progress=progress_enabled(), weather=weather, strict=strict or None)
    if rep.skipped:
        click.echo(f"inputs unchanged since the last ingest into {rep.store}; nothing re-read")
    for lay, a in rep.accounting.items():
        rej = ", ".join(f"{k} {v:,}" for k, v in a["rejected_by_reason"].items()) or "none"
        click.echo(f"{lay}: {a['read']:,} {a['unit']} read = {a['kept']:,} kept + {a['rejected']:,} rejected ({rej})")
    if any(r != "duplicate_timestamp" for a in rep.accounting.values() for r in a["rejected_by_reason"]):
        click.echo(f"rejected rows: file and line of each in {rep.store}/issues.parquet (--strict makes them errors)")
    groups = ", ".join(f"{k} {v}" for k, v in sorted(rep.households_per_group.items()))
    kept = ", ".join(f"{k} {v}" for k, v in sorted(rep.kept_per_group.items()))
    click.echo(f"households: {groups}; kept: {kept or 'none'}")
    if rep.excluded_by_reason:
        click.echo("excluded: " + ", ".join(f"{k} {v}" for k, v in sorted(rep.excluded_by_reason.items())))
    if rep.tariff_filled_normal:
        click.echo(f"tariff: {rep.tariff_filled_normal} trial-year half-hours missing, stored as Normal")
    click.echo(f"store: {rep.store} ({rep.n_values:,} values, {rep.seconds:.1f} s)")


@main.command("quality")
@click.argument("store", type=click.Path(exists=True, file_okay=False))
@handle_errors
def quality_cmd(store):
    """Print the quality ledger of an ingest STORE: households per group, status and reason.

    \b
    Example:
      flexpersona quality run1/store
    """
    from ..quality import summarize_store

    table = summarize_store(store)
    click.echo(table.to_string(index=False))

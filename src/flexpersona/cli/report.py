"""``flexpersona toolkit`` and ``flexpersona report``: the toolkit and the HTML report of a run folder."""

from __future__ import annotations

from pathlib import Path

import click

from ..config import Config, resolve_config
from .app import handle_errors, main


def run_config(run: Path, config_file: str | None) -> Config:
    """The --config file, else the run's own config (``manifest.json``), else the defaults."""
    return resolve_config(config_file, run_dir=run)


@main.command("toolkit")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--population", type=click.IntRange(min=1), help="Customers to scale the MW figures to.")
@click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False),
              help="TOML config (default: the config in RUN/manifest.json).")
@handle_errors
def toolkit_cmd(run_dir, population, config_file):
    """Levers per persona, kW per 1,000 households at High price, MW at scale, targets and Qini.

    Writes toolkit.json, toolkit.md, targets.csv and qini.csv into the run folder.

    \b
    Example:
      flexpersona toolkit demo-run --population 2500000
    """
    from ..pipeline import run_stage
    from ..runfolder import RunFolder

    run_stage(run_dir, "toolkit", resolve_config(config_file, run_dir=run_dir, toolkit={"population": population}))
    tk = RunFolder(run_dir).load("toolkit")
    t = tk["total"]
    click.echo(
        f"{len(tk['personas'])} persona(s); {t['kw_per_1000']:.1f} kW cut per 1,000 households at High; "
        f"{t['mw_at_population']:.2f} MW at {tk['population']:,} customers -> {Path(run_dir) / 'toolkit.md'}"
    )


@main.command("report")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False),
              help="TOML config (default: the config in RUN/manifest.json).")
@handle_errors
def report_cmd(run_dir, config_file):
    """Write report.html (self-contained, offline) and figures/*.png|svg for a run folder.

    \b
    Example:
      flexpersona report demo-run && xdg-open demo-run/report.html
    """
    from ..report import write_report

    path = write_report(run_dir, run_config(Path(run_dir), config_file))
    click.echo(f"report: {path}")

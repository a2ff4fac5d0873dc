"""``flexpersona eda RUN``: the exploration section's tables and figures from a finished run."""

from __future__ import annotations

from pathlib import Path

import click

from ..config import resolve_config
from .app import handle_errors, main


@main.command("eda")
@click.argument("run", type=click.Path(exists=True, file_okay=False))
@click.option("--correlation", type=click.Choice(["spearman", "pearson"]),
              help="Correlation of the heatmaps (default: the run's config, spearman).")
@click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False),
              help="TOML config (default: the config in RUN/manifest.json).")
@handle_errors
def eda_cmd(run, correlation, config_file):
    """Explore a finished run's features: summary statistics, distributions, correlations,
    hypothesis views, responder comparisons and the performance-potential matrix.

    Reads RUN/features.parquet; writes RUN/eda/*.csv, RUN/eda/summary.json and
    RUN/figures/eda_<name>.png/.svg.

    \b
    Example:
      flexpersona eda runs/lcl --correlation pearson
    """
    from ..eda import explore_run

    run_dir = Path(run)
    result = explore_run(run_dir, resolve_config(config_file, run_dir=run_dir, report={"correlation": correlation}))
    click.echo(f"eda: {len(result.tables)} tables and {len(result.figures)} figures written to {run_dir}")
    for name, why in result.summary.get("skipped", {}).items():
        click.echo(f"  skipped {name}: {why}")

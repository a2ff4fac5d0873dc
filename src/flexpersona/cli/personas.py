"""``flexpersona personas RUN``: the personas stage on an existing run folder."""

from __future__ import annotations

import click

from ..config import resolve_config
from .app import handle_errors, main


@main.command("personas")
@click.argument("run_dir", metavar="RUN", type=click.Path(exists=True, file_okay=False))
@click.option("--method", type=click.Choice(["default", "seed"]), default=None,
              help="default: time-matched responses with existence and stability tests; seed: the original study.")
@click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False),
              help="TOML config (default: the config in RUN/manifest.json).")
@handle_errors
def personas_command(run_dir: str, method: str | None, config_file: str | None) -> None:
    """Cluster the treatment households of RUN into personas of demand flexibility.

    Reads RUN/features.parquet and writes personas.parquet (+.csv), persona_profiles.csv, selection.csv,
    stability.json, persona_pca.csv, persona_matrix.csv, persona_model.pkl, validation.json and
    persistence.csv/.json into RUN.

    \b
    Example:
      flexpersona personas run1
      flexpersona personas run1 --method seed --config flex.toml
    """
    from ..pipeline import run_stage
    from ..runfolder import RunFolder

    run_stage(run_dir, "personas", resolve_config(config_file, run_dir=run_dir, personas={"method": method}))
    click.echo(RunFolder(run_dir).load("stability").get("message", ""))

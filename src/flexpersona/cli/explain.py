"""``flexpersona explain RUN``: stage 2 (explanation of personas) on an existing run folder."""

from __future__ import annotations

from pathlib import Path

import click

from .app import handle_errors, main


@main.command("explain")
@click.argument("run_dir", metavar="RUN", type=click.Path(exists=True, file_okay=False))
@click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False),
              help="TOML config (default: the config in RUN/manifest.json).")
@handle_errors
def explain_cmd(run_dir: str, config_file: str | None) -> None:
    """Explain the personas of RUN with pre-trial variables (lifestyle, Acorn, survey).

    Reads RUN/personas.parquet, RUN/lifestyle.parquet (else the lifestyle columns of RUN/features.parquet),
    RUN/store/households.parquet and RUN/store/survey.parquet when present; writes RUN/explain/*.csv (tests
    with q-values and effect sizes, model comparison against baselines, importances, logit odds ratios,
    barriers, motivations, strategic map, survey coverage) and RUN/explain/summary.json.

    \b
    Example:
      flexpersona explain demo-run
      flexpersona explain run1 --config flex.toml
    """
    from ..config import resolve_config
    from ..pipeline import run_stage
    from ..runfolder import RunFolder

    run_stage(run_dir, "explain", resolve_config(config_file, run_dir=run_dir))
    s = RunFolder(run_dir).load("explain_summary")
    click.echo(s["survey_statement"])
    click.echo(s["tests_statement"])
    click.echo(s["prediction_statement"])
    click.echo(f"tables -> {Path(run_dir) / 'explain'}")

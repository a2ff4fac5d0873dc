"""``flexpersona score RUN DATA --out FILE``: score a customer book with a run's saved targeting model."""

from __future__ import annotations

import json

import click

from .app import handle_errors, main


@main.command("score")
@click.argument("run", type=click.Path(exists=True, file_okay=False))
@click.argument("data", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False),
              help="Scores CSV to write; FILE's <stem>_summary.json and <stem>_issues.csv go next to it.")
@click.option("--households", type=click.Path(exists=True, dir_okay=False),
              help="Households file with Acorn groups (the model's Acorn predictors; default: unknown).")
@click.option("--layout", type=click.Choice(["datastore", "kaggle", "day48", "ukds", "generic"]),
              help="Force the readings layout (default: detected).")
@click.option("--map", "column_map", multiple=True, help="Generic layout: household_id=meter,ts=time,kwh=value.")
@click.option("--engine", type=click.Choice(["duckdb", "spark"]), help="Feature engine (default: the run's).")
@click.option("--top", "top_n", type=int, multiple=True, help="Enrol the top N households (repeatable).")
@click.option("--top-share", "top_share", type=float, multiple=True,
              help="Enrol the top PCT % of the scored households (repeatable; default 10, 25, 50, 100).")
@click.option("--strict/--no-strict", default=None, help="Any rejected row is an error (default: the run's config).")
@handle_errors
def score_cmd(run, data, out, households, layout, column_map, engine, top_n, top_share, strict):
    """Score households that were never in the trial with RUN's saved targeting model.

    Reads half-hourly readings of any households (any supported layout; no tariff or group needed), computes
    the run's pre-trial features with the same engine and writes one row per household: predicted High
    response (kW, %) with a 95% interval, probability of being a responder, lever, do-no-harm flag, rank, and
    a reason when the data are too short to score. Prints the summary: expected MW if the top N or top x %
    are enrolled, with intervals.

    \b
    Example:
      flexpersona score runs/lcl new_customers/ --out scores.csv --top 500 --top-share 10
    """
    from ..toolkit.score import DEFAULT_TOP_SHARES, score, summary_path
    from .run import parse_column_map

    res = score(run, list(data), households=households, layout=layout, column_map=parse_column_map(column_map),
                engine=engine,
                strict=strict, top_n=top_n, top_share=top_share or DEFAULT_TOP_SHARES)
    res.write(out)
    click.echo(json.dumps(res.summary["enrolment"], indent=2))
    s = res.summary
    click.echo(f"score: {s['n_scored']} households scored, {s['n_not_scored']} not scored (too short), "
               f"{s['n_issue_rows']} input rows rejected; wrote {out} and {summary_path(out)}")

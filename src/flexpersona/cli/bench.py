"""``flexpersona bench``: the scale benchmark (issue 7)."""

from __future__ import annotations

import click

from .app import handle_errors, main


@main.command("bench")
@click.option("--scale", default=0.1, show_default=True, help="Fraction of LCL size (1 = 5,567 households).")
@click.option("--out", default="bench-out", show_default=True, type=click.Path(file_okay=False))
@click.option("--seed", default=1, show_default=True)
@click.option("--engine", type=click.Choice(["duckdb", "spark"]), default="duckdb", show_default=True,
              help="Feature engine of the timed runs (the floor is always DuckDB).")
@click.option("--spark-master", help="Spark master URL for --engine spark (default: the config's, local[2]).")
@handle_errors
def bench_cmd(scale, out, seed, engine, spark_master):
    """Time a complete run against the DuckDB floor on a simulated London Datastore trial.

    \b
    Example:
      flexpersona bench --scale 0.1     # 557 households, ~1 GB of CSV
      flexpersona bench --scale 1       # full LCL size, ~10 GB of CSV
      flexpersona bench --scale 0.1 --engine spark    # the feature stage on Spark (local[2])
    Prints the floor (DuckDB read_csv + the seed's group-by), the complete run, their ratio, the peak RSS of
    each (the whole process tree: Spark's JVM included) and the time of re-runs from the store.
    """
    from ..bench import run_benchmark

    r = run_benchmark(out, scale=scale, seed=seed, engine=engine, spark_master=spark_master)
    click.echo(f"trial: {r['households']} households, {r['csv_gb']} GB CSV (generated in {r['generate_seconds']} s)")
    master = f" ({r['spark_master']})" if r.get("spark_master") else ""
    click.echo(f"engine of the runs: {r['engine']}{master}; the floor is DuckDB")
    click.echo(f"(a) floor  DuckDB read_csv + group-by : {r['floor']['seconds']:8.1f} s  peak RSS {r['floor']['peak_rss_mb']:7.0f} MB")
    click.echo(f"(b) complete flexpersona run          : {r['run']['seconds']:8.1f} s  peak RSS {r['run']['peak_rss_mb']:7.0f} MB")
    click.echo(f"    ratio b/a                         : {r['ratio_run_to_floor']}")
    if r.get("stage_seconds_run"):
        click.echo("    stages: " + ", ".join(f"{k} {v} s" for k, v in r["stage_seconds_run"].items()))
    click.echo(f"(c) re-run, inputs unchanged          : {r['rerun_unchanged']['seconds']:8.1f} s")
    click.echo(f"(d) re-run from the store (features→) : {r['rerun_from_store']['seconds']:8.1f} s  peak RSS {r['rerun_from_store']['peak_rss_mb']:7.0f} MB")
    click.echo(f"    ratio d/a                         : {r.get('ratio_rerun_from_store_to_floor')}")
    if r.get("stage_seconds"):
        click.echo("    stages: " + ", ".join(f"{k} {v} s" for k, v in r["stage_seconds"].items()))

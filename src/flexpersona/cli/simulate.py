"""``flexpersona simulate``: write a simulated trial with planted truth in a real LCL layout."""

from __future__ import annotations

import click

from .app import handle_errors, main


@main.command("simulate")
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--treatment", default=120, show_default=True, help="Treatment (dToU) households.")
@click.option("--control", default=120, show_default=True, help="Control (flat tariff) households.")
@click.option("--seed", default=0, show_default=True, help="Random seed (same seed, same files).")
@click.option(
    "--layout",
    type=click.Choice(["datastore", "kaggle", "day48", "ukds"]),
    default="datastore",
    show_default=True,
    help="File layout to write.",
)
@click.option("--schedule", type=click.Path(dir_okay=False), default=None,
              help="dToU schedule file (Tariffs.xlsx / .csv); default a generated one like 2013's.")
@click.option("--personas", type=click.Choice(["four", "three", "none", "continuum"]), default="four",
              show_default=True,
              help="Planted personas (four or three types), or one response distribution (normal or heavy-tailed).")
@click.option("--start", default=None, help="First simulated day, e.g. 2011-12-01 (default 1 Jan of 2012).")
@click.option("--end", default=None, help="Last simulated day, e.g. 2014-02-28 (default 31 Dec 2013).")
@click.option("--chunk", default=250, show_default=True, help="Households generated at a time (memory).")
@click.option("--noise-scale", default=1.0, show_default=True,
              help="Household noise factor (about 1.6 gives real LCL's 5-6 pp response standard errors).")
@click.option("--spillover", type=float, default=0.0, show_default=True,
              help="Event-day spillover [%]: treatment load in the Normal half-hours of event days (-3 = conserve 3%).")
@click.option("--common-shock", type=float, default=None,
              help="SD of the day-level shock common to all households [%] (default about 7.7; 0 = none).")
@click.option("--event-day-shock", type=float, default=0.0, show_default=True,
              help="Common shock on event days [%] for every household (events called on cold days).")
@handle_errors
def simulate_cmd(out, treatment, control, seed, layout, schedule, personas, start, end, chunk, noise_scale, spillover,
                 common_shock, event_day_shock):
    """Simulate a dynamic-pricing trial with planted personas and write it in a real layout.

    Writes the layout's files plus truth.csv (household_id, group, persona, high_effect_pct,
    low_effect_pct, ...), households.csv, weather_hourly_darksky.csv (simulated hourly temperature) and,
    except for ukds, Tariffs.csv. Deterministic by --seed.

    \b
    Example:
      flexpersona simulate trial --treatment 120 --control 120 --seed 1 --layout ukds
      flexpersona simulate big --treatment 1123 --control 4444 --layout datastore \\
          --start 2011-12-01 --end 2014-02-28
      flexpersona simulate spill --start 2013-01-01 --spillover -3 --event-day-shock 2
    """
    from ..simulate import simulate_to

    truth = simulate_to(out, layout, treatment, control, seed=seed, start=start, end=end,
                        chunk_households=chunk, schedule=schedule, personas=personas, noise_scale=noise_scale,
                        spillover_pct=spillover, common_shock_pct=common_shock, event_day_shock_pct=event_day_shock)
    click.echo(f"wrote {len(truth)} households ({layout} layout) to {out}")

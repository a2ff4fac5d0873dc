"""``flexpersona design``: a power analysis of the next trial (the design model, optionally checked by simulation)."""

from __future__ import annotations

import click

from .app import handle_errors, main


def _ints(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        values = [int(v) for v in text.replace(" ", "").split(",") if v]
    except ValueError as exc:
        raise click.BadParameter(f"{text!r}: give comma-separated whole numbers, e.g. 250,500,1000") from exc
    if not values or min(values) <= 0:
        raise click.BadParameter(f"{text!r}: give positive whole numbers, e.g. 250,500,1000")
    return values


@main.command("design")
@click.option("--calibrate", "run", type=click.Path(exists=True, file_okay=False),
              help="A finished run folder to calibrate on (default: numbers measured on the LCL 2013 trial).")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("--treatment", "n_treatment", help="Treatment sizes, comma-separated (default 100,250,500,1000,2000).")
@click.option("--control", "n_control", help="Control sizes, comma-separated (default: the same as --treatment).")
@click.option("--events", "n_events", help="High event counts, comma-separated (default 20,35,69,140).")
@click.option("--separation", type=float, default=10.0, show_default=True,
              help="Separation of the two planted personas of the recovery column [pp].")
@click.option("--simulate", type=click.IntRange(min=0), default=0, show_default=True,
              help="Replicates of the simulation check (each ≈ 40 s on an idle core, about 2 min on a busy machine: "
                   "three small simulated trials through the features stage; measurements cached in OUT/cache).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the simulated trials.")
@handle_errors
def design_cmd(run, out, n_treatment, n_control, n_events, separation, simulate, seed):
    """Design the next trial: for a grid of treatment/control sizes and High event counts, the expected cohort
    interval half-width (pp and kW per 1,000 households), household SE and reliability, prevalence interval
    width and the chance of recovering two personas SEPARATION pp apart.

    Writes OUT/design.csv, OUT/design.png/.svg, OUT/design.html and OUT/calibration.json. With --calibrate the
    grid includes the run's own sizes and event count. Formulas and measured checks: docs/design.md.

    \b
    Example:
      flexpersona design --calibrate runs/lcl --out design --treatment 250,500,1000 --events 35,69,140
    """
    from ..trialdesign import DESIGN_COLUMNS, design, save_design
    from ..trialdesign.model import DEFAULT_EVENTS, DEFAULT_SIZES

    result = design(
        run, n_treatment=_ints(n_treatment) or DEFAULT_SIZES, n_control=_ints(n_control),
        n_events=_ints(n_events) or DEFAULT_EVENTS, separation=separation, simulate=simulate, seed=seed,
        cache=None if not simulate else f"{out}/cache",
    )  # fmt: skip
    paths = save_design(result, out)
    own = result.own_point()
    click.echo(f"design: {len(result.table)} rows ({', '.join(DESIGN_COLUMNS[:3])} ...) -> {paths['csv']}")
    click.echo(f"  calibration: {result.calibration.source}")
    click.echo(f"  at {own['n_treatment']} + {own['n_control']} households, {own['n_events']} High events: cohort "
               f"±{own['cohort_ci_halfwidth_pp']:.2f} pp (±{own['cohort_ci_halfwidth_kw_per_1000']:.1f} kW per 1,000), "
               f"household SE {own['household_se_pp']:.2f} pp")
    click.echo(f"  page: {paths['html']}")

"""The embedded default: simulate a trial with planted truth, then run every stage on it.

The demo trial is built to be both *realistic* and *recoverable*:

- realistic in shape and noise: most households barely respond (55% inert), a minority cut their load at High
  prices (25% by about 30%, 12% by 60% while loading up at Low prices), a few do the opposite (8%); the median
  household's estimated High response is about -3 to -5% (real LCL 2013: -4.0%); the household noise is scaled
  by :data:`DEMO_NOISE_SCALE` so that a household's bootstrap standard error is about 5 pp (4.7 pp), as on
  real LCL data (the sd of estimate - planted is then 5-6 pp);
- recoverable: the nearest planted persona centres are 30 pp apart, about five times that noise, so the
  personas found match the planted ones (persona ARI 0.98 on the default seed 7; 0.87-0.94 on seeds 7-9 with
  the previous persona assignment). The simulator's default
  personas are only 10 pp apart, about two noise sd: its own noise merges them. The price of recoverability
  is a cohort mean larger than the real one (about -12% against -6.1%).

The run's report then has a "Planted vs recovered" section, because the input folder holds ``truth.csv``.
"""

from __future__ import annotations

from pathlib import Path

from .config import Config
from .pipeline import RunResult, run

#: Planted persona centres (High %, Low %) of the demo trial.
DEMO_CENTRES = {
    "engaged_shifter": (-60.0, 40.0),
    "moderate_reducer": (-30.0, 0.0),
    "inert": (0.0, 0.0),
    "contrarian": (30.0, -20.0),
}
#: Planted persona shares among treatment households.
DEMO_SHARES = {"engaged_shifter": 0.12, "moderate_reducer": 0.25, "inert": 0.55, "contrarian": 0.08}
#: Household noise factor of the simulator (:func:`flexpersona.simulate.simulate_trial` ``noise_scale``, the
#: half-hourly noise): median bootstrap SE of a household's High response 4.7 pp (1.0 gives ~4 pp).
DEMO_NOISE_SCALE = 1.4


def demo_statement() -> str:
    """One paragraph saying what the demo plants and why it can be recovered."""
    parts = ", ".join(f"{k.replace('_', ' ')} {100 * DEMO_SHARES[k]:.0f}% at High {h:+.0f}% / Low {lo:+.0f}%"
                      for k, (h, lo) in DEMO_CENTRES.items())
    return (
        f"Simulated trial with planted personas ({parts}). Household noise as on real LCL data (standard error "
        "of a household's response ~5 pp); the nearest centres are 30 pp apart, about five times the error of "
        "a household's estimate, so the personas are recoverable; the report's 'Planted vs recovered' section "
        "checks it against truth.csv."
    )


def run_demo(
    out: str | Path,
    *,
    n_treatment: int = 200,
    n_control: int = 400,
    seed: int = 7,
    config: Config | None = None,
    progress: bool = False,
) -> RunResult:
    """Simulate a UK Data Service layout trial (with survey) into ``out/input`` and run the pipeline into ``out``.

    The personas are :data:`DEMO_CENTRES` with :data:`DEMO_SHARES` and noise :data:`DEMO_NOISE_SCALE` (see the
    module docstring). The simulated
    trial is re-used when it already exists with the same size, seed and personas.
    """
    from .simulate import simulate_trial, write_trial
    from .store import read_json, write_json

    out = Path(out)
    data = out / "input"
    spec = {"n_treatment": n_treatment, "n_control": n_control, "seed": seed, "layout": "ukds",
            "persona_centres": {k: list(v) for k, v in DEMO_CENTRES.items()}, "persona_shares": DEMO_SHARES,
            "noise_scale": DEMO_NOISE_SCALE}
    spec_path = out / "demo_spec.json"
    if not (spec_path.exists() and read_json(spec_path) == spec and (data / "truth.csv").exists()):
        trial = simulate_trial(n_treatment, n_control, seed=seed, personas="four", predictable=True,
                               persona_centres=DEMO_CENTRES, persona_shares=DEMO_SHARES,
                               noise_scale=DEMO_NOISE_SCALE)
        write_trial(trial, data, "ukds")
        write_json(spec, spec_path)
    return run([data], out, config=config, progress=progress)

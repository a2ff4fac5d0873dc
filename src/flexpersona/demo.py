"""The embedded default: simulate a trial with planted truth, then run every stage on it."""

from __future__ import annotations

from pathlib import Path

from .config import Config
from .pipeline import RunResult, run


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

    The simulated trial is re-used when it already exists with the same size and seed.
    """
    from .simulate import simulate_trial, write_trial
    from .store import read_json, write_json

    out = Path(out)
    data = out / "input"
    spec = {"n_treatment": n_treatment, "n_control": n_control, "seed": seed, "layout": "ukds"}
    spec_path = out / "demo_spec.json"
    if not (spec_path.exists() and read_json(spec_path) == spec):
        trial = simulate_trial(n_treatment, n_control, seed=seed, personas="four", predictable=True)
        write_trial(trial, data, "ukds")
        write_json(spec, spec_path)
    return run([data], out, config=config, progress=progress)

"""Trial simulator with planted truth: realistic half-hourly load, a dToU schedule, planted personas with
per-household High and Low responses, a survey, missing values and late joiners, written in the real LCL
layouts.

>>> from flexpersona.simulate import simulate_trial
>>> trial = simulate_trial(4, 4, seed=0, start="2012-12-30", end="2013-01-02")
>>> list(trial.readings.columns)
['household_id', 'ts', 'kwh']
"""

from __future__ import annotations

from .schedule import generate_schedule, schedule_runs
from .trial import SimulatedTrial, plan_trial, planted_cohort_response, simulate_trial

__all__ = ["SimulatedTrial", "generate_schedule", "plan_trial", "planted_cohort_response", "schedule_runs",
           "simulate_trial"]

from .writers import LAYOUTS, simulate_to, ukds_ids, write_trial

__all__ += ["LAYOUTS", "simulate_to", "ukds_ids", "write_trial"]

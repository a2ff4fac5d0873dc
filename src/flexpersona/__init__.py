"""flexpersona: behavioural personas of demand flexibility from half-hourly smart-meter trials.

The library works on tables in memory; the CLI (``flexpersona run ...``) is a thin layer over it::

    import flexpersona as fp
    trial = fp.simulate_trial(n_treatment=120, n_control=240, seed=1)
    feats = fp.compute_features(trial.readings, trial.households, trial.tariff)
    personas = fp.build_personas(feats)
    explain = fp.explain_personas(personas, feats, trial.households, trial.survey)
    toolkit = fp.build_toolkit(feats, personas, explain)
    fp.save_run("run", feats, personas, explain, toolkit)
    fp.write_report("run")

See ``docs/api.md``. Heavy stages are imported on first use, so ``import flexpersona`` stays quick.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from ._version import __version__
from .config import Config, load_config, resolve_config
from .errors import ConfigError, ContractError, FlexPersonaError, InputError, QualityIssue, StageError

#: Public name -> module that defines it (imported on first access).
_LAZY = {
    "read_readings": "flexpersona.io",
    "read_households": "flexpersona.io",
    "read_tariff": "flexpersona.io",
    "read_survey": "flexpersona.io",
    "ingest": "flexpersona.io",
    "simulate_trial": "flexpersona.simulate",
    "compute_features": "flexpersona.features",
    "build_personas": "flexpersona.personas",
    "explain_personas": "flexpersona.explain",
    "build_toolkit": "flexpersona.toolkit",
    "score": "flexpersona.toolkit",
    "explore": "flexpersona.eda",
    "design": "flexpersona.trialdesign",
    "write_report": "flexpersona.report",
    "run": "flexpersona.pipeline",
    "save_run": "flexpersona.runfolder",
    "RunFolder": "flexpersona.runfolder",
    "Store": "flexpersona.store",
    "contracts": "flexpersona.contracts",
}

__all__ = [
    "Config", "ConfigError", "ContractError", "FlexPersonaError", "InputError", "QualityIssue", "StageError",
    "__version__", "load_config", "resolve_config", *_LAZY,
]  # fmt: skip


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module = import_module(_LAZY[name])
        value = module if name == "contracts" else getattr(module, name)
        globals()[name] = value
        return value
    msg = f"module 'flexpersona' has no attribute {name!r}"
    raise AttributeError(msg)


def __dir__() -> list[str]:
    return sorted(__all__)

"""flexpersona: behavioural personas of demand flexibility from half-hourly smart-meter trials.

The Python API mirrors the CLI::

    import flexpersona as fp
    trial = fp.simulate_trial(n_treatment=120, n_control=120, seed=1)
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from .config import Config, load_config
from .errors import ConfigError, FlexPersonaError, InputError, QualityIssue, StageError
from .io import ingest
from .store import Store

try:
    __version__ = version("flexpersona")
except PackageNotFoundError:  # pragma: no cover
    __version__ = "0.0.0"

__all__ = [
    "Config",
    "ConfigError",
    "FlexPersonaError",
    "InputError",
    "QualityIssue",
    "StageError",
    "Store",
    "ingest",
    "load_config",
    "__version__",
]

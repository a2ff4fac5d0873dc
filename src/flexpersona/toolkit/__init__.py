"""The intervention toolkit: lever per persona, expected kW at High price, MW at scale, bills, targets.

The stage lives in :mod:`.stage`; this package re-exports its public names.
"""

from __future__ import annotations

from .model import FORMAT_VERSION, TargetingModel, load_model
from .score import SCORE_COLUMNS, ScoreResult, score
from .stage import (
    ALL,
    LEVERS,
    RULES,
    ToolkitResult,
    build_toolkit,
    fit_targeting,
    qini_area,
    qini_curve,
    read_explain,
    save_toolkit,
    toolkit_for_run,
    toolkit_markdown,
)

__all__ = ["ALL", "FORMAT_VERSION", "LEVERS", "RULES", "SCORE_COLUMNS", "ScoreResult", "TargetingModel", "ToolkitResult", "build_toolkit", "fit_targeting", "load_model", "qini_area", "qini_curve", "read_explain", "save_toolkit", "score", "toolkit_for_run", "toolkit_markdown"]

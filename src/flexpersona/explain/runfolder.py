"""Stage 2 on a run folder: read the inputs the earlier stages left, write ``explain/``.

Writes go through :mod:`flexpersona.store` (atomic); this module only decides what to read and where.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from ..config import Config
from ..errors import StageError
from ..store import Store
from .stage import ExplainResult, explain_personas
from .variables import LIFESTYLE_FEATURES

logger = logging.getLogger(__name__)


def save_explain(result: ExplainResult, run_dir: str | Path) -> Path:
    """Write ``RUN/explain/<table>.csv`` for every table and ``RUN/explain/summary.json`` (last).

    Returns
    -------
    Path
        The ``explain`` folder.
    """
    from ..runfolder import RunFolder

    rf = RunFolder(run_dir)
    rf.save_many(result.artifacts())
    return rf.file("explain")


def load_explain_inputs(
    run_dir: str | Path,
) -> tuple[pd.DataFrame, pd.DataFrame | None, pd.DataFrame | None, pd.DataFrame | None]:
    """Read personas, lifestyle, households and survey (None when absent) from a run folder.

    Lifestyle comes from ``RUN/lifestyle.parquet``, else from the lifestyle columns of
    ``RUN/features.parquet``.
    """
    run = Path(run_dir)
    p_path = run / "personas.parquet"
    if not p_path.exists():
        msg = f"{run} has no personas.parquet; run the personas stage first (flexpersona run ... --to personas)"
        raise StageError(msg)
    personas = pd.read_parquet(p_path)
    lifestyle = None
    if (run / "lifestyle.parquet").exists():
        lifestyle = pd.read_parquet(run / "lifestyle.parquet")
    elif (run / "features.parquet").exists():
        feats = pd.read_parquet(run / "features.parquet")
        keep = ["household_id"] + [c for c in LIFESTYLE_FEATURES if c in feats.columns]
        lifestyle = feats[keep]
        logger.info("lifestyle.parquet absent: lifestyle columns taken from features.parquet")
    store = Store(run / "store")
    households = store.read_optional("households")
    survey = store.read_optional("survey")
    return personas, lifestyle, households, survey


def explain_run(run_dir: str | Path, config: Config | None = None) -> ExplainResult:
    """Run stage 2 on a run folder and write ``RUN/explain/``.

    Parameters
    ----------
    run_dir
        A run folder holding at least ``personas.parquet``.
    config
        Run configuration (defaults when None).
    """
    personas, lifestyle, households, survey = load_explain_inputs(run_dir)
    if lifestyle is None and households is None and survey is None:
        msg = (
            f"{run_dir} has neither lifestyle.parquet, features.parquet, store/households.parquet nor "
            "store/survey.parquet: nothing to explain personas with; run the features stage first"
        )
        raise StageError(msg)
    result = explain_personas(personas, lifestyle, households, survey, config or Config())
    save_explain(result, run_dir)
    return result

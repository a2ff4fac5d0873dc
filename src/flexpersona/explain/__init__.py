"""Stage 2: explain personas with pre-trial variables (METHODS A and B.5).

The stage lives in :mod:`.stage`; this package re-exports its public names.
"""

from __future__ import annotations

from .runfolder import explain_run, load_explain_inputs, save_explain
from .stage import (
    BEAT_RULE,
    TEST_RULE,
    ExplainResult,
    explain_personas,
)

__all__ = ['BEAT_RULE', 'TEST_RULE', 'ExplainResult', 'explain_personas', 'explain_run', 'load_explain_inputs', 'save_explain']

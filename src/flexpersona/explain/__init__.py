"""Stage 2: explain personas with pre-trial variables (METHODS A and B.5).

The stage lives in :mod:`.stage`; this package re-exports its public names.
"""

from __future__ import annotations

from .stage import (
    BEAT_RULE,
    ExplainResult,
    TEST_RULE,
    explain_personas,
)
from .runfolder import explain_run, load_explain_inputs, save_explain

__all__ = ['BEAT_RULE', 'ExplainResult', 'TEST_RULE', 'explain_personas', 'explain_run', 'load_explain_inputs', 'save_explain']

"""Personas of demand flexibility: clustering, selection, existence, stability and naming (METHODS A, B.4).

The stage lives in :mod:`.stage`; this package re-exports its public names.
"""

from __future__ import annotations

from .stage import (
    HALF_ID_COLUMNS,
    NO_STRUCTURE_MESSAGE,
    PERSONA_COLUMNS,
    SEGMENT_MESSAGE,
    PersonaModel,
    PersonaResult,
    build_personas,
    run_personas,
    save_personas,
)

__all__ = ["HALF_ID_COLUMNS", "NO_STRUCTURE_MESSAGE", "PERSONA_COLUMNS", "SEGMENT_MESSAGE", "PersonaModel", "PersonaResult", "build_personas", "run_personas", "save_personas"]

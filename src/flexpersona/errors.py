"""Errors and structured data-quality records.

Structural problems (unreadable file, missing column, unknown layout, undecodable bytes) raise
:class:`InputError`, whose message names the file, the line (and column where known) and the fix.
Row- and household-level problems are never raised: they become :class:`QualityIssue` records in the ledger.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


class FlexPersonaError(Exception):
    """Base class of the errors flexpersona raises on purpose."""


class InputError(FlexPersonaError):
    """A structural problem with an input file.

    Parameters
    ----------
    file
        The file (or ``zip!member``) at fault.
    problem
        What was found.
    fix
        What the user should do.
    line, column
        1-based position where known.
    """

    def __init__(
        self,
        file: str | Path,
        problem: str,
        fix: str,
        *,
        line: int | None = None,
        column: int | str | None = None,
    ) -> None:
        self.file = str(file)
        self.problem = problem
        self.fix = fix
        self.line = line
        self.column = column
        where = self.file
        if line is not None:
            where += f", line {line}"
        if column is not None:
            where += f", column {column}"
        super().__init__(f"{where}: {problem}. Fix: {fix}")


class ConfigError(FlexPersonaError):
    """An invalid option or configuration file."""


class StageError(FlexPersonaError):
    """A stage cannot run with what the run folder holds (e.g. a missing earlier stage)."""


class ContractError(FlexPersonaError):
    """A table breaks its contract (:mod:`flexpersona.contracts`): a missing, unknown or mistyped column."""


@dataclass(frozen=True)
class QualityIssue:
    """One data-quality record (stable ``code``, message, JSON-able detail), as OpenDSM's warnings.

    Codes in use include ``null_value``, ``negative_value``, ``above_cap``, ``duplicate_timestamp``,
    ``unparseable_timestamp``, ``unknown_group``, ``in_both_groups``, ``survey_duplicate``,
    ``unknown_survey_answer``, ``tariff_gap``, ``insufficient_baseline``, ``insufficient_trial``.
    """

    code: str
    message: str
    household_id: str | None = None
    file: str | None = None
    line: int | None = None
    count: int = 1
    data: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

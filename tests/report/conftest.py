"""Fixtures of the report tests: a fabricated run folder and its report (see :mod:`fabricated_run`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fabricated_run import fabricate_run


@pytest.fixture(scope="session")
def fabricated_run(tmp_path_factory) -> Path:
    """A fabricated run folder with survey and persona structure (shared by the report tests; read-only)."""
    return fabricate_run(tmp_path_factory.mktemp("run") / "run")


@pytest.fixture(scope="session")
def written_report(fabricated_run) -> Path:
    """``report.html`` written once for the fabricated run (with figures/)."""
    from flexpersona.report import write_report

    return write_report(fabricated_run)

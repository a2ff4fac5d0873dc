"""What the exploration returns: :class:`EdaResult`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import plotly.graph_objects as go


@dataclass
class EdaResult:
    """What the exploration found.

    Attributes
    ----------
    tables
        Name -> table (written as ``RUN/eda/<name>.csv``).
    figures
        Name -> plotly figure (saved as ``RUN/figures/eda_<name>.png/.svg``).
    captions
        Figure or table name -> caption built from the tables' numbers.
    summary
        JSON-able digest: inputs used, counts, test results, skipped views with reasons.
    """

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    figures: dict[str, go.Figure] = field(default_factory=dict)
    captions: dict[str, str] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)

    def artifacts(self) -> dict[str, Any]:
        """What the stage writes into a run folder by artifact name (:mod:`flexpersona.runfolder`): the summary
        document ``eda_summary`` (the summary, the table and figure names in order, the saved figures' names and
        the captions); the tables and figures go beside it (:func:`~flexpersona.eda.save_eda`)."""
        return {"eda_summary": {**self.summary, "tables": list(self.tables), "figures": list(self.figures),
                                "figures_saved": [f"eda_{name}" for name in self.figures], "captions": self.captions}}

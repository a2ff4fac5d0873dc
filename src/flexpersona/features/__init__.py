"""Stage 1: features of demand flexibility (METHODS A and B.1-B.3), on DuckDB (default) or Spark.

The stage lives in :mod:`.stage`; this package re-exports its public names.
"""

from __future__ import annotations

from .stage import (
    LIFESTYLE_COLUMNS,
    POSTERIOR_COLUMNS,
    RESPONSE_COLUMNS,
    SEED_COLUMNS,
    FeatureResult,
    compute_features,
    save_features,
)

__all__ = ["LIFESTYLE_COLUMNS", "POSTERIOR_COLUMNS", "RESPONSE_COLUMNS", "SEED_COLUMNS", "FeatureResult", "compute_features", "save_features"]

"""Readers for every real LCL layout and the ingest into the Parquet store.

``ingest`` detects each input's layout (London Datastore, Kaggle, day x 48, UK Data Service, generic),
maps it onto the canonical tables of :mod:`flexpersona.schema` and builds the quality ledger. The side-file
readers are usable alone.
"""

from __future__ import annotations

from .dates import DateFormat, infer_datetime_format
from .households import read_households
from .ingest import IngestReport, ingest
from .kaggle import read_daily
from .survey import read_survey
from .tariff import read_tariff
from .weather import read_weather

__all__ = [
    "DateFormat",
    "IngestReport",
    "infer_datetime_format",
    "ingest",
    "read_daily",
    "read_households",
    "read_survey",
    "read_tariff",
    "read_weather",
]

"""Readers for every real LCL layout and the ingest into the Parquet store.

Each readings layout declares its columns once (a :class:`~flexpersona.io.spec.LayoutSpec` in its module:
:mod:`.datastore`, :mod:`.kaggle`, :mod:`.day48`, :mod:`.ukds`, :mod:`.generic`); the row rules live in
:mod:`.rejects`. ``read_readings`` returns readings as a canonical DataFrame; ``ingest`` reads the same way
into the store and builds the quality ledger. The side-file readers are usable alone.
"""

from __future__ import annotations

from .dates import DateFormat, infer_datetime_format
from .households import read_households
from .ingest import IngestReport, ingest
from .kaggle import read_daily
from .readings import read_readings
from .spec import Columns, LayoutSpec
from .survey import read_survey
from .tariff import read_tariff
from .weather import read_weather

__all__ = [
    "Columns",
    "DateFormat",
    "IngestReport",
    "LayoutSpec",
    "infer_datetime_format",
    "ingest",
    "read_daily",
    "read_households",
    "read_readings",
    "read_survey",
    "read_tariff",
    "read_weather",
]

"""Imports every command module so that it registers on the group."""
from . import (
    bench,  # noqa: F401
    design,  # noqa: F401
    eda,  # noqa: F401
    explain,  # noqa: F401
    features,  # noqa: F401
    ingest,  # noqa: F401
    personas,  # noqa: F401
    report,  # noqa: F401
    run,  # noqa: F401
    score,  # noqa: F401
    simulate,  # noqa: F401
)

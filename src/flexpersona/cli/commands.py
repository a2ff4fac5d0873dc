"""Imports every command module so that it registers on the group."""
from . import run  # noqa: F401
from . import bench  # noqa: F401
from . import eda  # noqa: F401
from . import report  # noqa: F401
from . import simulate  # noqa: F401
from . import features  # noqa: F401
from . import ingest  # noqa: F401
from . import personas  # noqa: F401
from . import explain  # noqa: F401

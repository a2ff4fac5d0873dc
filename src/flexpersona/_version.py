"""The installed package version (``0.0.0`` when run from a source tree that is not installed)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("flexpersona")
except PackageNotFoundError:  # pragma: no cover
    __version__ = "0.0.0"

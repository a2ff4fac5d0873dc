"""Command-line interface: ``flexpersona COMMAND``. One module per command registers itself on ``main``."""

from __future__ import annotations

# Each import registers one or more commands on `main`.
from . import commands  # noqa: F401
from .app import main

__all__ = ["main"]

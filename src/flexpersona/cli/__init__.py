"""Command-line interface: ``flexpersona COMMAND``. One module per command registers itself on ``main``."""

from __future__ import annotations

from .app import main

# Each import registers one or more commands on `main`.
from . import commands  # noqa: E402,F401

__all__ = ["main"]

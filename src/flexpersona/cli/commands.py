"""Imports every command module so that it registers on the group."""
from . import run  # noqa: F401

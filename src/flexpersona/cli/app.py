"""The ``flexpersona`` command group and the shared error handling of every command.

Each command lives in its own module of this package, parses its arguments, makes one library call and
turns library errors into a one-line message with the fix (exit code 2), never a traceback.
"""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from ..allocator import reuse_large_blocks
from ..errors import FlexPersonaError

F = TypeVar("F", bound=Callable[..., Any])


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="flexpersona")
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
def main(verbose: int) -> None:
    """flexpersona: behavioural personas of demand flexibility from smart-meter trials.

    \b
    Typical use:
      flexpersona demo --out demo-run              simulate a trial and run every stage
      flexpersona run DATA_DIR --tariff T.xlsx --households H.csv --out run1
    """
    level = logging.WARNING - 10 * verbose
    logging.basicConfig(level=max(level, logging.DEBUG), format="%(levelname)s %(name)s: %(message)s")
    # the command owns its process: numpy's and DuckDB's large blocks from the heap, freed ones used again
    reuse_large_blocks()


def handle_errors(func: F) -> F:
    """Turn flexpersona's own errors into a clear message and exit code 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except FlexPersonaError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(2)

    return wrapper  # type: ignore[return-value]


def progress_enabled() -> bool:
    """Progress bars only on a terminal."""
    return sys.stderr.isatty()

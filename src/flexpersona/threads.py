"""One BLAS/OpenMP thread for the small model fits of the persona and explain stages.

On per-household tables (10^3 rows) thread start-up costs more than it gains, and on a loaded shared machine
oversubscribed k-means threads were measured about 20x slower, so those fits run with every native thread pool
limited to one thread.

:func:`threadpoolctl.threadpool_limits` finds the process's thread-pool libraries by reading its memory map on
every call: ~5 ms a call here, and the persona stage's ~200 limited fits spent ~1 s on it (issue 14, fixed
costs). :func:`one_thread` asks one :class:`~threadpoolctl.ThreadpoolController` instead, made at the first
call (as scikit-learn keeps one for its own limits). The libraries it controls are those loaded by then; every
caller has imported numpy (BLAS) and scikit-learn (OpenMP) before its first fit.

Examples
--------
>>> import numpy as np
>>> with one_thread():
...     x = np.ones((3, 3)) @ np.ones(3)
>>> x.tolist()
[3.0, 3.0, 3.0]
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from threadpoolctl import ThreadpoolController

__all__ = ["one_thread", "single_threaded"]

F = TypeVar("F", bound=Callable[..., Any])


@functools.cache
def _controller() -> ThreadpoolController:
    return ThreadpoolController()


def one_thread() -> Any:
    """A context in which every native thread pool (BLAS, OpenMP) runs one thread; the limits before it are
    restored when it ends."""
    return _controller().limit(limits=1)


def single_threaded(func: F) -> F:
    """Run ``func`` inside :func:`one_thread`."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with one_thread():
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]

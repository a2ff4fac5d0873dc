"""Figures drawn in worker processes while the run goes on (issue 14 item 3: rendered once and in parallel).

Drawing a plotly figure as PNG + SVG with matplotlib (:func:`~flexpersona.plotting.save_figure`) is pure
single-threaded Python: about a third of a second a figure, 36 figures a run -- some 12 s whatever the data
size, while the run's own process uses one core. Inside :func:`drawing_pool`, :func:`save_figure` hands each
figure to a pool of worker processes and returns at once; the pool is drained (every file written, the first
failure raised) when the block ends. The files are the same bytes as drawn in the calling process: the worker
gets the figure itself (pickled, with its numpy arrays), not its JSON, and runs the same drawing code.

Examples
--------
>>> import plotly.graph_objects as go
>>> from flexpersona.plotting import save_figure
>>> import tempfile, pathlib
>>> out = pathlib.Path(tempfile.mkdtemp())
>>> with drawing_pool(0) as pool:  # 0 workers: drawn in this process, as without a pool
...     paths = save_figure(go.Figure(go.Bar(x=["a"], y=[1])), out / "bar")
>>> pool.drawn, paths[0].exists()
(1, True)
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

__all__ = ["FigurePool", "active_pool", "drawing_pool", "resolve_workers"]

_ACTIVE: FigurePool | None = None


def resolve_workers(n: int) -> int:
    """Worker processes for ``n`` (``config.report.figure_jobs``): -1 = every core but one (at least one), 0 = none
    (draw in place).

    The core left is the run's own: its later stages are mostly one thread of Python. On 2 cores a 1/10-size run
    took 41-43 s with one worker against 46-47 s with two, its persona and explain stages ~2.5 s each slower
    while two workers drew beside them; one worker still drew all 36 figures before the report needed them.
    """
    if n < 0:
        return max(1, (os.cpu_count() or 1) - 1)
    return n


def _warm() -> None:
    """Worker start-up: import the drawing code (matplotlib, plotly) before the first figure arrives."""
    from . import render  # noqa: F401


class FigurePool:
    """Figures being drawn by worker processes; :meth:`submit` returns at once, :meth:`wait` drains.

    Attributes
    ----------
    workers
        Worker processes (0: every figure is drawn in the calling process at :meth:`submit`).
    drawn
        Figures handed to the pool (drawn or being drawn).
    drawn_here
        Of those, figures :meth:`wait` drew in the calling process (no worker had started them).
    waited
        Seconds :meth:`wait` spent drawing and waiting for the workers.
    """

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.drawn = 0
        self.drawn_here = 0
        self.waited = 0.0
        self._executor: ProcessPoolExecutor | None = None
        # stem -> (key, future, the call that draws it)
        self._pending: dict[Path, tuple[str, Future, Callable[[], Any]]] = {}

    def pending_key(self, stem: Path) -> str | None:
        """The key of the figure being drawn to ``stem``; None when none is."""
        item = self._pending.get(Path(stem))
        return item[0] if item else None

    def submit(self, draw: Callable[..., Any], fig: Any, stem: Path, dpi: int, key: str) -> None:
        """Draw ``fig`` to ``stem`` with ``draw(fig, stem, dpi, key)`` (a module-level function), in a worker."""
        stem = Path(stem)
        self.drawn += 1
        if self.workers == 0:
            draw(fig, stem, dpi, key)
            return
        earlier = self._pending.pop(stem, None)
        if earlier is not None:
            earlier[1].result()  # another figure for the same files: written first, so that this one wins
        if self._executor is None:
            # spawn, not fork: the run's process holds DuckDB's threads (and maybe a JVM's socket)
            self._executor = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                                 initializer=_warm)
        call = partial(draw, fig, stem, dpi, key)
        self._pending[stem] = (key, self._executor.submit(call), call)

    def wait(self) -> None:
        """Wait until every figure handed over is written; raises a failure, naming its files.

        The calling process would only wait, so it draws the figures no worker has started yet, the last first
        while the workers take the first (a cancelled task is never run by a worker; the bytes are the same).
        """
        t0 = time.perf_counter()
        try:
            for stem, (_, future, call) in reversed(list(self._pending.items())):
                if future.cancel():
                    _named(stem, call)
                    self.drawn_here += 1
                    del self._pending[stem]
            for stem, (_, future, _) in list(self._pending.items()):
                _named(stem, future.result)
                del self._pending[stem]
        finally:
            self.waited += time.perf_counter() - t0

    def close(self, cancel: bool = False) -> None:
        """Stop the workers (after the figures handed over, unless ``cancel``)."""
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=cancel)
            self._executor = None
        self._pending.clear()


def _named(stem: Path, call: Callable[[], Any]) -> None:
    """``call()``, its failure raised as a ``RuntimeError`` naming the figure's files."""
    try:
        call()
    except Exception as exc:
        msg = f"drawing the figure {stem}.png/.svg failed: {exc}"
        raise RuntimeError(msg) from exc


def active_pool() -> FigurePool | None:
    """The pool of the innermost :func:`drawing_pool` block; None outside one."""
    return _ACTIVE


@contextmanager
def drawing_pool(workers: int = -1) -> Iterator[FigurePool]:
    """A block in which :func:`~flexpersona.plotting.save_figure` draws in ``workers`` processes
    (:func:`resolve_workers`); every figure is written when the block ends normally."""
    global _ACTIVE
    outer, pool = _ACTIVE, FigurePool(resolve_workers(workers))
    _ACTIVE = pool
    ok = False
    try:
        yield pool
        pool.wait()
        ok = True
    finally:
        _ACTIVE = outer
        pool.close(cancel=not ok)

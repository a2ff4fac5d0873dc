"""A progress bar with an ETA for the long stages (ingest, features), on the terminal only.

A stage's work is a list of steps whose weights are the seconds each took in a measured run, so that the bar's
ETA (tqdm's, from the mean rate so far: ``smoothing=0``) is meaningful. :meth:`Bar.step` moves the bar by a
step's weight when it ends, and while it runs a background thread moves it within the step by the larger of

* DuckDB's own estimate for the running statement (``con.query_progress()``, when a connection is given): exact
  for a streamed ``read_csv`` → Parquet copy, an underestimate for joins and aggregations;
* the time spent in the step against its weight at the speed measured so far (seconds per unit of the steps
  done; ``seconds_per_unit`` before any), at most :data:`TIME_SHARE_CAP` of the step.

Any engine (Spark, numpy) thus gets a bar that moves per step and in between. Display only: nothing here
reaches a result, a config hash or a manifest.

Disabled (not a terminal, or ``progress=False``), :func:`bar` returns :data:`QUIET`, whose methods do nothing:
no output, no thread, no DuckDB setting changed.

Example
-------
>>> with bar("ingest", 10.0, enabled=False) as b:
...     with b.step(8.0):
...         pass
...     b.advance(2.0)
"""

from __future__ import annotations

import contextlib
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any, TextIO

#: Seconds between two polls of DuckDB's query progress.
POLL_SECONDS = 0.2
#: The largest share of a step that time alone moves the bar by (the rest when the step ends).
TIME_SHARE_CAP = 0.9
#: The widest bar drawn [columns].
MAX_COLUMNS = 100
#: ``{desc}: 42%|████      | 00:12<00:16``: percent, elapsed and the time left (the ETA).
BAR_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining}"


class Bar:
    """A tqdm bar over ``total`` units of work (any unit: the step weights share it).

    Parameters
    ----------
    desc
        The stage's name, shown before the bar.
    total
        The sum of the weights of the steps to come (a step beyond it is cut at the total).
    file
        Where the bar goes (default ``sys.stderr``).
    seconds_per_unit
        The expected seconds per unit of weight before any step has finished (None: none expected).
    """

    def __init__(self, desc: str, total: float, *, file: TextIO | None = None,
                 seconds_per_unit: float | None = None) -> None:
        from tqdm import tqdm

        self.total = max(float(total), 1e-9)
        self.seconds_per_unit = seconds_per_unit
        self._t0 = time.perf_counter()
        # the terminal's size (a pseudo-terminal may say 0 x 0, where tqdm draws nothing: then 80 x 24)
        size = shutil.get_terminal_size((80, 24))
        self._tqdm = tqdm(total=self.total, desc=desc, file=file or sys.stderr, bar_format=BAR_FORMAT,
                          smoothing=0, mininterval=POLL_SECONDS, ncols=min(size.columns or 80, MAX_COLUMNS),
                          nrows=size.lines or 24, leave=False)
        self._lock = threading.Lock()

    def _move_to(self, position: float) -> None:
        with self._lock:
            position = min(position, self.total)
            if position > self._tqdm.n:
                self._tqdm.update(position - self._tqdm.n)

    @property
    def position(self) -> float:
        return float(self._tqdm.n)

    def advance(self, weight: float) -> None:
        """A step of ``weight`` has finished."""
        self._move_to(self.position + weight)

    @contextlib.contextmanager
    def step(self, weight: float, con: Any = None) -> Iterator[None]:
        """The work of ``weight``; with a DuckDB ``con``, its running statement moves the bar within the step."""
        base = self.position
        duck = con if con is not None and hasattr(con, "query_progress") else None
        if duck is not None:
            _query_progress(duck, on=True)
        stop = threading.Event()
        poller = threading.Thread(target=self._poll, args=(duck, base, weight, stop), daemon=True)
        poller.start()
        try:
            yield
        finally:
            stop.set()
            poller.join()
            if duck is not None:
                _query_progress(duck, on=False)
            self._move_to(base + weight)

    def _poll(self, con: Any, base: float, weight: float, stop: threading.Event) -> None:
        """Move the bar within a step until it ends (see the module's docstring)."""
        t_step = time.perf_counter()
        spu = (t_step - self._t0) / base if base > 0 else self.seconds_per_unit
        while not stop.wait(POLL_SECONDS):
            share = 0.0
            if spu and weight > 0:
                share = min((time.perf_counter() - t_step) / (weight * spu), TIME_SHARE_CAP)
            if con is not None:
                try:
                    share = max(share, float(con.query_progress()) / 100.0)
                except Exception:  # the display never fails a run
                    con = None
            self._move_to(base + weight * min(share, 1.0))

    def close(self) -> None:
        """Fill the bar (the steps done are the whole stage) and end its line."""
        self._move_to(self.total)
        self._tqdm.close()

    def __enter__(self) -> Bar:
        return self

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        if exc_type is None:
            self.close()
        else:  # a failing stage leaves the bar where it stopped
            self._tqdm.close()


class _Quiet:
    """The disabled bar: every method does nothing."""

    total = 0.0
    position = 0.0

    def advance(self, weight: float) -> None:
        pass

    def step(self, weight: float, con: Any = None) -> contextlib.nullcontext[None]:
        return contextlib.nullcontext()

    def close(self) -> None:
        pass

    def __enter__(self) -> _Quiet:
        return self

    def __exit__(self, *_: Any) -> None:
        pass


#: The bar when progress is off.
QUIET = _Quiet()


def bar(desc: str, total: float, *, enabled: bool, file: TextIO | None = None,
        seconds_per_unit: float | None = None) -> Bar | _Quiet:
    """A :class:`Bar` when ``enabled`` (a terminal), else :data:`QUIET`."""
    return Bar(desc, total, file=file, seconds_per_unit=seconds_per_unit) if enabled else QUIET


def _query_progress(con: Any, *, on: bool) -> None:
    """Let DuckDB track its statements' progress (``query_progress``) without printing its own bar."""
    with contextlib.suppress(Exception):
        con.execute(f"SET enable_progress_bar = {'true' if on else 'false'}")
        if on:
            con.execute("SET enable_progress_bar_print = false")

"""The one-thread limit of the small model fits (personas, explain): every native pool limited, and one
controller for every call (no re-reading of the process's libraries)."""

from __future__ import annotations

import sklearn.cluster  # noqa: F401  (loads scikit-learn's OpenMP runtime, as every caller has)
import threadpoolctl

from flexpersona import threads
from flexpersona.threads import one_thread, single_threaded


def _threads() -> list[int]:
    return [pool["num_threads"] for pool in threadpoolctl.threadpool_info()]


def test_every_pool_runs_one_thread_inside_and_the_limits_come_back_after():
    before = _threads()
    assert before, "numpy's BLAS at least"
    with one_thread():
        assert _threads() == [1] * len(before)
    assert _threads() == before


def test_the_decorator_limits_and_returns_the_result():
    @single_threaded
    def inside(x: int) -> tuple[int, list[int]]:
        return x + 1, _threads()

    value, seen = inside(1)
    assert value == 2
    assert set(seen) == {1}


def test_the_libraries_are_found_once(monkeypatch):
    threads._controller()  # made at the first call
    made = []
    original = threadpoolctl.ThreadpoolController.__init__

    def counting(self, *args, **kwargs):
        made.append(1)
        original(self, *args, **kwargs)

    monkeypatch.setattr(threadpoolctl.ThreadpoolController, "__init__", counting)
    for _ in range(3):
        with one_thread():
            pass
    assert made == []
    with threadpoolctl.threadpool_limits(limits=1):  # what the fits used before: a controller per call
        pass
    assert made == [1]

"""Group labels and Acorn counted while the typed pass streams the readings to Parquet (no second text pass).

DuckDB writes one sink per statement, and the canonical readings Parquet has no group column. So the typed
pass's ``COPY`` carries a filter that is always true -- a vectorised Python function (:class:`LabelTap`,
registered with ``side_effects``) -- which sees every row it writes, one chunk at a time, and counts the raw
``(file, household, group, Acorn, Acorn grouped)`` texts. A chunk whose five values are the same throughout
(the common case: files are sorted by household) costs one comparison per column; any other chunk is grouped
by Arrow. The written Parquet is byte for byte what the same ``COPY`` without the filter writes.
"""

from __future__ import annotations

import itertools
import threading

import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["LabelTap"]

_names = itertools.count()


class LabelTap:
    """Counts of ``(file_index, household, group, acorn, acorn_grouped)`` (raw texts) of the rows it sees.

    ``con.create_function`` registers it (:meth:`register`); :meth:`sql` is the filter to put in the ``WHERE``
    of the streamed ``SELECT``; :attr:`counts` (a dict) holds the counts once the statement has run.
    """

    def __init__(self) -> None:
        self.counts: dict[tuple, int] = {}
        self.name = f"flexpersona_label_tap_{next(_names)}"
        self._lock = threading.Lock()
        self._true: dict[int, pa.Array] = {}

    def register(self, con) -> None:
        from duckdb.sqltypes import BIGINT, BOOLEAN, VARCHAR

        def tap(file_index, household, group, acorn, acorn_grouped):  # DuckDB counts the parameters
            return self(file_index, household, group, acorn, acorn_grouped)

        # "special": NULLs reach the function (by default DuckDB answers NULL, i.e. drops the row, without a call)
        con.create_function(self.name, tap, [BIGINT, VARCHAR, VARCHAR, VARCHAR, VARCHAR], BOOLEAN, type="arrow",
                            null_handling="special", side_effects=True)

    def unregister(self, con) -> None:
        con.remove_function(self.name)

    def sql(self, file_index: str, household: str, group: str, acorn: str, acorn_grouped: str) -> str:
        """The (always true) filter over the given SQL expressions (``NULL`` for a column the file lacks)."""
        args = [f"CAST({file_index} AS BIGINT)"] + [f"CAST({e} AS VARCHAR)" for e in
                                                    (household, group, acorn, acorn_grouped)]
        return f"{self.name}({', '.join(args)})"

    def __call__(self, *cols: pa.Array) -> pa.Array:
        n = len(cols[0])
        key = _constant(cols, n)
        if n == 0:
            found = {}
        elif key is not None:
            found = {key: n}
        else:
            t = pa.table({f"k{j}": c for j, c in enumerate(cols)})
            t = t.group_by([f"k{j}" for j in range(len(cols))], use_threads=False).aggregate([([], "count_all")])
            found = dict(zip(zip(*(t.column(j).to_pylist() for j in range(len(cols)))), t.column(len(cols)).to_pylist(),
                             strict=True))
        with self._lock:
            for k, m in found.items():
                self.counts[k] = self.counts.get(k, 0) + m
        out = self._true.get(n)
        if out is None:
            out = self._true[n] = pa.array([True] * n)
        return out


def _constant(cols: tuple[pa.Array, ...], n: int) -> tuple | None:
    """The values of a chunk whose every column holds one value throughout (or only NULLs), else None."""
    key = []
    for c in cols:
        nulls = c.null_count
        if nulls == n:
            key.append(None)
            continue
        first = c[0]
        if nulls or not pc.all(pc.equal(c, first)).as_py():
            return None
        key.append(first.as_py())
    return tuple(key)

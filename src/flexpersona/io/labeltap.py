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

    :meth:`register` makes it a function of the connection; :attr:`sql` is the filter to put in the ``WHERE``
    of the streamed ``SELECT``; :attr:`counts` (a dict) holds the counts once the statement has run.
    """

    def __init__(self, file_index: str, household: str, group: str, acorn: str, acorn_grouped: str) -> None:
        """SQL expressions of the five values; ``NULL`` for a column the files lack (not passed to Python)."""
        self.counts: dict[tuple, int] = {}
        self.name = f"flexpersona_label_tap_{next(_names)}"
        exprs = [f"CAST({file_index} AS BIGINT)"] + [f"CAST({e} AS VARCHAR)" for e in
                                                     (household, group, acorn, acorn_grouped)]
        self._present = [j for j, e in enumerate((file_index, household, group, acorn, acorn_grouped)) if e != "NULL"]
        self._args = [exprs[j] for j in self._present]
        self._lock = threading.Lock()
        self._true: dict[int, pa.Array] = {}

    @property
    def sql(self) -> str:
        """The (always true) filter to put in the ``WHERE`` of the streamed ``SELECT``."""
        return f"{self.name}({', '.join(self._args)})"

    def register(self, con) -> None:
        from duckdb.sqltypes import BIGINT, BOOLEAN, VARCHAR

        # DuckDB counts the parameters of the function it is given
        fns = {2: lambda a, b: self(a, b), 3: lambda a, b, c: self(a, b, c),
               4: lambda a, b, c, d: self(a, b, c, d), 5: lambda a, b, c, d, e: self(a, b, c, d, e)}
        types = [BIGINT] + [VARCHAR] * (len(self._args) - 1)
        # "special": NULLs reach the function (by default DuckDB answers NULL, i.e. drops the row, without a call)
        con.create_function(self.name, fns[len(self._args)], types, BOOLEAN, type="arrow", null_handling="special",
                            side_effects=True)

    def unregister(self, con) -> None:
        con.remove_function(self.name)

    def _add(self, found: dict[tuple, int]) -> None:
        with self._lock:
            for k, m in found.items():
                full = [None] * 5
                for j, v in zip(self._present, k, strict=True):
                    full[j] = v
                key = tuple(full)
                self.counts[key] = self.counts.get(key, 0) + m

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
        self._add(found)
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

"""Benchmark (not a test): ingest of the simulator's London Datastore layout against plain DuckDB.

Times, in the same run and on the same files, (a) a plain ``duckdb`` ``read_csv`` + ``count(*)`` of the
readings pieces and (b) ``flexpersona.io.ingest`` of the folder (detection, parsing, row accounting, duplicate
merge, sorted Parquet, ledger). Target: b / a <= 1.3. For context it also times (c) DuckDB alone reading the
same files into one sorted Parquet file (the I/O any ingest pays).

Usage::

    .venv/bin/python benchmarks/bench_ingest.py --households 200 --out /tmp/bench-ingest
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

import duckdb


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--households", type=int, default=200, help="households to simulate (half ToU)")
    ap.add_argument("--out", default="bench-ingest", help="work folder (simulated files are reused)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=1, help="runs of each side; the best is reported")
    args = ap.parse_args(argv)

    from flexpersona.io import ingest
    from flexpersona.io.detect import detect_kind
    from flexpersona.io.sources import enumerate_inputs, read_header
    from flexpersona.simulate import simulate_to

    out = Path(args.out)
    sim = out / "datastore"
    if not (sim / "households.csv").exists():
        t = time.perf_counter()
        n_t = args.households // 2
        simulate_to(sim, "datastore", n_t, args.households - n_t, seed=args.seed)
        print(f"simulated {args.households} households in {time.perf_counter() - t:.1f} s")
    pieces = []
    for src in enumerate_inputs([sim]):
        try:
            if detect_kind(src, read_header(src)) == "datastore":
                pieces.append(str(src.path))
        except Exception:  # noqa: BLE001 - other files (truth.csv) are not readings
            continue
    size = sum(Path(p).stat().st_size for p in pieces) / 1e6

    floor, io_floor, full = [], [], []
    for _ in range(args.repeat):
        con = duckdb.connect()
        con.execute("SET enable_progress_bar = false")
        t = time.perf_counter()
        n = con.execute("SELECT count(*) FROM read_csv($f)", {"f": pieces}).fetchall()[0][0]
        floor.append(time.perf_counter() - t)
        t = time.perf_counter()
        target = str(out / "floor.parquet").replace("'", "''")
        con.execute(f"COPY (SELECT * FROM read_csv($f) ORDER BY ALL) TO '{target}' (FORMAT parquet)", {"f": pieces})
        io_floor.append(time.perf_counter() - t)
        con.close()
        store = out / "store"
        shutil.rmtree(store, ignore_errors=True)
        t = time.perf_counter()
        rep = ingest([sim], store)
        full.append(time.perf_counter() - t)
    a, b = min(floor), min(full)
    acc = rep.accounting["datastore"]
    print(f"files: {len(pieces)} London Datastore pieces, {size:.0f} MB, {n:,} rows")
    print(f"(a) DuckDB read_csv + count       : {a:8.2f} s")
    print(f"(c) DuckDB read_csv -> sorted Parquet: {min(io_floor):8.2f} s  (context: the I/O any ingest pays)")
    print(f"(b) flexpersona ingest            : {b:8.2f} s  ({acc['read']:,} read = {acc['kept']:,} kept + "
          f"{acc['rejected']:,} rejected)")
    print(f"ratio b/a                         : {b / a:8.2f}  (target <= 1.3)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark (not a test): ingest of the simulator's London Datastore layout against plain DuckDB.

Times, in the same run and on the same files, each in its own child process (peak RSS from ``os.wait4``):

(a) a plain DuckDB ``read_csv`` + ``count(*)`` of the readings pieces (issue 2's floor);
(w) a plain DuckDB ``read_csv`` with typed columns written to one Parquet file (no checks, no accounting):
    what persisting the same three columns costs at the least, whatever the ingest does besides;
(f) the issue-7 floor: ``read_csv`` + one group-by of the seed aggregation (``flexpersona.bench.FLOOR_SQL``);
(b) ``flexpersona.io.ingest`` of the pieces (detection, parsing, row accounting, duplicates, Parquet, ledger).

Every child uses DuckDB's default thread count (all cores); so does the streaming ingest
(``data.ingest_threads``). Targets: b / a <= 1.3 (issue 2); a whole run <= 1.3 x f and peak RSS <= 2 GB (issue 7).

Usage::

    .venv/bin/python benchmarks/bench_ingest.py --households 557 --out /tmp/bench-ingest   # 1/10 LCL size
    .venv/bin/python benchmarks/bench_ingest.py --households 5567 --out /tmp/bench-full    # full LCL size
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

_COUNT = """
import duckdb, json, sys
con = duckdb.connect(); con.execute("SET enable_progress_bar = false")
print(con.execute("SELECT count(*) FROM read_csv($f)", {"f": json.loads(sys.argv[1])}).fetchall()[0][0])
"""
_WRITE = """
import duckdb, json, sys
con = duckdb.connect(); con.execute("SET enable_progress_bar = false")
cols = "{'c0': 'VARCHAR', 'c1': 'VARCHAR', 'c2': 'TIMESTAMP', 'c3': 'DOUBLE'}"
con.execute(f\"\"\"COPY (SELECT c0, c2, c3 FROM read_csv($f, header=true, auto_detect=false, columns={cols},
                                             nullstr=['Null', '']))
               TO '{sys.argv[2]}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1000000)\"\"\",
            {"f": json.loads(sys.argv[1])})
"""
_FLOOR = """
import duckdb, json, sys
from flexpersona.bench import FLOOR_SQL
con = duckdb.connect(); con.execute("SET enable_progress_bar = false")
files = json.loads(sys.argv[1])
# the simulator writes the value header with its trailing space; DuckDB's sniffer trims it
sql = FLOOR_SQL.replace('"KWH/hh (per half hour) "', '"KWH/hh (per half hour)"')
print(len(con.execute(sql, {"files": files}).fetchall()))
"""
_INGEST = """
import json, logging, sys
logging.basicConfig(level=logging.INFO, format="%(relativeCreated)8.0f ms %(name)s: %(message)s")
from flexpersona.io import ingest
rep = ingest(json.loads(sys.argv[1]), sys.argv[2])
print(json.dumps(rep.accounting))
"""


def _measure(code: str, *args: str) -> tuple[float, float, str]:
    """Run ``code`` in a child Python; (seconds, peak RSS [MB], stdout)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, text=True)
    out = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status):
        msg = f"child failed ({status}): {code[:60]}..."
        raise RuntimeError(msg)
    return seconds, usage.ru_maxrss / 1024, out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--households", type=int, default=557, help="households to simulate (LCL: 5,567)")
    ap.add_argument("--out", default="bench-ingest", help="work folder (simulated files are reused)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--start", default="2011-12-01")
    ap.add_argument("--end", default="2014-02-28")
    ap.add_argument("--no-floor", action="store_true", help="skip the issue-7 floor (f)")
    args = ap.parse_args(argv)

    from flexpersona.simulate import simulate_to

    out = Path(args.out)
    sim = out / "datastore"
    if not (sim / "households.csv").exists():
        t = time.perf_counter()
        n_t = round(args.households * 1123 / 5567)
        simulate_to(sim, "datastore", n_t, args.households - n_t, seed=args.seed, start=args.start, end=args.end)
        print(f"simulated {args.households} households in {time.perf_counter() - t:.1f} s")
    pieces = sorted((str(p) for p in sim.glob("LCL-June2015v2_*.csv")),
                    key=lambda s: int(s.rsplit("_", 1)[1].split(".")[0]))
    inputs = [*pieces, str(sim / "households.csv")]
    size = sum(Path(p).stat().st_size for p in pieces) / 1e6

    a, a_rss, n = _measure(_COUNT, json.dumps(pieces))
    w, w_rss, _ = _measure(_WRITE, json.dumps(pieces), str(out / "plain.parquet"))
    (out / "plain.parquet").unlink(missing_ok=True)
    store = out / "store"
    shutil.rmtree(store, ignore_errors=True)
    b, b_rss, rep = _measure(_INGEST, json.dumps(inputs), str(store))
    acc = json.loads(rep.strip().splitlines()[-1])["datastore"]
    print(f"files: {len(pieces)} London Datastore pieces, {size:,.0f} MB, {int(n):,} rows")
    print(f"(a) DuckDB read_csv + count           : {a:8.2f} s  peak RSS {a_rss:7.0f} MB")
    print(f"(w) DuckDB read_csv typed -> Parquet  : {w:8.2f} s  peak RSS {w_rss:7.0f} MB")
    if not args.no_floor:
        f, f_rss, _ = _measure(_FLOOR, json.dumps(pieces))
        print(f"(f) issue-7 floor (read_csv + group-by): {f:8.2f} s  peak RSS {f_rss:7.0f} MB")
    print(f"(b) flexpersona ingest                : {b:8.2f} s  peak RSS {b_rss:7.0f} MB  "
          f"({acc['read']:,} read = {acc['kept']:,} kept + {acc['rejected']:,} rejected)")
    print(f"ratio b/a                             : {b / a:8.2f}  (issue 2 target <= 1.3)")
    print(f"ratio w/a                             : {w / a:8.2f}  (writing the Parquet alone)")
    print(f"ratio b/w                             : {b / w:8.2f}  (ingest against writing the same Parquet)")
    if not args.no_floor:
        print(f"ratio b/f                             : {b / f:8.2f}  (ingest alone; issue 7: whole run <= 1.3)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

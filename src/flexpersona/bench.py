"""Scale benchmark (issue 7): a full run against the DuckDB floor on a London Datastore layout trial.

In one process tree it

1. generates a trial in the London Datastore layout with the simulator (5,567 households, Dec 2011 – Feb 2014,
   times ``scale``), unless it is already there;
2. times (a) the *floor*: DuckDB ``read_csv`` of the files plus one group-by of the seed aggregation, and
   (b) a complete ``flexpersona run`` — each in its own child process, whose peak RSS is read from
   ``/proc`` (VmHWM);
3. times (c) a re-run with unchanged inputs (every stage re-used) and (d) a re-run of the analysis stages from
   the store (``--from features --force``).

It prints the ratio b/a, the peak RSS of each and the re-run times, and writes them to ``bench.json``.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

log = logging.getLogger(__name__)

FULL_HOUSEHOLDS = 5_567
FULL_TREATMENT = 1_123

FLOOR_SQL = """
SELECT LCLid,
       year(ts) AS y,
       dayofweek(ts) BETWEEN 1 AND 5 AS weekday,
       hour(ts) IN (7, 8, 16, 17, 18, 19) AS peak,
       avg(kwh) AS mean_kwh, count(kwh) AS n
FROM (
    SELECT LCLid,
           strptime(left(DateTime, 19), '%Y-%m-%d %H:%M:%S') AS ts,
           TRY_CAST(NULLIF(trim(kwh_text), 'Null') AS DOUBLE) AS kwh
    FROM read_csv($files, header = true, auto_detect = false,
                  columns = {'LCLid': 'VARCHAR', 'stdorToU': 'VARCHAR', 'DateTime': 'VARCHAR', 'kwh_text': 'VARCHAR'})
)
GROUP BY ALL
"""


@dataclass
class Measurement:
    seconds: float
    peak_rss_mb: float
    returncode: int


def _measure(cmd: list[str], env: dict[str, str] | None = None) -> Measurement:
    """Run ``cmd`` in a child process; wall time and peak RSS [MB].

    Peak RSS is the child's ``VmHWM`` (high-water mark of its own address space, reset at ``exec``), polled
    from ``/proc`` until it exits. ``wait4``'s ``ru_maxrss`` would include the parent's size at ``fork``.
    """
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env)
    peak_kb = 0
    status_file = Path(f"/proc/{proc.pid}/status")
    while proc.poll() is None:
        try:
            for line in status_file.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak_kb = max(peak_kb, int(line.split()[1]))
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    elapsed = time.perf_counter() - t0
    return Measurement(round(elapsed, 2), round(peak_kb / 1024, 1), proc.returncode)


def generate(data_dir: Path, scale: float, seed: int = 1) -> Path:
    """Write the London Datastore layout trial at ``scale`` × LCL size (re-used when present)."""
    from .simulate import simulate_to

    marker = data_dir / "bench_spec.json"
    n_total = max(20, round(FULL_HOUSEHOLDS * scale))
    n_treat = max(10, round(FULL_TREATMENT * scale))
    spec = {"n_treatment": n_treat, "n_control": n_total - n_treat, "seed": seed, "layout": "datastore",
            "start": "2011-12-01", "end": "2014-02-28"}
    if marker.exists() and json.loads(marker.read_text()) == spec:
        return data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    simulate_to(data_dir, "datastore", spec["n_treatment"], spec["n_control"], seed=seed,
                start=spec["start"], end=spec["end"])
    log.info("generated %s in %.1f s", data_dir, time.perf_counter() - t0)
    marker.write_text(json.dumps(spec))
    return data_dir


def run_benchmark(out: str | Path, *, scale: float = 0.1, seed: int = 1, keep_data: bool = True) -> dict:
    """Generate (if needed) and measure; returns the figures printed by ``flexpersona bench``."""
    out = Path(out)
    data_dir = out / f"data-{scale:g}"
    t0 = time.perf_counter()
    # In a child process: the simulator's memory must not count as the parent's.
    gen = subprocess.run([sys.executable, "-c", "import sys; from pathlib import Path; "
                          "from flexpersona.bench import generate; "
                          "generate(Path(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]))",
                          str(data_dir), repr(scale), str(seed)], check=False)
    if gen.returncode != 0:
        msg = "generating the benchmark trial failed; see the error above"
        raise RuntimeError(msg)
    gen_seconds = round(time.perf_counter() - t0, 1)
    pieces = sorted(str(p) for p in data_dir.glob("LCL-June2015v2_*.csv"))
    csv_bytes = sum(Path(p).stat().st_size for p in pieces)
    py = sys.executable
    floor_script = (
        "import duckdb, json, sys; files = json.loads(sys.argv[1]); con = duckdb.connect();"
        "con.execute('SET enable_progress_bar = false');"
        f"n = con.execute({FLOOR_SQL!r}, {{'files': files}}).fetchall(); print(len(n))"
    )
    floor = _measure([py, "-c", floor_script, json.dumps(pieces)])
    if floor.returncode != 0:
        msg = "the floor query failed; see its error above"
        raise RuntimeError(msg)
    run_dir = out / f"run-{scale:g}"
    if run_dir.exists():
        import shutil

        shutil.rmtree(run_dir)
    exe = [py, "-m", "flexpersona"]
    households = data_dir / "households.csv"
    tariff = data_dir / "Tariffs.csv"
    args = [*pieces, "--out", str(run_dir), "--tariff", str(tariff)]
    if households.exists():
        args += ["--households", str(households)]
    full = _measure([*exe, "run", *args])
    rerun = _measure([*exe, "run", *args])
    rerun_store = _measure([*exe, "run", "--out", str(run_dir), "--from", "features", "--force"])
    result = {
        "scale": scale,
        "csv_gb": round(csv_bytes / 1e9, 3),
        "generate_seconds": gen_seconds,
        "floor": asdict(floor),
        "run": asdict(full),
        "ratio_run_to_floor": round(full.seconds / floor.seconds, 2) if floor.seconds else None,
        "rerun_unchanged": asdict(rerun),
        "rerun_from_store": asdict(rerun_store),
    }
    spec = json.loads((data_dir / "bench_spec.json").read_text())
    result["households"] = spec["n_treatment"] + spec["n_control"]
    if run_dir.joinpath("manifest.json").exists():
        manifest = json.loads(run_dir.joinpath("manifest.json").read_text())
        result["stage_seconds"] = {k: v.get("seconds") for k, v in manifest.get("stages", {}).items()}
    (out / f"bench-{scale:g}.json").write_text(json.dumps(result, indent=2))
    return result

"""Scale benchmark (issue 7): a full run against the DuckDB floor on a London Datastore layout trial.

In one process tree it

1. generates a trial in the London Datastore layout with the simulator (5,567 households, Dec 2011 – Feb 2014,
   times ``scale``), unless it is already there;
2. times (a) the *floor*: DuckDB ``read_csv`` of the files plus one group-by of the seed aggregation (always
   DuckDB, with the runs' C allocator setting: :func:`floor_env`), and (b) a complete ``flexpersona run`` on the
   chosen feature engine (``--engine duckdb|spark``) — each in its own child process tree, whose peak RSS is
   read from ``/proc`` (see :func:`_measure`);
3. times (c) a re-run with unchanged inputs (every stage re-used) and (d) a re-run of the analysis stages from
   the store (``--from features --force``), on the same engine.

It prints the ratio b/a, the peak RSS of each and the re-run times, and writes them to ``bench-S.json``.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from .allocator import THRESHOLD_BYTES
from .config import Config
from .pipeline import STAGES

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
    #: peak resident memory of the whole process tree [MB]: the larger of the root's VmHWM and the largest sum of
    #: VmRSS over the root and its descendants (Spark's JVM, any worker process) seen by polling every 50 ms
    peak_rss_mb: float
    returncode: int
    #: sum over every process of the tree of its own VmHWM [MB]: an upper bound (their peaks need not coincide)
    peak_rss_hwm_sum_mb: float = 0.0


def _status_kb(pid: int) -> tuple[int, int]:
    """``(VmRSS, VmHWM)`` of ``pid`` [kB]; zeros when it is gone or has no address space."""
    rss = hwm = 0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1])
    except (OSError, ValueError):
        pass
    return rss, hwm


def _tree(root: int) -> list[int]:
    """``root`` and its descendants, from the parent ids in ``/proc/*/stat``."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
            ppid = int(stat[stat.rindex(")") + 2:].split()[1])  # after "(comm)": state, ppid
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, ()))
    return out


def _measure(cmd: list[str], env: dict[str, str] | None = None) -> Measurement:
    """Run ``cmd`` in a child process; wall time and peak RSS of its process tree [MB].

    Polled from ``/proc`` every 50 ms until it exits: the root's ``VmHWM`` (high-water mark of its own address
    space, reset at ``exec``; ``wait4``'s ``ru_maxrss`` would include the parent's size at ``fork``), the sum of
    ``VmRSS`` over the tree (a JVM started by PySpark is a child of the run, with its own address space; a
    sampled sum can miss a peak shorter than the poll) and each process's own ``VmHWM`` (summed: an upper bound).
    """
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env)
    peak_kb = 0
    hwm: dict[int, int] = {}
    while proc.poll() is None:
        total = 0
        for pid in _tree(proc.pid) if sys.platform.startswith("linux") else [proc.pid]:
            rss, high = _status_kb(pid)
            total += rss
            hwm[pid] = max(hwm.get(pid, 0), high)
        peak_kb = max(peak_kb, total, hwm.get(proc.pid, 0))
        time.sleep(0.05)
    elapsed = time.perf_counter() - t0
    return Measurement(round(elapsed, 2), round(peak_kb / 1024, 1), proc.returncode,
                       round(sum(hwm.values()) / 1024, 1))


def _stage_seconds(run_dir: Path) -> dict[str, float]:
    """Seconds of each stage the last run in ``run_dir`` ran (its manifest's ``last_run``; a stage kept from an
    earlier run is left out), in the pipeline's order, and ``figures waited``: the seconds the run waited at its
    end for figures drawn by worker processes."""
    path = run_dir / "manifest.json"
    if not path.exists():
        return {}
    manifest = json.loads(path.read_text())
    ran = set(manifest.get("last_run", {}).get("ran", STAGES))
    out = {k: manifest["stages"][k].get("seconds") for k in STAGES if k in manifest.get("stages", {}) and k in ran}
    if manifest.get("figures"):
        out["figures waited"] = manifest["figures"]["seconds_waited"]
    return out


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


def _pieces(data_dir: Path) -> list[str]:
    """The trial's readings files (London Datastore layout pieces)."""
    return sorted(str(p) for p in data_dir.glob("LCL-June2015v2_*.csv"))


def run_commands(exe: list[str], data_dir: Path, run_dir: Path, *, engine: str = "duckdb",
                 spark_master: str | None = None) -> tuple[list[str], list[str]]:
    """The timed command lines: the complete run (also the re-run) and the re-run from the store, on ``engine``."""
    pieces = _pieces(data_dir)
    households = data_dir / "households.csv"
    args = [*pieces, "--out", str(run_dir), "--tariff", str(data_dir / "Tariffs.csv")]
    if households.exists():
        args += ["--households", str(households)]
    engine_args = ["--engine", engine] + (["--spark-master", spark_master] if engine == "spark" and spark_master else [])
    return ([*exe, "run", *args, *engine_args],
            [*exe, "run", "--out", str(run_dir), "--from", "features", "--force", *engine_args])


def _generate_in_child(data_dir: Path, scale: float, seed: int) -> float:
    """Generate the trial in a child process (the simulator's memory must not count as the parent's); seconds."""
    t0 = time.perf_counter()
    gen = subprocess.run([sys.executable, "-c", "import sys; from pathlib import Path; "
                          "from flexpersona.bench import generate; "
                          "generate(Path(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]))",
                          str(data_dir), repr(scale), str(seed)], check=False)
    if gen.returncode != 0:
        msg = "generating the benchmark trial failed; see the error above"
        raise RuntimeError(msg)
    return round(time.perf_counter() - t0, 1)


def floor_env() -> dict[str, str]:
    """The floor's environment: this process's, with glibc's mmap threshold at the value the ``flexpersona``
    command sets for itself (:func:`flexpersona.allocator.reuse_large_blocks`) unless the user chose one."""
    return {"MALLOC_MMAP_THRESHOLD_": str(THRESHOLD_BYTES), **os.environ}


def run_benchmark(out: str | Path, *, scale: float = 0.1, seed: int = 1, keep_data: bool = True,
                  engine: str = "duckdb", spark_master: str | None = None) -> dict:
    """Generate (if needed) and measure; returns the figures printed by ``flexpersona bench``.

    ``engine`` (and ``spark_master``) choose the feature stage's engine of the timed runs; the floor is always
    DuckDB's ``read_csv`` + group-by.
    """
    out = Path(out)
    data_dir = out / f"data-{scale:g}"
    gen_seconds = _generate_in_child(data_dir, scale, seed)
    pieces = _pieces(data_dir)
    csv_bytes = sum(Path(p).stat().st_size for p in pieces)
    py = sys.executable
    floor_script = (
        "import duckdb, json, sys; files = json.loads(sys.argv[1]); con = duckdb.connect();"
        "con.execute('SET enable_progress_bar = false');"
        f"n = con.execute({FLOOR_SQL!r}, {{'files': files}}).fetchall(); print(len(n))"
    )
    # the runs' command raises glibc's mmap threshold (flexpersona.allocator), and DuckDB allocates through it:
    # the floor gets the same allocator, by the environment, without importing flexpersona
    floor = _measure([py, "-c", floor_script, json.dumps(pieces)], env=floor_env())
    if floor.returncode != 0:
        msg = "the floor query failed; see its error above"
        raise RuntimeError(msg)
    run_dir = out / f"run-{scale:g}"
    if run_dir.exists():
        import shutil

        shutil.rmtree(run_dir)
    run_cmd, store_cmd = run_commands([py, "-m", "flexpersona"], data_dir, run_dir, engine=engine,
                                      spark_master=spark_master)
    full = _measure(run_cmd)
    stages_run = _stage_seconds(run_dir)
    rerun = _measure(run_cmd)
    rerun_store = _measure(store_cmd)
    result = {
        "scale": scale,
        "engine": engine,
        "spark_master": (spark_master or Config().features.spark_master) if engine == "spark" else None,
        "floor_engine": "duckdb",
        "csv_gb": round(csv_bytes / 1e9, 3),
        "generate_seconds": gen_seconds,
        "floor": asdict(floor),
        "run": asdict(full),
        "ratio_run_to_floor": round(full.seconds / floor.seconds, 2) if floor.seconds else None,
        "rerun_unchanged": asdict(rerun),
        "rerun_from_store": asdict(rerun_store),
        "ratio_rerun_from_store_to_floor": round(rerun_store.seconds / floor.seconds, 2) if floor.seconds else None,
        "stage_seconds_run": stages_run,
    }
    spec = json.loads((data_dir / "bench_spec.json").read_text())
    result["households"] = spec["n_treatment"] + spec["n_control"]
    result["stage_seconds"] = _stage_seconds(run_dir)  # of the last run: (d), from the store
    name = f"bench-{scale:g}" + ("" if engine == "duckdb" else f"-{engine}")
    (out / f"{name}.json").write_text(json.dumps(result, indent=2))
    return result

"""The benchmark's floor query runs on the simulator's London Datastore layout (not a timing test)."""

import json
import shutil
import sys

import duckdb
import pytest

from flexpersona.bench import FLOOR_SQL
from flexpersona.simulate import simulate_trial, write_trial


def test_floor_query_reads_the_datastore_layout(tmp_path):
    trial = simulate_trial(3, 3, seed=2, start="2012-12-01", end="2013-01-31", survey=False)
    write_trial(trial, tmp_path, "datastore")
    files = sorted(str(p) for p in tmp_path.glob("LCL-June2015v2_*.csv"))
    rows = duckdb.connect().execute(FLOOR_SQL, {"files": files}).fetchall()
    n_values = sum(r[-1] for r in rows)
    assert n_values == int(trial.readings["kwh"].notna().sum())
    assert {r[0] for r in rows} == set(trial.readings["household_id"])


def test_run_commands_carry_the_engine(tmp_path):
    """The timed runs (complete run, re-run, re-run from the store) get ``--engine``; the master only for Spark."""
    from flexpersona.bench import run_commands

    (tmp_path / "LCL-June2015v2_0.csv").write_text("")
    run, store = run_commands(["fp"], tmp_path, tmp_path / "run", engine="spark", spark_master="local[1]")
    for cmd in (run, store):
        assert cmd[:2] == ["fp", "run"]
        assert cmd[cmd.index("--engine") + 1] == "spark"
        assert cmd[cmd.index("--spark-master") + 1] == "local[1]"
    assert str(tmp_path / "LCL-June2015v2_0.csv") in run
    assert store[store.index("--from") + 1] == "features" and "--force" in store
    run, store = run_commands(["fp"], tmp_path, tmp_path / "run", spark_master="local[1]")
    assert run[run.index("--engine") + 1] == "duckdb" and "--spark-master" not in run + store


def test_bench_cli_passes_the_engine(monkeypatch):
    """``flexpersona bench --engine spark`` hands the engine to the benchmark and says that the floor is DuckDB."""
    from click.testing import CliRunner

    import flexpersona.bench
    from flexpersona.cli import main

    seen = {}
    m = {"seconds": 1.0, "peak_rss_mb": 100.0, "returncode": 0, "peak_rss_hwm_sum_mb": 100.0}

    def fake(out, **kw):
        seen.update(kw)
        return {"households": 20, "csv_gb": 0.04, "generate_seconds": 0.1, "engine": kw["engine"],
                "spark_master": kw["spark_master"], "floor": m, "run": m, "ratio_run_to_floor": 1.0,
                "rerun_unchanged": m, "rerun_from_store": m}

    monkeypatch.setattr(flexpersona.bench, "run_benchmark", fake)
    res = CliRunner().invoke(main, ["bench", "--engine", "spark", "--spark-master", "local[2]", "--scale", "0.001"])
    assert res.exit_code == 0, res.output
    assert seen["engine"] == "spark" and seen["spark_master"] == "local[2]" and seen["scale"] == 0.001
    assert "engine of the runs: spark (local[2]); the floor is DuckDB" in res.output


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_peak_rss_counts_child_processes():
    """A run's peak RSS includes its children (Spark's JVM is one): a child holding ~300 MB is counted."""
    from flexpersona.bench import _measure

    child = "import time; b = bytearray(300 * 2**20); time.sleep(1.5)"
    parent = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {child!r}], check=True)"
    m = _measure([sys.executable, "-c", parent])
    assert m.returncode == 0
    assert m.peak_rss_mb > 300
    assert m.peak_rss_hwm_sum_mb >= m.peak_rss_mb


@pytest.mark.spark
@pytest.mark.slow
def test_bench_runs_on_spark(tmp_path):
    """``flexpersona bench --engine spark`` at the smallest scale (20 households; minutes: Spark's per-query cost)."""
    pytest.importorskip("pyspark")
    if shutil.which("java") is None:
        pytest.skip("needs Java")
    from click.testing import CliRunner

    from flexpersona.cli import main

    res = CliRunner().invoke(main, ["bench", "--engine", "spark", "--scale", "0.001", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    r = json.loads((tmp_path / "bench-0.001-spark.json").read_text())
    assert r["engine"] == "spark" and r["floor_engine"] == "duckdb"
    assert all(r[k]["returncode"] == 0 for k in ("floor", "run", "rerun_unchanged", "rerun_from_store"))
    info = json.loads((tmp_path / "run-0.001" / "features_info.json").read_text())
    assert info["engine"] == "spark"  # the feature stage of the timed runs ran on Spark
    assert r["run"]["peak_rss_mb"] > r["floor"]["peak_rss_mb"]  # the JVM counts


def test_stage_seconds_are_those_the_last_run_ran(tmp_path):
    """(d) re-runs features → report: the ingest kept from (b) in the manifest is not one of its stages."""
    from flexpersona.bench import _stage_seconds

    stages = {k: {"seconds": s} for k, s in [("ingest", 11.0), ("features", 9.0), ("report", 1.0)]}
    manifest = {"stages": stages, "last_run": {"ran": ["features", "report"], "reused": []},
                "figures": {"seconds_waited": 0.5}}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    assert _stage_seconds(tmp_path) == {"features": 9.0, "report": 1.0, "figures waited": 0.5}
    manifest["last_run"]["ran"] = ["ingest", "features", "report"]
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    assert list(_stage_seconds(tmp_path)) == ["ingest", "features", "report", "figures waited"]


def test_the_floor_runs_with_the_allocator_of_the_runs(monkeypatch, tmp_path):
    """The ``flexpersona`` command raises glibc's mmap threshold for itself (``flexpersona.allocator``) and DuckDB
    allocates through it, so the floor's child gets the same threshold by its environment (a user's own stands)."""
    from flexpersona import bench
    from flexpersona.allocator import THRESHOLD_BYTES

    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    assert bench.floor_env()["MALLOC_MMAP_THRESHOLD_"] == str(THRESHOLD_BYTES)
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "65536")
    assert bench.floor_env()["MALLOC_MMAP_THRESHOLD_"] == "65536"
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_")

    seen = []

    def measure(cmd, env=None):
        seen.append(env)
        raise SystemExit  # the floor is the first measurement: stop there

    monkeypatch.setattr(bench, "_generate_in_child", lambda *a: 0.0)
    monkeypatch.setattr(bench, "_pieces", lambda d: [])
    monkeypatch.setattr(bench, "_measure", measure)
    with pytest.raises(SystemExit):
        bench.run_benchmark(tmp_path, scale=0.001)
    assert seen[0]["MALLOC_MMAP_THRESHOLD_"] == str(THRESHOLD_BYTES)

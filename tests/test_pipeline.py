"""Orchestration semantics (stage selection, re-use, manifest) with stand-in stages."""

import json

import pytest

from flexpersona import pipeline
from flexpersona import store as store_module
from flexpersona.config import Config
from flexpersona.errors import StageError


@pytest.fixture
def fake_stages(monkeypatch):
    calls = []

    def make(name, writes, reads=()):
        def func(ctx):
            calls.append(name)
            for w in writes:
                p = ctx.file(w)
                p.parent.mkdir(parents=True, exist_ok=True)
                src = "".join(ctx.file(r).read_text() for r in reads if ctx.file(r).exists())
                p.write_text(f"{name}:{src}")
            return {"n": 1}

        return pipeline.Stage(name, ("data",) if name == "ingest" else (name,) if name in
                              ("features", "personas", "explain", "toolkit") else ("report",), reads, writes, func)

    defs = {
        "ingest": make("ingest", ("ingest", "ledger")),
        "features": make("features", ("features",), ("ingest",)),
        "personas": make("personas", ("personas",), ("features",)),
        "explain": make("explain", ("explain_summary",), ("personas",)),
        "toolkit": make("toolkit", ("toolkit",), ("personas",)),
        "eda": make("eda", ("eda_summary",), ("features",)),
        "report": make("report", ("report",), ("toolkit",)),
    }
    monkeypatch.setattr(pipeline, "STAGE_DEFS", defs)
    monkeypatch.setattr(pipeline, "_summary_counts", lambda ctx: {})
    return calls


def test_select_stages():
    assert pipeline.select_stages() == list(pipeline.STAGES)
    assert pipeline.select_stages("features", "personas") == ["features", "eda", "personas"]
    assert pipeline.select_stages("personas", "explain") == ["personas", "explain"]
    with pytest.raises(StageError, match="comes after"):
        pipeline.select_stages("report", "features")
    with pytest.raises(StageError, match="unknown stage"):
        pipeline.select_stages("nope")


def test_rerun_reuses_unchanged_stages(tmp_path, fake_stages):
    data = tmp_path / "data.csv"
    data.write_text("x\n1\n")
    out = tmp_path / "run"
    first = pipeline.run([data], out)
    assert first.ran == list(pipeline.STAGES)
    second = pipeline.run([data], out)
    assert second.ran == [] and second.reused == list(pipeline.STAGES)
    # A config change of one stage re-runs that stage and what reads its outputs.
    third = pipeline.run([data], out, config=Config().replace(personas={"k_max": 5}))
    assert third.ran[0] == "personas"
    assert "features" in third.reused and "ingest" in third.reused
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["stages"]) == set(pipeline.STAGES)
    assert manifest["config"]["personas"]["k_max"] == 5
    assert str(data.resolve()) in manifest["input_fingerprints"]


def test_changed_input_reruns_everything(tmp_path, fake_stages):
    data = tmp_path / "data.csv"
    data.write_text("x\n1\n")
    out = tmp_path / "run"
    pipeline.run([data], out)
    data.write_text("x\n2\n3\n")
    again = pipeline.run([data], out)
    assert again.ran[0] == "ingest"


def test_input_files_are_fingerprinted_once_per_run(tmp_path, fake_stages, monkeypatch):
    """The ingest's hash (before and after it runs) and the manifest written after every stage share one
    fingerprint per input file (at full LCL size a pass over the 222 files costs ~0.5 s)."""
    data = [tmp_path / f"data{i}.csv" for i in range(3)]
    for i, d in enumerate(data):
        d.write_text(f"x\n{i}\n")
    seen = []
    real = store_module.file_fingerprint
    monkeypatch.setattr(store_module, "file_fingerprint", lambda p: seen.append(str(p)) or real(p))
    res = pipeline.run(data, tmp_path / "run")
    assert res.ran == list(pipeline.STAGES)
    inputs = [s for s in seen if s.startswith(str(tmp_path / "data"))]
    assert sorted(inputs) == sorted(str(d.resolve()) for d in data)
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert sorted(manifest["input_fingerprints"]) == sorted(inputs)


def test_a_rerun_reads_no_unchanged_input(tmp_path, fake_stages, monkeypatch):
    """A re-run takes an input's fingerprint from the manifest while the file system reports the file unchanged
    (size, modification and change times, inode): at full LCL size it reads nothing of the 11 GB of CSV. A
    rewritten file is read again, even with its modification time set back, and its stages run again."""
    import os
    import time

    data = [tmp_path / f"data{i}.csv" for i in range(3)]
    for i, d in enumerate(data):
        d.write_text(f"x\n{i}\n")
    pipeline.run(data, tmp_path / "run")  # the files changed just before: their keys are racy, so ...
    time.sleep(store_module.RACY_NS / 1e9)
    pipeline.run(data, tmp_path / "run")  # ... this run reads them again and keeps keys that can be trusted
    seen = []
    real = store_module.file_fingerprint
    monkeypatch.setattr(store_module, "file_fingerprint", lambda p: seen.append(str(p)) or real(p))
    again = pipeline.run(data, tmp_path / "run")
    assert again.ran == [] and not [s for s in seen if s.startswith(str(tmp_path / "data"))]
    st = data[1].stat()
    data[1].write_text("x\n7\n")  # same size, new content
    os.utime(data[1], ns=(st.st_atime_ns, st.st_mtime_ns))  # the modification time set back
    third = pipeline.run(data, tmp_path / "run")
    assert [s for s in seen if s.startswith(str(tmp_path / "data"))] == [str(data[1].resolve())]
    assert third.ran[0] == "ingest"


def test_partial_run_and_force(tmp_path, fake_stages):
    data = tmp_path / "data.csv"
    data.write_text("x\n1\n")
    out = tmp_path / "run"
    res = pipeline.run([data], out, stop="features")
    assert res.ran == ["ingest", "features"]
    res = pipeline.run(None, out, start="personas", stop="personas")
    assert res.ran == ["personas"]
    res = pipeline.run(None, out, start="personas", stop="personas", force=True)
    assert res.ran == ["personas"]


def test_failed_stage_leaves_manifest_of_finished_stages(tmp_path, fake_stages, monkeypatch):
    def boom(ctx):
        raise StageError("planted failure")

    broken = pipeline.STAGE_DEFS["personas"]
    monkeypatch.setitem(pipeline.STAGE_DEFS, "personas",
                        pipeline.Stage("personas", broken.sections, broken.reads, broken.writes, boom))
    data = tmp_path / "data.csv"
    data.write_text("x\n1\n")
    out = tmp_path / "run"
    with pytest.raises(StageError, match="planted failure"):
        pipeline.run([data], out)
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["stages"]) == {"ingest", "features", "eda"}  # the stages before the failed one
    assert manifest["inputs"]["inputs"] == [str(data.resolve())]


def test_one_progress_line_per_stage_on_a_terminal_only(tmp_path, fake_stages, capsys):
    """Issue 14 item 4: with progress (a terminal), one line per stage with its elapsed time; quiet otherwise."""
    data = tmp_path / "data.csv"
    data.write_text("x\n1\n")
    pipeline.run([data], tmp_path / "quiet")
    assert capsys.readouterr().err == ""
    pipeline.run([data], tmp_path / "run", progress=True)
    lines = capsys.readouterr().err.splitlines()
    assert [ln.split()[1] for ln in lines] == list(pipeline.STAGES)
    assert all(ln.split()[3] == "s" and float(ln.split()[2]) >= 0 for ln in lines)
    pipeline.run([data], tmp_path / "run", progress=True)
    assert all("re-used" in ln for ln in capsys.readouterr().err.splitlines())

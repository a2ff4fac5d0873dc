"""Figures drawn by worker processes (issue 14 item 3): the same bytes, drawn once, failures named."""

from __future__ import annotations

import json
import os
import runpy
import time
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from flexpersona import pipeline
from flexpersona.plotting import drawing_pool, save_figure
from flexpersona.plotting.pool import active_pool, resolve_workers


def _figures() -> dict[str, go.Figure]:
    rng = np.random.default_rng(3)
    days = pd.date_range("2013-01-01", periods=30, freq="D").to_numpy()  # datetime64: lost in a JSON round trip
    return {
        "dates": go.Figure(go.Scatter(x=days, y=rng.normal(size=30), mode="lines+markers", name="kWh")),
        "heatmap": go.Figure(go.Heatmap(z=rng.normal(size=(4, 6)), x=list("abcdef"), y=list("wxyz"))),
        "box": go.Figure(go.Box(y=rng.normal(size=40), x=np.repeat(["p1", "p2"], 20))),
        "bars": go.Figure([go.Bar(x=["a", "b"], y=[1.5, -2.0], name="one"), go.Bar(x=["a", "b"], y=[2, 1], name="two")]),
    }


def test_pooled_figures_are_the_bytes_drawn_in_place(tmp_path):
    with drawing_pool(0) as inline:
        for name, fig in _figures().items():
            save_figure(fig, tmp_path / "inline" / name)
    with drawing_pool(2) as pool:
        for name, fig in _figures().items():
            save_figure(fig, tmp_path / "pool" / name)
        assert active_pool() is pool
    assert active_pool() is None
    assert inline.drawn == pool.drawn == 4 and pool.workers == 2
    for name in _figures():
        for suffix in (".png", ".svg"):
            a, b = (tmp_path / d / f"{name}{suffix}" for d in ("inline", "pool"))
            assert a.read_bytes() == b.read_bytes(), f"{name}{suffix}"


def test_a_figure_is_handed_over_once_and_the_last_one_wins(tmp_path):
    figs = _figures()
    with drawing_pool(2) as pool:
        save_figure(figs["bars"], tmp_path / "f")
        save_figure(figs["bars"], tmp_path / "f")  # the same figure for the same files: not again
        assert pool.drawn == 1
        save_figure(figs["box"], tmp_path / "f")  # another figure for the same files: drawn after the first
        assert pool.drawn == 2
    save_figure(figs["box"], tmp_path / "direct")
    assert (tmp_path / "f.png").read_bytes() == (tmp_path / "direct.png").read_bytes()
    with drawing_pool(2) as again:  # drawn before from this very figure: not handed over
        save_figure(figs["box"], tmp_path / "f")
    assert again.drawn == 0


def _pid_stamp(fig, stem, dpi, key):
    """A drawing of 0.2 s that writes the id of the process that drew it."""
    time.sleep(0.2)
    Path(f"{stem}.pid").write_text(str(os.getpid()))


def test_the_waiting_process_draws_what_no_worker_has_started(tmp_path):
    with drawing_pool(1) as pool:
        for i in range(10):
            pool.submit(_pid_stamp, None, tmp_path / f"f{i}", 110, f"k{i}")
    here = [int((tmp_path / f"f{i}.pid").read_text()) == os.getpid() for i in range(10)]
    assert pool.drawn == 10 and pool.drawn_here == sum(here)
    assert here[0] is False and here[-1] is True  # the worker took the first, this process the last ...
    assert here == sorted(here)  # ... the worker's figures all before this process's


def test_a_failed_drawing_raises_naming_its_files(tmp_path):
    with pytest.raises(RuntimeError, match=r"bad\.png/\.svg failed"), drawing_pool(1) as pool:
        pool.submit(len, None, tmp_path / "bad", 110, "key")  # len(4 arguments): a drawing function that fails
    assert active_pool() is None


def test_workers_resolve_from_the_config(monkeypatch):
    assert resolve_workers(0) == 0 and resolve_workers(3) == 3
    for cores, workers in ((1, 1), (2, 1), (8, 7), (None, 1)):  # the default leaves the run's own core
        monkeypatch.setattr("os.cpu_count", lambda cores=cores: cores)
        assert resolve_workers(-1) == workers


def test_a_spawned_worker_importing_the_cli_entry_point_does_not_run_it():
    # spawn imports ``python -m flexpersona``'s main module in every worker, as __mp_main__
    runpy.run_module("flexpersona.__main__", run_name="__mp_main__")


def test_the_run_writes_every_figure_before_it_returns(tmp_path, monkeypatch):
    """A stage's figures are drawn while the later stages run; all are on disk when ``run`` returns."""
    def eda(ctx):
        for name, fig in _figures().items():
            save_figure(fig, ctx.run_dir / "figures" / name)
        ctx.file("eda_summary").parent.mkdir(parents=True, exist_ok=True)
        ctx.file("eda_summary").write_text("{}")
        return {}

    def other(name, writes):
        def func(ctx):
            for w in writes:
                ctx.file(w).parent.mkdir(parents=True, exist_ok=True)
                ctx.file(w).write_text(name)
            return {}
        section = "data" if name == "ingest" else "report" if name == "report" else name
        return pipeline.Stage(name, (section,), (), writes, func)

    defs = {name: other(name, (out,)) for name, out in (("ingest", "ingest"), ("features", "features"),
                                                           ("personas", "personas"), ("explain", "explain_summary"),
                                                           ("toolkit", "toolkit"), ("report", "report"))}
    defs["eda"] = pipeline.Stage("eda", ("report",), (), ("eda_summary",), eda)
    monkeypatch.setattr(pipeline, "STAGE_DEFS", defs)
    monkeypatch.setattr(pipeline, "_summary_counts", lambda ctx: {})
    data = tmp_path / "data.csv"
    data.write_text("x\n1\n")
    res = pipeline.run([data], tmp_path / "run", config=pipeline.Config().replace(report={"figure_jobs": 2}))
    assert res.ran.index("eda") == 2  # explored right after the features: drawn while personas .. toolkit run
    assert all((tmp_path / "run" / "figures" / f"{n}{s}").exists() for n in _figures() for s in (".png", ".svg"))
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["figures"]["drawn"] == 4 and manifest["figures"]["processes"] == 2
    assert 0 <= manifest["figures"]["drawn_by_run"] <= 4

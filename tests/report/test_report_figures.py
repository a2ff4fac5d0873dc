"""The browser-free PNG/SVG export and the HTML fragment of a figure."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from plotly.subplots import make_subplots

from flexpersona.report import figure_html, save_figure, to_matplotlib

RNG = np.random.default_rng(7)


def _figures() -> dict[str, go.Figure]:
    sp = make_subplots(rows=1, cols=2)
    sp.add_trace(go.Scatter(x=[1, 2, 3], y=[3, 1, 2]), 1, 1)
    sp.add_trace(go.Bar(x=["a", "b"], y=[3, 4]), 1, 2)
    return {
        "scatter": go.Figure(
            go.Scatter(x=RNG.normal(size=37), y=RNG.normal(size=37), mode="markers",
                       error_y={"type": "data", "array": np.full(37, 0.1)},
                       marker={"color": RNG.normal(size=37), "colorscale": "RdBu", "showscale": True})
        ),
        "line": go.Figure(go.Scatter(x=["2013-01-01", "2013-01-02", "2013-01-05"], y=[1, 2, 3], mode="lines")),
        "bar": go.Figure([go.Bar(x=["a", "b", "c"], y=[1, 2, 3], name="one"), go.Bar(x=["a", "b", "c"], y=[2, 1, 3], name="two")]),
        "barh": go.Figure(go.Bar(y=["a", "b"], x=[1.0, -2.0], orientation="h")),
        "histogram": go.Figure(go.Histogram(x=RNG.normal(size=200))),
        "heatmap": go.Figure(go.Heatmap(z=RNG.normal(size=(4, 5)), x=list("abcde"), y=list("wxyz"))),
        "box": go.Figure(go.Box(y=RNG.normal(size=60), x=np.repeat(["p1", "p2", "p3"], 20))),
        "radar": go.Figure(go.Scatterpolar(r=[1, 2, 3], theta=["a", "b", "c"], fill="toself", name="P1")),
        "subplots": sp,
    }


@pytest.mark.parametrize("name", list(_figures()))
def test_save_figure_writes_png_and_svg(tmp_path, name):
    fig = _figures()[name]
    paths = save_figure(fig, tmp_path / "figures" / name)
    assert [p.suffix for p in paths] == [".png", ".svg"]
    png, svg = (p.read_bytes() for p in paths)
    assert png.startswith(b"\x89PNG")
    assert b"<svg" in svg[:2000]
    assert len(png) > 3000  # something was drawn, not a blank canvas


def test_converter_draws_every_point_and_cell():
    mfig = to_matplotlib(_figures()["scatter"])
    ax = mfig.axes[0]
    sizes = [len(c.get_offsets()) for c in ax.collections if hasattr(c, "get_offsets")]
    assert 37 in sizes
    heat = to_matplotlib(_figures()["heatmap"])
    assert heat.axes[0].images[0].get_array().shape == (4, 5)
    radar = to_matplotlib(_figures()["radar"])
    assert radar.axes[0].name == "polar"
    assert len(to_matplotlib(_figures()["subplots"]).axes) == 2
    bars = to_matplotlib(_figures()["bar"]).axes[0].patches
    assert len(bars) == 6


def test_svg_is_reproducible(tmp_path):
    fig = _figures()["bar"]
    a = save_figure(fig, tmp_path / "a")[1].read_bytes()
    b = save_figure(fig, tmp_path / "b")[1].read_bytes()
    assert a == b


def test_a_figure_is_drawn_once_and_again_when_it_changes(tmp_path, monkeypatch):
    import flexpersona.plotting.render as render

    drawn = []
    real = render.to_matplotlib
    monkeypatch.setattr(render, "to_matplotlib", lambda fig: drawn.append(1) or real(fig))
    fig = _figures()["bar"]
    first = [p.read_bytes() for p in save_figure(fig, tmp_path / "f")]
    again = [p.read_bytes() for p in save_figure(go.Figure(fig), tmp_path / "f")]
    assert len(drawn) == 1 and again == first  # same figure, same files: not drawn again
    save_figure(fig, tmp_path / "f", dpi=90)  # another resolution
    changed = go.Figure(fig).update_layout(title="another title")
    save_figure(changed, tmp_path / "f")
    assert len(drawn) == 3
    (tmp_path / "f.png").unlink()
    save_figure(changed, tmp_path / "f")  # a file missing
    assert len(drawn) == 4


def test_figure_html_has_no_plotlyjs_and_keeps_hover_ids():
    fig = go.Figure(go.Scatter(x=[1, 2], y=[3, 4], customdata=[["D0001"], ["D0002"]], hovertemplate="%{customdata[0]}"))
    html = figure_html(fig, div_id="fig-x")
    assert 'id="fig-x"' in html and "fp-figure" in html
    assert "D0002" in html
    assert len(html) < 20_000  # plotly.js (megabytes) is not inlined per figure
    assert "cdn" not in html.lower()


def test_converter_reads_plotly_json_typed_arrays():
    import json

    import plotly.io as pio

    fig = go.Figure(go.Heatmap(z=np.arange(6.0).reshape(2, 3)))
    as_dict = json.loads(pio.to_json(fig))  # z becomes {"dtype", "bdata", "shape"}
    assert to_matplotlib(as_dict).axes[0].images[0].get_array().shape == (2, 3)


def test_selection_chart_reads_long_and_wide_tables():
    from flexpersona.report import figures as F

    rows = [{"algorithm": a, "k": k, "covariance_type": cov, "index": idx, "value": 1.0 / k}
            for a, cov in (("kmeans", ""), ("gmm", "full")) for k in range(2, 6)
            for idx in ("silhouette", "bic", "davies_bouldin") if not (idx == "bic" and a == "kmeans")]
    long = F.selection_chart(pd.DataFrame(rows))
    titles = [a.text for a in long.layout.annotations]
    assert titles[0].startswith("silhouette") and any(t.startswith("BIC") for t in titles)
    mfig = to_matplotlib(long)
    assert [ax.get_title() for ax in mfig.axes][:2] == [titles[0], titles[1]]
    wide = F.selection_chart(pd.DataFrame({"k": [2, 3, 4], "inertia": [9.0, 5.0, 4.0]}))
    assert len(wide.data) == 1
    assert F.selection_chart(pd.DataFrame({"k": [2]})) is None


def test_persona_profiles_stay_meaningful_with_two_personas():
    """Two personas: each feature's bar is the persona median against all households in robust sd units, not a
    0-1 scale across the two persona medians (which would make every axis 0 or 1)."""
    from flexpersona.report import figures as F

    rng = np.random.default_rng(0)
    n = 200
    feats = pd.DataFrame({"household_id": [f"h{i}" for i in range(n)],
                          "high_response_pct": np.r_[rng.normal(-30, 5, 40), rng.normal(0, 5, n - 40)],
                          "evening_share": rng.uniform(0.2, 0.6, n)})
    life = pd.DataFrame({"household_id": feats["household_id"], "baseload_kwh": rng.gamma(2, 0.05, n)})
    pers = pd.DataFrame({"household_id": feats["household_id"], "persona_name": ["Reducers"] * 40 + ["Inert"] * (n - 40)})
    fig = F.persona_profiles(feats, pers, lifestyle=life)
    bars = {tr.name: dict(zip(tr.y, tr.x)) for tr in fig.data}
    assert set(bars) == {"Reducers", "Inert"}
    assert list(fig.data[0].y) == ["high_response_pct", "baseload_kwh", "evening_share"]  # lifestyle fills in
    v = feats["high_response_pct"]
    q1, med, q3 = v.quantile([0.25, 0.5, 0.75])
    expected = (v[:40].median() - med) / ((q3 - q1) / 1.349)
    assert bars["Reducers"]["high_response_pct"] == pytest.approx(expected)
    assert bars["Reducers"]["high_response_pct"] < -1.5 and abs(bars["Inert"]["high_response_pct"]) < 0.5
    # features the personas share sit near 0 for both (min-max across personas would put them at 0 and 1)
    assert all(abs(bars[p]["evening_share"]) < 0.5 for p in bars)
    assert F.persona_profiles(feats, None) is None


def test_pca_map_uses_the_personas_stage_coordinates_and_hovers_ids():
    from flexpersona.report import figures as F

    feats = pd.DataFrame({"household_id": ["a", "b", "c", "d"], "x": [1.0, 2, 3, 4], "y": [0.0, 1, 0, 1]})
    pers = pd.DataFrame({"household_id": ["a", "b", "c", "d"], "persona_name": ["P", "P", "Q", "Q"],
                         "pc1": [10.0, 11, 12, 13], "pc2": [5.0, 5, 6, 6]})
    fig = F.pca_map(feats, pers, ["x", "y"])
    assert sorted(v for tr in fig.data for v in tr.x) == [10.0, 11.0, 12.0, 13.0]
    assert {row[0] for tr in fig.data for row in tr.customdata} == {"a", "b", "c", "d"}
    computed = F.pca_map(feats, pers.drop(columns=["pc1", "pc2"]), ["x", "y"])
    assert "variance" in computed.layout.xaxis.title.text

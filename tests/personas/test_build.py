"""build_personas (default path): planted recovery, names, continuum fallback, unassigned households, outputs."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from persona_planted import null_features, planted_features
from sklearn.metrics import adjusted_rand_score

from flexpersona import Config
from flexpersona.cli import main
from flexpersona.errors import StageError
from flexpersona.personas import build_personas, save_personas

#: Small but honest settings for tests (the defaults are benchmarked separately).
FAST = {"bootstrap_resamples": 8, "gmm_restarts": 3, "k_max": 6}
EXPECTED = {"engaged_shifter": "Engaged shifters", "moderate_reducer": "Peak reducers", "inert": "Inert",
            "contrarian": "Contrarians"}


@pytest.fixture(scope="module")
def planted():
    df = planted_features(400, seed=11)
    df.loc[[3, 7], "low_response_pct"] = np.nan
    df.loc[5, "high_response_pct"] = np.inf
    rng = np.random.default_rng(11)
    for c in ("high_response_pct", "low_response_pct"):
        df[f"{c}_h1"] = df[c] + rng.normal(0, 1.5, len(df))
        df[f"{c}_h2"] = df[c] + rng.normal(0, 1.5, len(df))
    return df, build_personas(df, Config().replace(personas=FAST))


def test_default_path_recovers_four_planted_personas(planted):
    df, res = planted
    assert res.structure_found and res.method == "default"
    ok = res.personas["persona_id"].notna()
    assert adjusted_rand_score(df.loc[ok, "truth"], res.personas.loc[ok, "persona_id"]) >= 0.85
    assert res.stability["chosen"]["k"] == 4


def test_names_match_planted_meanings(planted):
    df, res = planted
    p = res.personas.assign(truth=df["truth"])
    p = p[p["persona_id"].notna()]
    majority = p.groupby("truth")["persona_name"].agg(lambda s: s.value_counts().index[0]).to_dict()
    assert majority == EXPECTED
    ids = p.groupby("truth")["persona_id"].agg(lambda s: s.value_counts().index[0]).to_dict()
    assert ids == {"engaged_shifter": "P1", "moderate_reducer": "P2", "inert": "P3", "contrarian": "P4"}
    assert all("%" in r for r in res.profiles["persona_rationale"])


def test_unassigned_households_are_kept_with_a_reason(planted):
    df, res = planted
    assert res.n_unassigned == 3 and len(res.personas) == len(df)
    un = res.personas.iloc[[3, 5, 7]]
    assert un["persona_id"].isna().all() and (un["persona_name"] == "unassigned").all()
    assert un["unassigned_reason"].iloc[1] == "missing or infinite high_response_pct"
    assert un["membership"].isna().all()


def test_membership_stability_selection_and_tables(planted):
    df, res = planted
    p = res.personas[res.personas["persona_id"].notna()]
    assert p["membership"].between(0, 1).all()
    assert (p["low_confidence"] == (p["membership"] < 0.6)).all()
    s = res.stability
    assert s["bootstrap_ari_mean"] > 0.7 and s["split_half_available"] and s["split_half_ari"] > 0.6
    assert s["null_test"]["decision"] == "structure"
    sel = res.selection
    assert set(sel["algorithm"]) == {"kmeans", "gmm", "ward", "hdbscan"}
    assert {"silhouette", "davies_bouldin", "calinski_harabasz", "bic"} <= set(sel["index"])
    chosen = sel[sel["chosen"]]
    assert chosen[["algorithm", "k", "covariance_type"]].drop_duplicates().shape[0] == 1
    assert set(res.profiles["persona_id"]) == {"P1", "P2", "P3", "P4"}
    assert "median_mean_daily_kwh" in res.profiles and "ratio_high_response_pct" in res.profiles
    assert res.profiles["n"].sum() == len(df) - 3
    m = res.matrix
    assert len(m) == 16
    np.testing.assert_allclose(m.groupby("persona_id")["row_pct"].sum(), 100.0)
    assert list(res.pca.columns) == ["household_id", "pc1", "pc2"]


def test_no_structure_gives_the_continuum():
    df = null_features(300, seed=3)
    res = build_personas(df, Config().replace(personas=FAST))
    assert not res.structure_found and res.model is None
    assert (res.personas["persona_id"] == "P0").all() and (res.personas["persona_name"] == "continuum").all()
    assert res.personas["membership"].isna().all()
    assert "No persona structure exists" in res.stability["message"]
    assert not res.selection["chosen"].any() and res.stability["chosen"] is None


def test_name_override_from_config():
    df = planted_features(300, seed=12)
    res = build_personas(df, Config().replace(personas={**FAST, "names": {"P1": "Eager shifters"}}))
    assert "Eager shifters" in set(res.personas["persona_name"])


def test_missing_feature_column_is_a_stage_error():
    df = planted_features(50, seed=1).drop(columns="low_response_pct")
    with pytest.raises(StageError, match="low_response_pct"):
        build_personas(df, Config())


def test_save_and_cli(tmp_path, planted):
    df, res = planted
    save_personas(res, tmp_path)
    out = pd.read_parquet(tmp_path / "personas.parquet")
    assert list(out.columns[:5]) == ["household_id", "persona_id", "persona_name", "membership", "low_confidence"]
    stab = json.loads((tmp_path / "stability.json").read_text())
    assert stab["structure_found"] is True
    model = pickle.loads((tmp_path / "persona_model.pkl").read_bytes())["model"]
    assert model.predict(np.array([[-25.0, 20.0]]))[0] == 0
    # the CLI on a run folder holding only the features
    run = tmp_path / "run"
    run.mkdir()
    planted_features(200, seed=2).drop(columns="truth").to_parquet(run / "features.parquet")
    cfg = tmp_path / "fast.toml"
    cfg.write_text("[personas]\nbootstrap_resamples = 4\ngmm_restarts = 2\nk_max = 5\n")
    result = CliRunner().invoke(main, ["personas", str(run), "--config", str(cfg)])
    assert result.exit_code == 0, result.output
    for name in ("personas.parquet", "persona_profiles.csv", "selection.csv", "stability.json", "persona_model.pkl"):
        assert (run / name).exists()
    missing = CliRunner().invoke(main, ["personas", str(tmp_path / "run"), "--method", "seed"])
    assert missing.exit_code == 2 and "peak_reduction_weekday" in missing.output


def test_cli_help_has_an_example():
    result = CliRunner().invoke(main, ["personas", "--help"])
    assert result.exit_code == 0 and "flexpersona personas run1" in result.output


def test_a_feature_without_values_names_the_fix():
    df = planted_features(60, seed=1)
    df["low_response_pct"] = np.nan
    with pytest.raises(StageError, match="low_response_pct has no value at all"):
        build_personas(df, Config())


def test_without_mixtures_k_is_the_majority_of_internal_indices():
    df = planted_features(200, seed=1)
    res = build_personas(df, Config().replace(personas={**FAST, "algorithms": ["kmeans", "ward"]}))
    votes = res.stability["votes"]
    assert "bic" not in votes and res.stability["chosen"]["k"] == votes["internal_majority"]
    assert res.stability["chosen"]["algorithm"] in {"kmeans", "ward"}

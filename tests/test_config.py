import pytest

from flexpersona.config import Config, ConfigError, from_dict, load_config


def test_defaults_match_methods():
    cfg = Config()
    assert cfg.data.baseline_year == 2012 and cfg.data.trial_year == 2013
    assert cfg.data.high_price == pytest.approx(0.6720)
    assert cfg.data.flat_price == pytest.approx(0.14228)


def test_toml_round_trip(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text('[features]\nengine = "spark"\nbootstrap_replicates = 50\n[personas]\nalgorithms = ["kmeans"]\n')
    cfg = load_config(p)
    assert cfg.features.engine == "spark"
    assert cfg.features.bootstrap_replicates == 50
    assert cfg.personas.algorithms == ("kmeans",)
    assert cfg.data == Config().data


def test_unknown_key_names_the_option(tmp_path):
    with pytest.raises(ConfigError, match="features.engin"):
        from_dict({"features": {"engin": "spark"}})
    with pytest.raises(ConfigError, match="unknown config section"):
        from_dict({"feature": {}})
    bad = tmp_path / "bad.toml"
    bad.write_text("[features\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)


def test_section_hash_changes_only_with_its_section():
    a = Config()
    b = a.replace(personas={"k_max": 5})
    assert a.section_hash("features") == b.section_hash("features")
    assert a.section_hash("personas") != b.section_hash("personas")


def test_section_hash_ignores_resources_and_thread_counts():
    a = Config()
    same = a.replace(data={"duckdb_memory_limit": "3GB", "ingest_threads": 1, "duckdb_threads": 2})
    assert a.section_hash("data", "features") == same.section_hash("data", "features")
    assert a.section_hash("data") != a.replace(data={"kwh_cap": 5.0}).section_hash("data")


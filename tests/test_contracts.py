"""Table contracts (flexpersona.contracts) and the run folder that validates every save against them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from flexpersona import contracts
from flexpersona.errors import ContractError, StageError
from flexpersona.runfolder import ARTIFACTS, RunFolder


def _features(n: int = 5) -> pd.DataFrame:
    """A features table with every required column (the contract's own types)."""
    rng = np.random.default_rng(0)
    cols = {}
    for c in contracts.FEATURES.columns:
        if not c.required:
            continue
        cols[c.name] = {"str": [f"H{i}" for i in range(n)], "int": np.arange(n), "bool": np.zeros(n, bool),
                        "float": rng.normal(size=n), "any": [None] * n,
                        "datetime": pd.date_range("2013-01-01", periods=n)}[c.dtype]
    return pd.DataFrame(cols)


def test_a_table_that_keeps_its_contract_saves_and_loads_unchanged(tmp_path):
    rf = RunFolder(tmp_path)
    f = _features()
    rf.save("features", f)
    assert (tmp_path / "features.parquet").exists() and (tmp_path / "features.csv").exists()  # the CSV twin
    pd.testing.assert_frame_equal(rf.load("features"), f)


@pytest.mark.parametrize(("change", "named"), [
    (lambda f: f.drop(columns=["high_response_pct"]), "high_response_pct"),
    (lambda f: f.assign(high_response_pct="a lot"), "high_response_pct"),
    (lambda f: f.assign(high_respons_pct=1.0), "high_respons_pct"),
])
def test_saving_a_table_that_breaks_its_contract_names_the_column(tmp_path, change, named):
    with pytest.raises(ContractError, match=named) as err:
        RunFolder(tmp_path).save("features", change(_features()))
    assert "flexpersona.contracts" in str(err.value)
    assert not (tmp_path / "features.parquet").exists()  # nothing half-written


def test_a_missing_artifact_names_the_stage_that_writes_it(tmp_path):
    rf = RunFolder(tmp_path)
    assert rf.load("personas", required=False) is None
    with pytest.raises(StageError, match="personas stage"):
        rf.load("personas")
    with pytest.raises(KeyError, match="unknown run artifact"):
        rf.load("persona")


def test_every_contracted_artifact_names_a_contract():
    assert {a.contract for a in ARTIFACTS.values() if a.contract} <= set(contracts.CONTRACTS)
    for a in ARTIFACTS.values():
        if a.contract:
            assert contracts.CONTRACTS[a.contract].file == a.path


def test_pre_trial_features_and_the_leakage_guard_derive_from_the_contracts():
    from flexpersona.eda.summary import FEATURE_UNITS
    from flexpersona.explain.variables import LIFESTYLE_FEATURES

    assert LIFESTYLE_FEATURES == contracts.PRE_TRIAL and "baseload_kwh" in contracts.PRE_TRIAL
    assert not set(contracts.PRE_TRIAL) & contracts.OUTCOMES
    for name in ("high_response_pct", "high_response_post", "low_p_increase_gt5", "bill_saving_behavioural_pct",
                 "persona_id", "my_response_guess"):
        assert contracts.is_outcome(name), name
    for name in contracts.PRE_TRIAL:
        assert not contracts.is_outcome(name), name
    assert all(FEATURE_UNITS[c] == contracts.UNITS[c] for c in FEATURE_UNITS if c in contracts.UNITS)


def test_columns_the_report_picks_by_name_are_declared():
    from flexpersona.features.potential import PERFORMANCE_AXES, POTENTIAL_AXES
    from flexpersona.report.figures import PROFILE_FEATURES

    assert contracts.declared(*PROFILE_FEATURES, *POTENTIAL_AXES, *PERFORMANCE_AXES)
    with pytest.raises(ContractError, match="high_respons_pct"):
        contracts.declared("high_response_pct", "high_respons_pct")

"""Issue 13 acceptance: every stage through the API in memory gives the tables of a ``flexpersona run``.

Twice, on files on disk: a simulated trial written in the UK Data Service layout (readings, households, tariff,
survey) and real Low Carbon London fragments of ``../shared/data/lcl`` (:data:`REAL_READINGS`, with the real
households file and ``Tariffs.xlsx``). One side reads them with ``fp.read_*`` and calls
``compute_features`` → ``explore`` → ``build_personas`` → ``explain_personas`` → ``build_toolkit`` in memory; the other runs
``flexpersona run --to toolkit`` (the CLI) on the same files with the same TOML config. Every artifact of the
five results (tables, JSON documents, the toolkit's Markdown) must equal what the run folder holds, numbers to
1e-9 (absolute), and every table the run wrote must have been compared.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import flexpersona as fp
from flexpersona.cli import main
from flexpersona.contracts import CONTRACTS
from flexpersona.runfolder import ARTIFACTS
from flexpersona.simulate import write_trial
from flexpersona.store import read_json, write_json

pytestmark = pytest.mark.slow

ATOL = 1e-9
#: Small resampling, the same on both sides (the in-memory side loads this file too).
CONFIG_TOML = """
[data]
duckdb_threads = 1

[features]
bootstrap_replicates = 50
prevalence_replicates = 20

[personas]
bootstrap_resamples = 5

[explain]
bootstrap_replicates = 50
outer_folds = 3

[toolkit]
cv_repeats = 2
"""
#: Artifacts a run to the toolkit writes that the five API results do not produce (ingest and run records).
RUN_ONLY = {"ingest", "ledger", "manifest"}
#: Keys of the JSON documents that measure the machine, not the data (wall-clock seconds).
CLOCK_KEYS = {"timings_s"}


# -- the comparison ----------------------------------------------------------------------------------------


def _column(s: pd.Series) -> pd.Series:
    """A column as floats (numbers and booleans, NaN for missing) or as text (None for missing or empty):
    what a CSV round trip keeps of it."""
    if pd.api.types.is_datetime64_any_dtype(s):
        return s.astype(str).where(s.notna(), None).astype(object)
    values = s.dropna()
    if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s) or (
        len(values) and values.map(lambda v: isinstance(v, (bool, int, float, np.number, np.bool_))).all()
    ):
        return pd.Series(pd.array(s.astype(object).where(s.notna(), None), dtype="Float64"),
                         index=s.index).astype(float)
    text = s.astype(object).where(s.notna(), None).map(lambda v: None if v is None or v == "" else str(v))
    return text.astype(object)


def _normalised(df: pd.DataFrame, name: str) -> pd.DataFrame:
    """Columns by :func:`_column`, rows sorted by the table's id columns (its contract's, when it has one)."""
    out = pd.DataFrame({c: _column(df[c]) for c in df.columns})
    contract = CONTRACTS.get(name)
    keys = [c.name for c in contract.columns if c.role == "id" or c.name in ("band", "group")] if contract else []
    keys = [k for k in keys if k in out.columns]
    if keys:
        out = out.sort_values(keys, kind="stable", na_position="first")
    return out.reset_index(drop=True)


def assert_tables_equal(memory: pd.DataFrame, run: pd.DataFrame, name: str) -> float:
    """Equal columns, rows (aligned by id columns) and values to :data:`ATOL`; returns the largest difference."""
    left, right = _normalised(memory, name), _normalised(run, name)
    pd.testing.assert_frame_equal(left, right, check_dtype=False, check_exact=False, rtol=0, atol=ATOL, obj=name)
    num = [c for c in left.columns if left[c].dtype == float]
    if not num or left.empty:
        return 0.0
    x, y = left[num].to_numpy(float), right[num].to_numpy(float)
    finite = np.isfinite(x) & np.isfinite(y)  # NaN and ±inf are equal (checked above), not a difference
    return float(np.abs(x[finite] - y[finite]).max()) if finite.any() else 0.0


def assert_documents_equal(memory: Any, run: Any, where: str) -> float:
    """Equal JSON documents (numbers to :data:`ATOL`, NaN equal to NaN), clock keys skipped; returns the
    largest difference."""
    if isinstance(memory, dict) and isinstance(run, dict):
        keys = set(memory) - CLOCK_KEYS
        assert keys == set(run) - CLOCK_KEYS, f"{where}: keys differ: {sorted(keys ^ (set(run) - CLOCK_KEYS))}"
        return max((assert_documents_equal(memory[k], run[k], f"{where}/{k}") for k in keys), default=0.0)
    if isinstance(memory, list) and isinstance(run, list):
        assert len(memory) == len(run), f"{where}: {len(memory)} items in memory, {len(run)} in the run"
        return max((assert_documents_equal(a, b, f"{where}[{i}]") for i, (a, b) in enumerate(zip(memory, run, strict=True))),
                   default=0.0)
    numbers = (int, float)
    if isinstance(memory, numbers) and isinstance(run, numbers) and not isinstance(memory, bool):
        if math.isnan(memory) and math.isnan(run):
            return 0.0
        diff = abs(memory - run)
        assert diff <= ATOL, f"{where}: {memory!r} in memory, {run!r} in the run"
        return diff
    assert memory == run, f"{where}: {memory!r} in memory, {run!r} in the run"
    return 0.0


def compare_with_run(results: list[Any], run_dir: Path, tmp: Path) -> dict[str, float]:
    """Every artifact of the in-memory ``results`` against the run folder: the largest difference by name.

    Fails when a value differs, when the run lacks an artifact the API produced, or when the run holds an
    artifact (other than the ingest's and the run's own records) that the API did not produce.
    """
    folder = fp.RunFolder(run_dir)
    diffs: dict[str, float] = {}
    for res in results:
        for name, obj in res.artifacts().items():
            run = folder.load(name, required=False)
            assert (obj is None) == (run is None), f"{name}: {'only in the run' if obj is None else 'not in the run'}"
            if obj is None or ARTIFACTS[name].kind == "pickle":  # a fitted model: its personas / targets are compared
                continue
            if isinstance(obj, pd.DataFrame):
                diffs[name] = assert_tables_equal(obj, run, name)
            elif ARTIFACTS[name].kind == "tables":
                assert sorted(obj) == sorted(run), f"{name}: tables {sorted(obj)} in memory, {sorted(run)} in the run"
                for table, df in obj.items():
                    diffs[f"{name}/{table}"] = assert_tables_equal(df, run[table], f"{name}/{table}")
            elif isinstance(obj, str):
                assert obj == run, f"{name}: the text differs"
                diffs[name] = 0.0
            else:  # a JSON document: compared as written (NumPy numbers, NaN ... as the run folder writes them)
                diffs[name] = assert_documents_equal(read_json(write_json(obj, tmp / f"{name}.json")), run, name)
    made = {n for res in results for n, obj in res.artifacts().items() if obj is not None}
    in_run = {n for n in ARTIFACTS if n not in RUN_ONLY and folder.exists(n)}
    assert in_run <= made, f"the run wrote artifacts the API did not produce: {sorted(in_run - made)}"
    return diffs


# -- the two paths -----------------------------------------------------------------------------------------


def _config_file(tmp: Path) -> Path:
    path = tmp / "flexpersona.toml"
    path.write_text(CONFIG_TOML, encoding="utf-8")
    return path


def in_memory(readings: pd.DataFrame, households: pd.DataFrame, tariff: pd.DataFrame, survey: pd.DataFrame | None,
              config: fp.Config) -> list[Any]:
    """Every stage through the API, in memory: the five results."""
    feats = fp.compute_features(readings, households, tariff, config)
    personas = fp.build_personas(feats, config)
    explain = fp.explain_personas(personas, feats, households, survey, config)
    toolkit = fp.build_toolkit(feats, personas, explain, config=config, households=households)
    eda = fp.explore(feats.features, config, lifestyle=feats.lifestyle)
    return [feats, eda, personas, explain, toolkit]


def flexpersona_run(args: list[str], out: Path, config_file: Path) -> Path:
    """``flexpersona run ARGS --config F --to toolkit --out OUT`` (the CLI, in process)."""
    result = CliRunner().invoke(main, ["run", *args, "--config", str(config_file), "--to", "toolkit", "--out", str(out)])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return out


# -- the tests ---------------------------------------------------------------------------------------------


def test_simulated_trial_in_memory_equals_the_run(tmp_path):
    trial = fp.simulate_trial(n_treatment=60, n_control=120, seed=3, personas="three", survey=True)
    data = tmp_path / "UKDA-7857"
    write_trial(trial, data, "ukds")
    cfg_file = _config_file(tmp_path)
    config = fp.load_config(cfg_file)

    readings = fp.read_readings(data)
    households = fp.read_households(data / "households.csv")
    tariff = fp.read_tariff(data / "tariff_d.csv")
    survey = fp.read_survey(data / "survey_answers.csv")
    results = in_memory(readings, households, tariff, survey, config)

    run = flexpersona_run([str(data)], tmp_path / "run", cfg_file)
    diffs = compare_with_run(results, run, tmp_path)
    assert {"features", "events", "lifestyle", "placebo", "prior", "eda_summary", "personas", "persona_profiles",
            "explain/tests", "explain/survey_coverage", "targets", "qini", "toolkit"} <= set(diffs)
    assert max(diffs.values()) <= ATOL


#: Real readings: four London Datastore pieces in the day x 48 layout (2 Std, 2 ToU: 60 treatment and 53 control
#: households kept, enough for the explain stage's prediction and the toolkit's targeting; households straddle
#: pieces), and the Kaggle half-hourly files of 40 households (18 ToU: too few to predict or target).
REAL_READINGS = {
    "hh2013": ["hh2013/block2sep.csv", "hh2013/block3sep.csv", "hh2013/block137sep.csv", "hh2013/block138sep.csv"],
    "kaggle_halfhourly": ["kaggle_halfhourly"],
}


@pytest.mark.parametrize("subset", sorted(REAL_READINGS))
def test_real_lcl_files_in_memory_equal_the_run(tmp_path, lcl, subset):
    readings_paths = [lcl / p for p in REAL_READINGS[subset]]
    households_file = lcl / "households" / "informations_households.csv"  # all 5,566 LCL households
    tariff_file = lcl / "tariffs" / "Tariffs.xlsx"
    cfg_file = _config_file(tmp_path)
    config = fp.load_config(cfg_file)

    readings = fp.read_readings(readings_paths)
    households = fp.read_households(households_file)
    tariff = fp.read_tariff(tariff_file)
    results = in_memory(readings, households, tariff, None, config)
    assert len(results[0].features) > 10 and len(results[0].events) > 0

    run = flexpersona_run([*map(str, readings_paths), "--households", str(households_file), "--tariff",
                           str(tariff_file)], tmp_path / "run", cfg_file)
    diffs = compare_with_run(results, run, tmp_path)
    assert {"features", "events", "lifestyle", "placebo", "personas", "explain/tests", "targets", "toolkit"} <= set(diffs)
    assert max(diffs.values()) <= ATOL


def test_the_comparison_finds_a_perturbed_table(tmp_path):
    """The helpers fail on a value moved by more than 1e-9, a missing row, a changed label or JSON number, and
    pass on a reordered table or a CSV round trip (missing text read back as NaN, booleans with gaps)."""
    table = pd.DataFrame({"household_id": ["b", "a", "c"], "high_response_pct": [-5.0, 2.5, np.nan],
                          "persona_name": ["Savers", "", None], "responder": pd.array([True, False, None])})
    assert assert_tables_equal(table, table.iloc[::-1], "features") == 0.0
    table.to_csv(tmp_path / "t.csv", index=False)
    assert assert_tables_equal(table, pd.read_csv(tmp_path / "t.csv"), "features") == 0.0
    near = table.assign(high_response_pct=table["high_response_pct"] + [1e-12, 0.0, 0.0])
    assert 0 < assert_tables_equal(table, near, "features") <= ATOL
    for bad in (table.assign(high_response_pct=table["high_response_pct"] + [1e-8, 0.0, 0.0]), table.iloc[:2],
                table.assign(persona_name=["Savers", "Shifters", None])):
        with pytest.raises(AssertionError):
            assert_tables_equal(table, bad, "features")
    doc = {"total": {"kw": 1.0, "n": 3}, "timings_s": {"total": 1.0}, "shares": [0.5, float("nan")]}
    assert assert_documents_equal(doc, {**doc, "timings_s": {"total": 9.0}}, "toolkit") == 0.0
    with pytest.raises(AssertionError, match="toolkit/total/kw"):
        assert_documents_equal(doc, {**doc, "total": {"kw": 1.0 + 1e-8, "n": 3}}, "toolkit")

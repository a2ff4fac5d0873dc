"""Survey answers: codebook texts, coverage, persona-dependent items, uninformative Q335."""

from __future__ import annotations

import numpy as np
import pytest

from flexpersona.simulate import simulate_trial
from flexpersona.simulate.survey import AGREE, CLIMATE_INTENT, OFTEN, QUESTIONS, UNKNOWN_ANSWER

AGREE_SCORE = {t: 5 - i for i, t in enumerate(reversed(AGREE))}


@pytest.fixture(scope="module")
def trial():
    return simulate_trial(400, 100, seed=9, start="2013-01-01", end="2013-01-01", daily=False)


def _score(s, mapping):
    return s.map(mapping).astype(float)


def test_coverage_and_texts(trial):
    s = trial.survey
    assert list(s.columns) == ["household_id", *QUESTIONS]
    assert s["household_id"].is_unique
    groups = trial.households.set_index("household_id")["group"].reindex(s["household_id"])
    assert (groups == "treatment").sum() == 320 and 0 < (groups == "control").sum() <= 30
    for q in ("Q137", "Q180", "Q186"):
        assert set(s[q].dropna()) <= set(AGREE) | {UNKNOWN_ANSWER}
    assert set(s["Q01"].dropna()) <= set(OFTEN)
    assert set(s["Q39"].dropna()) <= {"Yes", "No"}
    assert set(s["Q335"].dropna()) <= set(CLIMATE_INTENT)
    assert s["Q213"].dropna().str.match(r"^\d+ (person|people|or more people)$").all()
    assert s["Q137"].isna().any()  # some blanks
    assert (s[["Q137", "Q180", "Q186", "Q197"]] == UNKNOWN_ANSWER).any().any()  # and an occasional unknown text
    # a flat has Q236, a house Q235, never both
    assert not (s["Q235"].notna() & s["Q236"].notna()).any()


def test_answers_depend_on_persona_except_q335(trial):
    s = trial.survey.merge(trial.truth[["household_id", "persona"]], on="household_id")
    mean = s.assign(
        q180=_score(s["Q180"], AGREE_SCORE),
        q187=_score(s["Q187"], AGREE_SCORE),
        q137=_score(s["Q137"], AGREE_SCORE),
        q01=_score(s["Q01"], {"Always": 5, "Usually": 4, "Occasionally": 3, "Half the time": 2.5, "Rarely": 2,
                               "Never": 1}),
        q335=_score(s["Q335"], {"A lot more": 2, "A bit more": 1, "Happy as is": 0}),
    ).groupby("persona")[["q180", "q187", "q137", "q01", "q335"]].mean()
    e, i, c = mean.loc["engaged_shifter"], mean.loc["inert"], mean.loc["contrarian"]
    assert e["q180"] - i["q180"] > 0.5 and e["q01"] - i["q01"] > 0.4
    assert i["q187"] - e["q187"] > 0.5
    assert i["q137"] - e["q137"] > 0.5 and c["q137"] - e["q137"] > 0.5
    spread = mean.loc[["engaged_shifter", "moderate_reducer", "inert", "contrarian"], "q335"]
    assert spread.max() - spread.min() < 0.25  # uninformative
    assert np.isfinite(mean.to_numpy()).all()


def test_no_survey_when_not_asked():
    t = simulate_trial(2, 2, seed=1, start="2013-01-01", end="2013-01-01", survey=False, daily=False)
    assert t.survey is None

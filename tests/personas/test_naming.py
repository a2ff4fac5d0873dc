"""Persona names from centre meaning, rationale numbers, duplicates and overrides."""

from __future__ import annotations

import pandas as pd
import pytest

from flexpersona.personas.naming import name_personas, persona_name
from persona_planted import PLANTED

#: The simulator's planted meanings and the names they must get.
EXPECTED = {
    "engaged_shifter": "Engaged shifters",
    "moderate_reducer": "Peak reducers",
    "inert": "Inert",
    "contrarian": "Contrarians",
}


@pytest.mark.parametrize("planted", list(PLANTED))
def test_planted_meanings_get_their_names(planted):
    high, low = PLANTED[planted]
    assert persona_name(high, low)[0] == EXPECTED[planted]


@pytest.mark.parametrize(
    ("high", "low", "name"),
    [(-20, 0, "Strong peak reducers"), (1, 9, "Off-peak loaders"), (0, -9, "Off-peak savers"),
     (-20, None, "Strong peak reducers"), (4.9, 4.9, "Inert"), (5.0, 0, "Contrarians")],
)
def test_rules(high, low, name):
    assert persona_name(high, low)[0] == name


def test_ids_rationale_duplicates_and_overrides():
    centres = pd.DataFrame({"high": [-24.8, 0.4, 1.1], "low": [19.6, 0.2, -0.5], "n": [50, 30, 20]})
    out = name_personas(centres, overrides={"P3": "Night owls"})
    assert list(out["persona_id"]) == ["P1", "P2", "P3"]
    assert out.loc[0, "persona_name"] == "Engaged shifters"
    assert out.loc[1, "persona_name"] == "Inert (P2)"
    assert out.loc[2, "persona_name"] == "Night owls"
    r = out.loc[0, "persona_rationale"]
    assert "-24.8%" in r and "+19.6%" in r and "50 households" in r and "50%" in r
    assert "Inert" in out.loc[2, "persona_rationale"]  # says what the rule would have given

"""Persona names from centre meaning, rationale numbers, duplicates and overrides."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from persona_planted import PLANTED

from flexpersona.personas.naming import distinct_names, name_personas, persona_name

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
    assert out.loc[1, "persona_name"] == "Inert"  # P3 overridden: no other persona is called Inert
    assert out.loc[2, "persona_name"] == "Night owls"
    r = out.loc[0, "persona_rationale"]
    assert "-24.8%" in r and "+19.6%" in r and "50 households" in r and "50%" in r
    assert "Inert" in out.loc[2, "persona_rationale"]  # says what the rule would have given


def test_personas_that_the_rule_names_alike_are_told_apart_by_their_centres():
    """The demo's old failure: two personas called "Engaged shifters (P1)" and "(P2)"."""
    centres = pd.DataFrame({"high": [-52.0, -31.0, 0.4], "low": [38.0, 30.0, 0.2], "n": [12, 43, 140]})
    out = name_personas(centres)
    assert list(out["persona_name"]) == ["Engaged shifters (High -52%)", "Engaged shifters (High -31%)", "Inert"]
    # they differ more in Low than in High: the Low axis qualifies them
    out = name_personas(pd.DataFrame({"high": [1.0, 2.0], "low": [-3.0, 4.0], "n": [5, 5]}))
    assert list(out["persona_name"]) == ["Inert (Low -3%)", "Inert (Low +4%)"]
    # equal after rounding on one axis: both axes; an override repeating a rule name gets the id
    assert distinct_names(["Inert", "Inert"], [0.2, 0.4], [0.1, 0.3], ["P1", "P2"]) == [
        "Inert (High +0.2%, Low +0.1%)", "Inert (High +0.4%, Low +0.3%)"]
    assert distinct_names(["Inert", "Inert"], [0.2, 0.2], [0.1, 0.1], ["P1", "P2"]) == [
        "Inert (High +0.2%, Low +0.1%) (P1)", "Inert (High +0.2%, Low +0.1%) (P2)"]
    out = name_personas(pd.DataFrame({"high": [-20.0, 0.0], "low": [0.0, 0.0], "n": [5, 5]}), overrides={"P1": "Inert"})
    assert list(out["persona_name"]) == ["Inert (P1)", "Inert (P2)"]


centre = st.floats(-80, 80, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(centre, st.one_of(centre, st.just(float("nan")))), min_size=1, max_size=10))
def test_two_personas_never_share_a_name(points):
    high = sorted(h for h, _ in points)
    low = [lo for _, lo in points]
    out = name_personas(pd.DataFrame({"high": high, "low": low, "n": 1}))
    assert out["persona_name"].is_unique, list(out["persona_name"])

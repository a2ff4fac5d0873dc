"""Codebook encoding of the survey (METHODS A): exact values, unknown answers counted, traits."""

import numpy as np
import pandas as pd
import pytest

from flexpersona.explain import survey as sv


def _one(**answers):
    return pd.DataFrame([{"household_id": "D0001", **answers}])


@pytest.mark.parametrize(
    ("question", "text", "value"),
    [
        ("Q137", "Strongly agree", 5.0),
        ("Q137", "Agree", 4.0),
        ("Q137", "Neither agree nor disagree", 3.0),
        ("Q137", "Disagree", 2.0),
        ("Q137", "  strongly   DISAGREE ", 1.0),
        ("Q01", "Always", 5.0),
        ("Q01", "Usually", 4.0),
        ("Q01", "Occasionally", 3.0),
        ("Q01", "Half the time", 2.5),
        ("Q01", "Rarely", 2.0),
        ("Q01", "Never", 1.0),
        ("Q39", "Yes", 1.0),
        ("Q39", "No", 0.0),
        ("Q213", "3 people", 3.0),
        ("Q213", "6 or more people", 6.0),
        ("Q234", "Most/all weekdays", 4.0),
        ("Q234", "About half the time", 3.0),
        ("Q234", "Occasionally", 2.0),
        ("Q234", "Never", 1.0),
        ("Q335", "A lot more", 2.0),
        ("Q335", "A bit more", 1.0),
        ("Q335", "Happy as is", 0.0),
    ],
)
def test_codebook_values(question, text, value):
    enc = sv.encode_survey(_one(**{question: text}))
    assert enc.items[sv.BY_QUESTION[question].name].iloc[0] == value


def test_accommodation_from_house_type_else_flat_type():
    raw = pd.DataFrame(
        {
            "household_id": ["a", "b", "c", "d"],
            "Q235": ["Detached", "Terraced - middle", None, None],
            "Q236": [None, None, "In a purpose built block or tenement", "Part of a converted house/building"],
        }
    )
    enc = sv.encode_survey(raw)
    assert enc.items[sv.ACCOMMODATION].tolist() == [5.0, 2.0, 1.0, 0.0]
    assert enc.unknown["n_unknown"].sum() == 0


def test_unknown_answers_become_missing_and_are_counted_blanks_are_not():
    raw = pd.DataFrame(
        {
            "household_id": ["a", "b", "c", "d"],
            "Q180": ["Agree", "Don't know", "", None],
            "Q213": ["2 people", "none", "4", None],
        }
    )
    enc = sv.encode_survey(raw)
    q180 = sv.BY_QUESTION["Q180"].name
    assert enc.items[q180].isna().tolist() == [False, True, True, True]
    row = enc.unknown.set_index("question").loc["Q180"]
    assert row["n_unknown"] == 1 and row["n_blank"] == 2 and row["n_answered"] == 1
    assert "don't know" in row["examples"]
    assert enc.unknown.set_index("question").loc["Q213", "n_unknown"] == 1
    assert "Q01" in enc.missing_questions


def test_duplicated_household_keeps_first_row():
    raw = pd.DataFrame({"household_id": ["a", "a", "b"], "Q197": ["Agree", "Disagree", "Agree"]})
    enc = sv.encode_survey(raw)
    assert enc.n_duplicates == 1
    assert enc.items.set_index("household_id").loc["a", sv.BY_QUESTION["Q197"].name] == 4.0


def test_traits_follow_methods_formula():
    raw = _one(
        Q137="Strongly agree", Q138="Agree", Q139="Disagree", Q140="Neither agree nor disagree",
        Q180="Strongly agree", Q189="Agree", Q197="Agree", Q186="Disagree", Q187="Strongly disagree",
    )  # fmt: skip
    it = sv.encode_survey(raw).items.iloc[0]
    assert it[sv.TRAIT_CONSTRAINT] == pytest.approx((5 + 4 + 2 + 3) / 4)
    assert it[sv.TRAIT_ENGAGEMENT] == pytest.approx((5 + 4 + 4) / 3 - (2 + 1) / 2)


def test_question_columns_without_leading_zero_are_found():
    enc = sv.encode_survey(pd.DataFrame({"household_id": ["a"], "Q1": ["Always"], "q3": ["Never"]}))
    assert enc.items[sv.BY_QUESTION["Q01"].name].iloc[0] == 5.0
    assert enc.items[sv.BY_QUESTION["Q03"].name].iloc[0] == 1.0
    assert np.isnan(enc.items[sv.BY_QUESTION["Q02"].name].iloc[0])


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=60, deadline=None)
@given(
    text=st.sampled_from(sorted(sv.AGREE)),
    upper=st.booleans(),
    pad=st.sampled_from(["", " ", "  ", "\t"]),
)
def test_agree_scale_ignores_case_and_padding(text, upper, pad):
    raw = pad + (text.upper() if upper else text.title()) + pad
    enc = sv.encode_survey(_one(Q142=raw))
    assert enc.items[sv.BY_QUESTION["Q142"].name].iloc[0] == sv.AGREE[text]
    assert enc.unknown["n_unknown"].sum() == 0


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=1, max_size=30).filter(lambda t: " ".join(t.split()).lower() not in sv.AGREE and t.strip()))
def test_any_other_text_is_unknown_and_counted(text):
    enc = sv.encode_survey(_one(Q142=text))
    assert np.isnan(enc.items[sv.BY_QUESTION["Q142"].name].iloc[0])
    assert enc.unknown.set_index("question").loc["Q142", "n_unknown"] == 1

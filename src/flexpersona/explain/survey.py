"""Survey encoding with the seed's codebook (METHODS A) and the two trait scores.

The UK Data Service ``survey_answers.csv`` holds one row per household with answer *texts* in columns
``Q01`` .. ``Q335``. :func:`encode_survey` maps the items the seed used onto numbers:

* agree-scale (barriers Q137-Q147, attitudes Q180-Q197): Strongly agree 5 .. Strongly disagree 1;
* often-scale (self-reported shifting Q01-Q03): Always 5, Usually 4, Occasionally 3, Half the time 2.5,
  Rarely 2, Never 1;
* yes/no (fixed routines Q39-Q41, insulation Q240-Q242): Yes 1, No 0;
* Q213 household size: the first integer in the text;
* Q234 work from home: Most/all weekdays 4, About half the time 3, Occasionally 2, Never 1;
* Q235 house type (Detached 5 .. Terraced - middle 2), else Q236 flat type (purpose built 1, converted 0),
  giving ``accommodation``;
* Q335 climate intent: a lot more 2, a bit more 1, happy as is 0.

Texts are matched case- and whitespace-insensitively. An empty cell is a non-answer (missing, not counted);
a non-empty text outside the codebook is *unknown*: it becomes missing and is counted per item in the
``unknown`` table so that the integrator can add it to the ledger.

Traits: ``trait_constraint_score`` = mean of Q137-Q140 (available items); ``trait_engagement_score`` =
mean(Q180, Q189, Q197) - mean(Q186, Q187).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

AGREE = {
    "strongly agree": 5.0,
    "agree": 4.0,
    "neither agree nor disagree": 3.0,
    "disagree": 2.0,
    "strongly disagree": 1.0,
}
OFTEN = {
    "always": 5.0,
    "usually": 4.0,
    "occasionally": 3.0,
    "half the time": 2.5,
    "rarely": 2.0,
    "never": 1.0,
}
YES_NO = {"yes": 1.0, "no": 0.0}
WORK_FROM_HOME = {"most/all weekdays": 4.0, "about half the time": 3.0, "occasionally": 2.0, "never": 1.0}
HOUSE_TYPE = {"detached": 5.0, "semi-detached": 4.0, "terraced - end": 3.0, "terraced - middle": 2.0}
FLAT_TYPE = {"in a purpose built block or tenement": 1.0, "part of a converted house/building": 0.0}
CLIMATE = {"a lot more": 2.0, "a bit more": 1.0, "happy as is": 0.0}


@dataclass(frozen=True)
class SurveyItem:
    """One encoded survey item.

    Attributes
    ----------
    question
        Source column (``Q137``).
    name
        Encoded column name (``q137_away_from_home``).
    label
        Plain-language label used in tables.
    role
        ``shifting`` | ``routine`` | ``barrier`` | ``attitude`` | ``household`` | ``climate``.
    scale
        Name of the answer scale (``agree``, ``often``, ``yes_no``, ...).
    """

    question: str
    name: str
    label: str
    role: str
    scale: str


def _item(q: str, slug: str, label: str, role: str, scale: str) -> SurveyItem:
    return SurveyItem(q, f"q{q[1:].lstrip('0') or '0'}_{slug}".lower(), label, role, scale)


#: The seed's items (METHODS A), in codebook order.
ITEMS: tuple[SurveyItem, ...] = (
    _item("Q01", "shift_washing_machine", "shifts washing machine", "shifting", "often"),
    _item("Q02", "shift_tumble_dryer", "shifts tumble dryer", "shifting", "often"),
    _item("Q03", "shift_dishwasher", "shifts dishwasher", "shifting", "often"),
    _item("Q39", "routine_washing_machine", "fixed routine: washing machine", "routine", "yes_no"),
    _item("Q40", "routine_tumble_dryer", "fixed routine: tumble dryer", "routine", "yes_no"),
    _item("Q41", "routine_dishwasher", "fixed routine: dishwasher", "routine", "yes_no"),
    _item("Q137", "away_from_home", "away from home", "barrier", "agree"),
    _item("Q138", "inflexible_work", "inflexible work", "barrier", "agree"),
    _item("Q139", "children_routines", "children's routines", "barrier", "agree"),
    _item("Q140", "fixed_habits", "fixed habits", "barrier", "agree"),
    _item("Q142", "unwilling_lose_comfort", "unwilling to lose comfort", "barrier", "agree"),
    _item("Q146", "savings_too_small", "savings too small", "barrier", "agree"),
    _item("Q147", "notice_too_short", "notice too short", "barrier", "agree"),
    _item("Q180", "more_in_control_of_bill", "more in control of bill", "attitude", "agree"),
    _item("Q186", "prioritised_convenience", "prioritised convenience", "attitude", "agree"),
    _item("Q187", "shifting_is_hassle", "shifting is a hassle", "attitude", "agree"),
    _item("Q189", "planned_use_around_tariff", "planned use around tariff", "attitude", "agree"),
    _item("Q197", "want_to_stay_on_tariff", "want to stay on tariff", "attitude", "agree"),
    _item("Q213", "household_size", "household size", "household", "integer"),
    _item("Q234", "work_from_home", "works from home", "household", "work_from_home"),
    _item("Q240", "double_glazing", "double glazing", "household", "yes_no"),
    _item("Q241", "roof_insulation", "roof/loft insulation", "household", "yes_no"),
    _item("Q242", "wall_insulation", "wall insulation", "household", "yes_no"),
    _item("Q335", "climate_intent", "climate intent", "climate", "climate"),
)
#: Accommodation is derived from two questions (Q235 house type, else Q236 flat type).
ACCOMMODATION = "accommodation"
ACCOMMODATION_QUESTIONS = ("Q235", "Q236")

TRAIT_CONSTRAINT = "trait_constraint_score"
TRAIT_ENGAGEMENT = "trait_engagement_score"
TRAITS = (TRAIT_CONSTRAINT, TRAIT_ENGAGEMENT)

_SCALES = {
    "agree": AGREE,
    "often": OFTEN,
    "yes_no": YES_NO,
    "work_from_home": WORK_FROM_HOME,
    "climate": CLIMATE,
}
BY_QUESTION = {it.question: it for it in ITEMS}
ITEM_NAMES: tuple[str, ...] = tuple(it.name for it in ITEMS) + (ACCOMMODATION,)
#: Encoded names of items that are categorical (yes/no) rather than ordinal.
BINARY_ITEMS: tuple[str, ...] = tuple(it.name for it in ITEMS if it.scale == "yes_no")
LABELS: dict[str, str] = {it.name: it.label for it in ITEMS} | {
    ACCOMMODATION: "accommodation type",
    TRAIT_CONSTRAINT: "constraint trait",
    TRAIT_ENGAGEMENT: "engagement trait",
}


def _q(question: str) -> str:
    return BY_QUESTION[question].name


CONSTRAINT_ITEMS = tuple(_q(q) for q in ("Q137", "Q138", "Q139", "Q140"))
ENGAGEMENT_POSITIVE = tuple(_q(q) for q in ("Q180", "Q189", "Q197"))
ENGAGEMENT_NEGATIVE = tuple(_q(q) for q in ("Q186", "Q187"))
BARRIER_ITEMS = tuple(it.name for it in ITEMS if it.role == "barrier")
ATTITUDE_ITEMS = tuple(it.name for it in ITEMS if it.role == "attitude")
SHIFTING_ITEMS = tuple(it.name for it in ITEMS if it.role == "shifting")
ROUTINE_ITEMS = tuple(it.name for it in ITEMS if it.role == "routine")


@dataclass
class SurveyEncoding:
    """Result of :func:`encode_survey`.

    Attributes
    ----------
    items
        ``household_id``, the encoded items (:data:`ITEM_NAMES`, float, NaN = missing) and the traits.
    unknown
        ``question``, ``item``, ``n_unknown``, ``n_blank``, ``n_answered``, ``examples``: answer texts outside
        the codebook per item (they became NaN).
    n_duplicates
        Survey rows dropped because their household already had a row (the first row is kept).
    missing_questions
        Codebook questions absent from the survey columns.
    """

    items: pd.DataFrame
    unknown: pd.DataFrame
    n_duplicates: int = 0
    missing_questions: list[str] = field(default_factory=list)


def _normalise(values: pd.Series) -> pd.Series:
    s = values.astype("string").str.strip().str.lower()
    s = s.str.replace(r"\s+", " ", regex=True)
    return s.mask(s == "", pd.NA)


def _first_integer(text: pd.Series) -> pd.Series:
    got = text.str.extract(r"(\d+)", expand=False)
    return pd.to_numeric(got, errors="coerce").astype("float64")


def _map(text: pd.Series, mapping: dict[str, float]) -> pd.Series:
    return text.map(mapping, na_action="ignore").astype("float64")


def _column_lookup(columns: pd.Index) -> dict[str, str]:
    """Map canonical question names (``Q01``) to the survey's column names (``Q1``, ``q01`` ...)."""
    out: dict[str, str] = {}
    for c in columns:
        m = re.fullmatch(r"[Qq]0*(\d+)", str(c).strip())
        if m:
            out.setdefault(f"Q{int(m.group(1)):02d}", str(c))
    return out


def empty_unknown() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "question": pd.Series(dtype="string"),
            "item": pd.Series(dtype="string"),
            "n_unknown": pd.Series(dtype="int64"),
            "n_blank": pd.Series(dtype="int64"),
            "n_answered": pd.Series(dtype="int64"),
            "examples": pd.Series(dtype="string"),
        }
    )


def encode_survey(survey: pd.DataFrame) -> SurveyEncoding:
    """Encode raw survey answer texts with the seed's codebook.

    Parameters
    ----------
    survey
        ``household_id`` plus question columns (``Q01`` .. ``Q335``) holding answer texts.

    Returns
    -------
    SurveyEncoding
        Encoded items and traits (one row per household), and the per-item count of unknown answers.
    """
    if "household_id" not in survey.columns:
        from ..errors import InputError

        raise InputError("survey table", "it has no household_id column", "ingest the survey with flexpersona ingest")
    dup = survey["household_id"].astype("string").duplicated(keep="first")
    n_dup = int(dup.sum())
    if n_dup:
        logger.info("survey: %d duplicated household rows dropped (first row kept)", n_dup)
    survey = survey.loc[~dup.to_numpy()]
    lookup = _column_lookup(survey.columns)
    out = pd.DataFrame({"household_id": survey["household_id"].astype("string").to_numpy()})
    unknown_rows = []
    missing = []

    def text_of(question: str) -> pd.Series | None:
        col = lookup.get(question)
        if col is None:
            missing.append(question)
            return None
        return _normalise(survey[col]).reset_index(drop=True)

    def record(question: str, name: str, text: pd.Series, value: pd.Series, excuse: pd.Series | None = None):
        bad = text.notna() & value.isna()
        if excuse is not None:
            bad &= ~excuse
        examples = "; ".join(sorted(text[bad].dropna().unique().tolist())[:5])
        unknown_rows.append(
            {
                "question": question,
                "item": name,
                "n_unknown": int(bad.sum()),
                "n_blank": int(text.isna().sum()),
                "n_answered": int(value.notna().sum()),
                "examples": examples,
            }
        )

    for it in ITEMS:
        text = text_of(it.question)
        if text is None:
            out[it.name] = np.nan
            continue
        value = _first_integer(text) if it.scale == "integer" else _map(text, _SCALES[it.scale])
        out[it.name] = value.to_numpy()
        record(it.question, it.name, text, value)

    house = text_of("Q235")
    flat = text_of("Q236")
    house_v = _map(house, HOUSE_TYPE) if house is not None else pd.Series(np.nan, index=out.index)
    flat_v = _map(flat, FLAT_TYPE) if flat is not None else pd.Series(np.nan, index=out.index)
    out[ACCOMMODATION] = house_v.fillna(flat_v).to_numpy()
    if house is not None:
        # A Q235 text outside the codebook is fine when Q236 (flat type) answers the question.
        record("Q235", ACCOMMODATION, house, house_v, excuse=flat_v.notna())
    if flat is not None:
        record("Q236", ACCOMMODATION, flat, flat_v, excuse=house_v.notna())

    out[TRAIT_CONSTRAINT] = out[list(CONSTRAINT_ITEMS)].mean(axis=1, skipna=True)
    out[TRAIT_ENGAGEMENT] = out[list(ENGAGEMENT_POSITIVE)].mean(axis=1, skipna=True) - out[
        list(ENGAGEMENT_NEGATIVE)
    ].mean(axis=1, skipna=True)
    unknown = pd.DataFrame(unknown_rows) if unknown_rows else empty_unknown()
    n_unknown = int(unknown["n_unknown"].sum()) if len(unknown) else 0
    if n_unknown:
        logger.info("survey: %d answers outside the codebook became missing", n_unknown)
    if missing:
        logger.info("survey: codebook questions absent: %s", ", ".join(missing))
    return SurveyEncoding(items=out, unknown=unknown, n_duplicates=n_dup, missing_questions=missing)

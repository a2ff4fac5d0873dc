"""Planted-truth inputs for the explain tests (persona-dependent survey, informative and null variables)."""

from __future__ import annotations

import numpy as np
import pandas as pd

PERSONAS = ("engaged_shifter", "moderate_reducer", "inert", "contrarian")
SHARES = (0.2, 0.3, 0.35, 0.15)
AGREE = ("Strongly disagree", "Disagree", "Neither agree nor disagree", "Agree", "Strongly agree")
OFTEN = ("Never", "Rarely", "Half the time", "Occasionally", "Usually", "Always")
#: (engagement, constraint) latent means per persona.
LATENT = {
    "engaged_shifter": (1.2, -0.6),
    "moderate_reducer": (0.3, 0.0),
    "inert": (-0.6, 0.8),
    "contrarian": (-0.9, 0.8),
}
#: Informative lifestyle feature: mean evening share by persona.
EVENING = {"engaged_shifter": 0.30, "moderate_reducer": 0.34, "inert": 0.38, "contrarian": 0.40}
ACORN = [f"ACORN-{c}" for c in "ABCDEFGHIJKLMNOPQ"]


def _ordinal(latent: np.ndarray, options: tuple[str, ...]) -> np.ndarray:
    cuts = {5: [-1.4, -0.5, 0.35, 1.3], 6: [-1.3, -0.6, -0.3, 0.3, 1.1]}[len(options)]
    return np.asarray(options, dtype=object)[np.digitize(latent, cuts)]


def make_inputs(n: int = 400, seed: int = 0, *, survey: bool = True, evening_signal: float = 1.0):
    """personas, lifestyle, households, survey (or None) with planted persona dependence."""
    rng = np.random.default_rng(seed)
    persona = rng.choice(PERSONAS, size=n, p=SHARES)
    ids = np.array([f"D{i:04d}" for i in range(n)])
    personas = pd.DataFrame(
        {
            "household_id": ids,
            "persona_id": [f"P{PERSONAS.index(p)}" for p in persona],
            "persona_name": persona,
            "membership": rng.uniform(0.5, 1, n),
            "low_confidence": False,
        }
    )
    ev = np.array([EVENING[p] for p in persona])
    lifestyle = pd.DataFrame(
        {
            "household_id": ids,
            "group": "treatment",
            "evening_share": 0.35 + evening_signal * (ev - 0.35) + rng.normal(0, 0.03, n),
            "winter_summer_ratio": rng.lognormal(0.4, 0.2, n),  # uninformative
            "mean_daily_kwh": rng.lognormal(2.2, 0.4, n),  # uninformative
            "base_day_to_night_ratio": np.nan,  # all-NaN: must be dropped
            "lifestyle_source": "halfhourly",
        }
    )
    acorn = rng.choice(ACORN, size=n)
    households = pd.DataFrame(
        {
            "household_id": ids,
            "group": "treatment",
            "acorn": acorn,
            "acorn_grouped": np.where(np.isin(acorn, ACORN[:3]), "Affluent", np.where(np.isin(acorn, ACORN[3:9]), "Comfortable", "Adversity")),
        }
    )
    if not survey:
        return personas, lifestyle, households, None
    eng = np.array([LATENT[p][0] for p in persona]) + rng.normal(0, 0.3, n)
    con = np.array([LATENT[p][1] for p in persona]) + rng.normal(0, 0.3, n)
    answers: dict[str, np.ndarray] = {"household_id": ids}
    for q in ("Q01", "Q02", "Q03"):
        answers[q] = _ordinal(0.9 * eng + rng.normal(0, 1, n), OFTEN)
    for q in ("Q39", "Q40", "Q41"):
        answers[q] = np.where(0.6 * con + rng.normal(0, 1, n) > 0, "Yes", "No").astype(object)
    for q in ("Q137", "Q138", "Q139", "Q140"):
        answers[q] = _ordinal(con + rng.normal(0, 1, n), AGREE)
    for q in ("Q142", "Q146", "Q147"):
        answers[q] = _ordinal(0.6 * con + rng.normal(0, 1, n), AGREE)
    for q in ("Q180", "Q189", "Q197"):
        answers[q] = _ordinal(eng + rng.normal(0, 1, n), AGREE)
    for q in ("Q186", "Q187"):
        answers[q] = _ordinal(-eng + rng.normal(0, 1, n), AGREE)
    answers["Q213"] = np.array([f"{k} people" for k in rng.integers(1, 6, n)], dtype=object)
    answers["Q234"] = rng.choice(["Most/all weekdays", "About half the time", "Occasionally", "Never"], n)
    house = rng.random(n) < 0.5
    answers["Q235"] = np.where(house, rng.choice(["Detached", "Semi-detached", "Terraced - end", "Terraced - middle"], n), None)
    answers["Q236"] = np.where(house, None, rng.choice(["In a purpose built block or tenement", "Part of a converted house/building"], n))
    for q in ("Q240", "Q241", "Q242"):
        answers[q] = rng.choice(["Yes", "No"], n)
    answers["Q335"] = rng.choice(["A lot more", "A bit more", "Happy as is"], n)  # uninformative
    srv = pd.DataFrame(answers)
    # 80% answered; a few unknown answers
    keep = rng.random(n) < 0.8
    srv = srv.loc[keep].reset_index(drop=True)
    srv.loc[srv.index[:3], "Q180"] = "Don't know"
    return personas, lifestyle, households, srv

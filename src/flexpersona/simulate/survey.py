"""The household survey of the UK Data Service release, with answers that depend on the planted persona.

Answers are the codebook texts (METHODS A). Two latent traits drive them: *engagement* (Q01-Q03 shifting,
Q180/Q189/Q197 up, Q186/Q187 down) is high for engaged shifters; *constraint* (barriers Q137-Q140, and
mildly Q142/Q146/Q147 and the routine items Q39-Q41) is high for inert households and contrarians. Q335
(climate intent) and the dwelling items (Q213, Q234, Q235/Q236, Q240-Q242) are independent of the persona.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

AGREE = ("Strongly disagree", "Disagree", "Neither agree nor disagree", "Agree", "Strongly agree")
OFTEN = ("Never", "Rarely", "Half the time", "Occasionally", "Usually", "Always")
YES_NO = ("No", "Yes")
HOUSE_TYPES = ("Detached", "Semi-detached", "Terraced - end", "Terraced - middle")
FLAT_TYPES = ("In a purpose built block or tenement", "Part of a converted house/building")
WORK_FROM_HOME = ("Most/all weekdays", "About half the time", "Occasionally", "Never")
CLIMATE_INTENT = ("A lot more", "A bit more", "Happy as is")
UNKNOWN_ANSWER = "Don't know"

#: (engagement, constraint) latent means per persona.
LATENT = {
    "engaged_shifter": (1.2, -0.6),
    "moderate_reducer": (0.4, 0.0),
    "inert": (-0.6, 0.8),
    "contrarian": (-0.9, 0.8),
    "control": (0.0, 0.0),
}
#: item -> (scale, loading on engagement, loading on constraint)
ITEMS: dict[str, tuple[tuple[str, ...], float, float]] = {
    **{q: (OFTEN, 0.9, 0.0) for q in ("Q01", "Q02", "Q03")},
    **{q: (YES_NO, 0.0, 0.6) for q in ("Q39", "Q40", "Q41")},
    **{q: (AGREE, 0.0, 1.0) for q in ("Q137", "Q138", "Q139", "Q140")},
    **{q: (AGREE, 0.0, 0.6) for q in ("Q142", "Q146", "Q147")},
    **{q: (AGREE, 1.0, 0.0) for q in ("Q180", "Q189", "Q197")},
    **{q: (AGREE, -1.0, 0.0) for q in ("Q186", "Q187")},
}
QUESTIONS = (
    "Q01", "Q02", "Q03", "Q39", "Q40", "Q41", "Q137", "Q138", "Q139", "Q140", "Q142", "Q146", "Q147",
    "Q180", "Q186", "Q187", "Q189", "Q197", "Q213", "Q234", "Q235", "Q236", "Q240", "Q241", "Q242", "Q335",
)  # fmt: skip
#: Ordinal cut points on the latent scale, per number of categories.
_CUTS = {2: [0.0], 5: [-1.4, -0.5, 0.35, 1.3], 6: [-1.3, -0.6, -0.3, 0.3, 1.1]}
BLANK_SHARE = 0.03
UNKNOWN_SHARE = 0.005


def _latents(rng: np.random.Generator, truth: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    persona = truth["persona"].to_numpy(dtype=object)
    eng = np.zeros(len(truth))
    con = np.zeros(len(truth))
    known = np.isin(persona, list(LATENT))
    eng[known] = [LATENT[p][0] for p in persona[known]]
    con[known] = [LATENT[p][1] for p in persona[known]]
    none = persona == "none"
    if none.any():  # unimodal: engagement follows the planted High reduction
        h = truth["high_effect_pct"].to_numpy()[none]
        z = (h - h.mean()) / (h.std() + 1e-12)
        eng[none] = -0.9 * z
        con[none] = 0.5 * z
    return eng + rng.normal(0, 0.3, len(eng)), con + rng.normal(0, 0.3, len(con))


def _categorical(rng: np.random.Generator, options: tuple[str, ...], p: list[float], n: int) -> np.ndarray:
    return np.asarray(options, dtype=object)[rng.choice(len(options), size=n, p=p)]


def simulate_survey(
    rng: np.random.Generator,
    truth: pd.DataFrame,
    *,
    treatment_share: float = 0.8,
    control_share: float = 0.2,
) -> pd.DataFrame:
    """Survey answers (codebook texts) of a sample of households.

    Parameters
    ----------
    rng
        Random generator.
    truth
        The planted truth (``household_id``, ``group``, ``persona``, ``high_effect_pct``).
    treatment_share, control_share
        Share of treatment and control households that answered.

    Returns
    -------
    pandas.DataFrame
        Canonical survey table: ``household_id`` and one string column per item of :data:`QUESTIONS`,
        one row per household; blank answers are missing, a few answers are ``"Don't know"``.
    """
    picks = []
    for group, share in (("treatment", treatment_share), ("control", control_share)):
        ids = np.flatnonzero(truth["group"].to_numpy() == group)
        k = int(round(share * len(ids)))
        picks.append(rng.choice(ids, size=k, replace=False) if k else ids[:0])
    rows = np.sort(np.concatenate(picks))
    sub = truth.iloc[rows].reset_index(drop=True)
    n = len(sub)
    eng, con = _latents(rng, sub)
    out: dict[str, np.ndarray] = {}
    for q in QUESTIONS:
        if q in ITEMS:
            scale, le, lc = ITEMS[q]
            latent = le * eng + lc * con + rng.normal(0.0, 1.0, n)
            out[q] = np.asarray(scale, dtype=object)[np.digitize(latent, _CUTS[len(scale)])]
        elif q == "Q213":
            size = rng.choice(np.arange(1, 7), size=n, p=[0.28, 0.34, 0.16, 0.14, 0.05, 0.03])
            out[q] = np.array(["1 person" if s == 1 else f"{s} people" if s < 6 else "6 or more people" for s in size],
                              dtype=object)
        elif q == "Q234":
            out[q] = _categorical(rng, WORK_FROM_HOME, [0.15, 0.1, 0.25, 0.5], n)
        elif q == "Q235":
            house = rng.random(n) < 0.55
            out["Q235"] = np.where(house, _categorical(rng, HOUSE_TYPES, [0.1, 0.25, 0.2, 0.45], n), None)
            out["Q236"] = np.where(house, None, _categorical(rng, FLAT_TYPES, [0.65, 0.35], n))
        elif q == "Q236":
            continue
        elif q in ("Q240", "Q241", "Q242"):
            p_yes = {"Q240": 0.85, "Q241": 0.7, "Q242": 0.4}[q]
            out[q] = np.where(rng.random(n) < p_yes, "Yes", "No").astype(object)
        elif q == "Q335":
            out[q] = _categorical(rng, CLIMATE_INTENT, [0.3, 0.5, 0.2], n)
    for q in QUESTIONS:
        blank = rng.random(n) < BLANK_SHARE
        out[q] = np.where(blank, None, out[q])
        if q in ITEMS and ITEMS[q][0] is AGREE:
            unknown = rng.random(n) < UNKNOWN_SHARE
            out[q] = np.where(unknown & ~blank, UNKNOWN_ANSWER, out[q])
    frame = pd.DataFrame({"household_id": sub["household_id"].to_numpy(dtype=object)})
    for q in QUESTIONS:
        frame[q] = pd.array(out[q], dtype="str")
    frame["household_id"] = frame["household_id"].astype("str")
    return frame

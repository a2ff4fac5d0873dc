"""Planted personas: who responds how to High and Low prices.

Meanings other stages' tests rely on (response in % of the counterfactual in the band; negative = less):

=================  ========  =======  =====
persona            High [%]  Low [%]  share
=================  ========  =======  =====
engaged_shifter    -25       +20      25 %
moderate_reducer   -10       +3       30 %
inert              0         0        30 %
contrarian         +12       -8       15 %
=================  ========  =======  =====

Each treatment household's effects are drawn around its persona centre with sd :data:`SPREAD_PCT`.
``personas="none"``: one unimodal population, High ~ N(-8, 6) %, Low ~ N(+5, 5) %, persona ``none``.
Control households: persona ``control``, effects 0.
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError

PERSONAS_FOUR = ("engaged_shifter", "moderate_reducer", "inert", "contrarian")
#: (High, Low) centres [%].
CENTRES = {
    "engaged_shifter": (-25.0, 20.0),
    "moderate_reducer": (-10.0, 3.0),
    "inert": (0.0, 0.0),
    "contrarian": (12.0, -8.0),
}
SHARES = {"engaged_shifter": 0.25, "moderate_reducer": 0.30, "inert": 0.30, "contrarian": 0.15}
#: Spread of household effects around the persona centre [percentage points].
SPREAD_PCT = 2.5
#: personas="none": (mean, sd) of High and Low effects [%].
UNIMODAL_HIGH = (-8.0, 6.0)
UNIMODAL_LOW = (5.0, 5.0)
CONTROL = "control"
NONE = "none"


def _counts(n: int) -> dict[str, int]:
    """Persona counts with the planted shares, summing to ``n`` (largest remainders)."""
    raw = {p: SHARES[p] * n for p in PERSONAS_FOUR}
    counts = {p: int(np.floor(v)) for p, v in raw.items()}
    rest = n - sum(counts.values())
    for p in sorted(PERSONAS_FOUR, key=lambda p: raw[p] - counts[p], reverse=True)[:rest]:
        counts[p] += 1
    return counts


def assign_personas(
    rng: np.random.Generator, n: int, kind: str, *, lifestyle_trait: np.ndarray | None = None
) -> np.ndarray:
    """Persona of each of ``n`` treatment households.

    Parameters
    ----------
    rng
        Random generator.
    n
        Number of treatment households.
    kind
        ``"four"`` (planted shares, exact counts) or ``"none"``.
    lifestyle_trait
        When given (``predictable=True``), membership follows the trait: households are ranked by
        ``trait + noise`` and the highest become engaged shifters, then moderate reducers, inert and
        contrarians, so that a model on pre-trial features can rank responders.

    Returns
    -------
    numpy.ndarray
        Persona names (object array of length ``n``).
    """
    if kind == NONE:
        return np.full(n, NONE, dtype=object)
    if kind != "four":
        msg = f"unknown personas={kind!r}; use 'four' or 'none'"
        raise ConfigError(msg)
    counts = _counts(n)
    labels = np.concatenate([np.full(counts[p], p, dtype=object) for p in PERSONAS_FOUR])
    if lifestyle_trait is None:
        return rng.permutation(labels)
    z = (lifestyle_trait - lifestyle_trait.mean()) / (lifestyle_trait.std() + 1e-12)
    score = z + rng.normal(0.0, 0.6, n)
    out = np.empty(n, dtype=object)
    out[np.argsort(-score, kind="stable")] = labels
    return out


def draw_effects(rng: np.random.Generator, personas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """High and Low effects [%] of treatment households with the given personas."""
    n = len(personas)
    high = np.empty(n)
    low = np.empty(n)
    if n and (personas == NONE).all():
        high[:] = rng.normal(*UNIMODAL_HIGH, n)
        low[:] = rng.normal(*UNIMODAL_LOW, n)
        return high, low
    ch = np.array([CENTRES[p][0] for p in personas])
    cl = np.array([CENTRES[p][1] for p in personas])
    high[:] = ch + rng.normal(0.0, SPREAD_PCT, n)
    low[:] = cl + rng.normal(0.0, SPREAD_PCT, n)
    return high, low

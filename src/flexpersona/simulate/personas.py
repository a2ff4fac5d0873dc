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

Separation relative to the estimation noise: ``persona_centres`` (a dict ``persona -> (High, Low)`` [%]
overriding some or all of the centres above; shares unchanged) and ``persona_spread`` (sd around the centre
[pp], default :data:`SPREAD_PCT`) of :func:`flexpersona.simulate.simulate_trial`, :func:`plan_trial` and
:func:`simulate_to` plant personas farther apart than the per-household noise of the estimated responses
(measured end to end on this simulator with the default features config: sd of estimate − planted ≈ 5 pp
High and Low, median bootstrap SE ≈ 4 pp). Both are allowed only with ``personas="four"``; ``None`` keeps
the table above.
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


def resolve_centres(
    centres: dict[str, tuple[float, float]] | None, spread: float | None
) -> tuple[dict[str, tuple[float, float]], float]:
    """Persona centres [%] and spread [pp] with overrides applied (``None`` = the planted defaults).

    Raises
    ------
    ConfigError
        An unknown persona name, a centre that is not two finite numbers, a High or Low effect at or below
        -100 %, or a negative or non-finite spread.
    """
    out = dict(CENTRES)
    for name, value in (centres or {}).items():
        if name not in CENTRES:
            msg = f"unknown persona {name!r} in persona_centres; use some of {', '.join(PERSONAS_FOUR)}"
            raise ConfigError(msg)
        try:
            h, lo = (float(v) for v in value)
        except (TypeError, ValueError):
            msg = f"persona_centres[{name!r}] = {value!r}: give a pair (High %, Low %), e.g. (-25, 20)"
            raise ConfigError(msg) from None
        if not (np.isfinite(h) and np.isfinite(lo)) or min(h, lo) <= -100.0:
            msg = f"persona_centres[{name!r}] = {value!r}: effects must be finite and above -100 %"
            raise ConfigError(msg)
        out[name] = (h, lo)
    sd = SPREAD_PCT if spread is None else float(spread)
    if not np.isfinite(sd) or sd < 0:
        msg = f"persona_spread = {spread!r}: give a standard deviation >= 0 [percentage points]"
        raise ConfigError(msg)
    return out, sd


def draw_effects(
    rng: np.random.Generator,
    personas: np.ndarray,
    *,
    centres: dict[str, tuple[float, float]] | None = None,
    spread: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """High and Low effects [%] of treatment households with the given personas.

    Parameters
    ----------
    rng
        Random generator.
    personas
        Persona of each treatment household.
    centres
        Overrides of :data:`CENTRES` (``persona -> (High, Low)`` [%]); ignored for ``personas="none"``.
    spread
        Standard deviation around the centre [percentage points]; default :data:`SPREAD_PCT`.
    """
    n = len(personas)
    high = np.empty(n)
    low = np.empty(n)
    if n and (personas == NONE).all():
        high[:] = rng.normal(*UNIMODAL_HIGH, n)
        low[:] = rng.normal(*UNIMODAL_LOW, n)
        return high, low
    cen, sd = resolve_centres(centres, spread)
    ch = np.array([cen[p][0] for p in personas])
    cl = np.array([cen[p][1] for p in personas])
    high[:] = ch + rng.normal(0.0, sd, n)
    low[:] = cl + rng.normal(0.0, sd, n)
    return high, low

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
overriding some or all of the centres above), ``persona_shares`` (a dict ``persona -> share`` giving the
share of every persona of the set, summing to 1; default the table above) and ``persona_spread`` (sd around the centre
[pp], default :data:`SPREAD_PCT`) of :func:`flexpersona.simulate.simulate_trial`, :func:`plan_trial` and
:func:`simulate_to` plant personas farther apart than the per-household noise of the estimated responses
(measured end to end on this simulator with the default features config: sd of estimate − planted ≈ 5 pp
High and Low, median bootstrap SE ≈ 4 pp). They are allowed only with planted personas (``"four"``,
``"three"``); ``None`` keeps the table above.
``personas="three"``: three well-separated types, engaged shifters (-35, +30) 30 %, inert (0, 0) 45 %,
contrarians (+25, -20) 25 % (same spread and overrides as ``"four"``): at real LCL noise (5-6 pp per
household, ``noise_scale=1.6``) five or more median standard errors apart.
``personas="none"``: one unimodal population, High ~ N(-8, 6) %, Low ~ N(+5, 5) %, persona ``none``.
``personas="continuum"``: one heavy-tailed population like real LCL responses, High = -4 + 4·t₃ %,
Low = +4 + 4·t₃ % (Student t with 3 degrees of freedom, kept above -90 %), persona ``continuum``.
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
PERSONAS_THREE = ("engaged_shifter", "inert", "contrarian")
CENTRES_THREE = {"engaged_shifter": (-35.0, 30.0), "inert": (0.0, 0.0), "contrarian": (25.0, -20.0)}
SHARES_THREE = {"engaged_shifter": 0.30, "inert": 0.45, "contrarian": 0.25}
#: Planted persona sets: kind -> (names in order of response, centres, shares).
PERSONA_SETS = {
    "four": (PERSONAS_FOUR, CENTRES, SHARES),
    "three": (PERSONAS_THREE, CENTRES_THREE, SHARES_THREE),
}
#: Every kind of planted population.
KINDS = ("four", "three", "none", "continuum")
#: Spread of household effects around the persona centre [percentage points].
SPREAD_PCT = 2.5
#: personas="none": (mean, sd) of High and Low effects [%].
UNIMODAL_HIGH = (-8.0, 6.0)
UNIMODAL_LOW = (5.0, 5.0)
#: personas="continuum": (centre, scale) of High and Low effects [%] around a Student t with 3 df.
CONTINUUM_HIGH = (-4.0, 4.0)
CONTINUUM_LOW = (4.0, 4.0)
CONTROL = "control"
NONE = "none"
CONTINUUM = "continuum"


def resolve_shares(shares: dict[str, float] | None, kind: str = "four") -> dict[str, float]:
    """Persona shares of a planted set with an override applied (``None`` = the set's own shares).

    Raises
    ------
    ConfigError
        An unknown or missing persona, a negative or non-finite share, or shares not summing to 1.
    """
    names, _, base = PERSONA_SETS[kind]
    if shares is None:
        return dict(base)
    unknown = sorted(set(shares) - set(names))
    missing = [p for p in names if p not in shares]
    if unknown or missing:
        msg = (f"persona_shares must give a share for each of {', '.join(names)} "
               f"(unknown: {', '.join(unknown) or '-'}; missing: {', '.join(missing) or '-'})")
        raise ConfigError(msg)
    out = {p: float(shares[p]) for p in names}
    if not all(np.isfinite(v) and v >= 0 for v in out.values()) or abs(sum(out.values()) - 1.0) > 1e-6:
        msg = f"persona_shares = {shares!r}: give shares >= 0 that sum to 1"
        raise ConfigError(msg)
    return out


def _counts(n: int, kind: str = "four", shares: dict[str, float] | None = None) -> dict[str, int]:
    """Persona counts with the planted shares, summing to ``n`` (largest remainders)."""
    names = PERSONA_SETS[kind][0]
    sh = resolve_shares(shares, kind)
    raw = {p: sh[p] * n for p in names}
    counts = {p: int(np.floor(v)) for p, v in raw.items()}
    rest = n - sum(counts.values())
    for p in sorted(names, key=lambda p: raw[p] - counts[p], reverse=True)[:rest]:
        counts[p] += 1
    return counts


def assign_personas(
    rng: np.random.Generator,
    n: int,
    kind: str,
    *,
    lifestyle_trait: np.ndarray | None = None,
    shares: dict[str, float] | None = None,
) -> np.ndarray:
    """Persona of each of ``n`` treatment households.

    Parameters
    ----------
    rng
        Random generator.
    n
        Number of treatment households.
    kind
        ``"four"`` or ``"three"`` (planted shares, exact counts), ``"none"`` or ``"continuum"``.
    lifestyle_trait
        When given (``predictable=True``), membership follows the trait: households are ranked by
        ``trait + noise`` and the highest become engaged shifters, then moderate reducers, inert and
        contrarians, so that a model on pre-trial features can rank responders.
    shares
        Persona shares (all four, summing to 1); default :data:`SHARES`.

    Returns
    -------
    numpy.ndarray
        Persona names (object array of length ``n``).
    """
    if kind in (NONE, CONTINUUM):
        return np.full(n, kind, dtype=object)
    if kind not in PERSONA_SETS:
        msg = f"unknown personas={kind!r}; use one of {', '.join(KINDS)}"
        raise ConfigError(msg)
    counts = _counts(n, kind, shares)
    labels = np.concatenate([np.full(counts[p], p, dtype=object) for p in PERSONA_SETS[kind][0]])
    if lifestyle_trait is None:
        return rng.permutation(labels)
    z = (lifestyle_trait - lifestyle_trait.mean()) / (lifestyle_trait.std() + 1e-12)
    score = z + rng.normal(0.0, 0.6, n)
    out = np.empty(n, dtype=object)
    out[np.argsort(-score, kind="stable")] = labels
    return out


def resolve_centres(
    centres: dict[str, tuple[float, float]] | None, spread: float | None, kind: str = "four"
) -> tuple[dict[str, tuple[float, float]], float]:
    """Persona centres [%] and spread [pp] with overrides applied (``None`` = the planted defaults).

    Raises
    ------
    ConfigError
        An unknown persona name, a centre that is not two finite numbers, a High or Low effect at or below
        -100 %, or a negative or non-finite spread.
    """
    names, base, _ = PERSONA_SETS[kind]
    out = dict(base)
    for name, value in (centres or {}).items():
        if name not in base:
            msg = f"unknown persona {name!r} in persona_centres; use some of {', '.join(names)}"
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
    kind: str = "four",
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
    kind
        The planted persona set (``"four"`` or ``"three"``) whose centres apply.
    """
    n = len(personas)
    high = np.empty(n)
    low = np.empty(n)
    if n and (personas == NONE).all():
        high[:] = rng.normal(*UNIMODAL_HIGH, n)
        low[:] = rng.normal(*UNIMODAL_LOW, n)
        return high, low
    if n and (personas == CONTINUUM).all():
        high[:] = np.maximum(CONTINUUM_HIGH[0] + CONTINUUM_HIGH[1] * rng.standard_t(3, n), -90.0)
        low[:] = np.maximum(CONTINUUM_LOW[0] + CONTINUUM_LOW[1] * rng.standard_t(3, n), -90.0)
        return high, low
    cen, sd = resolve_centres(centres, spread, kind)
    ch = np.array([cen[p][0] for p in personas])
    cl = np.array([cen[p][1] for p in personas])
    high[:] = ch + rng.normal(0.0, sd, n)
    low[:] = cl + rng.normal(0.0, sd, n)
    return high, low

"""Bill decomposition (METHODS B.3): structural and behavioural parts of the dynamic-vs-flat saving.

Over the half-hours where a household has both a reading y and a counterfactual ŷ:

- ``bill_dynamic_gbp`` = Σ y · p(band), ``bill_flat_gbp`` = Σ y · p_flat [GBP];
- ``bill_saving_structural_pct`` = 100 · (Σ ŷ·p_flat − Σ ŷ·p(band)) / Σ ŷ·p_flat: what the counterfactual
  (unchanged) load saves on the dynamic tariff (the 2013 schedule is ~5% cheaper even for a flat load);
- ``bill_saving_behavioural_pct`` = 100 · (Σ ŷ·p(band) − Σ y·p(band)) / Σ ŷ·p_flat: what the response
  (actual minus counterfactual load) saves.

The two add up to the saving against the flat bill of the counterfactual load. Positive = cheaper.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..config import Config

#: Response measures whose half-hours are priced at each band.
BAND_MEASURES = {"high": ("high",), "low": ("low",), "normal": ("normal", "rebound", "pseudo")}


def bill_decomposition(per_household: pd.DataFrame, config: Config) -> pd.DataFrame:
    """Bills [GBP] and their structural/behavioural saving [%] from per-household response sums.

    Parameters
    ----------
    per_household
        Output of :func:`flexpersona.features.response.estimate_responses` (``{m}_kwh`` = Σ(y−ŷ),
        ``{m}_yhat_kwh`` = Σŷ per measure).
    config
        Prices from ``config.data``.
    """
    d = config.data
    price = {"high": d.high_price, "low": d.low_price, "normal": d.normal_price}
    dyn_y = np.zeros(len(per_household))
    dyn_yh = np.zeros(len(per_household))
    sum_y = np.zeros(len(per_household))
    sum_yh = np.zeros(len(per_household))
    for band, measures in BAND_MEASURES.items():
        for m in measures:
            yh = np.nan_to_num(per_household[f"{m}_yhat_kwh"].to_numpy(dtype=float))
            y = yh + np.nan_to_num(per_household[f"{m}_kwh"].to_numpy(dtype=float))
            dyn_y += price[band] * y
            dyn_yh += price[band] * yh
            sum_y += y
            sum_yh += yh
    flat_yh = d.flat_price * sum_yh
    with np.errstate(invalid="ignore", divide="ignore"):
        ok = flat_yh > 0
        den = np.where(ok, flat_yh, 1.0)
        out = pd.DataFrame(
            {
                "household_id": per_household["household_id"].to_numpy(),
                "bill_dynamic_gbp": np.where(ok, dyn_y, np.nan),
                "bill_flat_gbp": np.where(ok, d.flat_price * sum_y, np.nan),
                "bill_saving_structural_pct": np.where(ok, 100 * (flat_yh - dyn_yh) / den, np.nan),
                "bill_saving_behavioural_pct": np.where(ok, 100 * (dyn_yh - dyn_y) / den, np.nan),
            }
        )
    return out

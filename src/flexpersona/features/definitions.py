"""The single source of every feature definition: portable SQL run unchanged by DuckDB and Spark.

The SQL uses only what both engines share (joins, ``GROUP BY``, ``SUM``/``COUNT``/``MIN``/``MAX``, ``CASE``,
``COALESCE``, ``NULLIF``, ``ROUND``, ``SQRT``, ``CAST`` to ``BIGINT``/``DECIMAL(38, 0)``/``DOUBLE``); all calendar
logic is in the ``cal`` table (:mod:`flexpersona.features.calendar`), so there is no dialect-specific date
function, and every division is guarded with ``NULLIF`` (Spark runs in ANSI mode). Constants embedded in the SQL
come from this module (category names, :data:`SCALE`), never from user input; user-controlled values reach the
SQL only as registered tables.

Every aggregate is exact, so no result depends on the order in which an engine's threads or partitions combine
partial sums: the stage is bit-identical for any ``data.duckdb_threads`` and any run (issue 14). Each summed
quantity is an integer count of 1/:data:`SCALE` of its unit (:func:`fixed`, a ``BIGINT``, e.g. the readings as
``ku``; :func:`fixed_short`, an integer-valued ``DOUBLE``, for short sums); integer sums are exact in both
engines (``DECIMAL(38, 0)`` where they can outgrow 64 bits) and are divided back to ``DOUBLE`` once, after the
sum (:func:`unfixed`). Means are such a sum over an integer count,
the daily standard deviation comes from exact integer sums of squares, and ``MIN``/``MAX``/``COUNT`` are
order-free anyway. Every fetched result is ordered by its keys (the numpy that follows adds rows in that order).

Tables the queries expect
-------------------------
``readings_raw`` (``household_id``, ``ts``, ``kwh``), ``hh`` (``household_id``, ``grp``, ``hid`` = the
household's position 0..H-1) and ``cal`` (``t``: the half-hour's number since 1970, the same in every calendar).

Columns named ``ku``, ``sk``, ``tot``, ``night_min``, ``s``, ``sb``, ``yu``, ``sy``, ``syh`` of the relations
below are in fixed-point units (integers); every fetched column is in its unit (kWh, DOUBLE).

Relations, in order (every scan of the readings is named; everything else reads small tables):

- ``rdk`` (:data:`RDK`, the one scan of the readings as stored): the readings of kept households on the calendar's
  half-hours keyed by integers -- ``hid``, ``t`` and the kWh in fixed point ``ku`` (missing kWh dropped) --
  written once as Parquet (:meth:`~flexpersona.features.engine.Engine.spill`; a store keeps it between runs,
  :func:`~flexpersona.features.counterfactual.keyed_readings_path`). Every scan below reads it, not the text
  household ids and timestamps (full LCL size: each scan 2-3x faster, the feature stage 67 -> 57 s).
- ``rd`` (view over ``rdk``): the readings with their calendar attributes (joined on ``t``) and
  ``hcell = hid · CELL_KEYS + cell``, the integer key of household x reference cell (joins on it are cheap).
- pass 1, before the reference is chosen (scans 1-2): ``hday`` (per household x day: total, count, night
  minimum, day flags) and ``hcls`` (per household x class of half-hours: every attribute a seed, lifestyle or
  bill condition tests). ``coverage``, ``household_means``, ``seed_daily`` and ``daily_stats`` are read from
  them; ``hday_l``/``hcls_l`` add the ``life`` flag of the lifestyle source (:func:`with_life`).
- ``ref_m`` (scan 3): reference mean kWh ``B_h`` per household and cell (slot x day type x reference period
  (month or season, ``features.reference_period``)) over ``ref = 1`` half-hours, with the number of readings
  ``n``; ``ref_s``/``ref_a`` (season / all months, keyed ``hs``/``ha`` on the integer cells ``scell``/``acell``)
  are its sums rolled up.
- ``ctl_m``/``ctl_s``/``ctl_a``: sums ``sb`` and counts ``nc`` of the controls' ``B_h`` per cell.
- ``ctl_t`` (scan 4): control-group sum ``s`` and count ``n`` of kWh per trial half-hour ``t``.
- ``bsel``: per household x trial cell, ``B_h`` of the finest cell level with a reference (``lvl`` 1
  reference period, 2 season, 3 all months) and ``B_C`` (leave-one-out for control households).
- ``tc`` (view; a cached table on Spark): every trial reading with the control factor ``C(t)``. Control
  households are pseudo-treated against the other controls (leave-one-out ``C`` and ``B_C``), treatment
  households against all controls.
- ``tr``/``trh`` (views): ``tc`` with ``B_h`` and ``B_C`` of ``bsel``, and the counterfactual
  ``yhat = B_h · C(t) / B_C`` (METHODS B.1).
- ``tagg`` (scan 5): per household x trial day x category x cell level x event: Σy, Σŷ, n; ``day_agg`` and
  ``event_agg`` (treatment households) are read from it. When two references are compared (with a control
  group), :data:`TAGG_PAIR` makes both references' ``tagg`` in one scan.
- ``kc`` (scan 6, High/Low/rebound/placebo half-hours only): per household x cell, ``Σ C(t)`` over the trial
  half-hours of each interval category (:data:`KC`; one sum serves the cell's one High category). It does not
  depend on the reference: two compared references share it.
- ``rk``: ``ref_m`` of the level-1 cells with ``K = Σ C(t) / B_C`` (``kc`` divided by the cell's ``B_C``).
- ``ref_influence`` (scan 7, reference half-hours): per household x reference day x category, the linearised
  influence of that day's reference readings on Σŷ, used by the bootstrap.

Without a control group (``features.counterfactual = no_control``, :mod:`.nocontrol`) the same relations
run with ``C(t)/B_C ≡ 1`` (``bsel`` from :func:`bsel_sql`, ``tc`` = :data:`TC_NO_CONTROL`, no ``ctl_*``), or,
with a weather file, ``C(t)/B_C = 1 + β_h,season · ΔT(t)``: ``tdev`` (``ts``, ``tdev`` = the day's mean
temperature minus its mean over the reference days of the cell, registered from pandas) and ``tbeta``
(scan over the reference half-hours: the household's weighted least-squares slope of ``y − B_h`` on
``B_h · ΔT``, per season, clipped to ±:data:`MAX_TEMPERATURE_SLOPE`) (``tc`` = :data:`TC_TEMPERATURE`).
:func:`reference_tables` and :func:`trial_view` pick the variant.
"""

from __future__ import annotations

from .calendar import CATEGORIES, CELL_KEYS, CLASS_COLUMNS, HIGH_CATS, INTERVAL_CATS

# -- exact sums ------------------------------------------------------------------------------------------
#: Fixed-point scale of every sum: a summed quantity is an integer count of 1e-12 of its unit (kWh, or the
#: dimensionless ``C(t)/B_C``). Readings with up to 12 decimals are represented exactly (meters give 3).
SCALE = 10**12
#: Type of the integers that can outgrow ``BIGINT``: squares of daily totals, products of sums and prices.
EXACT = "DECIMAL(38, 0)"


def fixed(expr: str) -> str:
    """SQL of a per-row DOUBLE ``expr`` as an integer of 1/:data:`SCALE` units (``BIGINT``; rounded half away from
    zero, the same in DuckDB and Spark), for the long sums (a year of readings, all controls).

    DuckDB sums ``BIGINT`` into ``HUGEINT`` (exact, whatever the size), Spark into ``BIGINT``. One row's value
    stays below 9.2 million in its unit (DuckDB stops with a conversion error above), and on Spark one sum too
    (a household's year at 500 kWh per half-hour, or 900,000 homes in one half-hour).
    """
    return f"CAST(ROUND(({expr}) * {SCALE}) AS BIGINT)"


def fixed_short(expr: str) -> str:
    """SQL of a per-row DOUBLE ``expr`` as an integer of 1/:data:`SCALE` units held in a ``DOUBLE``, for the many
    short sums (over one household's day or one reference cell: ŷ, ``K``, the reference influence).

    Floating-point addition of integers is exact, hence free of order, while every partial sum stays below
    2^53 units (9,007 kWh: a day's or a cell's sums are far below; beyond, a sum rounds like any floating-point
    sum, in its last bit). Half the aggregation memory of ``HUGEINT`` sums, which counts at 12 sums per group
    and 4-6 million groups (full LCL size: the influence pass 32 s with ``BIGINT``, 24 s like this).
    """
    return f"ROUND(({expr}) * {SCALE})"


def unfixed(expr: str) -> str:
    """SQL of a fixed-point (sum) ``expr`` back in its unit, as ``DOUBLE`` (one correctly rounded division)."""
    return f"(CAST({expr} AS DOUBLE) / {SCALE})"


def fixed_sum(expr: str, *, short: bool = False) -> str:
    """SQL of the exact sum of a per-row DOUBLE ``expr`` (:func:`fixed_short` with ``short``), as ``DOUBLE`` in
    its unit."""
    return unfixed(f"SUM({fixed_short(expr) if short else fixed(expr)})")


# -- conditional means: name -> condition over rd --------------------------------------------------------
#: Seed (METHODS A) subsets of the baseline and trial years; means are Σ kWh / n over the subset.
SEED_MEANS: dict[str, str] = {
    "base_weekday_peak": "is_base = 1 AND wkend = 0 AND peak = 1",
    "base_weekday_offpeak": "is_base = 1 AND wkend = 0 AND peak = 0",
    "base_weekend_peak": "is_base = 1 AND wkend = 1 AND peak = 1",
    "base_weekend_offpeak": "is_base = 1 AND wkend = 1 AND peak = 0",
    "base_daytime": "is_base = 1 AND daytime = 1",
    "base_nighttime": "is_base = 1 AND daytime = 0",
    "trial_weekday_high": "is_trial = 1 AND wkend = 0 AND band = 'High'",
    "trial_weekday_low": "is_trial = 1 AND wkend = 0 AND band = 'Low'",
    "trial_weekday_normal": "is_trial = 1 AND wkend = 0 AND band = 'Normal'",
    "trial_weekend_high": "is_trial = 1 AND wkend = 1 AND band = 'High'",
    "trial_weekend_low": "is_trial = 1 AND wkend = 1 AND band = 'Low'",
    "trial_weekend_normal": "is_trial = 1 AND wkend = 1 AND band = 'Normal'",
    # controls have no bands: the seed's control change uses the peak windows in the trial year too
    "trial_weekday_peak": "is_trial = 1 AND wkend = 0 AND peak = 1",
    "trial_weekday_offpeak": "is_trial = 1 AND wkend = 0 AND peak = 0",
    "trial_weekend_peak": "is_trial = 1 AND wkend = 1 AND peak = 1",
}
#: Lifestyle subsets (over ``life = 1`` half-hours: the baseline year, or event-free trial days).
LIFE_MEANS: dict[str, str] = {
    "life_all": "life = 1",
    "life_weekday": "life = 1 AND wkend = 0",
    "life_weekend": "life = 1 AND wkend = 1",
    "life_winter": "life = 1 AND season = 1",
    "life_summer": "life = 1 AND season = 3",
    "life_weekday_peak": "life = 1 AND wkend = 0 AND peak = 1",
    "life_weekday_offpeak": "life = 1 AND wkend = 0 AND peak = 0",
    "life_weekend_peak": "life = 1 AND wkend = 1 AND peak = 1",
    "life_daytime": "life = 1 AND daytime = 1",
    "life_nighttime": "life = 1 AND daytime = 0",
    # 07:00-08:59 and 16:00-19:59 on weekdays (morning and evening peaks)
    "life_weekday_morning": "life = 1 AND wkend = 0 AND mwin = 1",
    "life_weekday_evening": "life = 1 AND wkend = 0 AND ewin = 1",
    # 16:00-19:59, every day (evening share)
    "life_evening": "life = 1 AND ewin = 1",
}
#: Trial-year sums of the seed's bill and rationality features (integer expressions over ``hcls``, fixed point).
TRIAL_SUMS: dict[str, tuple[str, str]] = {
    "trial_kwh": ("is_trial = 1", "ku"),
    "trial_cost_dynamic": ("is_trial = 1", f"CAST(ROUND(ku * price) AS {EXACT})"),
    "trial_kwh_high": ("is_trial = 1 AND band = 'High'", "ku"),
    "trial_kwh_low": ("is_trial = 1 AND band = 'Low'", "ku"),
}

#: Baseload window: 00:00-04:59 (slots 0..9).
NIGHT_SLOTS_END = 10

def _cond_sums(defs: dict[str, str]) -> str:
    # over ``hcls``: ``ku`` is a class sum (fixed point) and ``n`` its number of readings
    parts = []
    for name, cond in defs.items():
        parts.append(f"{unfixed(f'SUM(CASE WHEN {cond} THEN ku END)')} AS {name}_sum")
        parts.append(f"CAST(COALESCE(SUM(CASE WHEN {cond} THEN n END), 0) AS BIGINT) AS {name}_n")
    return ",\n  ".join(parts)


# -- relations -------------------------------------------------------------------------------------------
# ``hcell``: integer key of household x reference cell (``hh.hid`` is the household's position). ``ku``: the
# reading in fixed point, ``kwh`` the same value in kWh (NaN is missing, like NULL).
RDK = f"""
SELECT h.hid AS hid, c.t AS t, {fixed("CAST(r.kwh AS DOUBLE)")} AS ku
FROM readings_raw r
JOIN hh h ON r.household_id = h.household_id
JOIN cal c ON r.ts = c.ts
WHERE r.kwh IS NOT NULL AND NOT isnan(r.kwh)
"""

#: ``hcell`` and the reading in kWh of a row ``r`` of ``rdk`` on its calendar row ``c``.
HCELL = f"r.hid * {CELL_KEYS} + c.cell"
KWH = f"CAST(r.ku AS DOUBLE) / {SCALE}"

RD = f"""
SELECT h.grp AS grp, r.hid AS hid, {HCELL} AS hcell, c.cell AS cell, c.cls AS cls,
  c.ts AS ts, c.t AS t, c.is_base AS is_base, c.is_trial AS is_trial, c.day AS day, c.slot AS slot, c.wkend AS wkend,
  c.month AS month, c.period AS period, c.season AS season, c.band AS band, c.price AS price, c.peak AS peak,
  c.daytime AS daytime, c.mwin AS mwin, c.ewin AS ewin, c.life_w AS life_w,
  c.cat AS cat, c.catc AS catc, c.event_id AS event_id, c.ref AS ref, c.life AS life,
  r.ku AS ku, {KWH} AS kwh
FROM rdk r
JOIN hh h ON r.hid = h.hid
JOIN cal c ON r.t = c.t
"""

# Pass 1 (independent of the reference and the lifestyle source): per household x day, and per household x
# class of half-hours (every attribute a seed, lifestyle or bill condition tests).
# (grouped on integer keys only; the day's and the class's attributes are joined to the small result)
HDAY = f"""
SELECT a.hid AS hid, a.day AS day, d.is_base AS is_base, d.is_trial AS is_trial, d.life_w AS life_w, a.tot AS tot,
  a.n AS n, a.night_min AS night_min
FROM (
  SELECT hid, day, SUM(ku) AS tot, COUNT(*) AS n, MIN(CASE WHEN slot < {NIGHT_SLOTS_END} THEN ku END) AS night_min
  FROM rd GROUP BY hid, day
) a
JOIN (SELECT DISTINCT day, is_base, is_trial, life_w FROM cal) d ON d.day = a.day
"""

HCLS = f"""
SELECT a.hid AS hid, {", ".join(f"c.{k} AS {k}" for k in CLASS_COLUMNS)}, a.ku AS ku, a.n AS n
FROM (SELECT hid, cls, SUM(ku) AS ku, COUNT(*) AS n FROM rd GROUP BY hid, cls) a
JOIN (SELECT DISTINCT cls, {", ".join(CLASS_COLUMNS)} FROM cal) c ON c.cls = a.cls
"""

#: The ``life`` flag of the day/class tables by lifestyle source (a day-level selection in every case).
LIFE_FLAG = {"halfhourly": "is_base", "within_trial_normal": "life_w", "daily": "0"}


def with_life(table: str, lifestyle_source: str) -> str:
    """``SELECT`` of a pass-1 table with the household's id and group and the ``life`` flag of the source."""
    return (
        f"SELECT t.*, h.household_id AS household_id, h.grp AS grp, {LIFE_FLAG[lifestyle_source]} AS life\n"
        f"FROM {table} t JOIN hh h ON h.hid = t.hid"
    )


COVERAGE = """
SELECT household_id, grp, CAST(SUM(is_base * n) AS BIGINT) AS n_base, CAST(SUM(is_trial * n) AS BIGINT) AS n_trial
FROM hday_l GROUP BY household_id, grp
ORDER BY household_id
"""

REF_M = f"""
SELECT hcell, MIN(hid) AS hid, MIN(cell) AS cell, {unfixed("SUM(ku)")} / COUNT(*) AS b, COUNT(*) AS n, SUM(ku) AS sk
FROM rd WHERE ref = 1 GROUP BY hcell
"""

# The coarser cells of the fallback levels as integer keys, like ``cell``: slot x day type x season (``scell``,
# 0..SEASON_KEYS-1) and slot x day type (``acell``, 0..ALL_KEYS-1; ``scell % ALL_KEYS``). A household's cell of a
# level is ``hid · keys + cell`` (one integer to group and join on; full LCL size: the roll-ups 2.2 s -> 0.6 s).
SEASON_KEYS, ALL_KEYS = 384, 96
SCELL = "slot + 48 * wkend + 96 * (season - 1)"
ACELL = "slot + 48 * wkend"

#: The reference cells of the calendar with their attributes.
CELLS = f"""
SELECT DISTINCT cell, slot, wkend, period, season, {SCELL} AS scell FROM cal
"""

# coarser cells as exact sums of the reference-period cells (the season is a function of the period): per
# household x season cell, then per household x all-months cell from those
REF_S = f"""
SELECT MIN(m.hid) AS hid, m.hid * {SEASON_KEYS} + c.scell AS hs, MIN(c.scell) AS scell,
  {unfixed("SUM(m.sk)")} / SUM(m.n) AS b, CAST(SUM(m.n) AS BIGINT) AS n, SUM(m.sk) AS sk
FROM ref_m m JOIN cells c ON c.cell = m.cell GROUP BY m.hid * {SEASON_KEYS} + c.scell
"""
REF_A = f"""
SELECT MIN(s.hid) AS hid, s.hid * {ALL_KEYS} + s.scell % {ALL_KEYS} AS ha, MIN(s.scell % {ALL_KEYS}) AS acell,
  {unfixed("SUM(s.sk)")} / SUM(s.n) AS b, CAST(SUM(s.n) AS BIGINT) AS n
FROM ref_s s GROUP BY s.hid * {ALL_KEYS} + s.scell % {ALL_KEYS}
"""


def _ctl(src: str, key: str) -> str:
    return f"""
SELECT r.{key} AS {key}, SUM({fixed("r.b")}) AS sb, COUNT(*) AS nc
FROM {src} r JOIN hh h ON h.hid = r.hid WHERE h.grp = 'control' GROUP BY r.{key}
"""


CTL_T = """
SELECT t, SUM(ku) AS s, COUNT(*) AS n FROM rd WHERE is_trial = 1 AND grp = 'control' GROUP BY t
"""



def bsel_sql(*, no_control: bool = False) -> str:
    """Per household and trial cell: ``B_h`` of the finest cell level with a reference (1 reference period,
    2 season, 3 all months) and ``B_C`` (leave-one-out for control households, pseudo-treated against the
    other controls; 1 without a control group).

    Level 1 comes straight from ``ref_m`` (a household's reference cells that are trial cells); only the
    households lacking some trial cell there go through the cross product with the trial cells and the look-ups
    of the coarser levels (full LCL size: 3.3 s -> 1.4-2.0 s, the same rows).
    """
    trial_cells = f"(SELECT DISTINCT cell, {SCELL} AS scell, {ACELL} AS acell FROM cal WHERE is_trial = 1)"
    if no_control:
        b_c, l1_ctl, fb_ctl, l1_join, fb_joins = "CAST(1.0 AS DOUBLE)", "", "", "", ""
    else:
        # leave-one-out in integers: sb holds the household's own B_h as fixed(bh)
        loo = unfixed("sb - " + fixed("bh"))
        b_c = f"CASE WHEN grp = 'control' THEN {loo} / NULLIF(nc - 1, 0) ELSE {unfixed('sb')} / NULLIF(nc, 0) END"
        l1_ctl = ", cm.sb AS sb, cm.nc AS nc"
        fb_ctl = """,
    CASE WHEN s.b IS NOT NULL THEN cs.sb ELSE ca.sb END AS sb,
    CASE WHEN s.b IS NOT NULL THEN cs.nc ELSE ca.nc END AS nc"""
        l1_join = "\n  LEFT JOIN ctl_m cm ON cm.cell = c.cell"
        fb_joins = """
  LEFT JOIN ctl_s cs ON cs.scell = c.scell
  LEFT JOIN ctl_a ca ON ca.acell = c.acell"""
    return f"""
SELECT hcell, bh, lvl,
  {b_c} AS b_c
FROM (
  SELECT m.hcell AS hcell, h.grp AS grp, m.b AS bh, 1 AS lvl{l1_ctl}
  FROM ref_m m
  JOIN {trial_cells} c ON c.cell = m.cell
  JOIN hh h ON h.hid = m.hid{l1_join}
  UNION ALL
  SELECT h.hid * {CELL_KEYS} + c.cell AS hcell, h.grp AS grp,
    COALESCE(s.b, a.b) AS bh,
    CASE WHEN s.b IS NOT NULL THEN 2 WHEN a.b IS NOT NULL THEN 3 END AS lvl{fb_ctl}
  FROM (
    SELECT * FROM hh WHERE hid NOT IN (
      SELECT m.hid FROM ref_m m JOIN {trial_cells} c ON c.cell = m.cell GROUP BY m.hid
      HAVING COUNT(*) = (SELECT COUNT(*) FROM {trial_cells} t))
  ) h
  CROSS JOIN {trial_cells} c
  LEFT JOIN ref_m m ON m.hcell = h.hid * {CELL_KEYS} + c.cell
  LEFT JOIN ref_s s ON s.hs = h.hid * {SEASON_KEYS} + c.scell
  LEFT JOIN ref_a a ON a.ha = h.hid * {ALL_KEYS} + c.acell{fb_joins}
  WHERE m.b IS NULL
) cells
WHERE bh IS NOT NULL
"""


BSEL = bsel_sql()

# C(t): leave-one-out for control households (exact: the integer sum minus the household's reading), all
# controls otherwise (``d``: a reading of ``rd``, ``t``: its half-hour's ``ctl_t``). ``yu``: the reading in fixed point.
C_T = (f"CASE WHEN d.grp = 'control' THEN {unfixed('t.s - d.ku')} / NULLIF(t.n - 1, 0) "
       f"ELSE {unfixed('t.s')} / NULLIF(t.n, 0) END")
def _trial_factor(c_t: str, joins: str = "") -> str:
    """SQL of ``tc``: every trial reading of ``rd d`` with the factor ``c_t`` of its variant (``joins`` add what it
    reads); no reference needed: :data:`KC` sums it, and ``tr`` joins the reference to it."""
    return f"""
SELECT d.hid AS hid, d.grp AS grp, d.hcell AS hcell, d.day AS day, d.cat AS cat, d.catc AS catc,
  d.event_id AS event_id, d.ku AS yu, {c_t} AS c_t
FROM rd d{joins}
WHERE d.is_trial = 1
"""


TC = _trial_factor(C_T, "\nJOIN ctl_t t ON t.t = d.t")
# Without a control group: C(t)/B_C = 1, or 1 + β·ΔT with a weather file.
TC_NO_CONTROL = _trial_factor("CAST(1.0 AS DOUBLE)")
TC_TEMPERATURE = _trial_factor(
    "1.0 + COALESCE(t.beta, 0.0) * COALESCE(w.tdev, 0.0)",
    "\nLEFT JOIN tdev w ON w.ts = d.ts\nLEFT JOIN tbeta t ON t.hid = d.hid AND t.season = d.season",
)

# ``tr``: the trial readings of ``tc`` with the household's ``B_h`` and ``B_C`` (``bsel``), for every variant.
TR = """
SELECT c.hid AS hid, c.grp AS grp, c.hcell AS hcell, c.day AS day, c.cat AS cat, c.catc AS catc,
  c.event_id AS event_id, c.yu AS yu, b.bh AS bh, b.lvl AS lvl, b.b_c AS b_c, c.c_t AS c_t
FROM tc c
JOIN bsel b ON b.hcell = c.hcell
"""

#: Largest temperature slope of the no-control model [fraction of load per °C] (real London homes: ~0.01-0.03).
MAX_TEMPERATURE_SLOPE = 0.05

# Per household and season: weighted least squares of y − B_h on B_h·ΔT over the reference half-hours
# (y = B_h (1 + β ΔT) + ε, Var ε ∝ B_h): β = Σ (y − B_h) ΔT / Σ B_h ΔT².
TBETA = f"""
SELECT hid, season,
  CASE WHEN beta > {MAX_TEMPERATURE_SLOPE} THEN {MAX_TEMPERATURE_SLOPE}
       WHEN beta < -{MAX_TEMPERATURE_SLOPE} THEN -{MAX_TEMPERATURE_SLOPE} ELSE beta END AS beta
FROM (
  SELECT d.hid AS hid, d.season AS season,
    {fixed_sum("(d.kwh - m.b) * w.tdev")} / NULLIF({fixed_sum("m.b * w.tdev * w.tdev")}, 0) AS beta
  FROM rd d
  JOIN ref_m m ON m.hcell = d.hcell
  JOIN tdev w ON w.ts = d.ts
  WHERE d.ref = 1
  GROUP BY d.hid, d.season
) s
WHERE beta IS NOT NULL
"""

def yhat(bh: str, c_t: str, b_c: str) -> str:
    """SQL of the counterfactual ``ŷ = B_h · C(t) / B_C`` (NULL when ``B_C`` is 0 or missing): the one formula of
    :data:`TRH` and :data:`TAGG_PAIR`."""
    return f"{bh} * {c_t} / NULLIF({b_c}, 0)"


TRH = f"""
SELECT hid, grp, hcell, day, catc, event_id, yu, bh, lvl,
  {yhat("bh", "c_t", "b_c")} AS yhat
FROM tr
WHERE c_t IS NOT NULL AND b_c IS NOT NULL AND b_c <> 0
"""

# Per household x trial day x category x cell level x event: one pass over the trial readings feeds both
# ``day_agg`` and ``event_agg`` (Σy and Σŷ in fixed point, short sums as integer-valued DOUBLEs like
# :func:`fixed_short`: exact, and about 10% faster than ``HUGEINT`` sums at full LCL size).
TAGG = f"""
SELECT hid, day, catc, lvl, event_id, SUM(CAST(yu AS DOUBLE)) AS sy, SUM({fixed_short("yhat")}) AS syh, COUNT(*) AS n
FROM trh GROUP BY hid, day, catc, lvl, event_id
"""

def day_agg_sql(source: str = "tagg") -> str:
    """Fetched for numpy in the shape it needs (issue 14, memory): per household x trial day x category x cell
    level, Σy, Σŷ and n of ``source`` (``tagg``, or one side of ``tagg_pair``: :data:`PAIR_SIDES`), with integer keys
    (``hid`` is the household's position, ``cat`` the category's code, the calendar's ``catc``), no strings, 32 bytes
    a row."""
    return f"""
SELECT CAST(a.hid AS INTEGER) AS hid, CAST(a.day AS INTEGER) AS day, CAST(a.catc AS SMALLINT) AS cat,
  CAST(a.lvl AS SMALLINT) AS lvl, {unfixed("a.sy")} AS sy, {unfixed("a.syh")} AS syh, CAST(a.n AS INTEGER) AS n
FROM (
  SELECT hid, day, catc, lvl, SUM(sy) AS sy, SUM(syh) AS syh, SUM(n) AS n
  FROM {source} t GROUP BY hid, day, catc, lvl
) a
ORDER BY a.hid, a.day, a.catc, a.lvl
"""


DAY_AGG = day_agg_sql()

#: The ``K`` sums of :data:`KC`: High (whichever High category the cell has), then the other interval categories.
K_SUMS = ("high", *(c for c in INTERVAL_CATS if c not in HIGH_CATS))
#: Code of a High category: its position in :data:`HIGH_CATS` (NULL for any other category), from the calendar's
#: integer category code ``catc`` (the position in :data:`~.calendar.CATEGORIES`).
HIGH_CODE = "CASE catc " + " ".join(f"WHEN {CATEGORIES.index(c)} THEN {i}" for i, c in enumerate(HIGH_CATS)) + " END"


def cat_is(c: str) -> str:
    """SQL test that a row's category is ``c`` (on its integer code)."""
    return f"catc = {CATEGORIES.index(c)}"


# A High half-hour's category is a function of its slot (time of day, inside the system peak or not;
# :func:`flexpersona.features.calendar._categories`), and a level-1 cell has one slot: so a cell has at most one
# High category, ``hc``, and one High ``K`` sum serves all eight (5 sums a cell instead of 12: memory, issue 14).
# ``K = Σ C(t) / B_C`` over the cell's trial half-hours of a category: ``B_C`` is one value per household x cell,
# so ``kc`` sums ``C(t)`` alone, without the reference (one scan serves both references of a comparison), and
# ``rk`` divides by the reference's ``B_C`` (full LCL size: 10.5 s for each reference's ``rk`` -> one ``kc``
# 6 s, then 3 s per reference).
KC = (
    "SELECT hcell, MIN(hc) AS hc,\n  "
    + ",\n  ".join(
        f"SUM(CASE WHEN {cond} THEN kq END) AS k_{c}"
        for c, cond in (("high", "hc IS NOT NULL"), *((c, cat_is(c)) for c in K_SUMS[1:])))
    + f"\nFROM (SELECT hcell, catc, {HIGH_CODE} AS hc, {fixed_short('c_t')} AS kq FROM tc WHERE NOT {cat_is('normal')}) x"
    + "\nGROUP BY hcell"
)

#: Reference cells (level 1 of ``bsel``) with their trial ``K`` sums (one join for the influence pass).
RK = (
    "SELECT m.hcell AS hcell, m.b AS b, m.n AS n, k.hc AS hc, "
    + ", ".join(f"{unfixed(f'k.k_{c}')} / b.b_c AS k_{c}" for c in K_SUMS)
    + """
FROM ref_m m
JOIN kc k ON k.hcell = m.hcell
JOIN bsel b ON b.hcell = m.hcell
WHERE b.lvl = 1 AND b.b_c <> 0"""
)


def _influence(c: str) -> str:
    # a High category's influence: from the cells whose High category it is
    if c in HIGH_CATS:
        return f"CASE WHEN m.hc = {HIGH_CATS.index(c)} THEN (d.kwh - m.b) * m.k_high / m.n END"
    return f"(d.kwh - m.b) * m.k_{c} / m.n"


# Influence of reference day d on Σŷ of a category: Σ_{reference half-hours of d} (y − B_h)·K/n, where
# K = Σ_{trial half-hours of the category in the cell} C(t)/B_C. Σ over days is 0; the bootstrap reweights it.
# (The reference readings straight from ``rdk`` and ``cal``: ``rd``'s join to ``hh`` is not needed here; full LCL
# size 15.2-15.9 -> 13.0-14.0 s, the same rows.)
REF_INFLUENCE = (
    "SELECT CAST(a.hid AS INTEGER) AS hid, CAST(a.day AS INTEGER) AS day, "
    + ", ".join(f"a.e_{c} AS e_{c}" for c in INTERVAL_CATS)
    + "\nFROM (\n  SELECT d.hid AS hid, d.day AS day,\n  "
    + ",\n  ".join(f"{fixed_sum(_influence(c), short=True)} AS e_{c}" for c in INTERVAL_CATS)
    + f"""
  FROM (
    SELECT r.hid AS hid, {HCELL} AS hcell, c.day AS day, {KWH} AS kwh
    FROM rdk r JOIN cal c ON r.t = c.t
    WHERE c.ref = 1
  ) d
  JOIN rk m ON m.hcell = d.hcell
  GROUP BY d.hid, d.day
) a
ORDER BY a.hid, a.day"""
)

def event_agg_sql(source: str = "tagg") -> str:
    """Per treatment household x tariff event: Σy, Σŷ and n of ``source`` (as :func:`day_agg_sql`)."""
    return f"""
SELECT h.household_id AS household_id, a.event_id AS event_id, {unfixed("SUM(a.sy)")} AS sy,
  {unfixed("SUM(a.syh)")} AS syh, CAST(SUM(a.n) AS BIGINT) AS n
FROM {source} a JOIN hh h ON h.hid = a.hid
WHERE a.event_id IS NOT NULL AND h.grp = 'treatment'
GROUP BY h.household_id, a.event_id
ORDER BY household_id, event_id
"""


EVENT_AGG = event_agg_sql()

# -- two references in one pass over the trial readings (issue 14) ----------------------------------------------
# With ``features.compare_references`` and a control group, ``tagg`` of the run's reference and of the comparison
# come from one scan: the comparison's ``bsel`` is kept as ``bsel_2`` and the trial readings join both. Each
# side's sums are those ``tagg`` would hold (the same rows, the same exact sums), so ``day_agg`` and ``event_agg``
# are bit for bit those of two separate passes; the scan and its joins to ``hh``, ``cal`` and ``ctl_t`` are shared.
#: Suffix of the comparison reference's tables while the run's reference is made.
SECOND = "_2"
TAGG_PAIR = f"""
SELECT hid, day, catc, lvl, lvl_2, event_id,
  SUM(CASE WHEN yhat IS NOT NULL THEN CAST(yu AS DOUBLE) END) AS sy, SUM({fixed_short("yhat")}) AS syh, COUNT(yhat) AS n,
  SUM(CASE WHEN yhat_2 IS NOT NULL THEN CAST(yu AS DOUBLE) END) AS sy_2, SUM({fixed_short("yhat_2")}) AS syh_2, COUNT(yhat_2) AS n_2
FROM (
  SELECT d.hid AS hid, d.day AS day, d.catc AS catc, d.event_id AS event_id, d.yu AS yu, b.lvl AS lvl, p.lvl AS lvl_2,
    {yhat("b.bh", "d.c_t", "b.b_c")} AS yhat, {yhat("p.bh", "d.c_t", "p.b_c")} AS yhat_2
  FROM tc d
  LEFT JOIN bsel b ON b.hcell = d.hcell
  LEFT JOIN bsel{SECOND} p ON p.hcell = d.hcell
) x
WHERE yhat IS NOT NULL OR yhat_2 IS NOT NULL
GROUP BY hid, day, catc, lvl, lvl_2, event_id
"""
#: ``tagg`` of the run's reference (1) and of the comparison (2), as sources of :func:`day_agg_sql`.
PAIR_SIDES = {
    1: "(SELECT hid, day, catc, lvl, event_id, sy, syh, n FROM tagg_pair WHERE n > 0)",
    2: "(SELECT hid, day, catc, lvl_2 AS lvl, event_id, sy_2 AS sy, syh_2 AS syh, n_2 AS n FROM tagg_pair WHERE n_2 > 0)",
}

HOUSEHOLD_MEANS = (
    "SELECT household_id, grp,\n  "
    + _cond_sums({**SEED_MEANS, **LIFE_MEANS})
    + ",\n  "
    + ",\n  ".join(f"{unfixed(f'SUM(CASE WHEN {cond} THEN {expr} END)')} AS {name}" for name, (cond, expr) in TRIAL_SUMS.items())
    + "\nFROM hcls_l GROUP BY household_id, grp\nORDER BY household_id"
)


def _daily(where: str, baseload: bool) -> str:
    """Per household: the standard deviation (exact integer sums of squares, ``n Σt² − (Σt)²``), mean and
    maximum of the daily totals ``t`` of the days of ``hday_l`` that pass ``where`` (and the mean night
    minimum, and the number of days)."""
    t = f"CAST(tot AS {EXACT})"
    cols = [
        f"SQRT(CAST(COUNT(*) * SUM({t} * {t}) - SUM({t}) * SUM({t}) AS DOUBLE)"
        f" / NULLIF(COUNT(*) * (COUNT(*) - 1), 0)) / {SCALE} AS daily_sd",
        f"{unfixed('SUM(tot)')} / COUNT(*) AS daily_mean",
        f"{unfixed('MAX(tot)')} AS daily_max",
    ]
    if baseload:
        cols += [f"{unfixed('SUM(night_min)')} / NULLIF(COUNT(night_min), 0) AS baseload_kwh", "COUNT(*) AS n_days"]
    return f"SELECT household_id, {', '.join(cols)}\nFROM hday_l WHERE {where}\nGROUP BY household_id\nORDER BY household_id"


# Daily totals (days with at least one reading) of the lifestyle half-hours, and the night minimum.
DAILY_STATS = _daily("life = 1", baseload=True)

# Seed daily totals over the baseline year (independent of the lifestyle source).
SEED_DAILY = _daily("is_base = 1", baseload=False)

#: Pass 1, on the calendar of any reference (tables, in order).
PASS1 = (("hday", HDAY), ("hcls", HCLS))
#: After the reference is chosen (tables, in order).
TABLES = (
    ("cells", CELLS),
    ("ref_m", REF_M),
    ("ref_s", REF_S),
    ("ref_a", REF_A),
    ("ctl_m", _ctl("ref_m", "cell")),
    ("ctl_s", _ctl("ref_s", "scell")),
    ("ctl_a", _ctl("ref_a", "acell")),
    ("ctl_t", CTL_T),
    ("bsel", BSEL),
)
VIEWS_AFTER_REF = (("tr", TR),)


def reference_tables(*, no_control: bool = False, temperature: bool = False) -> tuple[tuple[str, str], ...]:
    """The tables made after the reference is chosen, in order (:data:`TABLES` with a control group)."""
    if not no_control:
        return TABLES
    out = (*TABLES[:4], ("bsel", bsel_sql(no_control=True)))
    return (*out, ("tbeta", TBETA)) if temperature else out


def trial_view(*, no_control: bool = False, temperature: bool = False) -> str:
    """The ``tc`` relation: every trial reading with the ``C(t)`` of the counterfactual (``tr`` adds the reference)."""
    if not no_control:
        return TC
    return TC_TEMPERATURE if temperature else TC_NO_CONTROL
#: ``tc`` is read by two queries (``tagg`` or ``tagg_pair``, and ``kc``): a view on DuckDB, a cached table on Spark.
REUSED = "tc"
#: Views on ``tc``: ``tr`` (with the reference) and ``trh`` (with ``ŷ``), read by ``tagg``.
TRIAL_VIEWS = (("tr", TR), ("trh", TRH))
#: Materialised after ``tc``, in order: ``tagg`` (then ``day_agg`` and ``event_agg`` are fetched), ``kc``, ``rk``
#: (then ``ref_influence``).
TABLES_AFTER_TRH = (("tagg", TAGG), ("kc", KC), ("rk", RK))

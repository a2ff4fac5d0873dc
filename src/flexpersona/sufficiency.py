"""Is there anything to analyse? The checks between ingest and the response estimator, with the fix.

The response estimator needs kept treatment households, kept control households (the counterfactual), a
tariff with High or Low half-hours in the trial year, and readings in that year around those events. When the
ingest leaves one of these out, :func:`check_store` raises :class:`NothingToAnalyse`, whose message says
what is missing, why (from the ledger: counts and top exclusion reasons) and which flag or file fixes it.
All problems found are reported at once (a day × 48 folder without ``--households`` and without ``--tariff``
gets both fixes).

:func:`find_problems` is the same check on plain tables (the ledger and the tariff), for callers without a
store. ``need_control=False`` skips the control-group checks (a run without a control group).

Example
-------
>>> from flexpersona.sufficiency import check_store  # doctest: +SKIP
>>> check_store(Store("run/store"), Config())  # doctest: +SKIP
Traceback (most recent call last):
NothingToAnalyse: nothing to analyse: none of the 1,060 households has a group label ...
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from .config import Config
from .errors import StageError
from .schema import CONTROL, HIGH, LOW, TREATMENT

#: Layouts whose files carry no treatment/control label (``source_layout`` of the ledger).
UNLABELLED_LAYOUTS = {"day48": "day × 48", "kaggle_halfhourly": "Kaggle half-hourly", "kaggle_hhblock": "Kaggle hhblock",
                      "generic": "generic"}
HOUSEHOLDS_FIX = (
    "pass the households file with --households informations_households.csv (columns LCLid, stdorToU: "
    "ToU = treatment, Std = control; it ships with the Kaggle 'Smart meters in London' release)"
)
NO_CONTROL_FIX = (
    "add the control households' readings (and --households informations_households.csv with columns "
    "LCLid, stdorToU if their files carry no label), or run without a control group with --no-control or "
    "features.counterfactual = \"auto\" (a weaker counterfactual: each household's own Normal half-hours; "
    "docs/counterfactual.md)"
)
GROUP_WORDS = {TREATMENT: "treatment (ToU)", CONTROL: "control (Std)"}
#: What fixes each ledger exclusion reason (``{y}`` = trial year, ``{b}`` = baseline year).
REASON_FIXES = {
    "unknown_group": HOUSEHOLDS_FIX,
    "in_both_groups": "the sources disagree on their group: correct the stdorToU column of the households file "
                      "or of the readings",
    "no_readings": "their files hold no value: check that the right files were passed",
    "insufficient_trial": "they have readings for less than [data] min_trial_coverage of the trial year {y}: pass "
                          "the readings of {y}, or set [data] trial_year (or a lower min_trial_coverage) in a TOML "
                          "file passed with --config",
    "insufficient_baseline": "they have readings for less than [data] min_baseline_coverage of the baseline year "
                             "{b}: pass the readings of {b}, or set a lower [data] min_baseline_coverage in a TOML "
                             "file passed with --config",
}


@dataclass(frozen=True)
class Problem:
    """One reason there is nothing to analyse: a stable ``code``, the ``cause`` and the ``fix``."""

    code: str
    cause: str
    fix: str

    def __str__(self) -> str:
        return f"{self.cause}. Fix: {self.fix}."


class NothingToAnalyse(StageError):
    """The inputs leave the response estimator nothing to work on; ``problems`` says why and how to fix it."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        if len(self.problems) == 1:
            text = str(self.problems[0])
        else:
            text = " ".join(f"({i}) {p}" for i, p in enumerate(self.problems, start=1))
        super().__init__(f"nothing to analyse: {text}")

    @property
    def codes(self) -> list[str]:
        return [p.code for p in self.problems]


def _n(x: int) -> str:
    return f"{x:,}"


def _years_with_values(ledger: pd.DataFrame) -> list[int]:
    cols = [c for c in ledger.columns if c.startswith("readings_") and c.removeprefix("readings_").isdigit()]
    return sorted(int(c.removeprefix("readings_")) for c in cols if pd.to_numeric(ledger[c]).fillna(0).sum() > 0)


def _top_reasons(rows: pd.DataFrame, k: int = 3) -> list[tuple[str, int]]:
    counts = rows["reason"].fillna("unknown").value_counts()
    return [(str(r), int(n)) for r, n in counts.head(k).items()]


def _layouts(ledger: pd.DataFrame) -> str:
    if "source_layout" not in ledger.columns:
        return ""
    found = sorted({x for v in ledger["source_layout"].dropna().astype(str) for x in v.split(",") if x})
    names = [UNLABELLED_LAYOUTS.get(x, x) for x in found]
    return ", ".join(names)


def _group_problems(ledger: pd.DataFrame, config: Config, need_control: bool) -> list[Problem]:
    out: list[Problem] = []
    n = len(ledger)
    reason = ledger["reason"] if "reason" in ledger.columns else pd.Series(None, index=ledger.index, dtype=object)
    if n and (reason == "unknown_group").all():
        layouts = _layouts(ledger)
        which = f" ({layouts} files)" if layouts else ""
        out.append(Problem(
            "no_group_labels",
            f"none of the {_n(n)} households has a group label{which}, so the ledger excludes all of them as "
            "unknown_group: day × 48 and Kaggle half-hourly files carry no stdorToU column, and the response needs "
            "to know who was on the dynamic tariff (treatment) and who stayed on the flat rate (control)",
            HOUSEHOLDS_FIX,
        ))
        return out
    groups = [TREATMENT, CONTROL] if need_control else [TREATMENT]
    d = config.data
    for g in groups:
        rows = ledger[ledger["group"] == g]
        kept = int((rows["status"] == "kept").sum())
        if kept:
            continue
        word = GROUP_WORDS[g]
        if rows.empty:
            labelled = int(ledger["group"].notna().sum())
            unknown = int((reason == "unknown_group").sum())
            tail = (f"; {_n(unknown)} more have no group label" if unknown else "")
            if g == CONTROL:
                out.append(Problem(
                    "no_control",
                    f"the data hold no {word} household ({_n(labelled)} labelled households, all treatment{tail}): "
                    "the counterfactual is built from the control group on the flat rate",
                    NO_CONTROL_FIX,
                ))
            else:
                out.append(Problem(
                    "no_treatment",
                    f"the data hold no {word} household ({_n(labelled)} labelled households, all control{tail}): "
                    "there is no one whose response to the dynamic tariff could be measured",
                    "add the dynamic-tariff households' readings (London Datastore stdorToU = ToU; UK Data Service "
                    "ids D####), and --households informations_households.csv (columns LCLid, stdorToU) if their "
                    "files carry no label",
                ))
            continue
        top = _top_reasons(rows)
        listed = ", ".join(f"{r} {_n(c)}" for r, c in top)
        fixes = "; ".join(f"{r}: " + REASON_FIXES.get(r, "see ledger.parquet").format(y=d.trial_year, b=d.baseline_year)
                          for r, _ in top if r in REASON_FIXES)
        out.append(Problem(
            f"no_{g}_kept",
            f"the ledger excluded all {_n(len(rows))} {word} households (top reasons: {listed}; one row per "
            "household with its reason in ledger.parquet)",
            fixes or "see the reason column of ledger.parquet",
        ))
    kept_problems = [p for p in out if p.code.endswith("_kept")]
    if len(kept_problems) == 2 and kept_problems[0].fix == kept_problems[1].fix:  # one cause: say it once
        rows = ledger[ledger["group"].isin([TREATMENT, CONTROL])]
        listed = ", ".join(f"{r} {_n(c)}" for r, c in _top_reasons(rows))
        both = Problem(
            "no_households_kept",
            f"the ledger excluded all {_n(int((rows['group'] == TREATMENT).sum()))} treatment (ToU) and all "
            f"{_n(int((rows['group'] == CONTROL).sum()))} control (Std) households (top reasons: {listed}; one row "
            "per household with its reason in ledger.parquet)",
            kept_problems[0].fix,
        )
        out = [p for p in out if p not in kept_problems] + [both]
    return out


def _tariff_problems(ledger: pd.DataFrame, tariff: pd.DataFrame | None, config: Config) -> list[Problem]:
    y = config.data.trial_year
    if tariff is None:
        return [Problem(
            "no_tariff",
            "no tariff schedule was given, so no half-hour is known to be High or Low",
            "pass the schedule with --tariff Tariffs.xlsx (London Datastore: TariffDateTime, Tariff) or "
            "--tariff tariff_d.csv (UK Data Service: GMT, Price, Event_tags)",
        )]
    ts = pd.to_datetime(tariff["ts"])
    events = ts[tariff["band"].astype(str).isin([HIGH, LOW]).to_numpy()]
    if events.empty:
        return [Problem(
            "no_tariff_events",
            f"the tariff schedule has no High or Low half-hour ({_n(len(tariff))} half-hours, all Normal)",
            "pass the dynamic tariff's schedule with --tariff (Tariffs.xlsx or tariff_d.csv)",
        )]
    ev_years = sorted(set(events.dt.year.astype(int)))
    rd_years = _years_with_values(ledger)
    yrs = ", ".join(map(str, rd_years)) or "none"
    eys = ", ".join(map(str, ev_years))
    if y not in ev_years or (rd_years and y not in rd_years):
        common = [v for v in ev_years if v in rd_years]
        if common:
            z = common[-1]
            return [Problem(
                "trial_year",
                f"the readings ({yrs}) and the tariff's High/Low half-hours ({eys}) meet in {z}, but the trial "
                f"year is {y}",
                f"set the years in a TOML file passed with --config: [data] trial_year = {z} and "
                f"baseline_year = {z - 1}",
            )]
        return [Problem(
            "different_years",
            f"the readings and the tariff are in different years: readings hold values in {yrs}, the tariff's "
            f"High/Low half-hours are in {eys} (trial year {y})",
            f"pass the readings of {eys} or the tariff schedule of the readings' years (--tariff), and set "
            "[data] trial_year in a TOML file passed with --config when it is not the default 2013",
        )]
    # events of the trial year inside the readings' period (kept households when there are any)
    rows = ledger[ledger["status"] == "kept"] if (ledger["status"] == "kept").any() else ledger
    first = pd.to_datetime(rows["first_reading"]).min()
    last = pd.to_datetime(rows["last_reading"]).max()
    in_year = events[events.dt.year == y]
    inside = in_year[(in_year >= first) & (in_year <= last)]
    if inside.empty and pd.notna(first):
        return [Problem(
            "no_events_in_period",
            f"no tariff event falls inside the readings' period ({first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M}): "
            f"the schedule's {_n(len(in_year))} High/Low half-hours of {y} run from {in_year.min():%Y-%m-%d} to "
            f"{in_year.max():%Y-%m-%d}",
            "pass readings that cover the tariff's events (more of the trial year's files), or the tariff "
            "schedule of the readings' period with --tariff",
        )]
    return []


def find_problems(
    ledger: pd.DataFrame, tariff: pd.DataFrame | None, config: Config | None = None, *, need_control: bool = True
) -> list[Problem]:
    """Every reason the response estimator would have nothing to work on (empty list = go ahead).

    Parameters
    ----------
    ledger
        The ingest ledger (``household_id``, ``group``, ``status``, ``reason``, ``source_layout``,
        ``first_reading``, ``last_reading``, ``readings_<year>``).
    tariff
        The canonical tariff (``ts``, ``band``), or None when none was given.
    config
        ``config.data``: trial and baseline years, minimum coverages.
    need_control
        Whether a control group is required (False: a run without one).

    Returns
    -------
    list of Problem
        Group problems, then tariff and year problems. A year problem hides the ledger's exclusions it causes
        (when the readings miss the trial year, every household is excluded as ``insufficient_trial``).
    """
    config = config or Config()
    if ledger.empty:
        return [Problem("no_households", "the inputs hold no household with readings",
                        "check the files passed to run (flexpersona ingest lists what it read)")]
    tariff_issues = _tariff_problems(ledger, tariff, config)
    labels = _group_problems(ledger, config, need_control)
    if any(p.code in ("trial_year", "different_years") for p in tariff_issues):
        labels = [p for p in labels if p.code in ("no_group_labels", "no_treatment", "no_control")]
    return [*labels, *tariff_issues]


def check_store(store, config: Config | None = None, *, need_control: bool = True) -> None:
    """Raise :class:`NothingToAnalyse` when an ingest store leaves nothing to analyse.

    Parameters
    ----------
    store
        A :class:`flexpersona.store.Store` after ingest (a store without a ledger is not checked).
    config, need_control
        As :func:`find_problems`.

    Raises
    ------
    NothingToAnalyse
        With every problem found, each naming its cause and the flag or file that fixes it.
    """
    ledger = store.read_optional("ledger")
    if ledger is None or "status" not in ledger.columns:
        return
    problems = find_problems(ledger, store.read_optional("tariff"), config, need_control=need_control)
    if problems:
        raise NothingToAnalyse(problems)

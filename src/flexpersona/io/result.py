"""What reading the readings files gives (:class:`ReadingsResult`), and what the ingest derives from it.

Both readings paths -- the streaming one (:mod:`.fastpath`) and the general staging one (:mod:`.staging`) --
return a :class:`ReadingsResult`: Parquet files of the kept readings plus small per-household tables. Row
accounting, ledger counts and the issues table are computed from it here, once, in pandas; no table is left
on a DuckDB connection between the two paths.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .lines import physical_lines
from .rejects import DUPLICATE, LEDGER_COUNTS, REJECT_REASONS, RowProblem, problems_frame

ISSUE_COLUMNS = ["code", "household_id", "file", "line", "count", "detail"]
#: ``(hh, y, reason)`` counts per layout; ``reason`` None = a valid row (kept, or merged as a duplicate).
COUNT_COLUMNS = ["hh", "layout", "y", "reason", "n", "n_values", "first", "last"]
DUPLICATE_COLUMNS = ["hh", "y", "extra_rows", "extra_values", "n_conflicting", "first_ts"]
REJECTED_COLUMNS = ["code", "household_id", "file_idx", "line", "count", "detail"]


@dataclass
class ReadingsResult:
    """The readings files, read.

    Attributes
    ----------
    files
        ``file_idx``, ``file`` (display name), ``layout``: every readings file, in ingest order.
    parts
        Parquet files of the kept readings (``household_id, ts, kwh``; one row per household x half-hour),
        to be moved into the store's ``readings/``.
    date_formats
        Timestamp format used per file name.
    units
        ``rows`` or ``cells`` per layout (what the accounting counts).
    counts
        Rows (cells) read per household ``hh`` x ``layout`` x calendar year ``y`` x ``reason`` (None = valid;
        duplicates included): ``n``, non-missing values ``n_values``, ``first``/``last`` timestamp. Rows whose
        household or year is unknown have ``hh``/``y`` None.
    duplicates
        Per household x year: ``extra_rows`` (rows merged away), ``extra_values`` (non-missing values merged
        away), ``n_conflicting`` (half-hours with two different values), ``first_ts`` (first duplicated one).
    duplicates_by_layout
        Rows merged away per layout (the first row of a half-hour is the kept one).
    households
        ``household_id``, ``grps`` (group labels as written), ``acorn``, ``acorn_grouped``: every household
        with a row.
    rejected
        Rejected rows per reason x household x file: ``code``, ``household_id``, ``file_idx``, first ``line``,
        ``count`` (rows or cells), ``detail`` (up to five lines).
    """

    files: pd.DataFrame
    parts: list[Path]
    date_formats: dict[str, str]
    units: dict[str, str]
    counts: pd.DataFrame
    duplicates: pd.DataFrame
    duplicates_by_layout: dict[str, int]
    households: pd.DataFrame
    rejected: pd.DataFrame
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def files_by_layout(self) -> dict[str, int]:
        return {str(k): int(v) for k, v in self.files["layout"].value_counts().items()}

    @property
    def layouts(self) -> list[str]:
        return sorted(set(self.files["layout"]))


def households_frame(rows: list[tuple[Any, ...]]) -> pd.DataFrame:
    """The ``households`` table from ``(household_id, group labels, acorn, acorn_grouped)`` rows."""
    return pd.DataFrame({
        "household_id": pd.Series([r[0] for r in rows], dtype=object),
        "grps": pd.Series([sorted(r[1] or []) for r in rows], dtype=object),
        "acorn": pd.Series([r[2] for r in rows], dtype=object),
        "acorn_grouped": pd.Series([r[3] for r in rows], dtype=object),
    })


def assemble(*, files: pd.DataFrame, parts: list[Path], date_formats: dict[str, str], units: dict[str, str],
             summary: pd.DataFrame, problems: list[RowProblem], cells: dict[int, int], duplicates: pd.DataFrame,
             duplicates_by_layout: dict[str, int], households: pd.DataFrame, rejected: pd.DataFrame,
             offsets: dict[int, list[tuple[int, int]]]) -> ReadingsResult:
    """A :class:`ReadingsResult` from what a readings path computed.

    ``summary`` counts the rows the CSV reader returned (:data:`COUNT_COLUMNS`); ``problems`` are the rows it
    set aside and the blank lines (one reading per cell of the row, ``cells`` per file). ``rejected`` holds
    the value-rejected rows per reason x household x file with *record* lines (``line``, ``lines``): they are
    turned into physical lines past the lines the reader skipped (``offsets``, :func:`.lines.record_offsets`).
    """
    layouts = dict(zip(files["file_idx"], files["layout"], strict=True))
    prob = problems_frame(problems, layouts, cells)
    extra = pd.DataFrame({"hh": prob["hh"], "layout": prob["layout"], "y": pd.Series([None] * len(prob), dtype=object),
                          "reason": prob["reason"], "n": prob["n"], "n_values": 0,
                          "first": pd.NaT, "last": pd.NaT})
    counts = pd.concat([summary, extra], ignore_index=True) if len(extra) else summary
    counts = counts.astype({"y": "Int64", "n": "int64", "n_values": "int64"})
    counts = (counts.groupby(["hh", "layout", "y", "reason"], dropna=False, sort=True)
              .agg(n=("n", "sum"), n_values=("n_values", "sum"), first=("first", "min"), last=("last", "max"))
              .reset_index())
    for col in ("hh", "reason"):
        counts[col] = counts[col].astype(object).where(counts[col].notna(), None)
    return ReadingsResult(
        files=files, parts=parts, date_formats=date_formats, units=units, counts=counts,
        duplicates=duplicates.reset_index(drop=True), duplicates_by_layout=dict(duplicates_by_layout),
        households=complete_households(households, counts), rejected=_rejected(rejected, prob, offsets))


def _rejected(rows: pd.DataFrame, prob: pd.DataFrame, offsets: dict[int, list[tuple[int, int]]]) -> pd.DataFrame:
    """Value-rejected rows (record lines, mapped to physical ones) and row problems, per reason x household x file."""
    mapped = []
    for r in rows.itertuples(index=False):
        off = offsets.get(int(r.file_idx), [])
        lines = physical_lines(list(r.lines), off) if off else list(r.lines)
        mapped.append({"code": r.code, "household_id": r.household_id, "file_idx": int(r.file_idx),
                       "line": int(lines[0]), "count": int(r.count), "lines": [int(x) for x in lines]})
    if len(prob):
        g = prob.groupby(["reason", "hh", "file_idx"], dropna=False, sort=False)
        for (reason, hh, idx), part in g:
            lines = sorted(part["line"])
            mapped.append({"code": reason, "household_id": None if pd.isna(hh) else hh, "file_idx": int(idx),
                           "line": int(lines[0]), "count": int(part["n"].sum()), "lines": lines[:5]})
    out = pd.DataFrame(mapped, columns=["code", "household_id", "file_idx", "line", "count", "lines"])
    out = out.sort_values(["file_idx", "line", "code"], kind="stable", ignore_index=True)
    out["detail"] = ["lines " + ", ".join(str(x) for x in ls) for ls in out["lines"]]
    return out.drop(columns="lines").astype({"file_idx": "int64", "line": "int64", "count": "int64"})


def complete_households(households: pd.DataFrame, counts: pd.DataFrame) -> pd.DataFrame:
    """``households`` plus a row (no group evidence) for every household of ``counts`` it lacks."""
    seen = set(households["household_id"])
    extra = sorted({h for h in counts["hh"].dropna() if h not in seen})
    if not extra:
        return households.reset_index(drop=True)
    add = pd.DataFrame({"household_id": extra, "grps": [[] for _ in extra], "acorn": None, "acorn_grouped": None})
    return pd.concat([households, add], ignore_index=True)


def accounting(res: ReadingsResult) -> dict[str, dict[str, Any]]:
    """Per layout ``read = kept + rejected`` (rows, or cells of wide layouts), rejected by reason."""
    c = res.counts
    acc: dict[str, dict[str, Any]] = {}
    for lay in res.layouts:
        rows = c[c["layout"] == lay]
        by = rows.groupby(rows["reason"].fillna(""), sort=False)["n"].sum()
        valid = int(by.get("", 0))
        dup = int(res.duplicates_by_layout.get(lay, 0))
        by_reason = {r: int(by[r]) for r in REJECT_REASONS if r in by.index and by[r]}
        if dup:
            by_reason[DUPLICATE] = dup
        entry = {"read": int(rows["n"].sum()), "kept": valid - dup, "rejected": int(sum(by_reason.values())),
                 "rejected_by_reason": by_reason, "unit": res.units.get(lay, "rows")}
        if entry["read"] != entry["kept"] + entry["rejected"]:  # pragma: no cover - an invariant
            msg = f"row accounting broken for layout {lay}: {entry}"
            raise AssertionError(msg)
        acc[lay] = entry
    return acc


def household_stats(res: ReadingsResult, baseline_year: int, trial_year: int) -> pd.DataFrame:
    """Per-household counts for :func:`flexpersona.quality.build_ledger` (duplicates merged)."""
    c = res.counts[res.counts["hh"].notna()]
    valid = c[c["reason"].isna()]
    by_year = valid.groupby(["hh", "y"], as_index=False).agg(
        n_rows=("n", "sum"), n_values=("n_values", "sum"), first=("first", "min"), last=("last", "max"))
    y = by_year.merge(res.duplicates[["hh", "y", "extra_rows", "extra_values", "n_conflicting"]],
                      on=["hh", "y"], how="left")
    y[["extra_rows", "extra_values", "n_conflicting"]] = y[["extra_rows", "extra_values", "n_conflicting"]].fillna(0)
    y["n_readings"] = y["n_rows"] - y["extra_rows"]
    y["n_values"] = y["n_values"] - y["extra_values"]
    g = y.groupby("hh")
    out = pd.DataFrame({
        "first_reading": g["first"].min(), "last_reading": g["last"].max(),
        "n_readings": g["n_readings"].sum(), "n_values": g["n_values"].sum(),
        "n_duplicates": g["extra_rows"].sum(), "n_conflicting": g["n_conflicting"].sum(),
    })
    vals = y.pivot_table(index="hh", columns="y", values="n_values", aggfunc="sum", fill_value=0)
    out["values_baseline"] = vals[baseline_year] if baseline_year in vals else 0
    out["values_trial"] = vals[trial_year] if trial_year in vals else 0
    for col in vals.columns:
        out[f"readings_{int(col)}"] = vals[col]
    layouts = (c.groupby("hh")["layout"].agg(lambda s: ",".join(sorted(set(s)))).rename("source_layout"))
    stats = pd.DataFrame({"household_id": layouts.index, "source_layout": layouts.to_numpy()},
                         index=layouts.index).join(out, how="left")
    rej = c[c["reason"].isin(list(LEDGER_COUNTS))]
    per = rej.assign(col=rej["reason"].map(LEDGER_COUNTS)).groupby(["hh", "col"])["n"].sum()
    for col in dict.fromkeys(LEDGER_COUNTS.values()):
        s = per.xs(col, level="col") if col in per.index.get_level_values("col") else pd.Series(dtype="int64")
        stats[col] = s.reindex(stats.index).fillna(0).astype("int64")
    return stats.reset_index(drop=True)


def issues_frame(res: ReadingsResult) -> pd.DataFrame:
    """Rejected rows (per code x household x file, with example lines), then merged duplicates per household."""
    files = dict(zip(res.files["file_idx"], res.files["file"], strict=True))
    rej = res.rejected.assign(file=res.rejected["file_idx"].map(files))[ISSUE_COLUMNS]
    d = res.duplicates
    if len(d):
        g = d.groupby("hh")
        dup = pd.DataFrame({
            "code": DUPLICATE, "household_id": g.size().index, "file": None, "line": None,
            "count": g["extra_rows"].sum().astype("int64").to_numpy(),
            "detail": [f"{int(n)} half-hours with conflicting values (first kept); e.g. {t:%Y-%m-%d %H:%M}"
                       for n, t in zip(g["n_conflicting"].sum(), g["first_ts"].min(), strict=True)],
        })
    else:
        dup = pd.DataFrame(columns=ISSUE_COLUMNS)
    parts = [p.astype({"line": "Int64", "count": "int64"}) for p in (rej, dup) if len(p)]
    if not parts:
        return empty_issues()
    out = pd.concat(parts, ignore_index=True)[ISSUE_COLUMNS]
    for col in ("code", "household_id", "file", "detail"):
        out[col] = out[col].astype(object).where(out[col].notna(), None)
    return out


def empty_issues() -> pd.DataFrame:
    return pd.DataFrame({"code": pd.Series(dtype=object), "household_id": pd.Series(dtype=object),
                         "file": pd.Series(dtype=object), "line": pd.Series(dtype="Int64"),
                         "count": pd.Series(dtype="int64"), "detail": pd.Series(dtype=object)})


def empty_counts() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(
        COUNT_COLUMNS, (object, object, "Int64", object, "int64", "int64", "datetime64[us]", "datetime64[us]"),
        strict=True)})

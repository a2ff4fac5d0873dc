"""``report.html``: one self-contained offline page built from a run folder's tables.

The page inlines plotly.js once (no CDN, no network fetch) and all CSS; every figure is interactive (hover
shows household ids and values) and is also written as ``figures/<name>.png`` and ``.svg``
(:func:`flexpersona.plotting.save_figure`). Every number in the text is computed from the run's tables by the
section functions (:mod:`flexpersona.report.sections`, :mod:`~flexpersona.report.trust`,
:mod:`~flexpersona.report.recovery`) and passed to the template (``templates/report.html.j2``) — none is
typed in.

Optional parts are optional: without a survey the strategic map and barrier heatmap say so; without persona
structure (``stability.json``: ``structure_found`` false) the persona section says "no persona structure"
and the responses stay continuous scores; a missing ``toolkit.json`` is computed in memory; the Exploration
section shows the eda stage's output, or computes it when the run lacks it.
"""

from __future__ import annotations

import datetime as _dt
import html as _html
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from ..config import Config
from ..plotting import figure_html, plotlyjs_source, save_figure
from ..plotting.pool import active_pool
from ..store import atomic_path
from .blocks import Section
from .first_screen import first_screen_cards
from .next_steps import next_steps_section
from .recovery import recovery_section
from .run_tables import RunTables, load_run
from .sections import (
    events_section,
    explain_section,
    exploration_section,
    matrix_section,
    personas_section,
    quality_section,
    responses_section,
    targeting_paragraphs,
    toolkit_section,
    trial_section,
)
from .trust import trust_section

__all__ = ["SECTIONS", "RunTables", "Section", "build_report", "load_run", "write_report"]

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"

#: The sections of the page in order (the Exploration section follows, through :func:`_exploration`); each
#: takes the run's tables and the config and returns its Section, or None when the run has nothing for it.
SECTIONS: tuple[Callable[[RunTables, Config], Section | None], ...] = (
    trust_section, quality_section, trial_section, recovery_section, responses_section, events_section,
    personas_section, matrix_section, explain_section, toolkit_section, next_steps_section,
)

_targeting_paragraphs = targeting_paragraphs  # its earlier name (tests/toolkit quote the report's targeting text)


def build_report(t: RunTables, config: Config) -> tuple[list[Section], dict[str, Any], dict[str, Any]]:
    """Sections, figures (name → plotly figure) and facts (name → formatted number) of the report."""
    built = [build(t, config) for build in SECTIONS]
    built.append(_exploration(t, config, {}))
    sections = [s for s in built if s is not None]
    figs = {name: fig for s in sections for name, fig in s.figures.items()}
    facts = {key: value for s in sections for key, value in s.facts.items()}
    return sections, figs, facts


def _exploration(t: RunTables, config: Config, figs: dict[str, Any]) -> Section | None:
    """The Exploration section (:func:`~flexpersona.report.sections.exploration_section`), its figures also
    put in ``figs``. :func:`build_report` calls it by this name, so that a test can leave the exploration out."""
    s = exploration_section(t, config)
    figs.update(s.figures)
    return s


def write_report(run_dir: str | Path, config: Config | None = None) -> Path:
    """Write ``report.html`` and ``figures/<name>.png|svg`` into a run folder.

    Parameters
    ----------
    run_dir
        A run folder holding at least ``features.parquet`` (see ``docs/architecture.md``).
    config
        Run configuration (``config.report.title``; defaults when None).

    Returns
    -------
    Path
        The report.

    Raises
    ------
    StageError
        When the run folder lacks ``features.parquet``.
    """
    config = config or Config()
    t = load_run(run_dir)
    sections, figs, facts = build_report(t, config)
    fig_dir = t.run_dir / "figures"
    fig_html: dict[str, str] = {}
    pool = active_pool()
    for name, fig in figs.items():
        if name.startswith("eda_") and (
                (pool is not None and pool.pending_key(fig_dir / name) is not None)
                or ((fig_dir / f"{name}.png").exists() and (fig_dir / f"{name}.svg").exists())):
            pass  # the eda stage saved it already (or its drawing is under way)
        else:
            save_figure(fig, fig_dir / name)
        fig_html[name] = figure_html(fig, div_id=f"fig-{name}")
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html", "j2"]),
                      trim_blocks=True, lstrip_blocks=True)
    page = env.get_template("report.html.j2").render(
        title=config.report.title, run=str(t.run_dir.name), sections=sections, figures=fig_html, facts=facts,
        cards=first_screen_cards(t, facts),
        plotlyjs=plotlyjs_source(), created=t.manifest.get("created") or _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        version=t.manifest.get("versions", {}).get("flexpersona", ""), esc=_html.escape,
    )
    target = t.run_dir / "report.html"
    with atomic_path(target) as tmp:
        tmp.write_text(page, encoding="utf-8")
    log.info("report: %s (%d figures)", target, len(figs))
    return target

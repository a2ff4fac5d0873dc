"""Exploratory analysis of a run's feature table: the report's "Exploration" section.

:func:`explore` takes the feature table (one row per treatment household) and a :class:`~flexpersona.config.Config`
and returns tables, plotly figures and captions built from those tables' numbers:

1. summary statistics of every feature with units (``feature_summary``);
2. distributions of the key features and the seed's 2 x 2 panel;
3. correlation heatmaps, all features and the key ones (``config.report.correlation``: spearman | pearson);
4. the seed's four hypothesis views (Spearman's rho on all points, OLS line with 95 % band, BH across views);
5. positive vs negative weekday responders (Mann-Whitney, rank-biserial r);
6. super-responders (top 10 %) vs the rest on lifestyle and financial features (Mann-Whitney, BH);
7. the baseline performance-potential matrix (median splits).

A view whose inputs are missing (e.g. the seed columns on 2013-only data) is skipped, and ``summary["skipped"]``
and the captions say why. :func:`explore_run` is the run-folder wrapper behind ``flexpersona eda RUN``.

Modules: ``stage`` (:func:`explore`, :func:`save_eda`, :func:`load_eda`, :func:`explore_run`), ``result``
(:class:`EdaResult`), ``views`` (one function per view above), ``summary`` (inputs, units, statistics),
``hypotheses``, ``responders`` and ``figures`` (the plotly figures; saved as PNG/SVG by
:mod:`flexpersona.plotting`).
"""

from .result import EdaResult
from .stage import explore, explore_run, load_eda, save_eda
from .summary import FEATURE_UNITS
from .views import FDR_ALPHA

__all__ = ["FDR_ALPHA", "FEATURE_UNITS", "EdaResult", "explore", "explore_run", "load_eda", "save_eda"]

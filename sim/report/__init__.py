"""Reports: pages laid out from plain data (findings, summaries, study outputs); nothing here reads
a results folder, computes a statistic or runs a model.

``write_reports(findings)`` takes what :func:`sim.analysis.findings.findings` computed from a
results folder (``run`` or ``compare``), builds the comparison report's content once
(:mod:`sim.report.compare`) and renders it twice into that folder: ``report.html``
(self-contained, figures embedded) and ``report.md`` (figures as PNG files in ``figures/``).
Sweeps, optimisations and calibrations have their own pages (:mod:`sim.report.sweep`,
:mod:`sim.report.optimize`, :mod:`sim.report.calibration`) built from the same blocks
(:mod:`sim.report.document`); the terminal's lines are :mod:`sim.report.terminal`.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["Report", "build_report", "write_reports"]

_LAZY = {"Report": ".document", "build_report": ".compare"}
"""Names imported on first use: a command that only prints a table (``sim.report.tables``) or plans
a comparison must not pay for matplotlib and scipy.stats before its workers start (PEP 562)."""


def __getattr__(name: str):
    """The page builders, imported on first use."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def write_reports(findings, workers: int | None = None) -> dict[str, Path]:
    """Build report.html, report.md and figures/*.png in the findings' folder; return their
    paths. ``workers``: processes that draw the figures (:func:`sim.report.render.draw_all`; the
    pages are the same whatever their number)."""
    from .compare import build_report
    from .pages import write_pages

    return write_pages(Path(findings.root), build_report(findings), "report", workers)

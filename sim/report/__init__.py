"""Reports: pages built from plain data (results folders, summaries, study outputs), never by running a model.

``write_reports(root)`` reads a results folder (``run`` or ``compare``), builds the comparison
report's content once (:mod:`sim.report.compare`) and renders it twice: ``report.html``
(self-contained, figures embedded) and ``report.md`` (figures as PNG files in ``figures/``).
``python run_sim.py report DIR`` rebuilds both from what is stored. Sweeps, optimisations and
calibrations have their own pages (:mod:`sim.report.sweep`, :mod:`sim.report.optimize`,
:mod:`sim.report.calibration`) built from the same blocks (:mod:`sim.report.document`).
"""

from __future__ import annotations

from pathlib import Path

from .compare import build_report
from .document import Report, write_pages
from .results import load_results

__all__ = ["Report", "build_report", "load_results", "write_reports"]


def write_reports(root: Path, echo=None, practical_pp: float | None = None) -> dict[str, Path]:
    """Build report.html, report.md and figures/*.png in ``root``; return their paths."""
    root = Path(root)
    if echo:
        echo(f"report: reading {root}")
    return write_pages(root, build_report(load_results(root, practical_pp)), "report")

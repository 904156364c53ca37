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

__all__ = ["Report", "build_report", "load_results", "write_reports"]

_LAZY = {"Report": ".document", "build_report": ".compare", "load_results": ".results"}
"""Names imported on first use: a command that only prints a table (``sim.report.tables``) or plans a
comparison must not pay for matplotlib and scipy.stats before its workers start (PEP 562)."""


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def write_reports(root: Path, echo=None, practical_pp: float | None = None) -> dict[str, Path]:
    """Build report.html, report.md and figures/*.png in ``root``; return their paths."""
    from .compare import build_report
    from .document import write_pages
    from .results import load_results

    root = Path(root)
    if echo:
        echo(f"report: reading {root}")
    return write_pages(root, build_report(load_results(root, practical_pp)), "report")

"""Reports: terminal tables, Markdown and self-contained HTML built from stored results.

``write_reports(root)`` reads a results folder (``run`` or ``compare``), builds the report's
content once (:mod:`sim.report.content`) and renders it twice: ``report.html`` (self-contained,
figures embedded) and ``report.md`` (figures as PNG files in ``figures/``). It never reruns a
simulation, so ``python run_sim.py report DIR`` rebuilds both from what is stored.
"""

from __future__ import annotations

from pathlib import Path

from .content import Report, build_report, load_results
from .html import render_html
from .markdown import FIGURES, render_markdown

__all__ = ["Report", "build_report", "load_results", "render_html", "render_markdown", "write_reports"]


def write_reports(root: Path, echo=None) -> dict[str, Path]:
    """Build report.html, report.md and figures/*.png in ``root``; return their paths."""
    from ..experiment.store import atomic_write_bytes

    root = Path(root)
    if echo:
        echo(f"report: reading {root}")
    report = build_report(load_results(root))
    figures = root / FIGURES
    figures.mkdir(exist_ok=True)
    for f in report.figures():
        atomic_write_bytes(figures / f"{f.name}.png", f.png)
    html, md = root / "report.html", root / "report.md"
    atomic_write_bytes(html, render_html(report).encode("utf-8"))
    atomic_write_bytes(md, render_markdown(report).encode("utf-8"))
    return {"html": html, "markdown": md, "figures": figures}

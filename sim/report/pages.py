"""A page written into a results folder: its HTML (self-contained) and Markdown renderings and its
figures."""

from __future__ import annotations

from pathlib import Path

from ..files import atomic_write_bytes
from .document import FIGURES, Report
from .html import render_html
from .markdown import render_markdown
from .render import draw_all


def write_pages(
    root: Path, report: Report, stem: str, workers: int | None = None
) -> dict[str, Path]:
    """``STEM.html`` (self-contained), ``STEM.md`` and its figures in ``root/figures``; their
    paths. The figures are drawn first, by ``workers`` processes
    (:func:`sim.report.render.draw_all`)."""
    root = Path(root)
    draw_all(report.figures(), workers)
    figures = root / FIGURES
    figures.mkdir(exist_ok=True)
    for f in report.figures():
        atomic_write_bytes(figures / f"{f.name}.png", f.png)
    html, md = root / f"{stem}.html", root / f"{stem}.md"
    atomic_write_bytes(html, render_html(report))
    atomic_write_bytes(md, render_markdown(report))
    return {"html": html, "markdown": md, "figures": figures}

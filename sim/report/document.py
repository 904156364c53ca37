"""What a report is made of: sections of paragraphs, bullet lists, tables and figures.

Every page (the comparison report, sweeps, optimisations) is built from these blocks once and
rendered twice by :mod:`sim.report.html` and :mod:`sim.report.markdown`, so the HTML and the
Markdown always carry the same tables and numbers; :func:`sim.report.pages.write_pages` writes
both, and the figures as PNG files, into a results folder.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

FIGURES = "figures"
"""Folder (inside the results folder) of the Markdown pages' figures."""


@dataclass
class Paragraph:
    """A paragraph of text."""
    text: str


@dataclass
class Bullets:
    """A bulleted list."""
    items: list[str]


@dataclass
class Table:
    """A table with its caption and notes; ``id`` names it in the HTML and in tests."""
    id: str
    caption: str
    header: list[str]
    rows: list[list[str]]
    notes: list[str] = field(default_factory=list)

    def markdown(self) -> str:
        """The table as GitHub-flavoured Markdown (used by the Markdown report and the golden
        test)."""
        def esc(s: str) -> str:
            return str(s).replace("|", "\\|").replace("\n", " ")

        lines = [
            "| " + " | ".join(esc(h) for h in self.header) + " |",
            "|" + "|".join(":---" if i == 0 else "---:" for i in range(len(self.header))) + "|",
        ]
        lines += ["| " + " | ".join(esc(c) for c in r) + " |" for r in self.rows]
        return "\n".join(lines)


@dataclass(frozen=True)
class Drawing:
    """A figure still to be drawn: a plotting function of :mod:`sim.report` (module level, so a
    worker process finds it by name) and its arguments, plain numbers and text. Pages draw their
    figures when they are written (:func:`sim.report.render.draw_all`, in parallel); the PNG
    depends on nothing else."""
    fn: Callable[..., bytes]
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)

    def __call__(self) -> bytes:
        """The figure as PNG bytes."""
        return self.fn(*self.args, **self.kwargs)


def drawing(fn: Callable[..., bytes], *args, **kwargs) -> Drawing:
    """``fn(*args, **kwargs)``, to be drawn when the page is written (see :class:`Drawing`)."""
    return Drawing(fn, args, kwargs)


@dataclass
class Figure:
    """A figure: its PNG (or the :class:`Drawing` that makes it), caption and alternative text."""
    name: str
    caption: str
    alt: str
    source: bytes | Drawing

    @property
    def png(self) -> bytes:
        """The figure as PNG bytes (drawn here, once, if no one drew it yet)."""
        if isinstance(self.source, Drawing):
            self.source = self.source()
        return self.source


@dataclass
class Row:
    """Figures side by side (one after the other in the Markdown)."""
    figures: list[Figure]


@dataclass
class Section:
    """A titled section of blocks."""
    id: str
    title: str
    blocks: list = field(default_factory=list)
    collapsed: bool = False
    """Long reference material: folded away in the HTML (shown in full in the Markdown)."""

    def add(self, block):
        """Add a block; return it."""
        self.blocks.append(block)
        return block


@dataclass
class Report:
    """A whole page: title, subtitle and sections."""
    title: str
    subtitle: str
    sections: list[Section]

    def tables(self) -> dict[str, Table]:
        """Every table of the page, by id."""
        return {b.id: b for s in self.sections for b in s.blocks if isinstance(b, Table)}

    def figures(self) -> list[Figure]:
        """Every figure of the page, in order."""
        out = []
        for s in self.sections:
            for b in s.blocks:
                out += b.figures if isinstance(b, Row) else [b] if isinstance(b, Figure) else []
        return out

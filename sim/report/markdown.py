"""The Markdown report: the same sections and tables as the HTML, figures as PNG files beside it."""

from __future__ import annotations

from .document import FIGURES, Bullets, Figure, Paragraph, Report, Row, Table


def render_markdown(report: Report, figures: str = FIGURES) -> str:
    """The page as Markdown, figures linked from ``figures``."""
    out = [f"# {report.title}", "", f"_{report.subtitle}_", "", "## Contents", ""]
    out += [f"{i}. [{s.title}](#{s.id})" for i, s in enumerate(report.sections, 1)]
    out.append("")
    for s in report.sections:
        out += [f'<a id="{s.id}"></a>', "", f"## {s.title}", ""]
        for b in s.blocks:
            if isinstance(b, Paragraph):
                out += [b.text, ""]
            elif isinstance(b, Bullets):
                out += [f"- {i}" for i in b.items] + [""]
            elif isinstance(b, Table):
                out += [f"**{b.caption}**", "", b.markdown(), ""]
                if b.notes:
                    out += [
                        f"> {n}" + ("  " if i < len(b.notes) - 1 else "")
                        for i, n in enumerate(b.notes)
                    ]
                    out.append("")
            for f in b.figures if isinstance(b, Row) else [b] if isinstance(b, Figure) else []:
                out += [f"![{f.alt}]({figures}/{f.name}.png)", "", f"_{f.caption}_", ""]
    out += ["---", "", "Made by valleysim; rebuild with `python run_sim.py report DIR`.", ""]
    return "\n".join(out)

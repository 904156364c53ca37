"""The HTML report: one self-contained file (inline CSS, figures as base64 data URIs, no scripts).

It opens offline in any browser and can be mailed as it is: nothing is fetched from anywhere.
"""

from __future__ import annotations

import base64

import jinja2

from .document import Bullets, Figure, Paragraph, Report, Row, Table

TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>{{ report.title }}</title>
<style>
  body { font-family: -apple-system, "Segoe UI", Roboto, "Noto Sans KR", Helvetica, Arial, sans-serif;
         margin: 0 auto; max-width: 1200px; padding: 1.5em 2em 4em; color: #222; line-height: 1.45; }
  h1 { font-size: 1.7em; margin-bottom: 0.1em; }
  h2 { font-size: 1.3em; margin-top: 2.2em; border-bottom: 2px solid #ddd; padding-bottom: 0.2em; }
  .subtitle { color: #555; margin-top: 0; }
  nav ol { columns: 2; font-size: 0.9em; margin: 0.4em 0; }
  .scroll { overflow: auto; max-height: 85vh; margin: 0.8em 0; }
  table { border-collapse: separate; border-spacing: 0; font-size: 0.82em;
          border-left: 1px solid #ddd; border-top: 1px solid #ddd; }
  caption { text-align: left; font-weight: 600; padding: 0.3em 0; }
  th, td { border-right: 1px solid #ddd; border-bottom: 1px solid #ddd; padding: 0.25em 0.5em;
           text-align: right; }
  th { background: #f3f3f3; position: sticky; top: 0; z-index: 1; min-width: 4.5em; }
  td .v, td .ci, td:first-child { white-space: nowrap; }
  td .ci { color: #555; }
  td:first-child, th:first-child { text-align: left; position: sticky; left: 0; }
  td:first-child { background: #fff; }
  th:first-child { z-index: 2; }
  .row { display: flex; flex-wrap: wrap; gap: 0 1.2em; }
  .row figure { flex: 1 1 30em; min-width: 0; }
  tr:nth-child(even) td { background: #fafafa; }
  .notes { font-size: 0.8em; color: #555; margin: 0.2em 0 1em; }
  .notes p { margin: 0.15em 0; }
  figure { margin: 1em 0; }
  figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
  figcaption { font-size: 0.85em; color: #444; }
  summary { cursor: pointer; }
  summary h2 { display: inline-block; border: none; }
  footer { margin-top: 3em; font-size: 0.8em; color: #777; }
</style>
</head>
<body>
<header>
<h1>{{ report.title }}</h1>
<p class="subtitle">{{ report.subtitle }}</p>
</header>
<nav><ol>{% for s in report.sections %}<li><a href="#{{ s.id }}">{{ s.title }}</a></li>{% endfor %}</ol></nav>
<main>
{% for s in report.sections %}
<section id="{{ s.id }}">
{% if s.collapsed %}<details><summary><h2>{{ s.title }}</h2></summary>{% else %}<h2>{{ s.title }}</h2>{% endif %}
{% for b in s.blocks %}
{% if b.kind == "paragraph" %}<p>{{ b.text }}</p>
{% elif b.kind == "bullets" %}<ul>{% for i in b.entries %}<li>{{ i }}</li>{% endfor %}</ul>
{% elif b.kind == "table" %}<div class="scroll"><table id="t-{{ b.id }}">
<caption>{{ b.caption }}</caption>
<thead><tr>{% for h in b.header %}<th scope="col">{{ h }}</th>{% endfor %}</tr></thead>
<tbody>{% for r in b.rows %}<tr>{% for c in r %}<td><span class="v">{{ c[0] }}</span>{% if c[1] %} <span class="ci">{{ c[1] }}</span>{% endif %}</td>{% endfor %}</tr>
{% endfor %}</tbody>
</table></div>
{% if b.notes %}<div class="notes">{% for n in b.notes %}<p>{{ n }}</p>{% endfor %}</div>{% endif %}
{% elif b.kind == "figure" %}<figure id="f-{{ b.name }}"><img src="data:image/png;base64,{{ b.data }}" alt="{{ b.alt }}">
<figcaption>{{ b.caption }}</figcaption></figure>
{% elif b.kind == "row" %}<div class="row">{% for f in b.figures %}<figure id="f-{{ f.name }}"><img src="data:image/png;base64,{{ f.data }}" alt="{{ f.alt }}">
<figcaption>{{ f.caption }}</figcaption></figure>{% endfor %}</div>
{% endif %}
{% endfor %}
{% if s.collapsed %}</details>{% endif %}
</section>
{% endfor %}
</main>
<footer>Made by valleysim. Numbers come from the results folder's summary.json and Parquet files; rebuild this
report with: python run_sim.py report DIR</footer>
</body>
</html>
"""  # noqa: E501 - the page's template: its lines are the HTML's own


def _cell(text) -> tuple[str, str]:
    """A cell as its value and its interval (``+0.11 pp [+0.08, +0.13]``): each stays on one line,
    and a narrow column breaks between them."""
    text = str(text)
    i = text.find(" [")
    return (text, "") if i <= 0 else (text[:i], text[i + 1:])


def _view(block) -> dict:
    if isinstance(block, Paragraph):
        return {"kind": "paragraph", "text": block.text}
    if isinstance(block, Bullets):
        return {"kind": "bullets", "entries": block.items}
    if isinstance(block, Table):
        return {"kind": "table", "id": block.id, "caption": block.caption, "header": block.header,
                "rows": [[_cell(c) for c in r] for r in block.rows], "notes": block.notes}
    if isinstance(block, Figure):
        return {"kind": "figure", "name": block.name, "caption": block.caption, "alt": block.alt,
                "data": base64.b64encode(block.png).decode("ascii")}
    if isinstance(block, Row):
        return {"kind": "row", "figures": [_view(f) for f in block.figures]}
    raise TypeError(f"unknown report block {type(block).__name__}")


def render_html(report: Report) -> str:
    """The page as one self-contained HTML document."""
    env = jinja2.Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True,
                             undefined=jinja2.StrictUndefined)
    view = {"title": report.title, "subtitle": report.subtitle,
            "sections": [{"id": s.id, "title": s.title, "collapsed": s.collapsed,
                          "blocks": [_view(b) for b in s.blocks]}
                         for s in report.sections]}
    return env.from_string(TEMPLATE).render(report=view)

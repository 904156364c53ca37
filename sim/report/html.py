"""The HTML report: one self-contained file (inline CSS, figures as base64 data URIs, no scripts).

It opens offline in any browser and can be mailed as it is: nothing is fetched from anywhere.
"""

from __future__ import annotations

import base64

import jinja2

from .document import Bullets, Figure, Paragraph, Report, Table

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
  nav ol { columns: 2; font-size: 0.95em; }
  .scroll { overflow-x: auto; margin: 0.8em 0; }
  table { border-collapse: collapse; font-size: 0.82em; }
  caption { text-align: left; font-weight: 600; padding: 0.3em 0; }
  th, td { border: 1px solid #ddd; padding: 0.25em 0.5em; text-align: right; white-space: nowrap; }
  th { background: #f3f3f3; }
  td:first-child, th:first-child { text-align: left; }
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
<tbody>{% for r in b.rows %}<tr>{% for c in r %}<td>{{ c }}</td>{% endfor %}</tr>
{% endfor %}</tbody>
</table></div>
{% if b.notes %}<div class="notes">{% for n in b.notes %}<p>{{ n }}</p>{% endfor %}</div>{% endif %}
{% elif b.kind == "figure" %}<figure id="f-{{ b.name }}"><img src="data:image/png;base64,{{ b.data }}" alt="{{ b.alt }}">
<figcaption>{{ b.caption }}</figcaption></figure>
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


def _view(block) -> dict:
    if isinstance(block, Paragraph):
        return {"kind": "paragraph", "text": block.text}
    if isinstance(block, Bullets):
        return {"kind": "bullets", "entries": block.items}
    if isinstance(block, Table):
        return {"kind": "table", "id": block.id, "caption": block.caption, "header": block.header,
                "rows": block.rows, "notes": block.notes}
    if isinstance(block, Figure):
        return {"kind": "figure", "name": block.name, "caption": block.caption, "alt": block.alt,
                "data": base64.b64encode(block.png).decode("ascii")}
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

"""The comparison report by calendar year: the yearly ledger drawn against the published record,
the programme as announced against as run, each scenario's dated changes, and what the calendar
extrapolates past the data.

Lays out :attr:`~sim.analysis.findings.Findings.ledger`, ``timelines`` and ``extrapolation``
(computed by :mod:`sim.analysis.yearly`); computes nothing.
"""

from __future__ import annotations

from ..analysis.findings import Findings
from . import plots
from .document import Figure, Paragraph, Section, Table, drawing
from .format import defined, diff_cell, shown_path

TITLES = {
    "centres_cost_krw": ("the centres' public money: operating cost and grants", "bn KRW a year"),
    "public_cost_krw": ("public cost (every item)", "bn KRW a year"),
    "partner_investment_krw": ("partners' money", "bn KRW a year"),
    "supported_new": ("start-ups supported", "start-ups"),
}
LEDGER_HEADER = {
    "public_cost_krw": "public cost (bn KRW)",
    "centres_cost_krw": "of which the centres' budgets (bn KRW)",
    "partner_investment_krw": "partners' money (bn KRW)",
    "supported_new": "start-ups first supported",
    "equity_raised_krw": "venture money raised (bn KRW)",
    "equity_supply_krw": "the market's venture money (bn KRW)",
    "bridge_rounds": "distress (bridge) rounds",
}


def _money(column: str) -> bool:
    return column.endswith("_krw")


def _value(x, column: str) -> str:
    if not defined(x):
        return "n/a"
    return f"{x / 1e9:,.1f}" if _money(column) else f"{x:,.0f}"


def panel_title(p: dict) -> tuple[str, str]:
    """A ledger panel's title and unit."""
    title, unit = TITLES.get(p["column"], (p["column"], ""))
    if p["column"] == "supported_new" and p["cumulative"]:
        return "start-ups supported by the end of each year", unit
    if p["column"] == "supported_new":
        return "start-ups first supported each year", unit
    return title + (" (to each year's end)" if p["cumulative"] else ""), unit


def ledger_figure(res: Findings) -> Figure | None:
    """The ledger's panels as the figure draws them (also what the tests compare with
    years.parquet)."""
    led = res.ledger
    if not led:
        return None
    panels = []
    for p in led["panels"]:
        title, unit = panel_title(p)
        panels.append({"title": title, "unit": unit, "scale": 1e-9 if _money(p["column"]) else 1.0,
                       "lines": [{"label": n, **v} for n, v in p["lines"].items()],
                       "points": [{"year": q.year, "value": q.value, "check": q.check}
                                  for q in p["points"]]})
    record = led.get("record")
    alt = "; ".join(f"{q['title']}: " + ", ".join(
        f"{ln['label']} {ln['years'][0]}-{ln['years'][-1]}" for ln in q["lines"]) for q in panels)
    return Figure("ledger", "The yearly ledger: each drawn scenario's mean by calendar year (its "
                            "replications' range shaded)"
                  + (f" against the published figures (black: {shown_path(record['file'])})"
                     if record and record.get("points") else ""),
                  alt, drawing(plots.yearly_panels, panels, data_end=(res.extrapolation or {}).get(
                      "last_year") if (res.extrapolation or {}).get("growth") is not None
                      else None))


def ledger_section(res: Findings) -> Section | None:
    """The yearly ledger drawn against the published record, and as announced against as run."""
    led = res.ledger
    if not led:
        return None
    s = Section("ledger", "Year by year: public cost, partners' money and supported start-ups "
                          "against the published record")
    record = led.get("record")
    if record and record.get("points"):
        run = record.get("scenario")
        s.add(Paragraph(
            "The yearly ledger (years.parquet: one row per scenario, replication and calendar "
            f"year) of {', '.join(led['scenarios'])}, against the programme's published figures "
            f"({shown_path(record['file'])}, read when this comparison ran"
            + (f"; the record is of {run}" if run else "") + "). Sources: "
            + "; ".join(f"{name.replace('_', ' ')}: {(v.get('source') or 'n/a').rstrip('.')}"
                        for name, v in (record.get("series") or {}).items()) + "."))
    else:
        s.add(Paragraph("The yearly ledger (years.parquet) of " + ", ".join(led["scenarios"])
                        + ". This comparison recorded no published yearly figures to draw it "
                          "against."))
    for p in _extrapolation_lines(res):
        s.add(Paragraph(p))
    fig = ledger_figure(res)
    if fig is not None:
        s.add(fig)
    if led.get("against"):
        names = list(led["against"])
        header = ["series", "year", "published"] + [f"{n} (range) ratio" for n in names]
        rows = []
        first = led["against"][names[0]]
        for i, pt in enumerate(first):
            col = next((p["column"] for p in led["panels"] if p["series"] == pt["series"]), None)
            money = col is None or _money(col)
            def show(x, m=money) -> str:
                return "n/a" if not defined(x) else f"{x / 1e9:,.1f}" if m else f"{x:,.0f}"
            cells = [pt["series"].replace("_", " "), str(pt["year"])
                     + (" (check)" if pt["check"] else ""), show(pt["published"])]
            for n in names:
                q = led["against"][n][i]
                cells.append("no ledger column" if q["simulated"] is None else
                             f"{show(q['simulated'])} ({show(q['low'])}-{show(q['high'])}) "
                             f"{q['ratio']:.2f}" if defined(q["ratio"]) else show(q["simulated"]))
            rows.append(cells)
        s.add(Table("published", "Each published yearly figure beside the scenarios' ledger",
                    header, rows,
                    ["Money in bn KRW, start-ups counted. The model's figure is the mean over "
                     "replications (their range in brackets); ratio = model / published. A check "
                     "point is reported, not fitted. 'no ledger column': the model does not split "
                     "that figure (central against local government)."]))
    avr = led.get("announced_vs_run")
    if avr:
        a, r = avr["announced"], avr["run"]
        cols = avr["columns"]
        header = ["year"]
        for c in cols:
            short = LEDGER_HEADER[c].replace(" (bn KRW)", "")
            header += [f"{short}: {a}", f"as run ({r})", "difference [95% CI]"]
        rows = []
        for j, y in enumerate(avr["years"]):
            cells = [str(y)]
            for c, v in cols.items():
                kind = "krw" if _money(c) else "count"
                cells += [_value(v["announced"][j], c), _value(v["run"][j], c),
                          diff_cell(v["diff"][j], kind, mark=False).replace(" bn", "")]
            rows.append(cells)
        s.add(Table("announced_vs_run", f"As announced ({a}) against as run ({r}), by year",
                    header, rows, ["Money in bn KRW a year; the difference is as run minus as "
                                   "announced, paired over replications."]))
    for n, t in led.get("table", {}).items():
        cols = [c for c in LEDGER_HEADER if c in t]
        rows = [[str(y)] + [_value(t[c][j], c) for c in cols] for j, y in enumerate(t["years"])]
        s.add(Table(f"years_{n}", f"{n}: the yearly ledger (means over replications)",
                    ["year"] + [LEDGER_HEADER[c] for c in cols], rows,
                    ["Public cost counts every item (the centres' operating cost and grants, "
                     "founder education, public funds' net cost, the linked funds' public "
                     "money); the centres' budgets are operating cost and grants only, what "
                     "the published public money counts."]))
    return s


def _extrapolation_lines(res: Findings) -> list[str]:
    """What the calendar extrapolates past the data, in words (empty when it does not)."""
    ex = res.extrapolation
    if not ex:
        return []
    out = []
    if ex["growth"] is not None:
        a, b = ex["fit_years"][0], ex["fit_years"][-1]
        money = (f"Venture money past the data is extrapolated: the published series ends in "
                 f"{ex['last_year']}; from {ex['last_year'] + 1} to {ex['horizon']} the market's "
                 f"supply follows the log-linear trend fitted to {a}-{b} "
                 f"(market.trend_fit_years), growing {100 * ex['growth']:+.1f} % a year "
                 "(market.growth_after_data_per_year).")
    else:
        money = (f"Venture money past the data: the published series ends in {ex['last_year']}; "
                 f"to {ex['horizon']} the market's supply is held at its last published year "
                 "(an assumption).")
    out.append(money)
    trends = ex["founding_trends"]
    found = ("Foundings are extrapolated from their fitted trend: every region's founding rate "
             f"grows {_pcts(trends)} a year (regions.*.founding_trend_per_year)")
    if ex["dated"]:
        found += "; from " + "; from ".join(
            f"{d['month']} {d['key']} {_pcts(d['values']) if 'trend' in d['key'] else d['values']}"
            for d in ex["dated"]) + " (the timeline)"
    out.append(found + ".")
    if ex["priors"]:
        out.append(f"The extrapolation is uncertain, and the posterior "
                   f"({shown_path(ex['priors'][0]['file'])}) carries it as a prior: "
                   + "; ".join(f"{p['key']}"
                               + (f" (prior: from {p['prior_low']:.3g} to {p['prior_high']:.3g}, "
                                  "no data pin it;" if defined(p.get("prior_low"))
                                  and defined(p.get("prior_high")) else " (")
                               + f" its {p['draws']} parameter set(s) here: {p['low']:.3g} to "
                               f"{p['high']:.3g})" for p in ex["priors"])
                   + ". The differences' spread over the parameter sets includes it.")
    elif ex["growth"] is not None or ex["dated"]:
        out.append("This comparison ran at fixed values: the extrapolation's uncertainty is not in "
                   "its intervals (a posterior with its prior, such as "
                   "scenarios/posteriors/outlook/posterior.parquet, carries it).")
    return out


def _pcts(values) -> str:
    values = sorted(set(values))
    text = [f"{100 * v:+.1f} %" for v in (values[0], values[-1])] if values else ["n/a"]
    return text[0] if len(set(text)) == 1 else f"{text[0]} to {text[-1]}"


# -- the assumptions' dated changes --------------------------------------------------------------
def _decimal(month: str) -> float:
    return int(month[:4]) + (int(month[5:7]) - 1) / 12.0


def timeline_blocks(res: Findings) -> list:
    """The assumptions' opening blocks: what the calendar extrapolates, and the figure of when each
    scenario's dated changes take effect."""
    out: list = [Paragraph(p) for p in _extrapolation_lines(res)]
    tl = res.timelines or {}
    months = tl.get("months") or {}
    if not months:
        return out
    cal = res.resolved(res.scenarios[0]).get("calendar", {}) if res.scenarios else {}
    start, horizon = str(cal.get("start", "")), str(cal.get("horizon", ""))
    if not (start[:4].isdigit() and horizon[:4].isdigit()):
        return out
    rows = [{"label": n, "months": [_decimal(m) for m in ms],
             "counts": [sum(1 for r in tl["rows"][n] if r["month"] == m) for m in ms]}
            for n, ms in months.items()]
    out.append(Figure("timeline", "When each scenario's dated changes take effect (the tables "
                                  "below say what changes)",
                      "; ".join(f"{r['label']}: {', '.join(months[r['label']])}" for r in rows),
                      drawing(plots.timeline, rows, _decimal(start), _decimal(horizon) + 1 / 12.0)))
    return out


def dated_table(res: Findings, n: str) -> list:
    """Scenario ``n``'s dated changes by month: every change of the reference; of another
    scenario, those the reference does not make (the shared ones counted)."""
    tl = res.timelines or {}
    rows = (tl.get("rows") or {}).get(n) or []
    if not rows:
        return []
    own = [r for r in rows if not r["shared"]]
    shared = len(rows) - len(own)
    ref = tl.get("reference")
    notes = [f"{shared} more dated change(s) are the same as {ref}'s (listed under {ref})."] \
        if shared else []
    if not own:
        return [Paragraph(f"{n}'s {len(rows)} dated change(s) are all the same as {ref}'s.")]
    return [Table(f"dated_{n}", f"{n}: dated changes, by month",
                  ["from", "parameter", "value before", "value from then on"],
                  [[r["month"], r["label"], r["before_text"], r["after_text"]] for r in own],
                  notes + ["A dated change takes effect at its month (the model reads a value "
                           "when it acts: a contest, a budget refill, a partner's decision, a "
                           "round)."])]


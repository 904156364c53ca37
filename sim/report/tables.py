"""Tables for the terminal (rich) and for reports: numbers formatted the way a planner reads them."""

from __future__ import annotations

import math

HEADLINE = (
    ("startups", "start-ups", "count"),
    ("supported", "supported", "count"),
    ("survival_1y", "S(1y)", "share"),
    ("survival_3y", "S(3y)", "share"),
    ("survival_5y", "S(5y)", "share"),
    ("supported_survival_5y", "supported S(5y)*", "share"),
    ("acquired", "acquired", "count"),
    ("crossed_valley", "crossed", "count"),
    ("jobs_end", "jobs at horizon", "count"),
    ("private_investment_krw", "private inv.", "krw"),
    ("conglomerate_investment_krw", "conglomerate inv.", "krw"),
    ("grants_krw", "grants", "krw"),
    ("programme_cost_krw", "programme cost", "krw"),
)


_NUMBER = {"share": ("{:.1f}", 100.0), "pp": ("{:+.2f}", 100.0), "krw": ("{:,.1f}", 1e-9),
           "dkrw": ("{:+,.2f}", 1e-9), "dcount": ("{:+,.0f}", 1.0), "mkrw": ("{:,.0f}", 1e-6)}
_UNIT = {"share": "%", "pp": " pp", "krw": " bn", "dkrw": " bn"}


def number(value: float, kind: str) -> str:
    """The number alone, scaled for its kind: shares in %, differences in pp, money in KRW
    billions (``mkrw``: millions), counts with separators."""
    pattern, scale = _NUMBER.get(kind, ("{:,.0f}", 1.0))
    return pattern.format(value * scale)


def fmt(value, kind: str) -> str:
    """A number with its unit (``71.0%``, ``+1.13 pp``, ``439.2 bn``), or ``n/a`` when undefined."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return number(value, kind) + _UNIT.get(kind, "")


def cell(stat: dict | None, kind: str, with_ci: bool = True) -> str:
    if not stat:
        return "n/a"
    mean = stat.get("mean", stat.get("diff"))
    text = fmt(mean, kind)
    lo, hi = stat.get("ci_low"), stat.get("ci_high")
    if with_ci and lo is not None and hi is not None and text != "n/a" and lo != hi:
        plain = {"pp": "share", "dkrw": "krw", "dcount": "count"}.get(kind, kind)
        text += f" [{fmt(lo, plain)}, {fmt(hi, plain)}]" if kind == plain else f" [{fmt(lo, kind)}, {fmt(hi, kind)}]"
    return text


def headline_rows(summary: dict, scenarios: list[str], with_ci: bool = True) -> tuple[list[str], list[list[str]]]:
    header = ["scenario", "reps"] + [label for _, label, _ in HEADLINE]
    rows = []
    for sc in scenarios:
        s = summary["scenarios"].get(sc)
        if not s:
            continue
        m = s["metrics"]
        rows.append([sc, str(s["replications"])] + [cell(m.get(k), kind, with_ci) for k, _, kind in HEADLINE])
    return header, rows


def headline_table(summary: dict, scenarios: list[str]) -> None:
    """Print the headline table (means; 95% CIs in the reports) to the terminal."""
    from rich.console import Console
    from rich.table import Table

    header, rows = headline_rows(summary, scenarios, with_ci=False)
    # money: the unit goes in the header, so the columns stay narrow enough not to wrap
    money = {i for i, (_, _, kind) in enumerate(HEADLINE, start=2) if kind == "krw"}
    header = [f"{h} (bn)" if i in money else h for i, h in enumerate(header)]
    rows = [[c.removesuffix(" bn") if i in money else c for i, c in enumerate(r)] for r in rows]
    table = Table(title="valleysim: means over replications (95% CIs in summary.json and the report; "
                        "money in KRW billions)", title_justify="left")
    for h in header:
        if h == "scenario":
            table.add_column(h, justify="left", no_wrap=True)
        else:
            table.add_column(h, justify="right", no_wrap=True)
    for r in rows:
        table.add_row(*r)
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    Console(width=max(sum(widths) + 3 * len(widths) + 1, Console().width)).print(table)
    print("* supported S(5y) counts from the support date, as the ministry publishes it.")
    for note in undefined_notes(summary, scenarios):
        print(note)


def undefined_notes(summary: dict, scenarios: list[str]) -> list[str]:
    """One line per headline column shown as n/a somewhere, saying why it is undefined."""
    from ..analysis.metrics import why_undefined

    notes = []
    for key, label, _ in HEADLINE:
        where = [sc for sc in scenarios if sc in summary["scenarios"]
                 and fmt((summary["scenarios"][sc]["metrics"].get(key) or {}).get("mean"), "count") == "n/a"]
        if where:
            notes.append(f"n/a in {label} ({', '.join(where)}): undefined, {why_undefined(key)}.")
    return notes

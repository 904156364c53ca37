"""The headline table: the metrics every scenario is summarised by, in the terminal and in the report."""

from __future__ import annotations

from ..analysis.metrics import why_undefined
from .format import cell, fmt

HEADLINE = (
    ("survival_1y", "S(1y)", "share"),
    ("survival_3y", "S(3y)", "share"),
    ("survival_5y", "S(5y)", "share"),
    ("survivors_5y", "5-year survivors", "count"),
    ("supported", "supported", "count"),
    ("supported_survival_5y", "supported S(5y)*", "share"),
    ("acquired", "acquisitions", "count"),
    ("crossed_valley", "valley crossings", "count"),
    ("jobs_end", "jobs at horizon", "count"),
    ("private_investment_krw", "private investment", "krw"),
    ("conglomerate_investment_krw", "conglomerate investment", "krw"),
    ("grants_krw", "grants", "krw"),
    ("programme_cost_krw", "programme cost", "krw"),
)
"""(metric, label, kind) of each headline column, in order."""
SUPPORTED_NOTE = "* supported S(5y) counts from the support date, as the ministry publishes it."


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
    print(SUPPORTED_NOTE)
    for note in undefined_notes(summary, scenarios):
        print(note)


def undefined_notes(summary: dict, scenarios: list[str]) -> list[str]:
    """One line per headline column shown as n/a somewhere, saying why it is undefined."""
    notes = []
    for key, label, _ in HEADLINE:
        where = [sc for sc in scenarios if sc in summary["scenarios"]
                 and fmt((summary["scenarios"][sc]["metrics"].get(key) or {}).get("mean"), "count") == "n/a"]
        if where:
            notes.append(f"n/a in {label} ({', '.join(where)}): undefined, {why_undefined(key)}.")
    return notes

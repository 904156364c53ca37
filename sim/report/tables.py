"""The headline table: the metrics every scenario is summarised by, in the terminal and in the
report."""

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
    ("partner_investment_krw", "partner investment", "krw"),
    ("grants_krw", "grants", "krw"),
    ("public_cost_krw", "public cost", "krw"),
)
"""(metric, label, kind) of each headline column, in order."""
SUPPORTED_NOTE = "* supported S(5y) counts from the support date, as the ministry publishes it."


def headline_rows(
    summary: dict, scenarios: list[str], with_ci: bool = True
) -> tuple[list[str], list[list[str]]]:
    """The headline table's header and rows (means, with CIs when ``with_ci``)."""
    header = ["scenario", "reps"] + [label for _, label, _ in HEADLINE]
    rows = []
    for sc in scenarios:
        s = summary["scenarios"].get(sc)
        if not s:
            continue
        m = s["metrics"]
        rows.append(
            [sc, str(s["replications"])]
            + [cell(m.get(k), kind, with_ci) for k, _, kind in HEADLINE]
        )
    return header, rows


TERMINAL_ORDER = (
    "survival_5y",
    "survivors_5y",
    "supported",
    "jobs_end",
    "public_cost_krw",
    "survival_1y",
    "survival_3y",
    "supported_survival_5y",
    "acquired",
    "crossed_valley",
    "partner_investment_krw",
    "grants_krw",
)
"""Which headline columns a narrow terminal keeps first (the rest are left out, and named)."""


def headline_lines(summary: dict, scenarios: list[str], width: int) -> list[str]:
    """The headline table for a terminal ``width`` characters wide, as lines of text.

    Columns that do not fit are left out in :data:`TERMINAL_ORDER`'s reverse order and named in a
    note (every column is in summary.json and the report); headers wrap on their spaces; no line
    is longer than ``width`` or padded with trailing spaces.
    """
    import io
    import textwrap

    from rich.console import Console
    from rich.table import Table

    width = max(40, int(width))
    _, rows = headline_rows(summary, scenarios, with_ci=False)
    by_key = {k: (label, kind, i + 2) for i, (k, label, kind) in enumerate(HEADLINE)}

    def label_of(k):
        label, kind, _ = by_key[k]
        return f"{label} (bn)" if kind == "krw" else label

    def need(text_cells, header) -> int:
        longest_word = max((len(w) for w in header.split()), default=0)
        return max([longest_word, *(len(c) for c in text_cells)]) + 3

    def cells(k):
        _, kind, i = by_key[k]
        return [r[i].removesuffix(" bn") if kind == "krw" else r[i] for r in rows]

    used = 1 + need([r[0] for r in rows], "scenario") + need([r[1] for r in rows], "reps")
    keep = []
    for k in TERMINAL_ORDER:
        w = need(cells(k), label_of(k))
        if used + w <= width:
            keep.append(k)
            used += w
    keep = [k for k, _, _ in HEADLINE if k in keep]  # shown in the report's order
    table = Table()
    table.add_column(
        "scenario", justify="left", no_wrap=True, width=need([r[0] for r in rows], "scenario") - 3
    )
    table.add_column(
        "reps", justify="right", no_wrap=True, width=need([r[1] for r in rows], "reps") - 3
    )
    for k in keep:
        table.add_column(label_of(k), justify="right", width=need(cells(k), label_of(k)) - 3)
    for j, r in enumerate(rows):
        table.add_row(r[0], r[1], *(cells(k)[j] for k in keep))
    buf = io.StringIO()
    Console(
        file=buf, width=width, force_terminal=False, color_system=None, legacy_windows=False
    ).print(table)
    title = ("valleysim: means over replications (95% CIs in summary.json and the report; money in "
             "KRW billions)")
    lines = textwrap.wrap(title, width) + [line.rstrip() for line in buf.getvalue().splitlines()]
    left_out = [label_of(k) for k, _, _ in HEADLINE if k not in keep]
    if left_out:
        lines += textwrap.wrap(f"Left out at this width ({width} columns): {', '.join(left_out)}; "
                               "every column is in summary.json and the report.", width)
    return lines


def undefined_notes(summary: dict, scenarios: list[str]) -> list[str]:
    """One line per headline column shown as n/a somewhere, saying why it is undefined."""
    notes = []
    for key, label, _ in HEADLINE:
        where = [
            sc
            for sc in scenarios
            if sc in summary["scenarios"]
            and fmt((summary["scenarios"][sc]["metrics"].get(key) or {}).get("mean"), "count")
            == "n/a"
        ]
        if where:
            notes.append(f"n/a in {label} ({', '.join(where)}): undefined, {why_undefined(key)}.")
    return notes

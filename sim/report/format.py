"""Numbers as a planner reads them: shares in %, differences in percentage points, money in KRW
billions or millions, counts with separators, intervals in brackets, "n/a" when undefined.

One formatter for the terminal tables and every report page.
"""

from __future__ import annotations

import math

import numpy as np

_NUMBER = {"share": ("{:.1f}", 100.0), "pp": ("{:+.2f}", 100.0), "krw": ("{:,.1f}", 1e-9),
           "dkrw": ("{:+,.2f}", 1e-9), "dcount": ("{:+,.0f}", 1.0), "mkrw": ("{:,.0f}", 1e-6)}
_UNIT = {"share": "%", "pp": " pp", "krw": " bn", "dkrw": " bn"}

DIFF_KIND = {"share": "pp", "count": "dcount", "krw": "dkrw"}
"""The kind of a difference of a quantity of each kind."""
ALPHA = 0.05
"""Holm-adjusted p-values at or above this mark a difference "(n.s.)"."""


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
    """A mean (or difference) with its CI in brackets, for terminal tables."""
    if not stat:
        return "n/a"
    mean = stat.get("mean", stat.get("diff"))
    text = fmt(mean, kind)
    lo, hi = stat.get("ci_low"), stat.get("ci_high")
    if with_ci and lo is not None and hi is not None and text != "n/a" and lo != hi:
        plain = {"pp": "share", "dkrw": "krw", "dcount": "count"}.get(kind, kind)
        text += (
            f" [{fmt(lo, plain)}, {fmt(hi, plain)}]"
            if kind == plain
            else f" [{fmt(lo, kind)}, {fmt(hi, kind)}]"
        )
    return text


def defined(x) -> bool:
    """A finite number (not a bool, not None)."""
    return (
        isinstance(x, (int, float, np.floating, np.integer))
        and not isinstance(x, bool)
        and math.isfinite(x)
    )


_ROUND = {
    "pp": (100.0, 2),
    "dcount": (1.0, 0),
    "dkrw": (1e-9, 2),
    "share": (100.0, 1),
    "count": (1.0, 0),
    "krw": (1e-9, 1),
    "mkrw": (1e-6, 0),
}


def tidy(x: float, kind: str) -> float:
    """``x`` rounded as it will be shown, without a negative zero (no "-0" or "-0.00 pp")."""
    scale, digits = _ROUND.get(kind, (1.0, 0))
    return (round(x * scale, digits) + 0.0) / scale


MAX_DIGITS = 4
"""Decimals a difference of shares (pp) or of money (bn KRW) may get so that it does not read as
zero: +0.003 pp, never +0.00 pp."""


def digits_for(values, kind: str) -> int:
    """The decimals that show every non-zero value of ``values`` (a difference and its bounds) with
    two significant figures at its largest: the kind's usual decimals (2 for pp and bn), more (up
    to :data:`MAX_DIGITS`) when the values are smaller than that shows."""
    scale, usual = _ROUND.get(kind, (1.0, 0))
    if kind not in ("pp", "dkrw"):
        return usual
    top = max((abs(v) * scale for v in values if defined(v)), default=0.0)
    if top == 0.0:
        return usual
    return int(min(max(usual, 1 - math.floor(math.log10(top))), MAX_DIGITS))


def fine(x: float, kind: str, digits: int) -> str:
    """``x`` as :func:`number` shows it, with ``digits`` decimals (no negative zero)."""
    scale, _ = _ROUND.get(kind, (1.0, 0))
    v = round(x * scale, digits) + 0.0
    sign = "+" if kind in ("pp", "dkrw", "dcount") else ""
    return f"{v:{sign},.{digits}f}"


def krw_text(krw, signed: bool = False) -> str:
    """An amount of won as a planner reads it: M KRW below 1 bn, bn KRW below 1 tn, else tn KRW,
    with three significant figures (``n/a`` when undefined)."""
    if not defined(krw):
        return "n/a"
    if abs(krw) < 5e3:  # shows as 0.00 M: nothing, not "-0.00"
        return "0 KRW"
    for div, unit in ((1e12, "tn"), (1e9, "bn"), (1e6, "M")):
        if abs(krw) >= div or div == 1e6:
            v = krw / div
            d = 0 if abs(v) >= 100 else 1 if abs(v) >= 10 else 2
            return f"{v + 0.0:{'+' if signed else ''},.{d}f} {unit} KRW"
    raise AssertionError("unreachable")


def bound(x: float, kind: str) -> str:
    """A bound of an interval, rounded as shown."""
    return number(tidy(x, kind), kind)


def mean_cell(stat: dict | None, kind: str) -> str:
    """``mean ± half-width`` of the 95% CI (``mean`` alone with one replication, ``n/a`` if
    undefined)."""
    if not stat or not defined(stat.get("mean")):
        return "n/a"
    text = fmt(stat["mean"], kind)
    hw = stat.get("half_width")
    if defined(hw) and hw > 0:
        text += f" ± {bound(hw, kind)}"
    return text


def diff_cell(
    row: dict | None, kind: str, mark: bool = True, practical: float | None = None
) -> str:
    """``+diff [low, high]``; marked ``(n.s.)`` when the Holm-adjusted p-value is at least 0.05, and
    ``(small)`` when a share's difference is significant but smaller than ``practical`` (a fraction:
    0.002 = 0.2 pp), the least difference the planner would act on."""
    if not row or not defined(row.get("diff")):
        return "n/a"
    dk = DIFF_KIND.get(kind, kind)
    lo, hi = row.get("ci_low"), row.get("ci_high")
    interval = defined(lo) and defined(hi) and lo != hi
    d = digits_for([row["diff"], *((lo, hi) if interval else ())], dk)
    text = fine(row["diff"], dk, d) + _UNIT.get(dk, "")
    if interval:
        text += f" [{fine(lo, dk, d)}, {fine(hi, dk, d)}]"
    p = row.get("p_adjusted")
    if mark and defined(p) and p >= ALPHA:
        text += " (n.s.)"
    elif mark and practical is not None and kind == "share" and abs(row["diff"]) < practical:
        text += " (small)"
    return text


def p_text(x) -> str:
    """A p-value as shown (``<0.0001`` for the smallest)."""
    if not defined(x):
        return "n/a"
    return "<0.0001" if x < 1e-4 else f"{x:.4f}"


def pct(x, digits: int = 1) -> str:
    """A share as a percentage (``n/a`` when undefined)."""
    return f"{100 * x:.{digits}f}%" if defined(x) else "n/a"


def pp(x, digits: int = 1) -> str:
    """A difference of shares in percentage points with its sign (``n/a`` when undefined)."""
    return f"{100 * x:+.{digits}f} pp" if defined(x) else "n/a"


def ratio_cell(r: dict, unit: str) -> tuple[str, str | None]:
    """Text for a cost-effectiveness ratio and, when it is not a plain number, why."""
    n, d = r.get("num_mean"), r.get("den_mean")
    if r.get("n", 0) < 2 or not (defined(n) and defined(d)):
        return "n/a", "needs at least two replications of both scenarios"
    if not r.get("defined"):
        return "n/a", (f"the change in {unit}s is not distinguishable from zero, so the cost per "
                       f"additional {unit} has no upper bound")
    lo, hi = r.get("ci_low"), r.get("ci_high")
    crosses = defined(lo) and defined(hi) and lo < 0 < hi
    ci = f" [{bound(lo, 'mkrw')}, {bound(hi, 'mkrw')}]" if defined(lo) and defined(hi) else ""
    if d > 0 and crosses:
        # the extra cost is not distinguishable from none: no negative money, say what the interval
        # means
        point = (
            f"a saving of {-r['ratio'] / 1e6:,.0f} M"
            if r["ratio"] < 0
            else f"{r['ratio'] / 1e6:,.0f} M"
        )
        return (f"{point} (from a saving of {bound(-lo, 'mkrw')} M to a cost of "
                f"{bound(hi, 'mkrw')} M)",
                "the extra cost is not distinguishable from zero, so the interval of the cost per "
                f"additional {unit} runs from a saving to a cost")
    if d > 0 and n > 0:
        return f"{r['ratio'] / 1e6:,.0f} M{ci}", None
    if d > 0:
        return "dominant", f"more {unit}s for less (or no extra) money: no cost per {unit} to pay"
    if n >= 0:
        return "dominated", f"fewer {unit}s for more (or the same) money"
    if crosses:
        return (f"saves {r['ratio'] / 1e6:,.0f} M per {unit} "
                "lost", f"fewer {unit}s for less money; the saving per "
                f"{unit} lost is not bounded away from zero")
    return f"saves {r['ratio'] / 1e6:,.0f} M per {unit} lost{ci}", None


def shown_path(path) -> str:
    """A path as a shared report shows it: relative to the working folder or the project when inside
    them, else its last two parts (never the absolute local path of the machine that ran it)."""
    from pathlib import Path

    if not path:
        return str(path)
    p = Path(str(path))
    if not p.is_absolute():
        return str(p)
    for base in (Path.cwd(), Path(__file__).resolve().parents[2]):
        try:
            return str(p.resolve().relative_to(base.resolve()))
        except ValueError:
            continue
    return str(Path(*p.parts[-2:])) if len(p.parts) > 2 else p.name


def shown_command(command: str) -> str:
    """A command line with its absolute paths shown as :func:`shown_path` shows them."""
    import shlex

    try:
        words = shlex.split(command)
    except ValueError:
        return command
    return shlex.join(shown_path(w) if w.startswith("/") else w for w in words)

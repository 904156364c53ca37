"""Scenario discovery's report: the box in words, its table and the peeling trajectory.

Written by ``discover`` (discover.md, discover.png) and shown in a compare's report when the folder
holds a discover.json. Every sentence is computed from that file.
"""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure as MplFigure

from ..files import atomic_write_bytes
from .document import Figure, Paragraph, Section, Table
from .plots import GREY, colours, to_png

SIGNIFICANT = 0.05
"""A restriction with a quasi-p-value above this is named as likely noise, not as a condition."""


def _v(x) -> str:
    if x is None:
        return "n/a"
    x = float(x)
    return f"{x:,.0f}" if abs(x) >= 1e5 else f"{x:.3g}"


def summary_lines(result: dict) -> list[str]:
    """The finding in words: the base rate, then the box with its coverage and density."""
    n, hits = result["cases"], result["of_interest"]
    lines = [f"Condition: {result['words']}. It holds in {hits} of {n} {result['unit']}s "
             f"({hits / n:.0%}, the base rate)."]
    c = result.get("chosen")
    if not c:
        lines.append(f"No box: {result.get('why', 'PRIM found none')}.")
        return lines
    if not c["limits"]:
        lines.append("PRIM found no restriction that makes the condition more likely than its base "
                     "rate.")
        return lines
    if not c.get("meets_threshold", True):
        lines.append("No box on the peeling trajectory with coverage at least "
                     f"{result['min_coverage']:.0%} reaches a density of "
                     f"{result['threshold']:.0%}: the condition is not confined to one region of "
                     "the parameters; the densest such box is below, for what it shows.")
    strong = [
        lim
        for lim in c["limits"]
        if lim.get("quasi_p") is not None and lim["quasi_p"] <= SIGNIFICANT
    ]
    if not strong:
        lines.append("No restriction of PRIM's box is significant (every quasi-p above "
                     f"{SIGNIFICANT:g}): the condition depends on these parameters only weakly or "
                     f"jointly. The box, for what it shows: it holds {c['coverage']:.0%} of the "
                     f"{result['unit']}s where the condition holds (coverage), and the condition "
                     f"holds in {c['density']:.0%} of those inside it (density), against "
                     f"{hits / n:.0%} overall.")
        return lines
    where = "; ".join(f"{lim['column']} between {_v(lim['low'])} and "
                      f"{_v(lim['high'])}" for lim in strong)
    weak = len(c["limits"]) - len(strong)
    if weak:
        where += (f" (the box also trims {weak} other parameter(s) at an edge, with quasi-p above "
                  f"{SIGNIFICANT:g}: likely noise; see the table)")
    lines.append(f"It is most likely when {where}: this box holds {c['coverage']:.0%} of the "
                 f"{result['unit']}s where the condition holds (coverage) and the condition holds "
                 f"in {c['density']:.0%} of the {result['unit']}s inside it (density), against "
                 f"{hits / n:.0%} overall; the box spans {c['mass']:.0%} of the {result['unit']}s.")
    return lines


def table(result: dict) -> Table | None:
    """The box's limits as a table (None without a box)."""
    c = result.get("chosen")
    if not c or not c["limits"]:
        return None
    rows = [
        [
            f"`{lim['column']}`",
            f"{_v(lim['low'])} .. {_v(lim['high'])}",
            f"{_v(lim['whole_low'])} .. {_v(lim['whole_high'])}",
            "n/a" if lim.get("quasi_p") is None else f"{lim['quasi_p']:.2g}",
        ]
        for lim in c["limits"]
    ]
    return Table("discovery", f"The box (step {c['step']} of the peeling trajectory)",
                 ["parameter", "in the box", "all cases", "quasi-p"], rows,
                 ["quasi-p: how likely a restriction this strong would arise by chance (the EMA "
                  "Workbench's binomial test); large values mark restrictions that may be noise.",
                  f"The box chosen is the densest on the trajectory with coverage at least "
                  f"{result['min_coverage']:.0%}."])


def trajectory_png(result: dict) -> bytes:
    """The peeling trajectory (coverage against density of each box) as a PNG."""
    traj = result["trajectory"]
    fig = MplFigure(figsize=(6.4, 4.6))
    ax = fig.add_subplot(1, 1, 1)
    if traj:
        dims = [r["restricted"] for r in traj]
        cmap = colours(max(dims) + 1)
        ax.plot(
            [r["coverage"] for r in traj],
            [r["density"] for r in traj],
            color=GREY,
            lw=0.8,
            zorder=1,
        )
        for d in sorted(set(dims)):
            pts = [r for r in traj if r["restricted"] == d]
            ax.scatter(
                [r["coverage"] for r in pts],
                [r["density"] for r in pts],
                color=cmap[d],
                s=22,
                zorder=2,
                label=f"{d} restricted",
            )
        c = result.get("chosen")
        if c:
            ax.scatter(
                [c["coverage"]],
                [c["density"]],
                s=140,
                facecolors="none",
                edgecolors="black",
                lw=1.5,
                zorder=3,
                label="chosen box",
            )
        ax.legend(fontsize=8, loc="lower left")
    ax.set_xlabel("coverage (share of the cases of interest inside the box)")
    ax.set_ylabel("density (share of the box's cases of interest)")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.set_title(f"PRIM peeling trajectory: {result['words']}", fontsize=9, wrap=True)
    fig.tight_layout()
    return to_png(fig)


def markdown(result: dict) -> str:
    """discover.md: the finding in words, the box's table and the trajectory."""
    lines = [f"# Scenario discovery in {result['folder']}", ""]
    lines += summary_lines(result)
    t = table(result)
    if t is not None:
        lines += ["", t.markdown()]
    lines += ["", f"- condition: `{result['condition']}`; PRIM with peeling alpha "
                  f"{result['peel_alpha']:g} (EMA "
                  "Workbench)", "", "![peeling trajectory](discover.png)", ""]
    return "\n".join(lines)


def write_discovery_report(root: Path, result: dict) -> dict[str, Path]:
    """discover.md and discover.png in ``root``; their paths."""
    root = Path(root)
    atomic_write_bytes(root / "discover.md", markdown(result))
    atomic_write_bytes(root / "discover.png", trajectory_png(result))
    return {"markdown": root / "discover.md", "png": root / "discover.png"}


def section(result: dict | None) -> Section | None:
    """The compare report's section, when ``discover`` has been run on the folder (``result``: its
    discover.json)."""
    if result is None:
        return None
    try:
        s = Section("discovery", "Scenario discovery: when does it happen?")
        for line in summary_lines(result):
            s.add(Paragraph(line))
        t = table(result)
        if t is not None:
            s.add(t)
        s.add(Figure("discovery", "PRIM's peeling trajectory: each point a box, from the whole "
                     "space (right) to ever smaller boxes; the circle marks the one described "
                     "above.",
                     "Coverage against density of each box on the peeling "
                     "trajectory", trajectory_png(result)))
        return s
    except (KeyError, TypeError, ValueError):
        return None

"""The calibration report: the fit's Markdown page and its plot, from plain data.

:func:`markdown` takes the ``calibration.json`` document; :func:`plot` the target points and the
simulated curves (arrays over replications) before and after the fit.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np

from ..analysis.stats import mean_curve
from ..analysis.targets import CURVE_MONTHS, MONTHLY, TargetPoint
from .format import shown_command, shown_path
from .plots import to_png


def fmt_value(v) -> str:
    """A parameter value: whole numbers as they are, others to five significant digits."""
    return str(v) if isinstance(v, int) else f"{v:.5g}"


def _fmt(v, kind: str, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    return f"{v:,.0f}" if kind == "count" else f"{v:.{digits}f}"


def markdown(report: dict) -> str:
    """calibration.md: targets against the model before and after the fit, and how it was made."""
    lines = [f"# Calibration of {report['scenario']['name']}", "",
             f"- scenario file: `{shown_path(report['scenario']['file'])}`",
             f"- targets: `{shown_path(report['targets']['file'])}` ({report['targets']['name']})",
             f"- command: `{shown_command(report['command'])}`",
             f"- fitted: {report['finished']} ({report['seconds']:.0f} s), {report['method']}, "
             f"{report['evaluations']} evaluations on replications 0..{report['replications'] - 1} "
             f"of seed {report['seed']} (common random numbers)",
             "- loss (weighted mean of squared z = (simulated - target) / tolerance; below 1 = "
             f"within tolerance on average): **{report['loss']['initial']:.4g} -> "
             f"{report['loss']['fitted']:.4g}**",
             f"- calibrated file: `{shown_path(report['output_file'])}`", "", "## Parameters", "",
             "| parameter | start | fitted | bounds |", "|---|---:|---:|---|"]
    for p in report["parameters"]:
        lines.append(f"| `{p['key']}` | {fmt_value(p['initial'])} | **{fmt_value(p['fitted'])}** | "
                     f"{fmt_value(p['low'])} .. {fmt_value(p['high'])} |")
    lines += ["", "## Targets against the model", "",
              f"Mean over {report['replications']} replications with its 95% confidence interval "
              "(Student t over replications). Check points are reported, not fitted.", "",
              "| target | published | tolerance | start | fitted [95% CI] | z | within | source |",
              "|---|---:|---:|---:|---|---:|:---:|---|"]
    for row, start in zip(report["targets"]["fitted"], report["targets"]["initial"], strict=True):
        label = TargetPoint(row["group"], row["key"], 0, 1, 1, "").label
        kind = TargetPoint(row["group"], row["key"], 0, 1, 1, "").kind
        if not row["fitted_point"]:
            label += " (check)"
        z = "n/a" if row["z"] is None else f"{row['z']:+.2f}"
        lines.append(f"| {label} | {_fmt(row['target'], kind)} | {_fmt(row['tolerance'], kind)} | "
                     f"{_fmt(start['simulated'], kind)} | **{_fmt(row['simulated'], kind)}** "
                     f"[{_fmt(row['ci_low'], kind)}, {_fmt(row['ci_high'], kind)}] | {z} | "
                     f"{'yes' if row['within_tolerance'] else 'no'} | {row['source']} |")
    for group, curve in (report.get("curves") or {}).items():
        title = "Survival by firm age" if group == "survival" else ("Supported start-ups' survival "
                                                                    "since support")
        lines += ["", f"{title}, every whole year (the shape between the targets):", "",
                  "| " + " | ".join(f"{y} y" for y in curve) + " |", "|" + "---:|" * len(curve),
                  "| " + " | ".join(_fmt(v, "share") for v in curve.values()) + " |"]
    lines += ["", "![target points against the simulated curves](calibration.png)", "",
              "## Caveats", "",
              "- The fit is in-sample: the same replications were used to choose the parameters. "
              "Check the calibrated file on fresh replications (another seed) before relying on "
              "it:",
              f"  `python run_sim.py run {report['output_file']} --replications 20 --seed 1`.",
              "- Fitted values are calibrated assumptions: several parameter sets may fit the same "
              "few points; the report above says the targets are reproduced, not that the "
              "parameters are identified.",
              ""]
    return "\n".join(lines)


def plot(
    points: list[TargetPoint],
    initial: dict | None,
    final: dict | None,
    *,
    start: str,
    scenario: str,
    targets: str,
) -> bytes:
    """Target points (with tolerance bars) against the simulated curves, before and after.

    ``initial`` and ``final`` map a target group to its curves, one row per replication; ``start``
    is the calendar's first month (YYYY-MM), for the dates of cumulative counts.
    """
    from matplotlib.figure import Figure

    drawn = final if final is not None else (initial or {})
    groups = [g for g in dict.fromkeys(p.group for p in points) if g in drawn]  # groups with curves
    fig = Figure(figsize=(5.2 * len(groups), 4.2))
    axes = fig.subplots(1, len(groups), squeeze=False)[0]
    for ax, group in zip(axes, groups, strict=True):
        pts = [p for p in points if p.group == group]
        for curves, style, label in ((initial, "--", "start"), (final, "-", "fitted")):
            if curves is None:
                continue
            mean, lo, hi = mean_curve(curves[group])
            if group in MONTHLY:
                x = np.array(
                    [
                        dt.date(
                            int(start[:4]) + (int(start[5:]) - 1 + m) // 12,
                            (int(start[5:]) - 1 + m) % 12 + 1,
                            1,
                        )
                        for m in range(len(mean))
                    ]
                )
            else:
                x = np.arange(len(mean)) / 12.0
            ax.plot(
                x, mean, style, color="C0" if label == "fitted" else "0.5", label=f"model, {label}"
            )
            if label == "fitted":
                ax.fill_between(
                    x, lo, hi, color="C0", alpha=0.2, linewidth=0, label="95% CI (replications)"
                )
        for p in pts:
            if group in MONTHLY:
                y, m = int(p.key[:4]), int(p.key[5:])
                x = dt.date(y + m // 12, m % 12 + 1, 1)  # end of the month
            else:
                x = int(p.key)
            ax.errorbar([x], [p.value], yerr=[p.tolerance], fmt="o" if p.weight > 0 else "s",
                        color="C3" if p.weight > 0 else "C1", capsize=4,
                        label=None if p.weight > 0 else "check point")
        ax.plot([], [], "o", color="C3", label="target +- tolerance")
        ax.set_title({"survival": "Survival by firm age",
                      "supported_survival": "Supported start-ups: survival since support",
                      "supported_by": "Cumulative supported start-ups",
                      "supported_investment_by": "Money attracted by supported start-ups",
                      "supported_hires_by": "Hires by supported start-ups"}[group], fontsize=10)
        if group in MONTHLY:
            ax.set_ylabel({"supported_by": "start-ups", "supported_investment_by": "KRW",
                           "supported_hires_by": "jobs"}[group])
            ax.tick_params(axis="x", labelrotation=30)
            years = [int(p.key[:4]) for p in pts]
            ax.set_xlim(dt.date(min(years) - 1, 1, 1), dt.date(max(years) + 2, 12, 31))
            ax.set_ylim(0, 1.5 * max(p.value + p.tolerance for p in pts))
        else:
            ax.set_xlabel("years")
            ax.set_ylabel("share alive")
            ax.set_ylim(0, 1.02)
            ax.set_xlim(0, CURVE_MONTHS / 12.0)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"{scenario}: targets ({targets}) against the model", fontsize=11)
    fig.tight_layout()
    return to_png(fig)

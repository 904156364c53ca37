"""The posterior calibration's report: posterior.md (what the data pin, what they leave open, how
well the draws reproduce each target) and posterior.png (marginal and pairwise plots of the draws).

Every sentence is computed from posterior.json; nothing is written ahead of the data.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from ..files import atomic_write_bytes
from .format import shown_command, shown_path
from .plots import GREY, colours, to_png

VERDICT_WORDS = {
    "pinned": "pinned by the data",
    "narrowed": "narrowed by the data",
    "open": "left open by the data",
}


def _v(x) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    x = float(x)
    if abs(x) >= 1e5:
        return f"{x:,.0f}"
    return f"{x:.3g}"


def _target(x, t: dict) -> str:
    if x is None:
        return "n/a"
    if t["group"] in ("survival", "supported_survival"):
        return f"{x:.3f}"
    if t["group"] == "supported_investment_by":
        return f"{x / 1e9:,.0f} bn"
    return f"{x:,.0f}"


def headline(result: dict) -> list[str]:
    """The report's first lines, in words: which parameters the data pin and which they leave
    open."""
    groups = {
        v: [p["key"] for p in result["parameters"] if p["verdict"] == v] for v in VERDICT_WORDS
    }
    lines = []
    n = len(result["parameters"])
    for v, keys in groups.items():
        if keys:
            lines.append(f"- {len(keys)} of {n} parameter(s) "
                         f"{VERDICT_WORDS[v]}: " + ", ".join(f"`{k}`" for k in keys)
                         + ".")
    last = result["waves"][-1]
    if last["non_implausible_share"] <= 0.0:
        lines.append("- No parameter set within the priors reproduces every target (all are ruled "
                     f"out at implausibility {result['implausibility_cutoff']:g}): the posterior "
                     "below is the least-bad compromise, not a fit; see the targets table for "
                     "which ones the model misses.")
    lines.append(f"- The targets rule out {1 - last['non_implausible_share']:.0%} of the prior box "
                 f"(implausibility above {result['implausibility_cutoff']:g}).")
    return lines


def markdown(result: dict) -> str:
    """posterior.md: the parameters the data pin and those they leave open, and the targets."""
    spec = result["spec"]
    lines = [f"# Posterior calibration of {result['scenario']}", ""]
    lines += headline(result)
    lines += ["", f"- scenario file: `{shown_path(spec['file'])}`",
              f"- targets: `{shown_path(spec['targets_file'])}` ({result['targets_name']})",
              f"- method: {result['method']}; {len(result['waves'])} wave(s), "
              f"{result['simulated_points']} simulated points x {spec['replications']} "
              f"replication(s) of seed {spec['seed']}"
              + (" (common random "
                 "numbers)" if spec.get("crn") else " (each point its own random streams)"),
              f"- observation error: {result['observation_sd_in_tolerances']:g} x each target's "
              "tolerance (a tolerance is read as two standard deviations of measurement error and "
              "model discrepancy together)",
              f"- draws: {result['draws']} distinct parameter sets in posterior.parquet (effective "
              f"sample size {result['ess']:,.0f}); {result['seconds']:.0f} s"]
    if result.get("command"):
        lines.append(f"- command: `{shown_command(result['command'])}`")
    lines += ["", "## Parameters: prior and posterior", "",
              "Each prior is uniform over its range (in log space where marked). *Width* is the "
              "posterior's 90 % interval over the prior's: at most 0.5 is *pinned*, 0.8 or more "
              "*open*.", "",
              "| parameter | scenario value | prior 90 % | posterior median | posterior 90 % | "
              "width | verdict |",
              "|---|---:|---:|---:|---:|---:|---|"]
    for p in result["parameters"]:
        log = " (log)" if p["scale"] == "log" else ""
        lines.append(f"| `{p['key']}` | {_v(p['scenario_value'])} | {_v(p['prior_90'][0])} .. "
                     f"{_v(p['prior_90'][1])}{log} | {_v(p['posterior_median'])} | "
                     f"{_v(p['posterior_90'][0])} .. {_v(p['posterior_90'][1])} | "
                     f"{p['width_ratio']:.2f} | {p['verdict']} |")
    lines += ["", "## Targets: what the prior allowed and what the posterior reproduces", "",
              "Emulated mean of the model over the prior and over the posterior draws (90 % "
              "ranges).", "",
              "| target | published | tolerance | prior 90 % | posterior 90 % | source "
              "|", "|---|---:|---:|---:|---:|---|"]
    for t in result["targets"]:
        lines.append(f"| {t['group']} {t['key']} | {_target(t['target'], t)} | "
                     f"{_target(t['tolerance'], t)} | {_target(t['prior_90'][0], t)} .. "
                     f"{_target(t['prior_90'][1], t)} | {_target(t['posterior_90'][0], t)} .. "
                     f"{_target(t['posterior_90'][1], t)} | {t['source']} |")
    lines += ["", "## Waves and the emulator's check", "",
              "| wave | points | prior box not ruled out | effective sample size "
              "|", "|---:|---:|---:|---:|"]
    for w in result["waves"]:
        lines.append(f"| {w['wave']} | {w['points']} | {w['non_implausible_share']:.1%} | "
                     f"{w['ess']:,.0f} |")
    if result.get("emulator_checks"):
        lines += ["", "Before each later wave was used, the emulator fitted to the waves before it "
                  "predicted its points (standardised errors; a sound emulator has about 95 % "
                  "within 2 and nearly all within 3):", ""]
        for c in result["emulator_checks"]:
            lines.append(f"- wave {c['wave']}: {c['within_2sd']:.0%} within 2, "
                         f"{c['within_3sd']:.0%} within 3, RMS {c['rms_standardised_error']:.2f}")
    lines += ["", "![marginal and pairwise posterior](posterior.png)", ""]
    return "\n".join(lines)


def corner(result: dict, draws: dict) -> bytes:
    """Marginal histograms (prior flat in grey) on the diagonal, weighted draws below it."""
    params = result["parameters"]
    d = len(params)
    w = np.asarray(draws["weight"], float)
    size = max(2.0, min(2.4, 14.0 / max(d, 1)))
    fig = Figure(figsize=(size * d + 0.6, size * d + 0.6))
    colour = colours(1)[0]
    for i, pi in enumerate(params):
        xi = np.asarray(draws[pi["key"]], float)
        log_i = pi["scale"] == "log"
        for j in range(i + 1):
            ax = fig.add_subplot(d, d, i * d + j + 1)
            pj = params[j]
            xj = np.asarray(draws[pj["key"]], float)
            if i == j:
                bins = (
                    np.geomspace(pi["low"], pi["high"], 25)
                    if log_i
                    else np.linspace(pi["low"], pi["high"], 25)
                )
                ax.hist(xi, bins=bins, weights=w, color=colour, alpha=0.8)
                ax.axhline(1.0 / 24, color=GREY, lw=1, ls="--")
                ax.set_yticks([])
            else:
                ax.scatter(xj, xi, s=4 + 40 * w / w.max(), color=colour, alpha=0.35, lw=0)
                ax.set_ylim(pi["low"], pi["high"])
                if log_i:
                    ax.set_yscale("log")
            ax.set_xlim(pj["low"], pj["high"])
            if pj["scale"] == "log":
                ax.set_xscale("log")
            if i == d - 1:
                ax.set_xlabel(_short(pj["key"]), fontsize=7)
            else:
                ax.set_xticklabels([])
            if j == 0 and i > 0:
                ax.set_ylabel(_short(pi["key"]), fontsize=7)
            elif j > 0:
                ax.set_yticklabels([])
            ax.tick_params(labelsize=6)
    fig.suptitle(f"Posterior of {result['scenario']} given {result['targets_name']} "
                 f"(grey dashes: the uniform prior)", fontsize=9)
    fig.tight_layout()
    return to_png(fig)


def _short(key: str) -> str:
    parts = key.split(".")
    return ".".join(parts[-2:]) if len(parts) > 1 else key


def write_posterior_report(root: Path, result: dict, draws: dict) -> dict[str, Path]:
    """posterior.md and posterior.png in ``root``; their paths."""
    root = Path(root)
    atomic_write_bytes(root / "posterior.md", markdown(result))
    atomic_write_bytes(root / "posterior.png", corner(result, draws))
    return {"markdown": root / "posterior.md", "png": root / "posterior.png"}

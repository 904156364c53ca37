"""Figures of the decision: the cost-effect plane with its frontier, the acceptability curve, and
what knowing each parameter would be worth (PNG bytes, from plain numbers and names only).

Money is shown in the real economy's units: public cost in bn KRW, willingness to pay and cost per
additional survivor in M KRW, information value in whichever of M / bn KRW keeps the bars' labels
short. Options are told apart by colour and marker (:func:`sim.report.plots.styles`, in the same
order as the other figures); on the plane a filled marker is on the frontier, a hollow one is
extendedly dominated and a faded cross strongly dominated, and the legend says which in words.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from .plots import CF_COLOUR, GREY, styles, to_png

DOMINANCE_WORDS = {
    None: "on the frontier",
    "strongly": "strongly dominated",
    "extendedly": "extendedly dominated",
}


def krw_unit(largest: float) -> tuple[float, str]:
    """The divisor and unit that show amounts up to ``largest`` KRW with short labels."""
    largest = abs(largest) if math.isfinite(largest) else 0.0
    if largest >= 1e12:
        return 1e12, "tn KRW"
    if largest >= 1e9:
        return 1e9, "bn KRW"
    return 1e6, "M KRW"


def _note(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color=GREY, wrap=True)
    ax.set_xticks([])
    ax.set_yticks([])


def _option_styles(names: Sequence[str], counterfactual: str | None) -> list[dict]:
    out = styles(len(names))
    for i, n in enumerate(names):
        if n == counterfactual:
            out[i] = {"color": CF_COLOUR, "marker": "o", "ls": "-"}
    return out


def ce_plane(
    names: Sequence[str],
    effects,
    costs_krw,
    dominated: Sequence[str | None],
    frontier: Sequence[str],
    *,
    effect_label: str = "additional 5-year survivors",
    counterfactual: str | None = None,
    wtp_krw: float | None = None,
    draws_effect=None,
    draws_cost_krw=None,
    title: str | None = None,
) -> bytes:
    """The cost-effect plane: each option's expected effect (x) and public cost (y, bn KRW) against
    the counterfactual, the frontier joining its options from the cheapest, dominated options
    marked. ``draws_effect`` / ``draws_cost_krw`` (K x J): each posterior draw's point, faint, to
    show the spread; ``wtp_krw``: the planner's willingness to pay per unit of effect, drawn through
    the origin (options below that line are worth their cost at it)."""
    fig = Figure(figsize=(7.2, 6.4), layout="constrained")
    ax = fig.add_subplot()
    e, c = np.asarray(effects, float), np.asarray(costs_krw, float) / 1e9
    ok = np.isfinite(e) & np.isfinite(c)
    if not ok.any():
        _note(ax, "no option with a cost and an effect")
        return to_png(fig)
    st = _option_styles(names, counterfactual)
    if draws_effect is not None and draws_cost_krw is not None:
        de, dc = np.asarray(draws_effect, float), np.asarray(draws_cost_krw, float) / 1e9
        for j in range(len(names)):
            ax.scatter(de[:, j], dc[:, j], s=9, color=st[j]["color"], alpha=0.25, lw=0, zorder=1)
    index = {n: i for i, n in enumerate(names)}
    path = [index[n] for n in frontier if n in index]
    if len(path) >= 2:
        ax.plot(e[path], c[path], color="#222222", lw=1.6, zorder=2, label="efficient frontier")
    for j, n in enumerate(names):
        if not ok[j]:
            continue
        d = dominated[j]
        face = st[j]["color"] if d is None else "white"
        marker = "x" if d == "strongly" else st[j]["marker"]
        kw = (
            {"facecolors": face, "edgecolors": st[j]["color"]}
            if marker != "x"
            else {"color": st[j]["color"]}
        )
        ax.scatter(
            [e[j]],
            [c[j]],
            marker=marker,
            s=70,
            lw=1.6,
            alpha=0.45 if d == "strongly" else 1.0,
            zorder=3,
            label=f"{n} ({DOMINANCE_WORDS[d]})",
            **kw,
        )
    if wtp_krw is not None and math.isfinite(wtp_krw) and wtp_krw > 0:
        # the line of what is worth paying, within the options' own extent (a steep line would
        # otherwise set the scale and squash the options into a corner)
        ax.autoscale_view()
        (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
        xs = np.linspace(min(x0, 0.0), max(x1, 0.0), 200)
        ys = xs * wtp_krw / 1e9
        inside = (ys >= y0) & (ys <= y1)
        unit = effect_label.split()[-1].rstrip("s")  # "survivor", "job"
        ax.plot(
            np.where(inside, xs, np.nan),
            np.where(inside, ys, np.nan),
            color=GREY,
            lw=1.0,
            ls="--",
            zorder=1,
            label=f"worth paying at {wtp_krw / 1e6:,.0f} M KRW per {unit}",
        )
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
    ax.axhline(0, color=GREY, lw=0.6)
    ax.axvline(0, color=GREY, lw=0.6)
    ax.set_xlabel(f"{effect_label} against no programme (expected over the posterior)")
    ax.set_ylabel("extra public cost (bn KRW, cohort window)")
    ax.grid(alpha=0.25)
    fig.legend(*ax.get_legend_handles_labels(), fontsize=7, loc="outside lower center", ncol=2,
               frameon=False)
    ax.set_title(
        title or "Cost and effect of each option, and the efficient frontier",
        fontsize=11,
        loc="left",
    )
    return to_png(fig)


def acceptability(
    wtp_krw,
    probabilities: Mapping[str, Sequence[float]],
    *,
    best: Sequence[str] | None = None,
    counterfactual: str | None = None,
    planner_wtp_krw: float | None = None,
    effect_label: str = "additional 5-year survivor",
    floor: float = 0.05,
) -> bytes:
    """The acceptability curve: for each willingness to pay (x, M KRW per unit of effect), the
    probability over the posterior that each option has the highest net benefit. Options never above
    ``floor`` are named in the corner instead of drawn; ``best`` (one name per willingness to pay,
    the option with the highest expected net benefit) is drawn as the thick acceptability
    frontier."""
    fig = Figure(figsize=(7.2, 6.4), layout="constrained")
    ax = fig.add_subplot()
    x = np.asarray(wtp_krw, float) / 1e6
    names = list(probabilities)
    if not names or x.size == 0:
        _note(ax, "no option to compare")
        return to_png(fig)
    st = dict(zip(names, _option_styles(names, counterfactual), strict=True))
    hidden = []
    for n in names:
        p = np.asarray(probabilities[n], float)
        if not np.isfinite(p).any() or np.nanmax(p) < floor:
            hidden.append(n)
            continue
        ax.plot(
            x,
            p * 100,
            color=st[n]["color"],
            ls=st[n]["ls"],
            marker=st[n]["marker"],
            ms=3,
            markevery=max(len(x) // 10, 1),
            lw=1.3,
            label=n,
        )
        if best is not None:
            on = np.array([b == n for b in best])
            ax.plot(
                x,
                np.where(on, p * 100, np.nan),
                color=st[n]["color"],
                lw=6,
                alpha=0.3,
                solid_capstyle="butt",
            )
    if planner_wtp_krw is not None and math.isfinite(planner_wtp_krw):
        ax.axvline(planner_wtp_krw / 1e6, color=GREY, lw=1.0, ls="--")
        ax.text(
            planner_wtp_krw / 1e6,
            50,
            f"planner's {planner_wtp_krw / 1e6:,.0f} M KRW ",
            fontsize=7,
            color=GREY,
            rotation=90,
            ha="right",
            va="center",
        )
    if hidden:  # a text-only legend entry
        ax.plot([], [], ls="none",
                label=textwrap.fill(f"never above {floor:.0%}: " + ", ".join(hidden), 60))
    ax.set_ylim(0, 105)
    ax.set_xlim(float(x.min()), float(x.max()))
    ax.set_xlabel(f"willingness to pay (M KRW of public money per {effect_label})")
    ax.set_ylabel("probability of the highest net benefit (%)")
    ax.grid(alpha=0.25)
    fig.legend(*ax.get_legend_handles_labels(), fontsize=7, loc="outside lower center",
               ncol=2, frameon=False)
    title = "Which option is best, and how sure"
    ax.set_title(
        title + (" (thick: the choice by expected net benefit)" if best is not None else ""),
        fontsize=10,
        loc="left",
    )
    return to_png(fig)


def information_value(
    names: Sequence[str],
    values_krw,
    *,
    wtp_krw: float,
    evpi_krw: float | None = None,
    effect_label: str = "additional 5-year survivor",
) -> bytes:
    """Bars of what knowing each parameter exactly before choosing would be worth (EVPPI, KRW per
    decision at the planner's willingness to pay), largest first, with the value of knowing every
    parameter (EVPI) as a dashed line."""
    v = np.asarray(values_krw, float)
    order = [i for i in np.argsort(-np.nan_to_num(v, nan=-np.inf)) if np.isfinite(v[i])]
    fig = Figure(figsize=(9.5, 0.42 * max(len(order), 1) + 1.6), layout="constrained")
    ax = fig.add_subplot()
    top = max([float(v[i]) for i in order] + ([evpi_krw] if evpi_krw is not None else []) + [0.0])
    div, unit = krw_unit(top)
    if not order:
        _note(ax, "no parameter's value of information could be estimated")
    else:
        y = np.arange(len(order))[::-1]
        ax.barh(y, [v[i] / div for i in order], color="#1f77b4", height=0.6)
        for yy, i in zip(y, order, strict=True):
            ax.text(v[i] / div, yy, f" {v[i] / div:,.1f}", va="center", fontsize=8)
        ax.set_yticks(y)
        ax.set_yticklabels([names[i] for i in order], fontsize=8)
        if evpi_krw is not None and math.isfinite(evpi_krw):
            ax.axvline(
                evpi_krw / div,
                color=GREY,
                ls="--",
                lw=1.0,
                label=f"every parameter at once (EVPI): {evpi_krw / div:,.1f}",
            )
            ax.legend(fontsize=8, loc="lower right")
        ax.set_xlim(0, max(top / div, 1e-9) * 1.3)
        ax.grid(axis="x", alpha=0.25)
    ax.set_xlabel(f"expected value of knowing it exactly before choosing ({unit} per decision)")
    ax.set_title(
        f"What the missing evidence is worth, at {wtp_krw / 1e6:,.0f} M KRW per {effect_label}",
        fontsize=11,
        loc="left",
    )
    return to_png(fig)

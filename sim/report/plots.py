"""Report figures as PNG bytes (matplotlib, Agg canvas, no pyplot).

Every function takes plain numbers and returns the PNG as ``bytes``; the HTML renderer embeds
them as data URIs and the Markdown renderer writes them beside ``report.md``. NaN values are
skipped (a curve stops where it is undefined) rather than drawn as zero.

Text falls back from DejaVu Sans to NanumGothic (shipped by the ``koreanize-matplotlib`` package,
SIL Open Font License), so scenario, centre and region names in Hangul render instead of boxes.
Series are told apart by colour *and* marker and line style, so 14 scenarios stay distinguishable
(and readable in greyscale). Scales are linear: a log scale would hide the drop-offs the figures
are there to show.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

DPI = 100
GREY = "#666666"
CF_COLOUR = "#444444"
FONTS = ["DejaVu Sans", "NanumGothic"]
"""Font fallback list: Latin from DejaVu Sans, Hangul from NanumGothic."""
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">")
LINES = ("-", "--", "-.", ":")


def _register_fonts() -> None:
    """Register the NanumGothic files the package ships, without importing it (its import would
    change matplotlib's global settings)."""
    import contextlib
    import importlib.util
    from pathlib import Path

    from matplotlib import font_manager

    # without the font, Hangul shows as boxes; nothing else breaks
    with contextlib.suppress(Exception):
        spec = importlib.util.find_spec("koreanize_matplotlib")
        fonts = Path(next(iter(spec.submodule_search_locations))) / "fonts"
        for name in ("NanumGothic.ttf", "NanumGothicBold.ttf"):
            font_manager.fontManager.addfont(str(fonts / name))


_register_fonts()


def colours(n: int) -> list:
    """``n`` colours (tab10, repeating: pair them with :func:`styles`' markers for more than 10)."""
    cmap = colormaps["tab10"]
    return [cmap(i % cmap.N) for i in range(n)]


def styles(n: int) -> list[dict]:
    """``n`` distinguishable series styles: colour, marker and line style all vary."""
    cols = colours(n)
    return [
        {"color": cols[i], "marker": MARKERS[i % len(MARKERS)], "ls": LINES[(i // 10) % len(LINES)]}
        for i in range(n)
    ]


def to_png(fig: Figure) -> bytes:
    """The figure as PNG bytes, with the Hangul-capable font fallback."""
    import matplotlib

    with matplotlib.rc_context({"font.family": FONTS}):
        for text in fig.findobj(lambda o: hasattr(o, "set_fontfamily")):
            text.set_fontfamily(FONTS)
        FigureCanvasAgg(fig)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


def _empty(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color=GREY, wrap=True)
    ax.set_xticks([])
    ax.set_yticks([])


def km_panels(panels: Sequence[dict], *, xlabel: str = "firm age (years)", ncols: int = 3) -> bytes:
    """Small multiples of survival curves with confidence bands.

    Each panel is ``{"title": str, "curves": [{"label", "x", "s", "lo", "hi", "colour"}]}``
    (x in years, survival as shares).
    """
    n = max(len(panels), 1)
    ncols = min(ncols, n)
    nrows = math.ceil(n / ncols)
    width, height = 4.2 * ncols, 3.2 * nrows
    fig = Figure(figsize=(width, height))
    # a fixed grid (margins in inches): the panels are alike, and constrained layout would double
    # the
    # time this figure takes to draw (it is the report's largest)
    fig.subplots_adjust(
        left=0.7 / width,
        right=1 - 0.15 / width,
        bottom=0.55 / height,
        top=1 - 0.3 / height,
        wspace=0.08,
        hspace=0.28,
    )
    axes = fig.subplots(nrows, ncols, squeeze=False, sharex=True, sharey=True)
    for k, ax in enumerate(axes.flat):
        if k >= len(panels):
            ax.set_visible(False)
            continue
        p = panels[k]
        drawn = False
        for c in p["curves"]:
            s = np.asarray(c["s"], float)
            if not np.isfinite(s).any():
                continue
            x = np.asarray(c["x"], float)
            ax.step(x, s * 100, where="post", color=c["colour"], lw=1.4, label=c["label"])
            lo, hi = np.asarray(c["lo"], float), np.asarray(c["hi"], float)
            band = np.isfinite(lo) & np.isfinite(hi)
            if band.any():
                ax.fill_between(
                    x,
                    lo * 100,
                    hi * 100,
                    where=band,
                    step="post",
                    color=c["colour"],
                    alpha=0.2,
                    lw=0,
                )
            drawn = True
        if not drawn:
            _empty(ax, "no start-up table kept")
        for yr in (1, 3, 5):
            ax.axvline(yr, color=GREY, lw=0.5, ls=":")
        ax.set_title(p["title"], fontsize=9, loc="left")
        ax.grid(alpha=0.25)
        if drawn:
            ax.legend(fontsize=7, loc="upper right")
    for k, ax in enumerate(axes.flat):
        if k < len(panels) and k + ncols >= len(panels):  # the lowest panel of its column
            ax.xaxis.set_tick_params(labelbottom=True)
            ax.set_xlabel(xlabel)
    for ax in axes[:, 0]:
        ax.set_ylabel("alive (%)")
    return to_png(fig)


def hazard(series: Sequence[dict], *, xlabel: str = "firm age (years)") -> bytes:
    """Death rates by age band: ``[{"label", "edges" (years), "rate" (per firm-year), "colour",
    "bold"}]``."""
    fig = Figure(figsize=(8, 4.2), layout="constrained")
    ax = fig.add_subplot()
    drawn = False
    for s in series:
        rate = np.asarray(s["rate"], float) * 100
        if not np.isfinite(rate).any():
            continue
        edges = np.asarray(s["edges"], float)
        ax.stairs(
            np.where(np.isfinite(rate), rate, np.nan),
            edges,
            baseline=None,
            color=s["colour"],
            ls=s.get("ls", "-"),
            lw=2.2 if s.get("bold") else 1.0,
            alpha=1.0 if s.get("bold") else 0.6,
            label=s["label"],
        )
        drawn = True
    if not drawn:
        _empty(ax, "no start-up table kept")
    else:
        ax.legend(fontsize=7, ncol=2)
        ax.set_ylim(bottom=0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("deaths per 100 firm-years at risk")
    ax.grid(alpha=0.25)
    ax.set_title("The death valley: how often start-ups die at each age", fontsize=11, loc="left")
    return to_png(fig)


def funnel(stages: Sequence[str], series: Sequence[tuple[str, Sequence[float]]]) -> bytes:
    """Horizontal grouped bars: one group per stage, one bar per scenario, counts annotated."""
    fig = Figure(figsize=(8, 0.3 * len(stages) * max(len(series), 1) + 1.5), layout="constrained")
    ax = fig.add_subplot()
    k = max(len(series), 1)
    height = 0.8 / k
    cols = colours(k)
    y0 = np.arange(len(stages))[::-1].astype(float)
    top = 0.0
    for i, (label, values) in enumerate(series):
        v = np.asarray(values, float)
        y = y0 + 0.4 - height * (i + 0.5)
        ax.barh(y, np.nan_to_num(v), height=height * 0.95, color=cols[i], label=label)
        for yy, vv in zip(y, v, strict=True):
            ax.text(vv if np.isfinite(vv) else 0, yy, f" {vv:,.0f}" if np.isfinite(vv) else " n/a",
                    va="center", fontsize=7)
        if np.isfinite(v).any():
            top = max(top, float(np.nanmax(v)))
    ax.set_yticks(y0)
    ax.set_yticklabels(stages)
    ax.set_xlim(0, max(top, 10) * 1.25)  # linear: the drop from one step to the next is the point
    ax.set_xlabel("start-ups")
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(axis="x", alpha=0.25)
    ax.set_title("From founding to exit: how many start-ups reach each "
                 "step", fontsize=11, loc="left")
    return to_png(fig)


def heatmap(
    rows: Sequence[str],
    cols: Sequence[str],
    values,
    *,
    title: str,
    unit: str,
    fmt: str = "{:+.1f}",
    diverging: bool = True,
) -> bytes:
    """A labelled matrix (regions x scenarios); NaN cells are left blank and marked n/a."""
    m = (
        np.asarray(values, float).reshape(len(rows), len(cols))
        if len(rows) and len(cols)
        else np.zeros((0, 0))
    )
    fig = Figure(
        figsize=(max(6.0, 0.75 * len(cols) + 3), 0.36 * len(rows) + 2.4), layout="constrained"
    )
    ax = fig.add_subplot()
    if m.size == 0 or not np.isfinite(m).any():
        _empty(ax, "nothing to compare")
        ax.set_title(title, fontsize=11, loc="left")
        return to_png(fig)
    finite = m[np.isfinite(m)]
    if diverging:
        lim = float(np.max(np.abs(finite))) or 1.0
        im = ax.imshow(np.ma.masked_invalid(m), cmap="RdBu", vmin=-lim, vmax=lim, aspect="auto")
    else:
        im = ax.imshow(np.ma.masked_invalid(m), cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(cols)))
    ax.set_xticklabels(cols, rotation=40, ha="right", fontsize=8)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(rows, fontsize=8)
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            v = m[i, j]
            ax.text(
                j,
                i,
                fmt.format(v) if np.isfinite(v) else "n/a",
                ha="center",
                va="center",
                fontsize=6.5,
            )
    cb = fig.colorbar(im, ax=ax, shrink=0.8)
    cb.set_label(unit)
    ax.set_title(title, fontsize=11, loc="left")
    return to_png(fig)


def gap(labels: Sequence[str], effect, selection, population) -> bytes:
    """The published-style gap split into the programme's effect and selection, beside the effect on
    all."""
    n = max(len(labels), 1)
    fig = Figure(figsize=(8, 0.5 * n + 1.8), layout="constrained")
    ax = fig.add_subplot()
    e = np.asarray(effect, float) * 100
    s = np.asarray(selection, float) * 100
    p = np.asarray(population, float) * 100
    y = np.arange(len(labels))[::-1].astype(float)
    if len(labels) == 0 or not (np.isfinite(e).any() or np.isfinite(s).any()):
        _empty(ax, "no supported start-ups to compare")
    else:
        h = 0.38
        ax.barh(y + h / 2, np.nan_to_num(e), height=h, color="#2ca02c", label="programme's effect "
                                                                              "on the supported "
                                                                              "firms")
        ax.barh(
            y + h / 2,
            np.nan_to_num(s),
            left=np.where(np.nan_to_num(s) * np.nan_to_num(e) > 0, np.nan_to_num(e), 0),
            height=h,
            color="#bbbbbb",
            label="selection and head start (not caused by the programme)",
        )
        ax.barh(y - h / 2, np.nan_to_num(p), height=h, color="#1f77b4", label="effect on all "
                                                                              "start-ups (causal)")
        ax.axvline(0, color=GREY, lw=0.8)
        ax.set_yticks(y)
        ax.set_yticklabels(labels)
        ax.legend(fontsize=8, loc="lower right")
        ax.grid(axis="x", alpha=0.25)
    ax.set_xlabel("percentage points of 5-year survival")
    ax.set_title("Why supported start-ups look better: effect versus "
                 "selection", fontsize=11, loc="left")
    return to_png(fig)


def curve_differences(series: Sequence[dict], *, title: str, xlabel: str = "firm age "
                                                                           "(years)") -> bytes:
    """Differences in percentage points with their 95% CIs: ``[{"label", "x", "d", "lo", "hi"}]``
    (shares)."""
    fig = Figure(figsize=(9.5, 4.6), layout="constrained")
    ax = fig.add_subplot()
    drawn = False
    n = len(series)
    for i, (s, st) in enumerate(zip(series, styles(n), strict=True)):
        d = np.asarray(s["d"], float) * 100
        if not np.isfinite(d).any():
            continue
        # a little apart, so bars show
        x = np.asarray(s["x"], float) + 0.35 * (i - (n - 1) / 2) / max(n, 1)
        lo, hi = np.asarray(s["lo"], float) * 100, np.asarray(s["hi"], float) * 100
        err = np.vstack(
            [np.where(np.isfinite(lo), d - lo, 0), np.where(np.isfinite(hi), hi - d, 0)]
        )
        ax.errorbar(
            x,
            d,
            yerr=err,
            color=st["color"],
            marker=st["marker"],
            ls=st["ls"],
            lw=1.2,
            ms=4,
            capsize=2,
            label=s["label"],
        )
        drawn = True
    if drawn:
        ax.axhline(0, color=GREY, lw=0.8, ls="--")
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    else:
        _empty(ax, "no curve to compare")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("percentage points")
    ax.grid(alpha=0.25)
    ax.set_title(title, fontsize=11, loc="left")
    return to_png(fig)


def yearly_panels(panels: Sequence[dict], data_end: float | None = None) -> bytes:
    """Small multiples of yearly series against published figures.

    Each panel is ``{"title": str, "unit": str, "scale": float, "lines": [{"label", "years",
    "mean", "low", "high"}], "points": [{"year", "value", "check"}]}``: each scenario's mean by
    year (its replications' range as a band), the published figures as black markers (hollow for a
    check point, a figure reported but not fitted). ``data_end``: the last year of data, after
    which a dotted line marks the years the calendar extrapolates.
    """
    n = max(len(panels), 1)
    width, height = 4.3 * n, 3.4
    fig = Figure(figsize=(width, height))
    fig.subplots_adjust(left=0.7 / width, right=1 - 0.15 / width, bottom=0.95 / height,
                        top=1 - 0.35 / height, wspace=0.28)
    axes = fig.subplots(1, n, squeeze=False)[0]
    for ax, p in zip(axes, panels, strict=False):
        sty = styles(len(p["lines"]))
        scale = p.get("scale", 1.0)
        for st, line in zip(sty, p["lines"], strict=True):
            x = np.asarray(line["years"], float)
            ax.plot(x, np.asarray(line["mean"], float) * scale, color=st["color"],
                    marker=st["marker"], ls=st["ls"], ms=3.5, lw=1.3, label=line["label"])
            ax.fill_between(x, np.asarray(line["low"], float) * scale,
                            np.asarray(line["high"], float) * scale, color=st["color"], alpha=0.15,
                            lw=0)
        pts = p.get("points") or []
        for check in (False, True):
            sel = [q for q in pts if bool(q["check"]) == check]
            if sel:
                ax.scatter([q["year"] for q in sel], [q["value"] * scale for q in sel], s=36,
                           marker="o", facecolors="none" if check else "black",
                           edgecolors="black", zorder=5,
                           label="published (check point)" if check else "published")
        if data_end is not None:
            ax.axvline(data_end + 0.5, color=GREY, lw=0.8, ls=":")
            ax.annotate("venture money past the data", (data_end + 0.5, 1),
                        xycoords=("data", "axes fraction"),
                        xytext=(3, -10), textcoords="offset points", fontsize=7, color=GREY)
        ax.set_title(p["title"], fontsize=9, loc="left")
        ax.set_ylabel(p.get("unit", ""))
        ax.set_xlabel("calendar year")
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.25)
        if not p["lines"] and not pts:
            _empty(ax, "no yearly ledger")
    handles, labels = axes[0].get_legend_handles_labels()
    for ax in axes[1:]:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    if handles:
        fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 5), fontsize=7,
                   frameon=False)
    return to_png(fig)


def timeline(rows: Sequence[dict], start: float, end: float) -> bytes:
    """When each scenario's dated changes take effect: one line per scenario from ``start`` to
    ``end`` (decimal years), a marker at each month it changes something, with how many changes.

    ``rows``: ``[{"label", "months": [decimal years], "counts": [changes at each]}]``.
    """
    n = max(len(rows), 1)
    width, height = 11.0, 0.9 + 0.38 * n
    fig = Figure(figsize=(width, height))
    fig.subplots_adjust(left=2.3 / width, right=1 - 0.2 / width, bottom=0.55 / height,
                        top=1 - 0.15 / height)
    ax = fig.subplots()
    sty = styles(n)
    for i, (st, r) in enumerate(zip(sty, rows, strict=True)):
        y = n - 1 - i
        ax.hlines(y, start, end, color=GREY, lw=0.6)
        ax.scatter(r["months"], [y] * len(r["months"]), color=st["color"], marker=st["marker"],
                   s=30, zorder=3)
        for x, c in zip(r["months"], r["counts"], strict=True):
            ax.annotate(str(c), (x, y), xytext=(0, 5), textcoords="offset points", fontsize=7,
                        ha="center", color=GREY)
    ax.set_yticks(range(n))
    ax.set_yticklabels([r["label"] for r in rows][::-1], fontsize=8)
    ax.set_xlim(start, end)
    ax.set_ylim(-0.6, n - 0.2)
    ax.set_xlabel("calendar year (a marker: the month a scenario's dated changes take effect; "
                  "the number: how many)", fontsize=8)
    ax.grid(axis="x", alpha=0.25)
    return to_png(fig)

"""From per-replication metrics to summary.json: means with CIs, paired comparisons, Holm.

Input is the replications table as columns (``scenario``, ``replication`` and one column per
metric); output is plain data::

    {"scenarios": {NAME: {"replications": N,
                          "metrics": {METRIC: {"mean", "ci_low", "ci_high", ...}}}},
     "comparisons": [{"scenario", "reference", "metric", "diff", "ci_low", "ci_high",
                      "p_value", "p_adjusted"}, ...]}

Comparisons pair replication r of the scenario with replication r of the reference (common
random numbers); p-values are Holm-adjusted per metric across all comparisons made.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

from ..files import json_clean
from .metrics import METRICS, why_undefined
from .stats import holm, paired_difference, replications_needed, summarize

COMPARED = ("survival_1y", "survival_3y", "survival_5y", "survivors_5y", "supported", "acquired",
            "crossed_valley", "alive_end", "jobs_end", "private_investment_krw",
            "equity_raised_krw",
            "debt_raised_krw", "bridge_rounds", "partner_investment_krw", "grants_krw",
            "programme_cost_krw",
            "public_cost_krw", "funds_public_cost_krw", "cohort_public_cost_krw", "cohort_jobs_end",
            "never_supported_survivors_5y", "never_supported_equity_krw",
            "displacement_survivors_5y",
            "displacement_equity_krw", "education_startups", "education_survivors_5y")
"""Metrics compared between scenarios (the others are descriptive)."""

INPUTS = frozenset({"private_investment_krw", "equity_raised_krw", "debt_raised_krw",
                    "bridge_rounds"})
"""Compared metrics that are inputs, not benefits (money investors and lenders put in; distress
rounds): no direction is better, so their comparisons carry no ``prob_better``."""

NEVER_SUPPORTED = {"never_supported_effect_survivors_5y": ("never_supported_survivors_5y",
                                                           "supported_survivors_5y_alone"),
                   "never_supported_effect_equity_krw": ("never_supported_equity_krw",
                                                         "supported_equity_krw_alone")}
"""The programme's effect on the start-ups it never supported, against a world without any
programme: the never-supported firms' survivors (venture money) with the programme, minus the same
firms' without it, which is everyone's in the reference less what the supported firms would have had
alone. Compared only against references where nobody is supported; negative means displacement,
positive spillover."""


def _never_supported(data: dict, sc: str, ref: str) -> dict | None:
    """Paired series for the effect on the never-supported of ``sc`` against ``ref`` (see
    NEVER_SUPPORTED), as two scenario-like dicts whose difference is the effect; None when ``ref``
    supports anyone."""
    a, b = data[sc], data[ref]
    if "supported" not in b or np.any(np.asarray(b["supported"], float) != 0):
        return None
    if any(k not in a or k not in b for pair in NEVER_SUPPORTED.values() for k in pair):
        return None
    left = {"replication": a["replication"], **{m: np.asarray(a[ns], float)
                                               + np.asarray(a[alone], float)
                                               for m, (ns, alone) in NEVER_SUPPORTED.items()}}
    right = {"replication": b["replication"],
             **{m: np.asarray(b[ns], float) for m, (ns, _) in NEVER_SUPPORTED.items()}}
    return {"a": left, "b": right}


def by_scenario(columns: dict[str,
                              Sequence], scenarios: Iterable[str]) -> dict[str,
                                                                           dict[str, np.ndarray]]:
    """Split the replications table into per-scenario arrays sorted by replication."""
    names = np.asarray(columns["scenario"], dtype=object)
    reps = np.asarray(columns["replication"])
    out = {}
    for sc in scenarios:
        mask = names == sc
        order = np.argsort(reps[mask], kind="stable")
        out[sc] = {k: np.asarray(v)[mask][order] for k, v in columns.items() if k != "scenario"}
    return out


def paired_series(a: dict[str, np.ndarray], b: dict[str, np.ndarray],
                  metric: str) -> tuple[np.ndarray, np.ndarray]:
    """The replications both scenarios have, and the per-replication differences ``a - b`` of
    ``metric``."""
    common, ia, ib = np.intersect1d(a["replication"], b["replication"], return_indices=True)
    return np.asarray(common,
                      int), np.asarray(a[metric], float)[ia] - np.asarray(b[metric], float)[ib]


def _paired(a: dict[str, np.ndarray], b: dict[str, np.ndarray], metric: str) -> dict:
    _, ia, ib = np.intersect1d(a["replication"], b["replication"], return_indices=True)
    return paired_difference(np.asarray(a[metric], float)[ia], np.asarray(b[metric], float)[ib])


def draw_means(reps: np.ndarray, values: np.ndarray, draws: int) -> np.ndarray:
    """Mean of ``values`` over the replications of each posterior draw (replication r ran with draw
    r mod ``draws``): one entry per draw, NaN for a draw no replication ran."""
    g = np.asarray(reps, int) % draws
    return np.array([values[g == i].mean() if np.any(g == i) else np.nan for i in range(draws)])


def spread_interval(means: np.ndarray) -> tuple[float, float]:
    """The central 90 % of per-draw values: their quantiles from 20 draws on, else mean +- 1.645
    SD."""
    means = np.asarray(means, float)
    if len(means) >= 20:
        lo, hi = np.quantile(means, [0.05, 0.95])
        return float(lo), float(hi)
    centre, half = float(means.mean()), 1.6449 * math.sqrt(float(np.var(means, ddof=1)))
    return centre - half, centre + half


def cost_per_survivor_by_draw(a: dict[str, np.ndarray], b: dict[str, np.ndarray],
                              draws: int) -> np.ndarray:
    """Public cost of the cohort window per additional 5-year survivor of ``a`` against ``b``, in
    each posterior draw (the ratio of the draw's mean differences): inf where ``a`` adds no
    survivor, NaN for a draw no replication ran."""
    cost = "cohort_public_cost_krw" if "cohort_public_cost_krw" in a else "programme_cost_krw"
    reps, dc = paired_series(a, b, cost)
    _, ds = paired_series(a, b, "survivors_5y")
    num, den = draw_means(reps, dc, draws), draw_means(reps, ds, draws)
    ratio = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.inf)
    return np.where(np.isnan(den), np.nan, ratio)


BETTER_LOWER = frozenset({"programme_cost_krw", "public_cost_krw", "cohort_public_cost_krw",
                          "grants_krw", "funds_public_cost_krw"})
"""Compared metrics where less is better (costs); for every other one more is better."""


def over_draws(reps: np.ndarray, diffs: np.ndarray, draws: int,
               lower_is_better: bool = False) -> dict:
    """A paired difference over posterior draws (replication ``r`` ran with draw ``r mod draws``).

    - ``mc_half_width``: 95 % half-width of the mean from simulation noise alone (the pooled spread
      of replications within a draw): what more replications at these draws would shrink. With one
      replication per draw the noise cannot be told apart from the draws' spread, and it is the
      half-width over all replications (``separated`` is then False).
    - ``param_low`` / ``param_high``: the central 90 % interval over parameter uncertainty, from the
      draws' mean differences: their quantiles with 20 or more draws, else mean +- 1.645 SD of a
      normal spread. A draw's mean carries its replications' noise, so the interval is a little
      wide, never narrow.
    - ``param_sd``: the spread between draws with the replications' noise taken out (0 when it is
      not distinguishable from the noise), for saying which uncertainty dominates.
    - ``prob_better``: the share of draws in which the variant does better than the reference (a
      tie counts half): the posterior probability that it is better, given the model.
    """
    ok = np.isfinite(diffs)
    reps, diffs = np.asarray(reps)[ok], diffs[ok]
    out = {"draws": draws, "mc_half_width": None, "param_low": None, "param_high": None,
           "param_sd": None, "prob_better": None, "separated": False}
    if not diffs.size:
        return out
    k = reps % draws
    ids = np.unique(k)
    groups = [diffs[k == i] for i in ids]
    means = np.array([g.mean() for g in groups])
    dof = sum(len(g) - 1 for g in groups)
    spread = float(np.var(means, ddof=1)) if len(means) > 1 else 0.0
    if dof > 0:
        within = sum(float(np.sum((g - g.mean()) ** 2)) for g in groups) / dof
        from scipy import stats as st

        out["mc_half_width"] = float(st.t.ppf(0.975, dof) * math.sqrt(within / diffs.size))
        spread = max(spread - within * float(np.mean([1.0 / len(g) for g in groups])), 0.0)
        out["separated"] = True
    else:
        out["mc_half_width"] = summarize(diffs)["half_width"]
    if len(means) < 2:  # one parameter set: nothing to say about parameter uncertainty
        return out
    out["param_sd"] = math.sqrt(spread)
    out["param_low"], out["param_high"] = spread_interval(means)
    better = -means if lower_is_better else means
    out["prob_better"] = float((np.sum(better > 0) + 0.5 * np.sum(better == 0)) / len(means))
    return out


def build_summary(columns: dict[str, Sequence], scenarios: Sequence[str],
                  comparisons: Sequence[tuple[str, str]] = (), draws: int | None = None,
                  varied: Iterable[str] | None = None) -> dict:
    """summary.json's content. ``draws``: the replications ran over that many posterior draws, and
    each comparison also gets its parameter uncertainty (:func:`over_draws`). ``varied``: the
    scenarios the draws changed (default all); a comparison of two scenarios neither of which they
    changed ran at the same parameters in every replication, so it gets no parameter uncertainty
    (its spread over draws would be simulation noise)."""
    varied = set(scenarios if varied is None else varied)
    data = by_scenario(columns, scenarios)
    summary: dict = {"scenarios": {}, "comparisons": []}
    for sc in scenarios:
        d = data[sc]
        metrics = {}
        for m in METRICS:
            if m in d:
                metrics[m] = {k: json_clean(v)
                              for k, v in summarize(np.asarray(d[m], dtype=float)).items()}
        # metrics undefined in every replication (null above), each with the reason
        undefined = {m: why_undefined(m) for m, v in metrics.items() if not v.get("n")}
        summary["scenarios"][sc] = {"replications": int(len(d["replication"])), "metrics": metrics,
                                    "undefined": undefined}
    rows = []
    for sc, ref in comparisons:
        if sc == ref or sc not in data or ref not in data:
            continue
        for m in COMPARED:
            if m not in data[sc] or m not in data[ref]:
                continue
            res = _paired(data[sc], data[ref], m)
            row = {"scenario": sc, "reference": ref, "metric": m, **res,
                   "mc_half_width": res.get("half_width"), "param_low": None, "param_high": None,
                   "prob_better": None}
            if draws and (sc in varied or ref in varied):
                row.update(over_draws(*paired_series(data[sc], data[ref], m), draws,
                                      m in BETTER_LOWER))
            if m in INPUTS:
                row["prob_better"] = None
            rows.append(row)
        pair = _never_supported(data, sc, ref)
        for m in NEVER_SUPPORTED if pair else ():
            res = _paired(pair["a"], pair["b"], m)
            row = {"scenario": sc, "reference": ref, "metric": m, **res,
                   "mc_half_width": res.get("half_width"), "param_low": None, "param_high": None,
                   "prob_better": None}
            if draws:
                row.update(over_draws(*paired_series(pair["a"], pair["b"], m), draws))
            if m.endswith("_krw"):  # money raised is an input: no direction is better
                row["prob_better"] = None
            rows.append(row)
    for m in {r["metric"] for r in rows}:
        idx = [i for i, r in enumerate(rows) if r["metric"] == m]
        adj = holm([rows[i]["p_value"] for i in idx])
        for i, p in zip(idx, adj, strict=True):
            rows[i]["p_adjusted"] = p
    summary["comparisons"] = [{k: json_clean(v) for k, v in r.items()} for r in rows]
    return summary


def targeted_series(columns: dict[str, Sequence], scenarios: Sequence[str],
                    comparisons: Sequence[tuple[str, str]],
                    metric: str = "survival_5y") -> dict[str, np.ndarray]:
    """The per-replication series whose CI --precision targets.

    In a comparison the question is the difference, so only the paired differences count (with
    common random numbers they need far fewer replications than each scenario's own level);
    without comparisons, each scenario's level.
    """
    data = by_scenario(columns, scenarios)
    out = {}
    if not any(sc != ref for sc, ref in comparisons):
        for sc in scenarios:
            out[sc] = np.asarray(data[sc][metric], float)
    for sc, ref in comparisons:
        if sc != ref:
            out[f"{sc} - {ref}"] = paired_series(data[sc], data[ref], metric)[1]
    return out


def half_widths(columns: dict[str, Sequence], scenarios: Sequence[str],
                comparisons: Sequence[tuple[str, str]],
                metric: str = "survival_5y") -> dict[str, float]:
    """95 % CI half-widths of the series --precision targets (:func:`targeted_series`)."""
    return {k: summarize(x)["half_width"]
            for k, x in targeted_series(columns, scenarios, comparisons, metric).items()}


def replications_for(columns: dict[str, Sequence], scenarios: Sequence[str],
                     comparisons: Sequence[tuple[str, str]], target: float,
                     metric: str = "survival_5y") -> int | None:
    """Total replications every targeted series needs for a half-width of at most ``target``
    (:func:`stats.replications_needed` on each, the largest); None if a series has too few
    finite values to estimate its spread."""
    needed = 0
    for x in targeted_series(columns, scenarios, comparisons, metric).values():
        try:
            needed = max(needed, replications_needed(x, target))
        except ValueError:
            return None
    return needed


def precision_target(diff: float) -> float:
    """The half-width a survival difference should have: a tenth of it, or 0.1 point under 1
    point."""
    return 0.1 * abs(diff) if abs(diff) >= 0.01 else 0.001


def precision_check(summary: dict, comparisons, metric: str = "survival_5y") -> list[dict]:
    """Each comparison's difference, 95% CI half-width, target and whether it is met (None:
    undefined)."""
    rows = []
    for sc, ref in comparisons:
        r = next((c for c in summary.get("comparisons", []) if c.get("scenario") == sc
                  and c.get("reference") == ref and c.get("metric") == metric), None)
        if r is None:
            continue
        d, hw = r.get("diff"), r.get("half_width")
        ok = all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
                 for x in (d, hw))
        target = precision_target(d) if ok else math.nan
        rows.append({"scenario": sc, "reference": ref, "diff": d, "half_width": hw,
                     "target": target, "met": (hw <= target) if ok else None})
    return rows

"""The decision block of a comparison's summary.json, as plain data.

:func:`decision_block` takes what a comparison folder holds (the replications table, the number of
posterior draws, each draw's parameter values from the manifest) and returns the frontier, the
acceptability curve, EVPI (plain and with simulation noise removed), EVPPI per parameter and the
robust scores at the planner's willingness to pay, in the layout documented in docs/decision.md and
docs/data-dictionary.md. :func:`compare_decision` is what every comparison calls when it writes
summary.json (:meth:`sim.experiment.runner.Runner.summary`); :func:`decision_view` is what its
report reads (the block, at another willingness to pay when ``report --wtp`` asks for one, with
each draw's point for the cost-effect plane). Nothing here runs the model or writes a file.

EVPPI is estimated only for the posterior parameters the draws actually set in some option of the
comparison (a key every option holds at its own value is not uncertain here, whatever the posterior
says), and only with :data:`~sim.analysis.voi.MIN_DRAWS_REGRESSION` draws or more: with fewer, the
block says why and which command gives it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ..files import json_clean
from . import robust, voi
from .decision import ceac, ceaf, draw_table, evpi, frontier, wtp_grid

EVPPI_COMMAND = "python run_sim.py compare --draws 40 -n 80"
"""The comparison that gives usable EVPPI for the policy library (docs/decision.md argues the
numbers: 40 draws for the regression, two replications per draw to tell simulation noise apart)."""
ALL_PARAMETERS = "all parameters"
"""The EVPPI entry of every posterior parameter jointly (the regression estimate of EVPI)."""


def planner_wtp(
    cost: np.ndarray, effect: np.ndarray, options: Sequence[str], baseline: str | None
) -> tuple[float | None, str]:
    """The willingness to pay to read the decision at when the planner names none: what the baseline
    (the programme as announced) pays per additional unit of effect, with the reason; None when it
    adds nothing."""
    if baseline in options:
        j = list(options).index(baseline)
        if effect[j] > 0 and cost[j] > 0:
            return float(cost[j] / effect[j]), f"the public cost per additional unit of {baseline}"
    return None, "none given"


def why_no_evppi(draws: int, parameters: int = 1) -> str:
    """Why a comparison has no EVPPI, in words a planner can act on (with the command that gives
    it)."""
    if draws <= 1:
        return ("EVPPI needs posterior draws; this comparison ran at the scenarios' own values "
                "(--fixed), so nothing is uncertain here but simulation noise. For EVPPI, rerun it "
                f"over the posterior with --draws 40 -n 80 ({EVPPI_COMMAND} for the library)")
    if parameters == 0:
        return ("the posterior draws changed no parameter of this comparison's options (each "
                "option holds its own value of every posterior key), so no parameter is uncertain "
                "here")
    return (f"EVPPI needs at least {voi.MIN_DRAWS_REGRESSION} posterior draws for its regression "
            f"(this comparison has {draws}); rerun it with --draws 40 -n 80 ({EVPPI_COMMAND} for "
            "the library)")


def decision_block(
    columns: Mapping[str, Sequence],
    scenarios: Sequence[str],
    counterfactual: str,
    draws: int | None = None,
    parameters: Mapping[str, Sequence[float]] | None = None,
    wtp_krw: float | None = None,
    baseline: str | None = None,
    outcome: str = "survivors",
    points: int = 41,
) -> dict:
    """``summary.json``'s ``decision``: see docs/decision.md for every key. ``parameters``: each
    posterior parameter's value in each draw (the manifest's ``draws.keys`` and ``values``)."""
    t = draw_table(columns, scenarios, counterfactual, draws, outcome)
    effect, cost = t.expected()
    fr = frontier(cost, effect)
    source = "given"
    if wtp_krw is None:
        wtp_krw, source = planner_wtp(cost, effect, t.options, baseline)
    grid = wtp_grid(fr.icer, points, include=[wtp_krw] if wtp_krw is not None else [])
    if wtp_krw is None:
        wtp_krw, source = float(grid[len(grid) // 2]), "the middle of the grid"
    nb = t.net_benefit(grid)
    probs = ceac(nb)
    best, _ = ceaf(nb)
    varying = {
        k: np.asarray(v, float)
        for k, v in (parameters or {}).items()
        if len(v) == t.draws and np.ptp(np.asarray(v, float)) > 0
    }
    evppi = None
    if varying and t.draws >= voi.MIN_DRAWS_REGRESSION:
        evppi = voi.evppi(t, varying, grid, groups={ALL_PARAMETERS: list(varying)})
        # the EVPI less the noise is the EVPPI of all parameters jointly (evpi_corrected's
        # regression, which it would choose here): the same fit, made once
        corrected, method = evppi[ALL_PARAMETERS], "regression"
    else:
        corrected, method = voi.evpi_corrected(t, grid, varying)
    at = int(np.argmin(np.abs(grid - wtp_krw)))
    share = voi.noise_share(t, grid)
    options = [
        {
            "scenario": n,
            "cost_krw": float(cost[j]),
            "effect": float(effect[j]),
            "icer_krw": fr.icer[j],
            "dominated": fr.dominated[j],
        }
        for j, n in enumerate(t.options)
    ]
    return json_clean(
        {
            "outcome": t.outcome,
            "cost": t.cost_metric,
            "counterfactual": counterfactual,
            "draws": t.draws,
            "replications_per_draw": t.replications.tolist(),
            "options": options,
            "frontier": [t.options[i] for i in fr.order],
            "wtp_krw": wtp_krw,
            "wtp_source": source,
            "wtp_grid_krw": grid.tolist(),
            "ceac": {n: probs[:, j].tolist() for j, n in enumerate(t.options)},
            "best": [t.options[i] for i in best],
            "best_at_wtp": t.options[int(best[at])],
            "evpi_krw": corrected.tolist(),
            "evpi_raw_krw": evpi(nb).tolist(),
            "evpi_method": method,
            "noise_share": None if share is None else share.tolist(),
            "evppi_krw": None if evppi is None else {k: v.tolist() for k, v in evppi.items()},
            "evppi_null_krw": None if evppi is None else voi.evppi_null(t, grid).tolist(),
            "evppi_parameters": sorted(varying),
            "evppi_why_not": None if evppi is not None else why_no_evppi(t.draws, len(varying)),
            "robust": robust.robust_table(nb[at], t.options),
        }
    )


def draw_parameters(
    draws: Mapping | None, applied: Mapping[str, Sequence[str]], options: Sequence[str]
) -> dict[str, list[float]]:
    """Each posterior parameter the draws set in some option of ``options`` (``applied``: scenario
    -> the keys its draws set), with its value in each draw (``draws``: the manifest's ``draws``
    entry, ``keys`` and ``values``; None at fixed values)."""
    if not draws:
        return {}
    used = {k for n in options for k in applied.get(n, ())}
    keys = list(draws.get("keys") or ())
    return {k: [float(row[i]) for row in draws["values"]] for i, k in enumerate(keys) if k in used}


def compare_decision(
    columns: Mapping[str, Sequence],
    scenarios: Sequence[str],
    counterfactual: str,
    *,
    baseline: str | None = None,
    draws: Mapping | None = None,
    applied: Mapping[str, Sequence[str]] | None = None,
    wtp_krw: float | None = None,
    outcome: str = "survivors",
) -> dict:
    """A comparison's ``decision`` block from its replications table and its manifest's facts
    (``draws``: the manifest's ``draws`` entry; ``applied``: scenario -> the posterior keys its
    draws set). EVPPI is estimated for the applied keys of the options other than the
    counterfactual only."""
    others = [n for n in scenarios if n != counterfactual]
    k = len(draws["values"]) if draws else None
    return decision_block(
        columns,
        others,
        counterfactual,
        draws=k,
        parameters=draw_parameters(draws, applied or {}, others),
        wtp_krw=wtp_krw,
        baseline=baseline,
        outcome=outcome,
    )


def decision_view(
    block: Mapping | None,
    columns: Mapping[str, Sequence],
    scenarios: Sequence[str],
    counterfactual: str,
    *,
    wtp_krw: float | None = None,
    **facts,
) -> dict:
    """What the report's decision section shows: summary.json's block (``block``), computed afresh
    from the replications table when the folder has none (a comparison from before the decision
    block) or when the planner reads it at another willingness to pay (``wtp_krw``), plus each
    posterior draw's effect and cost per option (``draws_effect``, ``draws_cost_krw``: K x J, for
    the cost-effect plane's cloud). ``facts``: :func:`compare_decision`'s keywords.
    Raises ValueError when the table cannot carry a decision (no shared replication, no cost or
    effect column)."""
    again = block is None or (
        wtp_krw is not None and not np.isclose(wtp_krw, block.get("wtp_krw") or np.nan, rtol=1e-12)
    )
    out = dict(
        compare_decision(columns, scenarios, counterfactual, wtp_krw=wtp_krw, **facts)
        if again
        else block
    )
    draws = facts.get("draws")
    t = draw_table(
        columns,
        [o["scenario"] for o in out["options"]],
        counterfactual,
        len(draws["values"]) if draws else None,
        facts.get("outcome", "survivors"),
    )
    out["draws_effect"] = t.effect.tolist()
    out["draws_cost_krw"] = t.cost.tolist()
    out["recomputed"] = bool(again)
    return out

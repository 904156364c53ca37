"""The decision block a comparison will write into summary.json, as plain data.

:func:`decision_block` takes what a comparison folder holds (the replications table, the number of
posterior draws, each draw's parameter values from the manifest) and returns the frontier, the
acceptability curve, EVPI (plain and with simulation noise removed), EVPPI per parameter and the
robust scores at the planner's willingness to pay, in the layout documented in docs/decision.md.
Nothing here runs the model or writes a file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ..files import json_clean
from . import robust, voi
from .decision import ceac, ceaf, draw_table, evpi, frontier, wtp_grid

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


def why_no_evppi(draws: int) -> str:
    """Why a comparison has no EVPPI, in words a planner can act on."""
    if draws < voi.MIN_DRAWS_REGRESSION:
        return (
            f"EVPPI needs at least {voi.MIN_DRAWS_REGRESSION} posterior draws with their "
            f"parameter values (this comparison has {draws}); run compare --draws 40"
        )
    return "the draws carry no parameter that varies"


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
    corrected, method = voi.evpi_corrected(t, grid, varying)
    evppi = None
    if varying and t.draws >= voi.MIN_DRAWS_REGRESSION:
        evppi = voi.evppi(t, varying, grid, groups={ALL_PARAMETERS: list(varying)})
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
            "evpi_krw": corrected.tolist(),
            "evpi_raw_krw": evpi(nb).tolist(),
            "evpi_method": method,
            "noise_share": None if share is None else share.tolist(),
            "evppi_krw": None if evppi is None else {k: v.tolist() for k, v in evppi.items()},
            "evppi_null_krw": None if evppi is None else voi.evppi_null(t, grid).tolist(),
            "evppi_why_not": None if evppi is not None else why_no_evppi(t.draws),
            "robust": robust.robust_table(nb[at], t.options),
        }
    )

"""From a comparison over the posterior to a choice: cost and effect against the counterfactual, the
efficient frontier, incremental cost-effectiveness ratios, net benefit and acceptability.

The options are the scenarios of a comparison, the counterfactual (no programme) among them: it is
the origin of the cost-effect plane (cost 0, effect 0), since every other option's cost and effect
are differences against it. An option's *effect* is its additional 5-year survivors (or jobs) and
its *cost* the extra public cost of the same cohort window, exactly as the comparison's value-for-
money table counts them (:func:`sim.analysis.summary.paired_series` on ``survivors_5y`` or
``cohort_jobs_end`` and ``cohort_public_cost_krw``).

A comparison over the posterior runs replication ``r`` with draw ``r mod K``
(:mod:`sim.scenario.draws`), so the data are a :class:`DrawTable`: per draw ``k`` and option ``j``
the mean effect and cost over that draw's replications, and the pooled covariance of one
replication's effects and costs within a draw (simulation noise, the same pooling as
:func:`sim.analysis.summary.over_draws`). Everything below takes plain arrays.

- :func:`frontier`: strongly dominated options (another costs no more and does no less, one of the
  two strictly), extendedly dominated ones (a mix of two neighbours does better: the option lies
  above the lower convex hull of the plane), and the ICERs between neighbours on the frontier
  (dampack's ``calculate_icers``; Drummond et al., *Methods for the Economic Evaluation of Health
  Care Programmes*, 4th ed., 2015, ch. 4).
- :func:`net_benefit`: ``lambda x effect - cost`` per draw, in KRW, at each willingness to pay.
- :func:`ceac`: the probability that each option has the highest net benefit (the acceptability
  curve, Van Hout et al. 1994; Fenwick, Claxton & Sculpher 2001), ties shared; :func:`ceaf` the
  acceptability frontier (the option with the highest *expected* net benefit and its probability).
- :func:`evpi`: expected value of perfect information, ``E[max_j NB] - max_j E[NB]`` (BCEA's
  ``evpi``, Baio 2013). On draws whose means carry simulation noise this is biased upwards;
  :mod:`sim.analysis.voi` gives the corrected estimate and EVPPI.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .summary import by_scenario, paired_series

OUTCOMES = {"survivors": ("survivors_5y",), "jobs": ("cohort_jobs_end", "jobs_end")}
"""The effect measures a decision can use, each with the replications-table column it reads (the
first one present): additional 5-year survivors of the cohort window (the default), or jobs at the
horizon in the cohort window's start-ups."""
COSTS = ("cohort_public_cost_krw", "programme_cost_krw")
"""The cost column: the cohort window's public cost (the same firms as the effect), or the programme
cost of a results folder from before public costs were kept apart (as the value-for-money table)."""
EFFECT_UNITS = {"survivors": "additional 5-year survivors", "jobs": "additional jobs"}


@dataclass(frozen=True)
class DrawTable:
    """Per posterior draw and option, the mean effect and cost against the counterfactual.

    ``options[0]`` is the counterfactual (its effect and cost are 0 in every draw). ``effect`` and
    ``cost`` are K x J; ``replications`` is the number of replications of each draw (K);
    ``noise`` the pooled within-draw covariance of one replication's vector (effect_1..J,
    cost_1..J), 2J x 2J, with ``noise_dof`` degrees of freedom (None when no draw has two
    replications: simulation noise then cannot be told apart from the draws' spread).
    """

    options: tuple[str, ...]
    effect: np.ndarray
    cost: np.ndarray
    replications: np.ndarray
    noise: np.ndarray | None = None
    noise_dof: int = 0
    outcome: str = "survivors_5y"
    cost_metric: str = "cohort_public_cost_krw"

    @property
    def draws(self) -> int:
        """K, the number of posterior draws."""
        return int(self.effect.shape[0])

    def expected(self) -> tuple[np.ndarray, np.ndarray]:
        """Each option's expected (effect, cost): the mean over draws, each draw weighing the same
        (the draws are picked by weight from the posterior)."""
        return self.effect.mean(axis=0), self.cost.mean(axis=0)

    def net_benefit(self, wtp) -> np.ndarray:
        """Net benefit per draw and option at each willingness to pay (L x K x J, KRW)."""
        return net_benefit(self.effect, self.cost, wtp)

    def nb_noise(self, wtp) -> np.ndarray | None:
        """Covariance of one replication's net benefits across options from simulation noise alone,
        at each willingness to pay (L x J x J); a draw's mean has this over its replications."""
        if self.noise is None:
            return None
        j = len(self.options)
        lam = np.atleast_1d(np.asarray(wtp, float))
        see, scc, sec = self.noise[:j, :j], self.noise[j:, j:], self.noise[:j, j:]
        return (
            lam[:, None, None] ** 2 * see[None]
            + scc[None]
            - lam[:, None, None] * (sec + sec.T)[None]
        )


def pick(columns: Sequence[str] | dict, choices: Sequence[str]) -> str | None:
    """The first of ``choices`` that is a column of the replications table (None if none is)."""
    return next((c for c in choices if c in columns), None)


def draw_table(
    columns: dict[str, Sequence],
    scenarios: Sequence[str],
    counterfactual: str,
    draws: int | None,
    outcome: str = "survivors",
) -> DrawTable:
    """The :class:`DrawTable` of a comparison's replications table (``scenario``, ``replication``
    and the metric columns), replication ``r`` having run with posterior draw ``r mod draws``
    (``draws`` None or 1: one parameter set, every replication its noise). Options are the
    counterfactual, then ``scenarios`` in order; only replications every option has are used."""
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome: expected one of {sorted(OUTCOMES)}, found {outcome!r}")
    names = [counterfactual] + [s for s in scenarios if s != counterfactual]
    data = by_scenario(columns, names)
    effect_col, cost_col = pick(columns, OUTCOMES[outcome]), pick(columns, COSTS)
    if effect_col is None or cost_col is None:
        raise ValueError(f"the replications table has no {OUTCOMES[outcome]} or no {COSTS} column")
    series = []
    for n in names:
        reps, de = paired_series(data[n], data[counterfactual], effect_col)
        _, dc = paired_series(data[n], data[counterfactual], cost_col)
        series.append(
            dict(zip(reps.tolist(), zip(de.tolist(), dc.tolist(), strict=True), strict=True))
        )
    reps = np.array(sorted(set.intersection(*(set(s) for s in series))), int)
    if not reps.size:
        raise ValueError("no replication is shared by every option of the comparison")
    e = np.array([[s[r][0] for s in series] for r in reps.tolist()])  # replications x J
    c = np.array([[s[r][1] for s in series] for r in reps.tolist()])
    k = max(int(draws or 1), 1)
    group = reps % k
    ran = [i for i in range(k) if np.any(group == i)]
    n_k = np.array([int(np.sum(group == i)) for i in ran])
    x = np.hstack([e, c])
    means = np.array([x[group == i].mean(axis=0) for i in ran])
    resid = np.vstack([x[group == i] - means[m] for m, i in enumerate(ran)])
    dof = int(np.sum(n_k - 1))
    noise = resid.T @ resid / dof if dof > 0 else None
    j = len(names)
    return DrawTable(
        tuple(names), means[:, :j], means[:, j:], n_k, noise, dof, effect_col, cost_col
    )


def net_benefit(effect, cost, wtp) -> np.ndarray:
    """``wtp x effect - cost`` for every willingness to pay: L x (shape of ``effect``)."""
    lam = np.atleast_1d(np.asarray(wtp, float))
    e, c = np.asarray(effect, float), np.asarray(cost, float)
    return lam.reshape((-1,) + (1,) * e.ndim) * e[None] - c[None]


@dataclass(frozen=True)
class Frontier:
    """The efficient frontier of options on the cost-effect plane.

    ``order``: the frontier's options from the cheapest to the most effective (options with the same
    cost and effect share a place, listed in input order). ``dominated[j]`` is None, ``"strongly"``
    or ``"extendedly"``; ``icer[j]`` the cost per additional unit of effect against the previous
    frontier option ``previous[j]`` (None for the first one and for dominated options).
    """

    order: tuple[int, ...]
    dominated: tuple[str | None, ...]
    icer: tuple[float | None, ...]
    previous: tuple[int | None, ...]


def frontier(cost, effect, rel_tol: float = 1e-9) -> Frontier:
    """Dominance and ICERs of options with expected ``cost`` and ``effect`` (one entry per option).

    An option is strongly dominated when another costs no more and achieves no less, one of the two
    strictly. Of the rest, sorted by effect, an option is extendedly dominated when the ICER into it
    exceeds the ICER out of it: a mix of its neighbours would buy more effect for the same cost,
    i.e. it lies above the lower convex hull. Options on a straight segment of the hull (equal
    ICERs) stay on the frontier. Differences within ``rel_tol`` of the largest magnitude count as
    ties (floating-point noise), so identical options share one point.
    """
    c, e = np.asarray(cost, float), np.asarray(effect, float)
    n = len(c)
    tc = rel_tol * max(float(np.max(np.abs(c))) if n else 0.0, 1.0)
    te = rel_tol * max(float(np.max(np.abs(e))) if n else 0.0, 1.0)
    dominated: list[str | None] = [None] * n
    for i in range(n):
        for j in range(n):
            no_more = c[j] <= c[i] + tc and e[j] >= e[i] - te
            strictly = c[j] < c[i] - tc or e[j] > e[i] + te
            if j != i and no_more and strictly:
                dominated[i] = "strongly"
                break
    # the remaining options as points (ties share one), sorted by effect, hence by cost too
    points: list[list[int]] = []
    for i in sorted((i for i in range(n) if dominated[i] is None), key=lambda i: (e[i], c[i], i)):
        if points and abs(e[i] - e[points[-1][0]]) <= te and abs(c[i] - c[points[-1][0]]) <= tc:
            points[-1].append(i)
        else:
            points.append([i])
    hull: list[list[int]] = []
    for p in points:
        while len(hull) >= 2:
            a, b = hull[-2][0], hull[-1][0]
            into = (c[b] - c[a]) * (e[p[0]] - e[b])  # slope(a, b) > slope(b, p), cross-multiplied
            out = (c[p[0]] - c[b]) * (e[b] - e[a])
            if into - out > rel_tol * max(abs(into), abs(out), tc * te):
                for i in hull.pop():
                    dominated[i] = "extendedly"
            else:
                break
        hull.append(p)
    icer: list[float | None] = [None] * n
    previous: list[int | None] = [None] * n
    for prev, p in zip(hull, hull[1:], strict=False):
        ratio = (c[p[0]] - c[prev[0]]) / (e[p[0]] - e[prev[0]])
        for i in p:
            icer[i], previous[i] = float(ratio), prev[0]
    return Frontier(
        tuple(i for p in hull for i in p), tuple(dominated), tuple(icer), tuple(previous)
    )


def best_by_expected(nb: np.ndarray) -> np.ndarray:
    """Index of the option with the highest expected net benefit at each willingness to pay
    (``nb``: L x K x J); the first listed wins a tie."""
    return np.argmax(np.asarray(nb, float).mean(axis=-2), axis=-1)


def ceac(nb: np.ndarray) -> np.ndarray:
    """Cost-effectiveness acceptability: at each willingness to pay, the share of draws in which
    each option has the highest net benefit (``nb``: L x K x J; L x J out, rows summing to 1).
    Options tied for the highest net benefit in a draw share it equally (as P(better) counts a tie
    half)."""
    nb = np.asarray(nb, float)
    top = nb.max(axis=-1, keepdims=True)
    tied = np.isclose(nb, top, rtol=1e-12, atol=0.0) | (nb == top)
    return (tied / tied.sum(axis=-1, keepdims=True)).mean(axis=-2)


def ceaf(nb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The acceptability frontier: at each willingness to pay, the option a planner maximising
    expected net benefit chooses, and the probability that it is the best (L each)."""
    best = best_by_expected(nb)
    return best, np.take_along_axis(ceac(nb), best[:, None], axis=-1)[:, 0]


def evpi(nb: np.ndarray) -> np.ndarray:
    """Expected value of perfect information per decision, ``mean_k max_j NB - max_j mean_k NB``, at
    each willingness to pay (``nb``: L x K x J, KRW; L out). What a planner would pay to learn every
    uncertain parameter before choosing; 0 when one option is the best in every draw."""
    nb = np.asarray(nb, float)
    return np.maximum(nb.max(axis=-1).mean(axis=-1) - nb.mean(axis=-2).max(axis=-1), 0.0)


def nice_ceiling(x: float) -> float:
    """The smallest of 1, 2, 2.5, 5 x 10^n that is at least ``x`` (x > 0)."""
    base = 10.0 ** math.floor(math.log10(x))
    return next(m * base for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * base >= x * (1 - 1e-12))


def wtp_grid(
    icers: Sequence[float | None],
    points: int = 41,
    include: Sequence[float] = (),
    fallback: float = 1e9,
) -> np.ndarray:
    """A grid of willingness to pay from 0 to a round number at least twice the largest finite,
    positive frontier ICER and value in ``include`` (the planner's own lambda; ``fallback`` when
    there is none), ``points`` evenly spaced, plus the values in ``include``, sorted, no repeats."""
    finite = [float(x) for x in [*icers, *include] if x is not None and math.isfinite(x) and x > 0]
    top = nice_ceiling(2.0 * max(finite)) if finite else float(fallback)
    grid = np.concatenate([np.linspace(0.0, top, points), np.asarray(include, float)])
    return np.unique(grid[np.isfinite(grid) & (grid >= 0)])

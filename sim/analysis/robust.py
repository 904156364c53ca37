"""Robust choice over the posterior: which option a planner picks by expected net benefit, by
minimax regret, or by a low percentile of net benefit, and how often each option is the best.

Each function takes a matrix of net benefits, one row per posterior draw and one column per option
(KRW, at one willingness to pay: :func:`sim.analysis.decision.net_benefit`), so the same objectives
serve a comparison's options and ``optimize --robust``'s allocations (common random numbers
within a draw make the columns' differences precise).

- Regret of option ``j`` in draw ``k``: the best net benefit of the draw less ``j``'s (Savage 1951).
  Its mean over draws for the option with the highest expected net benefit is the EVPI.
- Minimax regret chooses the option whose largest regret over the draws is smallest (the criterion
  of robust decision making, Lempert et al. 2006, EMA Workbench's ``max_regret``); a percentile
  criterion chooses the option whose ``q``-th percentile of net benefit is highest (a planner who
  wants to be right in nine draws of ten picks q = 10).

A draw's net benefit is a mean over its replications and carries their noise; the largest regret
is the objective most exposed to it (one unlucky draw decides), so pass denoised net benefits
(:func:`sim.analysis.voi.denoised_by_moments`) when the draws are few, or re-check the finalists on
fresh replications as ``optimize --robust`` does.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

OBJECTIVES = ("expected", "minimax-regret", "percentile")
"""The robust objectives: expected net benefit, minimax regret, a percentile of net benefit."""


def regret(nb) -> np.ndarray:
    """Regret per draw and option (K x J, KRW): the draw's best net benefit minus the option's."""
    nb = np.asarray(nb, float)
    return nb.max(axis=1, keepdims=True) - nb


def prob_best(nb) -> np.ndarray:
    """The share of draws in which each option has the highest net benefit, ties shared (J)."""
    nb = np.asarray(nb, float)
    top = nb == nb.max(axis=1, keepdims=True)
    return (top / top.sum(axis=1, keepdims=True)).mean(axis=0)


def scores(nb, percentile: float = 10.0) -> dict[str, np.ndarray]:
    """Every objective's value per option (J each): ``expected`` net benefit, ``expected_regret``,
    ``max_regret``, the ``percentile``-th percentile of net benefit (``percentile``) and
    ``prob_best``."""
    nb = np.asarray(nb, float)
    r = regret(nb)
    return {
        "expected": nb.mean(axis=0),
        "expected_regret": r.mean(axis=0),
        "max_regret": r.max(axis=0),
        "percentile": np.percentile(nb, percentile, axis=0),
        "prob_best": prob_best(nb),
    }


def choose(nb, objective: str = "expected", percentile: float = 10.0) -> int:
    """The option an objective picks (index into the columns; the first listed wins a tie)."""
    s = scores(nb, percentile)
    if objective == "expected":
        return int(np.argmax(s["expected"]))
    if objective == "minimax-regret":
        return int(np.argmin(s["max_regret"]))
    if objective == "percentile":
        return int(np.argmax(s["percentile"]))
    raise ValueError(f"objective: expected one of {OBJECTIVES}, found {objective!r}")


def robust_table(nb, names: Sequence[str], percentile: float = 10.0) -> dict:
    """Plain data for a report: each option's scores and each objective's choice, by name."""
    s = scores(nb, percentile)
    rows = [{"option": n, **{k: float(v[j]) for k, v in s.items()}} for j, n in enumerate(names)]
    return {
        "percentile": percentile,
        "options": rows,
        "choice": {o: names[choose(nb, o, percentile)] for o in OBJECTIVES},
    }


def score(per_draw, objective: str = "expected", percentile: float = 10.0, best=None) -> float:
    """One candidate's robust score from its net benefit in each draw (K, KRW), higher is better:
    the mean, the ``percentile``-th percentile, or minus its largest regret against ``best`` (K:
    the best net benefit known in each draw; the candidate's own counts too)."""
    v = np.asarray(per_draw, float)
    if objective == "expected":
        return float(v.mean())
    if objective == "percentile":
        return float(np.percentile(v, percentile))
    if objective == "minimax-regret":
        top = v if best is None else np.maximum(np.asarray(best, float), v)
        return -float(np.max(top - v))
    raise ValueError(f"objective: expected one of {OBJECTIVES}, found {objective!r}")


def choose_among(
    nb, names: Sequence[str], eligible: Sequence[int], objective: str = "expected",
    percentile: float = 10.0,
) -> dict:
    """The robust choice among the ``eligible`` columns of ``nb`` (K x J: every option's net
    benefit per draw, e.g. an optimisation's finalists beside the baseline and the counterfactual),
    each option scored against all of them (regret: against the best of every option in the draw).
    Returns the choice's name and index, its scores, and every option's (:func:`robust_table`)."""
    s = scores(nb, percentile)
    key = {"expected": s["expected"], "minimax-regret": -s["max_regret"],
           "percentile": s["percentile"]}[objective]
    j = max(eligible, key=lambda i: (key[i], -i))
    return {
        "objective": objective,
        "choice": names[j],
        "index": int(j),
        "expected": float(s["expected"][j]),
        "expected_regret": float(s["expected_regret"][j]),
        "max_regret": float(s["max_regret"][j]),
        "percentile_value": float(s["percentile"][j]),
        "prob_best": float(s["prob_best"][j]),
        "table": robust_table(nb, names, percentile),
    }

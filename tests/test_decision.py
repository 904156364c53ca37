"""Tests for sim.analysis.decision (frontier, ICERs, net benefit, acceptability, EVPI),
sim.analysis.robust and the decision figures (sim.report.decision).

Frontier cases are small enough to work out by hand (each case's comment shows the arithmetic).
Statistical checks use fixed seeds and a tolerance of four standard errors of the estimator, the
standard error derived in each test."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm

from sim.analysis import robust
from sim.analysis.decision import (
    DrawTable,
    ceac,
    ceaf,
    draw_table,
    evpi,
    frontier,
    net_benefit,
    nice_ceiling,
    wtp_grid,
)
from sim.analysis.summary import by_scenario, cost_per_survivor_by_draw, draw_means, paired_series


def evpi_normal(mu: float, sigma: float) -> float:
    """EVPI of two options whose incremental net benefit is N(mu, sigma^2):
    E[max(X, 0)] - max(mu, 0) = mu Phi(mu/s) + s phi(mu/s) - max(mu, 0) = s phi(mu/s) - |mu|
    Phi(-|mu|/s)."""
    return sigma * norm.pdf(mu / sigma) - abs(mu) * norm.cdf(-abs(mu) / sigma)


def by_name(names, fr, what):
    """A frontier attribute (``dominated``, ``icer``) by option name."""
    return {n: getattr(fr, what)[i] for i, n in enumerate(names)}


# ---------------------------------------------------------------------------------- frontier


def test_frontier_strong_and_extended_dominance_with_icers():
    """A (0,0) origin; B (100, 10): ICER 100/10 = 10; C (150, 12) into C from B 50/2 = 25 but out of
    C into E 150/8 = 18.75 < 25, so C is extendedly dominated and E's ICER is from B: 200/10 = 20;
    D (120, 8) costs more than B for less: strongly dominated; F (400, 20) costs more than E for the
    same effect and G (300, 15) costs the same as E for less: both strongly dominated."""
    names = ["A", "B", "C", "D", "E", "F", "G"]
    cost = [0, 100, 150, 120, 300, 400, 300]
    effect = [0, 10, 12, 8, 20, 20, 15]
    fr = frontier(cost, effect)
    assert [names[i] for i in fr.order] == ["A", "B", "E"]
    assert by_name(names, fr, "dominated") == {
        "A": None,
        "B": None,
        "C": "extendedly",
        "D": "strongly",
        "E": None,
        "F": "strongly",
        "G": "strongly",
    }
    icer = by_name(names, fr, "icer")
    assert icer["A"] is None and icer["B"] == pytest.approx(10) and icer["E"] == pytest.approx(20)
    assert all(icer[n] is None for n in "CDFG")
    assert [names[p] if p is not None else None for p in fr.previous] == [
        None,
        "A",
        None,
        None,
        "B",
        None,
        None,
    ]


def test_extended_dominance_needs_more_than_one_pass():
    """ICERs in effect order 10, 20, 15, 10: P2 (20 > 15) is extendedly dominated first; then P1 ->
    P3 is 35/2 = 17.5 > P3 -> P4 = 10, so P3 goes too, and P4's ICER from P1 is 45/3 = 15."""
    cost, effect = [0, 10, 30, 45, 55], [0, 1, 2, 3, 4]
    fr = frontier(cost, effect)
    assert fr.order == (0, 1, 4)
    assert fr.dominated == (None, None, "extendedly", "extendedly", None)
    assert fr.icer[1] == pytest.approx(10) and fr.icer[4] == pytest.approx(15)


def test_ties_share_a_place_and_collinear_options_stay_on_the_frontier():
    """B and H are the same point: neither dominates the other, both have ICER 10 from A, and E's
    ICER (from that point) is 20. I (200, 15) lies on the segment B -> E (ICERs 100/5 = 20 both
    ways): weakly, not extendedly, dominated, so it stays with ICER 20 and E's ICER becomes 100/5 =
    20."""
    names = ["A", "B", "H", "E", "I"]
    cost, effect = [0, 100, 100, 300, 200], [0, 10, 10, 20, 15]
    fr = frontier(cost, effect)
    assert [names[i] for i in fr.order] == ["A", "B", "H", "I", "E"]
    assert fr.dominated == (None,) * 5
    assert by_name(names, fr, "icer") == pytest.approx(
        {"A": None, "B": 10, "H": 10, "I": 20, "E": 20}
    )
    # a floating-point hair's difference is still a tie
    fr2 = frontier([0, 100, 100 * (1 + 1e-13)], [0, 10, 10])
    assert fr2.dominated == (None, None, None)


def test_a_cheaper_worse_option_starts_the_frontier_and_a_saving_option_dominates_the_origin():
    """J (-50, -10) is cheaper and worse than no programme: the frontier starts there and the
    origin's ICER is 50/10 = 5 from J. K (-10, 5) saves money and adds effect: it strongly dominates
    the origin."""
    fr = frontier([0, -50, 100], [0, -10, 10])
    assert (
        fr.order == (1, 0, 2) and fr.icer[0] == pytest.approx(5) and fr.icer[2] == pytest.approx(10)
    )
    fr = frontier([0, -10, 100], [0, 5, 10])
    assert fr.dominated[0] == "strongly" and fr.order == (1, 2)
    assert fr.icer[2] == pytest.approx(110 / 5)


def test_wtp_grid_reaches_past_the_largest_icer_and_holds_the_planners_value():
    """Twice the planner's 150 M (above the largest ICER, 125 M) rounds up to 500 M, and 150 M is
    on the grid; twice 125 M alone rounds up to 250 M; nothing given: 0 to 1 bn."""
    grid = wtp_grid([None, 10e6, 125e6], points=11, include=[150e6])
    assert grid[0] == 0 and grid[-1] == 500e6 and 150e6 in grid and np.all(np.diff(grid) > 0)
    assert wtp_grid([None, 10e6, 125e6], points=11)[-1] == 250e6
    assert wtp_grid([None], points=3).tolist() == [0, 5e8, 1e9]
    assert [nice_ceiling(x) for x in (0.9, 1.5, 2.2, 3, 7, 130)] == [1, 2, 2.5, 5, 10, 200]


# ---------------------------------------------------------------------------------- acceptability,
# EVPI


def test_ceac_and_evpi_match_the_normal_case_over_the_wtp_grid():
    """One option against no programme with effect ~ N(2, 1.5^2) and cost ~ N(150, 40^2) per draw
    (independent): INB(lambda) ~ N(2 lambda - 150, 2.25 lambda^2 + 1600), so P(best) = Phi(mu/s) and
    EVPI = s phi(mu/s) - |mu| Phi(-|mu|/s). Standard errors: binomial for P, and for EVPI the spread
    of max(INB, 0) - INB 1[mu > 0] (the delta method: the estimator is mean max(x, 0) - max(mean x,
    0))."""
    k = 20_000
    rng = np.random.default_rng(20240601)
    e, c = rng.normal(2.0, 1.5, k), rng.normal(150.0, 40.0, k)
    effect, cost = np.column_stack([np.zeros(k), e]), np.column_stack([np.zeros(k), c])
    lam = np.array([0.0, 40.0, 60.0, 75.0, 90.0, 150.0])
    nb = net_benefit(effect, cost, lam)
    p, v = ceac(nb), evpi(nb)
    assert np.allclose(p.sum(axis=1), 1.0)
    for i, la in enumerate(lam):
        mu, s = 2 * la - 150, math.sqrt(2.25 * la**2 + 1600)
        pa = norm.cdf(mu / s)
        assert abs(p[i, 1] - pa) <= 4 * max(math.sqrt(pa * (1 - pa) / k), 1 / k), la
        x = nb[i, :, 1]
        se = np.std(np.maximum(x, 0) - x * (mu > 0), ddof=1) / math.sqrt(k)
        assert abs(v[i] - evpi_normal(mu, s)) <= 4 * se + 1e-9, la


def test_ceac_shares_ties_and_exchangeable_options_are_equally_likely_best():
    """Two identical options share each draw they win; three exchangeable ones are each best in
    about a third of the draws (binomial SE)."""
    nb = np.array([[[0.0, 1.0, 1.0], [0.0, 2.0, 2.0], [3.0, 1.0, 1.0]]])
    assert ceac(nb)[0].tolist() == pytest.approx([1 / 3, 1 / 3, 1 / 3])
    k = 30_000
    x = np.random.default_rng(3).normal(size=(1, k, 3))
    assert np.all(np.abs(ceac(x)[0] - 1 / 3) <= 4 * math.sqrt(2 / 9 / k))


def test_ceaf_and_evpi_of_a_sure_choice():
    """When one option is best in every draw, it is the expected-value choice with probability 1 and
    perfect information is worth nothing."""
    nb = np.array([[[0.0, 5.0, 1.0], [0.0, 7.0, 2.0], [0.0, 6.0, 5.0]]])
    best, prob = ceaf(nb)
    assert best.tolist() == [1] and prob.tolist() == [1.0] and evpi(nb).tolist() == [0.0]


def test_expected_regret_of_the_expected_value_choice_is_the_evpi():
    """mean_k (max_j NB_kj - NB_kj*) with j* the expected-value choice is EVPI, by definition."""
    nb = np.random.default_rng(11).normal(size=(200, 4)) + [0, 0.1, 0.2, 0.05]
    j = robust.choose(nb, "expected")
    assert robust.scores(nb)["expected_regret"][j] == pytest.approx(evpi(nb[None])[0])


# ---------------------------------------------------------------------------------- robust
# objectives


def test_robust_objectives_pick_different_options_when_they_should():
    """Three options over four draws (KRW): A is steady, B is best on average but fails badly once,
    C is often close to B and worst in the bad draw. Means A 4, B 24/4 = 6, C 19/4 = 4.75: expected
    picks B. Best per draw 10, 9, 9, 4, so regrets A 6 5 5 0, B 0 0 1 7, C 1 2 0 10 and the largest
    6, 7, 10: minimax regret picks A. 10th percentile (numpy's linear rule, position 0.3 of the
    sorted four): A 4, B -3 + 0.3 x 11 = 0.3, C -6 + 0.3 x 13 = -2.1: A."""
    nb = np.array([[4.0, 10, 9], [4, 9, 7], [4, 8, 9], [4, -3, -6]])
    names = ["A", "B", "C"]
    s = robust.scores(nb, percentile=10)
    assert s["expected"].tolist() == pytest.approx([4, 6, 4.75])
    assert robust.regret(nb).tolist() == [[6, 0, 1], [5, 0, 2], [5, 1, 0], [0, 7, 10]]
    assert s["max_regret"].tolist() == [6, 7, 10]
    assert s["percentile"].tolist() == pytest.approx([4, 0.3, -2.1])
    table = robust.robust_table(nb, names, percentile=10)
    assert table["choice"] == {"expected": "B", "minimax-regret": "A", "percentile": "A"}
    assert s["prob_best"].tolist() == pytest.approx([0.25, 0.5, 0.25])
    with pytest.raises(ValueError, match="objective"):
        robust.choose(nb, "maximin")


# ---------------------------------------------------------------------------------- the draw table


def replications_table():
    """Three scenarios x six replications over three draws (replication r ran draw r mod 3)."""
    rng = np.random.default_rng(5)
    rows = {
        "scenario": [],
        "replication": [],
        "survivors_5y": [],
        "cohort_public_cost_krw": [],
        "cohort_jobs_end": [],
    }
    for sc, (lift, cost) in {"none": (0, 0), "prog": (100, 5e9), "more": (130, 8e9)}.items():
        for r in [5, 0, 3, 1, 4, 2]:  # out of order, as a results file may be
            rows["scenario"].append(sc)
            rows["replication"].append(r)
            rows["survivors_5y"].append(1000 + lift * (1 + 0.1 * (r % 3)) + rng.normal(0, 5))
            rows["cohort_public_cost_krw"].append(cost + rng.normal(0, 1e7) * (cost > 0))
            rows["cohort_jobs_end"].append(5000 + 3 * lift + rng.normal(0, 20))
    return {k: np.asarray(v) for k, v in rows.items()}


def test_draw_table_uses_the_comparisons_paired_differences_and_cost_per_survivor():
    """Per draw, the effect and cost are the means of the paired differences the summary computes
    (summary.paired_series / draw_means), so cost / effect per draw is the report's cost per
    survivor (summary.cost_per_survivor_by_draw); the noise is the pooled within-draw covariance."""
    cols = replications_table()
    t = draw_table(cols, ["prog", "more"], "none", draws=3)
    assert (
        t.options == ("none", "prog", "more")
        and t.draws == 3
        and t.replications.tolist() == [2, 2, 2]
    )
    data = by_scenario(cols, t.options)
    for j, sc in enumerate(t.options):
        reps, d = paired_series(data[sc], data["none"], "survivors_5y")
        assert t.effect[:, j] == pytest.approx(draw_means(reps, d, 3))
    ratio = cost_per_survivor_by_draw(data["prog"], data["none"], 3)
    assert (t.cost[:, 1] / t.effect[:, 1]) == pytest.approx(ratio)
    # pooled within-draw variance of prog's effect: sum over draws of (a - b)^2 / 2, over 3 dof
    reps, d = paired_series(data["prog"], data["none"], "survivors_5y")
    pooled = sum((d[reps == r][0] - d[reps == r + 3][0]) ** 2 / 2 for r in range(3)) / 3
    assert t.noise_dof == 3 and t.noise[1, 1] == pytest.approx(pooled)
    assert np.all(t.effect[:, 0] == 0) and np.all(t.noise[0] == 0)
    jobs = draw_table(cols, ["prog", "more"], "none", draws=3, outcome="jobs")
    assert jobs.outcome == "cohort_jobs_end" and jobs.cost_metric == "cohort_public_cost_krw"
    fixed = draw_table(cols, ["prog"], "none", draws=None)
    assert fixed.draws == 1 and fixed.replications.tolist() == [6] and fixed.noise_dof == 5
    with pytest.raises(ValueError, match="outcome"):
        draw_table(cols, ["prog"], "none", 3, outcome="happiness")


def test_net_benefit_noise_follows_from_the_effect_and_cost_noise():
    """Var(lambda E - C) = lambda^2 Var E + Var C - 2 lambda Cov(E, C), option by option and across
    them."""
    rng = np.random.default_rng(9)
    a = rng.normal(size=(50, 4))
    noise = np.cov(a, rowvar=False)
    t = DrawTable(("cf", "x"), np.zeros((3, 2)), np.zeros((3, 2)), np.array([2, 2, 2]), noise, 3)
    lam = 7.0
    m = np.array([[lam, 0, -1, 0], [0, lam, 0, -1]])
    assert t.nb_noise([lam])[0] == pytest.approx(m @ noise @ m.T)


# ---------------------------------------------------------------------------------- figures


PNG = b"\x89PNG\r\n\x1a\n"


def test_decision_figures_draw_from_plain_numbers(recwarn):
    """The plane, the acceptability curve and the information bars are PNGs from names and numbers,
    with Hangul names rendered and undefined values skipped rather than drawn."""
    from sim.report import decision as fig

    names = ["no-programme", "대전 센터", "grants-only", "lottery"]
    fr = frontier([0, 250e9, 85e9, 240e9], [0, 1950, 210, 1900])
    png = fig.ce_plane(
        names,
        [0, 1950, 210, 1900],
        [0, 250e9, 85e9, 240e9],
        fr.dominated,
        [names[i] for i in fr.order],
        counterfactual="no-programme",
        wtp_krw=150e6,
        draws_effect=np.ones((5, 4)),
        draws_cost_krw=np.ones((5, 4)),
    )
    assert png[:8] == PNG
    grid = np.linspace(0, 500e6, 11)
    png = fig.acceptability(
        grid,
        {n: np.linspace(0, 1, 11) / (i + 1) for i, n in enumerate(names)},
        best=["lottery"] * 11,
        planner_wtp_krw=150e6,
    )
    assert png[:8] == PNG
    png = fig.information_value(["a", "b", "c"], [2e9, np.nan, 0.3e9], wtp_krw=150e6, evpi_krw=3e9)
    assert png[:8] == PNG
    assert fig.krw_unit(3e9) == (1e9, "bn KRW") and fig.krw_unit(4e6) == (1e6, "M KRW")
    assert [str(w.message) for w in recwarn if "missing from font" in str(w.message)] == []


# ---------------------------------------------------------------------------------- the decision
# block


def test_decision_block_is_plain_data_consistent_with_its_parts():
    """The block summary.json will carry: options with the frontier's verdicts, the planner's lambda
    on the grid (by default what the baseline pays per additional survivor), acceptability rows
    summing to 1, the expected-value choice per lambda, the plain EVPI beside the corrected one, and
    EVPPI withheld (with the reason) below 20 draws, given per parameter and jointly above."""
    import json

    from sim.analysis.choice import ALL_PARAMETERS, decision_block

    cols = replications_table()
    b = decision_block(
        cols, ["prog", "more"], "none", draws=3, baseline="prog", parameters={"p": [0.1, 0.2, 0.3]}
    )
    json.dumps(b, allow_nan=False)  # plain, strict JSON
    t = draw_table(cols, ["prog", "more"], "none", 3)
    e, c = t.expected()
    fr = frontier(c, e)
    assert [o["scenario"] for o in b["options"]] == ["none", "prog", "more"]
    assert [o["dominated"] for o in b["options"]] == list(fr.dominated)
    assert b["frontier"] == [t.options[i] for i in fr.order]
    assert b["wtp_krw"] == pytest.approx(c[1] / e[1]) and b["wtp_krw"] in b["wtp_grid_krw"]
    assert "prog" in b["wtp_source"]
    grid = np.asarray(b["wtp_grid_krw"])
    probs = np.array([b["ceac"][n] for n in t.options])
    assert probs.sum(axis=0) == pytest.approx(np.ones(len(grid)))
    assert b["best"] == [t.options[i] for i in ceaf(t.net_benefit(grid))[0]]
    assert b["evpi_raw_krw"] == pytest.approx(evpi(t.net_benefit(grid)).tolist())
    assert b["evpi_method"] == "moments" and b["evppi_krw"] is None and "40" in b["evppi_why_not"]
    assert set(b["robust"]["choice"]) == set(robust.OBJECTIVES)
    given = decision_block(cols, ["prog", "more"], "none", draws=3, wtp_krw=7e7)
    assert given["wtp_krw"] == 7e7 and given["wtp_source"] == "given"
    # enough draws: EVPPI per parameter and for all of them jointly
    rng = np.random.default_rng(2)
    k = 24
    p = rng.normal(size=k)
    rows = {"scenario": [], "replication": [], "survivors_5y": [], "cohort_public_cost_krw": []}
    for r in range(2 * k):
        shared = rng.normal(0, 20)
        options = (("none", 0, 0), ("prog", 100 + 40 * p[r % k], 1e10), ("alt", 120, 1.2e10))
        for sc, lift, cost in options:
            rows["scenario"].append(sc)
            rows["replication"].append(r)
            rows["survivors_5y"].append(1000 + lift + shared * (sc != "none"))
            rows["cohort_public_cost_krw"].append(cost)
    cols = {k_: np.asarray(v) for k_, v in rows.items()}
    params = {"p": p, "flat": np.ones(k)}
    b = decision_block(cols, ["prog", "alt"], "none", draws=k, parameters=params, wtp_krw=1e8)
    assert set(b["evppi_krw"]) == {"p", ALL_PARAMETERS} and b["evpi_method"] == "regression"
    at = b["wtp_grid_krw"].index(1e8)
    assert b["evppi_krw"]["p"][at] > b["evppi_null_krw"][at] >= 0 and b["evppi_why_not"] is None
    # the EVPI less the noise is the joint fit, computed once for both keys: what evpi_corrected
    # gives on the same table
    from sim.analysis import voi

    t = draw_table(cols, ["prog", "alt"], "none", draws=k)
    alone, method = voi.evpi_corrected(t, np.asarray(b["wtp_grid_krw"]), {"p": p})
    assert method == "regression"
    np.testing.assert_allclose(b["evpi_krw"], alone, rtol=1e-9, atol=1e-6)
    assert b["evpi_krw"] == b["evppi_krw"][ALL_PARAMETERS]

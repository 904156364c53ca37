"""Tests for sim.analysis.stats (replication statistics) and sim.analysis.survival (KM)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import stats as sps

from sim.analysis.stats import (
    holm,
    mean_curve,
    paired_difference,
    ratio_ci,
    replications_needed,
    summarize,
)
from sim.analysis.survival import hazard_by_age, km_at, km_curve

# ---------------------------------------------------------------------------------- summarize


def test_summarize_textbook_example():
    """summarize gives a textbook example's mean, SD and t interval."""
    # x = 2,4,4,4,5,5,7,9: mean 5, squared deviations 9+1+1+1+0+0+4+16 = 32, s^2 = 32/7;
    # t_{0.975, 7} = 2.3646 (t table), half-width = 2.3646 * sqrt(32/7) / sqrt(8) = 1.7875
    s = summarize(np.array([2, 4, 4, 4, 5, 5, 7, 9.0]))
    assert s["n"] == 8
    assert s["mean"] == pytest.approx(5.0)
    assert s["sd"] == pytest.approx(math.sqrt(32 / 7))
    assert s["half_width"] == pytest.approx(2.3646 * math.sqrt(32 / 7) / math.sqrt(8), rel=1e-4)
    assert s["half_width"] == pytest.approx(1.7875, abs=1e-4)
    assert s["ci_low"] == pytest.approx(5.0 - s["half_width"])
    assert s["ci_high"] == pytest.approx(5.0 + s["half_width"])
    assert set(s) == {"mean", "ci_low", "ci_high", "sd", "n", "half_width"}


@pytest.mark.parametrize("confidence", [0.8, 0.9, 0.95, 0.99])
def test_summarize_matches_scipy_t_interval(confidence):
    """summarize's interval is scipy's t interval at every confidence level."""
    x = np.random.default_rng(7).gamma(2.0, 3.0, size=23)
    s = summarize(x, confidence)
    lo, hi = sps.t.interval(confidence, df=x.size - 1, loc=x.mean(), scale=sps.sem(x))
    assert s["ci_low"] == pytest.approx(lo, rel=1e-12)
    assert s["ci_high"] == pytest.approx(hi, rel=1e-12)
    assert s["sd"] == pytest.approx(x.std(ddof=1))


def test_summarize_ignores_nan():
    """summarize ignores NaN values."""
    x = np.array([1.0, np.nan, 2.0, 3.0, np.nan, 6.0])
    s = summarize(x)
    ref = summarize(x[np.isfinite(x)])
    assert s == ref
    assert s["n"] == 4
    assert s["mean"] == pytest.approx(3.0)


def test_summarize_degenerate_cases():
    """summarize of no value or one value: n, and NaN where undefined."""
    empty = summarize(np.array([np.nan, np.nan]))
    assert empty["n"] == 0
    assert all(math.isnan(empty[k]) for k in ("mean", "ci_low", "ci_high", "sd", "half_width"))
    assert summarize(np.array([]))["n"] == 0

    one = summarize(np.array([np.nan, 4.5]))
    assert one["n"] == 1 and one["mean"] == 4.5
    assert all(math.isnan(one[k]) for k in ("ci_low", "ci_high", "sd", "half_width"))

    # 0.1 ten times: naive mean/std give rounding noise; the interval must be exactly zero-width
    const = summarize(np.full(10, 0.1))
    assert const["mean"] == 0.1 and const["sd"] == 0.0 and const["half_width"] == 0.0
    assert const["ci_low"] == const["ci_high"] == 0.1


def test_summarize_rejects_bad_confidence():
    """summarize refuses a confidence outside (0, 1)."""
    for bad in (0.0, 1.0, 95):
        with pytest.raises(ValueError, match="confidence"):
            summarize([1.0, 2.0], bad)


def test_summarize_coverage_by_simulation():
    """summarize's 95 % interval covers the true mean about 95 % of the time (within its standard
    error)."""
    # 2000 normal samples of size 10: the 95% interval must cover the true mean in 95% of
    # cases, within 3 binomial standard errors
    rng = np.random.default_rng(20240611)
    mu, reps = 3.0, 2000
    samples = rng.normal(mu, 2.0, size=(reps, 10))
    covered = 0
    for x in samples:
        s = summarize(x)
        covered += s["ci_low"] <= mu <= s["ci_high"]
    se = math.sqrt(0.95 * 0.05 / reps)
    assert abs(covered / reps - 0.95) < 3 * se


# ------------------------------------------------------------------------ paired_difference


# Paired textbook data (e.g. blood pressure before/after): differences 2,4,-1,3,5,0,2,1
A = np.array([142.0, 138, 150, 147, 155, 131, 140, 136])
B = np.array([140.0, 134, 151, 144, 150, 131, 138, 135])


def test_paired_difference_matches_ttest_rel():
    """paired_difference agrees with scipy's paired t-test."""
    r = paired_difference(A, B)
    ref = sps.ttest_rel(A, B)
    ci = ref.confidence_interval(confidence_level=0.95)
    assert r["n"] == 8
    assert r["diff"] == pytest.approx(2.0)  # (2+4-1+3+5+0+2+1)/8
    assert r["p_value"] == pytest.approx(ref.pvalue, rel=1e-10)
    assert r["ci_low"] == pytest.approx(ci.low, rel=1e-10)
    assert r["ci_high"] == pytest.approx(ci.high, rel=1e-10)
    assert r["half_width"] == pytest.approx((ci.high - ci.low) / 2, rel=1e-10)
    # hand check: s_d^2 = (0+4+9+1+9+4+0+1)/7 = 4, t = 2 / sqrt(4/8) = 2.8284, df 7;
    # t_{0.975,7} = 2.3646 (t table), half-width 2.3646 * sqrt(4/8) = 1.6720
    assert r["half_width"] == pytest.approx(1.6720, abs=1e-4)
    assert 2 * sps.t.sf(2.0 / math.sqrt(0.5), 7) == pytest.approx(r["p_value"], rel=1e-12)
    assert 0.02 < r["p_value"] < 0.05
    # the reverse comparison mirrors the interval and keeps the p-value
    rev = paired_difference(B, A)
    assert rev["diff"] == pytest.approx(-2.0)
    assert rev["ci_low"] == pytest.approx(-r["ci_high"])
    assert rev["p_value"] == pytest.approx(r["p_value"])


def test_paired_difference_drops_pairs_with_nan():
    """paired_difference drops the pairs where either value is NaN."""
    a = np.append(A, [np.nan, 150.0, 3.0])
    b = np.append(B, [149.0, np.nan, np.nan])
    assert paired_difference(a, b) == paired_difference(A, B)


def test_paired_is_narrower_than_unpaired_under_common_random_numbers():
    """With common random numbers, the paired interval is narrower than the unpaired one."""
    rng = np.random.default_rng(3)
    shared = rng.normal(100.0, 15.0, size=40)  # the noise both scenarios share (CRN)
    ref = shared + rng.normal(0.0, 2.0, size=40)
    scen = shared + 1.5 + rng.normal(0.0, 2.0, size=40)
    paired = paired_difference(scen, ref)
    unpaired = sps.ttest_ind(scen, ref).confidence_interval(0.95)
    assert paired["half_width"] < 0.25 * (unpaired.high - unpaired.low) / 2
    assert paired["ci_low"] > 0.0  # detects the +1.5 effect the unpaired test cannot
    assert unpaired.low < 0.0 < unpaired.high
    assert paired["p_value"] < 0.01


def test_paired_difference_constant_differences():
    """Constant differences: an exact difference and a zero-width interval."""
    x = np.array([3.0, 5.0, 8.0, 1.0])
    same = paired_difference(x, x.copy())
    assert same["diff"] == 0.0 and same["p_value"] == 1.0
    assert same["half_width"] == 0.0 and same["ci_low"] == same["ci_high"] == 0.0
    shifted = paired_difference(x + 2.0, x)
    assert shifted["diff"] == 2.0 and shifted["p_value"] == 0.0
    assert shifted["ci_low"] == shifted["ci_high"] == 2.0


def test_paired_difference_small_and_mismatched():
    """One pair, no pair, and pairs of different lengths."""
    one = paired_difference([1.0, np.nan], [0.5, 2.0])
    assert one["n"] == 1 and one["diff"] == 0.5
    assert math.isnan(one["p_value"]) and math.isnan(one["ci_low"])
    none = paired_difference([np.nan], [1.0])
    assert none["n"] == 0 and math.isnan(none["diff"])
    with pytest.raises(ValueError, match="same length"):
        paired_difference([1.0, 2.0], [1.0, 2.0, 3.0])


# -------------------------------------------------------------------------------------- holm


def test_holm_textbook_example():
    """holm adjusts a textbook example's p-values."""
    # sorted: 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 -> max(0.06, 0.04)
    adj = holm([0.01, 0.04, 0.03, 0.005])
    np.testing.assert_allclose(adj, [0.03, 0.06, 0.06, 0.02])


def test_holm_caps_passes_nan_and_handles_edges():
    """holm caps at 1, passes NaN through and handles empty and single inputs."""
    # m = 3 (NaN not counted): 0.1*3 = 0.3, 0.55*2 = 1.1 -> 1, 0.7*1 -> max(1.1, 0.7) -> 1
    adj = holm([0.1, np.nan, 0.7, 0.55])
    np.testing.assert_allclose(adj, [0.3, np.nan, 1.0, 1.0])
    assert holm([]).shape == (0,)
    assert np.isnan(holm([np.nan, np.nan])).all()
    np.testing.assert_allclose(holm([0.02]), [0.02])
    with pytest.raises(ValueError):
        holm([0.5, 1.2])


def _holm_step_down_rejections(p, alpha):
    """Holm's procedure as stated: reject p_(i) while p_(i) <= alpha / (m - i + 1)."""
    order = np.argsort(p)
    rejected = np.zeros(len(p), dtype=bool)
    for i, k in enumerate(order):
        if p[k] <= alpha / (len(p) - i):
            rejected[k] = True
        else:
            break
    return rejected


def test_holm_agrees_with_the_step_down_procedure():
    """holm equals the step-down procedure it implements, on random p-values."""
    rng = np.random.default_rng(11)
    for _ in range(200):
        m = rng.integers(1, 9)
        p = rng.uniform(0, 0.2, size=m) ** rng.uniform(0.5, 2.0)
        adj = holm(p)
        assert np.all(adj >= p) and np.all(adj <= 1.0)
        order = np.argsort(p)
        assert np.all(np.diff(adj[order]) >= 0)  # monotone in the raw p-values
        for alpha in (0.01, 0.05, 0.1):
            np.testing.assert_array_equal(adj <= alpha, _holm_step_down_rejections(p, alpha))


# ---------------------------------------------------------------------------------- ratio_ci


def test_ratio_ci_fieller_endpoints_are_where_the_paired_test_turns():
    """ratio_ci's Fieller endpoints are where the paired test of cost - ratio x gain turns
    significant."""
    rng = np.random.default_rng(5)
    extra_surv = rng.normal(20.0, 5.0, size=30)
    extra_cost = 3.0 * extra_surv + rng.normal(10.0, 8.0, size=30)  # correlated, as in CRN
    r = ratio_ci(extra_cost, extra_surv)
    assert r["defined"] is True and r["method"] == "fieller" and r["n"] == 30
    assert r["ratio"] == pytest.approx(extra_cost.mean() / extra_surv.mean())
    assert r["ci_low"] < r["ratio"] < r["ci_high"]
    # Fieller's set = {R : paired t-test of cost - R * survivors does not reject}
    for bound in (r["ci_low"], r["ci_high"]):
        p = sps.ttest_1samp(extra_cost - bound * extra_surv, 0.0).pvalue
        assert p == pytest.approx(0.05, abs=1e-9)
    for inside in np.linspace(r["ci_low"], r["ci_high"], 7)[1:-1]:
        assert sps.ttest_1samp(extra_cost - inside * extra_surv, 0.0).pvalue > 0.05


def test_ratio_ci_close_to_delta_method_when_denominator_is_precise():
    """ratio_ci is close to the delta method when the denominator is precise."""
    rng = np.random.default_rng(9)
    den = rng.normal(50.0, 1.0, size=200)
    num = rng.normal(1000.0, 30.0, size=200)
    r = ratio_ci(num, den)
    ratio = num.mean() / den.mean()
    # delta method: var(R) ~ var(mean num - R mean den) / mean(den)^2
    se = (num - ratio * den).std(ddof=1) / math.sqrt(200) / abs(den.mean())
    q = sps.t.ppf(0.975, 199)
    assert r["ci_low"] == pytest.approx(ratio - q * se, rel=1e-3)
    assert r["ci_high"] == pytest.approx(ratio + q * se, rel=1e-3)


def test_ratio_ci_undefined_when_denominator_interval_contains_zero():
    """ratio_ci is undefined when the denominator's interval contains zero."""
    rng = np.random.default_rng(2)
    den = rng.normal(0.0, 5.0, size=25)
    den -= den.mean() - 0.5  # mean 0.5, far inside its own interval
    num = rng.normal(100.0, 10.0, size=25)
    assert summarize(den)["ci_low"] < 0 < summarize(den)["ci_high"]
    r = ratio_ci(num, den)
    assert r["defined"] is False
    assert r["ratio"] == pytest.approx(num.mean() / den.mean())
    assert math.isnan(r["ci_low"]) and math.isnan(r["ci_high"])


def test_ratio_ci_degenerate_inputs():
    """ratio_ci of exact, zero and single values."""
    exact = ratio_ci([30.0, 30.0, 30.0], [3.0, 3.0, 3.0])  # no noise: zero-width interval
    assert exact["defined"] and exact["ratio"] == exact["ci_low"] == exact["ci_high"] == 10.0
    zero_den = ratio_ci([1.0, 2.0, 3.0], [0.0, 0.0, 0.0])
    assert zero_den["defined"] is False and zero_den["ratio"] == math.inf
    both_zero = ratio_ci([0.0, 0.0], [0.0, 0.0])
    assert both_zero["defined"] is False and math.isnan(both_zero["ratio"])
    one = ratio_ci([5.0, np.nan], [2.0, 1.0])
    assert one["n"] == 1 and one["ratio"] == 2.5 and one["defined"] is False
    assert ratio_ci([], [])["n"] == 0
    nan_dropped = ratio_ci([30.0, np.nan, 30.0, 30.0], [3.0, 3.0, np.nan, 3.0])
    assert nan_dropped["n"] == 2 and nan_dropped["ratio"] == 10.0
    with pytest.raises(ValueError):
        ratio_ci([1.0], [1.0, 2.0])


def test_ratio_ci_coverage_by_simulation():
    """ratio_ci's interval covers the true ratio about 95 % of the time."""
    rng = np.random.default_rng(77)
    true_ratio, reps, covered = 4.0, 600, 0
    for _ in range(reps):
        den = rng.normal(10.0, 3.0, size=15)
        num = true_ratio * den + rng.normal(0.0, 6.0, size=15)
        r = ratio_ci(num, den)
        covered += r["defined"] and r["ci_low"] <= true_ratio <= r["ci_high"]
    assert abs(covered / reps - 0.95) < 3 * math.sqrt(0.95 * 0.05 / reps)


# ----------------------------------------------------------------------- replications_needed


def test_replications_needed_is_the_smallest_sufficient_n():
    """replications_needed is the smallest n whose half-width meets the target."""
    rng = np.random.default_rng(4)
    pilot = rng.normal(0.0, 2.0, size=10)
    sd = pilot.std(ddof=1)
    for h in (5.0, 1.0, 0.5, 0.1, 0.01):
        n = replications_needed(pilot, h)

        def half(k):
            return sps.t.ppf(0.975, k - 1) * sd / math.sqrt(k)

        assert half(n) <= h
        assert n == 2 or half(n - 1) > h
    # ~ (1.96 * sd / h)^2 for large n
    assert replications_needed(pilot, 0.01) == pytest.approx((1.96 * sd / 0.01) ** 2, rel=1e-3)
    # stricter precision or higher confidence never needs fewer replications
    ns = [replications_needed(pilot, h) for h in (2.0, 1.0, 0.5, 0.25)]
    assert ns == sorted(ns)
    assert replications_needed(pilot, 0.5, 0.99) > replications_needed(pilot, 0.5, 0.95)


def test_replications_needed_hand_example_and_edges():
    """replications_needed on a hand example, with no spread and with NaN."""
    # sd = 1, h = 1: n = 7 is the first with t_{n-1} / sqrt(n) <= 1 (t_{0.975,6} = 2.447,
    # 2.447 / sqrt(7) = 0.925; t_{0.975,5} = 2.571, 2.571 / sqrt(6) = 1.050)
    pilot = np.array([-1.0, 1.0, -1.0, 1.0, 0.0, 0.0])  # sd = sqrt(4/5)
    scaled = pilot / math.sqrt(0.8)
    assert replications_needed(scaled, 1.0) == 7
    assert replications_needed(np.full(5, 3.0), 0.1) == 2  # no spread
    assert replications_needed([1.0, np.nan, 3.0], 100.0) == 2
    with pytest.raises(ValueError):
        replications_needed([1.0, np.nan], 0.1)
    with pytest.raises(ValueError):
        replications_needed([1.0, 2.0], 0.0)
    with pytest.raises(ValueError):
        replications_needed([1.0, 2.0], math.nan)


# ------------------------------------------------------------------------- curves and pooling


def _censored_sample(rng, n, rate=0.05, horizon=60.0, ties=True):
    life = rng.exponential(1.0 / rate, size=n)
    cens = rng.uniform(0.0, horizon, size=n)
    d = np.minimum(life, cens)
    if ties:
        d = np.ceil(d)  # whole months: many ties, including deaths tied with censorings
    return d, life <= cens


def test_mean_curve_matches_summarize_per_point():
    """mean_curve's band at each point is summarize's interval there."""
    rng = np.random.default_rng(8)
    curves = rng.normal(size=(12, 6))
    curves[::3, 1] = np.nan  # some replications undefined at one point
    curves[:, 2] = np.nan  # undefined everywhere
    curves[1:, 3] = np.nan  # a single replication
    curves[:, 4] = 0.7  # constant
    mean, lo, hi = mean_curve(curves, 0.9)
    for j in range(curves.shape[1]):
        s = summarize(curves[:, j], 0.9)
        np.testing.assert_allclose(
            [mean[j], lo[j], hi[j]],
            [s["mean"], s["ci_low"], s["ci_high"]],
            rtol=1e-12,
            equal_nan=True,
        )
    assert np.isnan([mean[2], lo[2], hi[2]]).all()
    assert mean[3] == curves[0, 3] and np.isnan(lo[3])
    assert mean[4] == lo[4] == hi[4] == 0.7
    with pytest.raises(ValueError):
        mean_curve(np.ones(5))


def test_mean_curve_coverage_by_simulation():
    """mean_curve's bands cover the true curve about 95 % of the time."""
    # the same coverage check, vectorised: 2000 grid points, 10 replications each
    rng = np.random.default_rng(99)
    mean, lo, hi = mean_curve(rng.normal(-1.0, 0.5, size=(10, 2000)))
    coverage = np.mean((lo <= -1.0) & (hi >= -1.0))
    assert abs(coverage - 0.95) < 3 * math.sqrt(0.95 * 0.05 / 2000)


# ------------------------------------------------------------------------------- survival.py


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_km_at_matches_scipy_ecdf_with_ties(seed):
    """km_at equals scipy's ecdf survival with ties and censoring."""
    rng = np.random.default_rng(seed)
    d, e = _censored_sample(rng, 300)
    assert len(np.unique(d)) < d.size  # ties present
    tied = np.intersect1d(d[e], d[~e])
    assert tied.size > 0  # deaths tied with censorings
    sf = sps.ecdf(sps.CensoredData(uncensored=d[e], right=d[~e])).sf
    ages = np.concatenate([[-1.0, 0.0, 0.5], np.unique(d), np.unique(d) - 0.5, [d.max()]])
    np.testing.assert_allclose(km_at(d, e, ages), sf.evaluate(ages), rtol=1e-12)
    # without ties too
    d2, e2 = _censored_sample(rng, 200, ties=False)
    sf2 = sps.ecdf(sps.CensoredData(uncensored=d2[e2], right=d2[~e2])).sf
    ages2 = np.linspace(0.0, d2.max(), 50)
    np.testing.assert_allclose(km_at(d2, e2, ages2), sf2.evaluate(ages2), rtol=1e-12)


@pytest.mark.parametrize("seed", [0, 1])
def test_weighted_km_at_with_ties_is_the_expanded_sample_in_any_order(seed):
    """With whole-number weights and tied durations, km_at equals the curve of the sample with each
    firm repeated ``weight`` times, to the bit, and does not depend on the rows' order (it sorts
    without a stable order there); with fractional weights the result does not depend on the order
    either."""
    rng = np.random.default_rng(seed)
    d, e = _censored_sample(rng, 400)
    w = rng.choice([1.0, 4.0, 20.0, 100.0], d.size)
    ages = np.concatenate([np.unique(d), [0.0, d.max() + 1.0]])
    expanded = km_at(np.repeat(d, w.astype(int)), np.repeat(e, w.astype(int)), ages)
    got = km_at(d, e, ages, w)
    np.testing.assert_array_equal(np.nan_to_num(got, nan=-1.0), np.nan_to_num(expanded, nan=-1.0))
    perm = rng.permutation(d.size)
    np.testing.assert_array_equal(np.nan_to_num(km_at(d[perm], e[perm], ages, w[perm]), nan=-1),
                                  np.nan_to_num(got, nan=-1.0))
    wf = w * 0.37
    stable = km_at(d, e, ages, wf)
    np.testing.assert_allclose(km_at(d[::-1], e[::-1], ages, wf[::-1]), stable, rtol=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_risk_sets_of_unweighted_firms_are_those_of_the_sort_of_pairs(seed):
    """Unweighted risk sets come from one sort of durations with each event in the lowest bit;
    they equal the risk sets of the sort of (duration, event) pairs (the weighted path, weights
    of one) to the bit: ties between deaths and censorings, zeros of both signs, durations from
    whole months to float32 noise. NaN or negative durations take the sort of pairs themselves."""
    from sim.analysis.survival import _risk_sets

    rng = np.random.default_rng(seed)
    for d in (np.round(rng.exponential(30.0, 5000)),
              rng.exponential(30.0, 5000).astype(np.float32).astype(float),
              np.concatenate([[0.0, -0.0, 0.0, -0.0], rng.integers(0, 5, 200).astype(float)])):
        e = rng.random(d.size) < 0.6
        times, at_risk, deaths = _risk_sets(d, e, None)
        ref = _risk_sets(d, e, np.ones(d.size))
        np.testing.assert_array_equal(times, ref[0])
        np.testing.assert_array_equal(at_risk, ref[1])
        np.testing.assert_array_equal(deaths, ref[2])
        assert at_risk.dtype == deaths.dtype == np.int64
    d = np.array([3.0, np.nan, -1.0, 3.0, np.nan])
    times, at_risk, deaths = _risk_sets(d, np.array([True, True, False, False, True]), None)
    np.testing.assert_array_equal(times[:2], [-1.0, 3.0])
    np.testing.assert_array_equal(at_risk, [5, 4, 2, 1])  # each NaN a run of its own, last
    np.testing.assert_array_equal(deaths, [0, 1, 1, 1])


def test_km_at_hand_example():
    """km_at on a hand example."""
    # times 1(d) 2(d) 2(c) 3(d) 4(c): S = 4/5 at 1, 4/5*3/4 = 0.6 at 2, 0.6*1/2 = 0.3 at 3
    d = np.array([3.0, 1.0, 2.0, 2.0, 4.0])
    e = np.array([True, True, True, False, False])
    np.testing.assert_allclose(
        km_at(d, e, [0.0, 1.0, 1.5, 2.0, 3.0, 4.0]), [1, 0.8, 0.8, 0.6, 0.3, 0.3]
    )
    assert km_at(d, e, [2.5]).shape == (1,)


def test_km_at_nan_beyond_the_last_duration():
    """km_at is NaN beyond the last observed duration."""
    d = np.array([1.0, 2.0, 3.0, 5.0])
    e = np.array([True, False, True, False])  # last one censored: the curve stops there
    out = km_at(d, e, [5.0, 5.0001, 100.0])
    assert out[0] == pytest.approx(0.375) and np.isnan(out[1:]).all()
    assert np.isnan(km_at(np.array([]), np.array([], dtype=bool), [0.0, 1.0])).all()


def test_km_at_stays_zero_after_everyone_died():
    """km_at stays zero once everyone has died."""
    # all supported firms died by month 30: 5-year survival is 0, not undefined
    d = np.array([5.0, 12.0, 30.0])
    e = np.array([True, False, True])
    # S(5) = 2/3, S(30) = 2/3 * (1 - 1/1) = 0
    np.testing.assert_allclose(km_at(d, e, [29.0, 30.0, 60.0]), [2 / 3, 0.0, 0.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # scipy's "undefined at S = 0" warning stays inside
        s, lo, hi = km_curve(d, e, np.array([29.0, 60.0]))
    np.testing.assert_allclose(s, [2 / 3, 0.0])
    assert lo[0] < s[0] < hi[0]  # band kept where defined, NaN only where S = 0
    assert np.isnan(lo[1]) and np.isnan(hi[1])


def test_km_curve_bands_contain_the_estimate():
    """km_curve's bands contain its estimate."""
    rng = np.random.default_rng(21)
    d, e = _censored_sample(rng, 400)
    grid = np.linspace(0.0, 70.0, 71)
    s, lo, hi = km_curve(d, e, grid, 0.9)
    np.testing.assert_allclose(s, km_at(d, e, grid), rtol=1e-12, equal_nan=True)
    ok = np.isfinite(s)
    assert ok.sum() > 50 and np.isnan(s[grid > d.max()]).all()
    assert np.all(np.isfinite(lo[ok])) and np.all(np.isfinite(hi[ok]))
    assert np.all((lo[ok] <= s[ok] + 1e-12) & (s[ok] <= hi[ok] + 1e-12))
    assert np.all((lo[ok] >= 0) & (hi[ok] <= 1))
    inner = ok & (s < 1.0)
    assert np.all(lo[inner] < s[inner]) and np.all(s[inner] < hi[inner])
    # wider bands at a higher confidence level
    _, lo99, hi99 = km_curve(d, e, grid, 0.99)
    assert np.all(lo99[inner] <= lo[inner]) and np.all(hi99[inner] >= hi[inner])


def test_km_curve_is_defined_past_the_last_duration_exactly_when_km_at_has_reached_zero():
    """Past the last duration km_curve is 0 where km_at's curve has reached 0 (every firm still at
    risk died, ties at the end included) and NaN otherwise, like km_at, whole months and all."""
    rng = np.random.default_rng(5)
    grid = np.arange(0.0, 40.0)
    for case in range(60):
        d = rng.integers(1, 25, size=int(rng.integers(2, 40))).astype(float)
        e = rng.random(d.size) < 0.7
        last = d == d.max()
        if case % 3 == 0:
            e[last] = True  # every firm at risk at the end dies: S reaches 0
        elif case % 3 == 1:
            e[np.flatnonzero(last)[0]] = False  # one of them is censored: undefined past it
        if not e.any():
            continue
        s, _, _ = km_curve(d, e, grid)
        expect = km_at(d, e, grid)
        np.testing.assert_array_equal(np.isnan(s), np.isnan(expect))
        np.testing.assert_allclose(s, expect, rtol=1e-12, equal_nan=True)
        assert (s[grid > d.max()] == 0.0).all() == bool(e[last].all())


def test_km_curve_without_events():
    """km_curve without events is flat at 1."""
    d = np.array([1.0, 2.0, 3.0])
    s, lo, hi = km_curve(d, np.zeros(3, dtype=bool), np.array([0.5, 3.0, 4.0]))
    np.testing.assert_array_equal(s[:2], [1.0, 1.0])
    assert np.isnan(s[2]) and np.isnan(lo[2]) and np.isnan(hi[2])


def test_hazard_by_age_recovers_exponential_rate():
    """hazard_by_age recovers an exponential rate."""
    rng = np.random.default_rng(31)
    rate = 0.03  # deaths per firm-month
    life = rng.exponential(1.0 / rate, size=20000)
    cens = rng.uniform(0.0, 90.0, size=20000)
    d, e = np.minimum(life, cens), life <= cens
    edges = np.array([0.0, 12.0, 24.0, 36.0, 60.0, 90.0])
    h = hazard_by_age(d, e, edges)
    for i, (a, b) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
        deaths = np.count_nonzero(e & (d >= a) & (d < b))
        exposure = np.clip(d - a, 0.0, b - a).sum()
        assert h[i] == pytest.approx(deaths / exposure)
        se = math.sqrt(deaths) / exposure  # Poisson SE of a rate
        assert abs(h[i] - rate) < 3 * se
    # an age band nobody reaches has no exposure: NaN
    assert np.isnan(
        hazard_by_age(np.array([1.0, 2.0]), np.array([True, False]), [0.0, 5.0, 10.0])[1]
    )


# ---------------------------------------------------------------------------------------------
# the data dictionary
# ---------------------------------------------------------------------------------------------
def test_the_data_dictionary_document_is_generated():
    """docs/data-dictionary.md is exactly the dictionary's own text (regenerate: python -m
    sim.analysis.dictionary)."""
    from pathlib import Path

    from sim.analysis.dictionary import dictionary_markdown

    doc = Path(__file__).resolve().parents[1] / "docs" / "data-dictionary.md"
    assert doc.read_text(encoding="utf-8") == dictionary_markdown()


def test_every_metric_has_a_unit_a_window_and_a_definition():
    """Every metric has a unit, a window and a definition in the data dictionary."""
    from sim.analysis.dictionary import columns, metric_unit, metric_window
    from sim.analysis.metrics import METRICS

    cols = columns("replications.parquet")
    for m in METRICS:
        assert cols[m][2] == "metric" and metric_unit(m) and metric_window(m) in cols[m][1]
    assert metric_unit("survival_5y") == "fraction (0-1)" and metric_unit("grants_krw") == "KRW"
    assert {c for c, v in cols.items() if v[2] == "timing"} == {
        "events",
        "startups_simulated",
        "seconds",
    }


def test_km_curve_matches_scipy_s_ecdf_and_its_log_log_band():
    """km_curve is the Kaplan-Meier estimate with Greenwood's log-log band: scipy's ``ecdf`` of the
    same censored data gives the same curve and band (what km_curve used before, at three times
    the cost), ties and censoring included."""
    from scipy import stats

    rng = np.random.default_rng(7)
    d = np.round(rng.exponential(30.0, 20_000), 1)  # rounded: many ties
    e = rng.random(d.size) < 0.6
    grid = np.arange(0.0, 120.0, 3.0)
    s, lo, hi = km_curve(d, e, grid)
    res = stats.ecdf(stats.CensoredData(uncensored=d[e], right=d[~e])).sf
    with warnings.catch_warnings():  # scipy warns where its band is undefined (S = 0)
        warnings.simplefilter("ignore", RuntimeWarning)
        ci = res.confidence_interval(confidence_level=0.95, method="log-log")
    inside = grid <= d.max()
    for ours, ref in ((s, res.evaluate(grid)), (lo, ci.low.evaluate(grid)),
                      (hi, ci.high.evaluate(grid))):
        np.testing.assert_allclose(ours[inside], ref[inside], rtol=1e-12, atol=1e-14)

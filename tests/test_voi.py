"""Tests for sim.analysis.voi: EVPPI by regression, and EVPI with each draw's simulation noise
removed.

The toys are comparisons as a results folder holds them (a replications table, replication r with
posterior draw r mod K, read by sim.analysis.decision.draw_table), with a known answer: an
incremental net benefit linear or quadratic in independent normal parameters, whose EVPPI is the
EVPI of a normal (or a one-dimensional integral), or brute-force nested Monte Carlo. Each estimator
is run on several independent toys (fixed seeds); its mean must lie within four standard errors
(of that mean, from the toys' spread, and of the nested Monte Carlo where there is one) of the
answer, and the plain EVPI on noisy draws must lie more than four standard errors above it."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate
from scipy.stats import norm

from sim.analysis import voi
from sim.analysis.decision import draw_table, evpi, net_benefit


def evpi_normal(mu: float, sigma: float) -> float:
    """EVPI of two options with incremental net benefit N(mu, sigma^2) (see test_decision)."""
    return sigma * norm.pdf(mu / sigma) - abs(mu) * norm.cdf(-abs(mu) / sigma)


def comparison(signal: np.ndarray, noise_sd: float, replications: int, seed: int):
    """A comparison's replications table for options whose 5-year survivors against the
    counterfactual in draw k are ``signal[k, j]`` plus N(0, noise_sd^2) per replication (the
    options' noise shared by common random numbers, as a compare's is, plus a little of its own), at
    no public cost, so that the net benefit at a willingness to pay of 1 is the effect."""
    rng = np.random.default_rng(seed)
    k, j = signal.shape
    cols = {"scenario": [], "replication": [], "survivors_5y": [], "cohort_public_cost_krw": []}
    base = 1000.0
    for r in range(k * replications):
        shared = rng.normal(0, noise_sd)
        own = rng.normal(0, 0.1 * noise_sd, j)
        for name, value in [("cf", base)] + [
            (f"opt{i}", base + signal[r % k, i] + shared + own[i]) for i in range(j)
        ]:
            cols["scenario"].append(name)
            cols["replication"].append(r)
            cols["survivors_5y"].append(value)
            cols["cohort_public_cost_krw"].append(0.0)
    cols = {key: np.asarray(v) for key, v in cols.items()}
    return draw_table(cols, [f"opt{i}" for i in range(j)], "cf", draws=k)


def linear_toy(k, c, a, b, noise_sd=0.0, replications=2, seed=0):
    """One option with INB = c + a phi + b psi (phi, psi independent standard normals)."""
    rng = np.random.default_rng(seed)
    phi, psi = rng.standard_normal(k), rng.standard_normal(k)
    return comparison((c + a * phi + b * psi)[:, None], noise_sd, replications, seed + 1), {
        "phi": phi,
        "psi": psi,
    }


def mean_se(values) -> tuple[float, float]:
    """The mean of independent estimates and its standard error."""
    v = np.asarray(values, float)
    return float(v.mean()), float(v.std(ddof=1) / math.sqrt(len(v)))


C, A, B = 0.3, 1.0, 0.7


def test_evppi_of_a_linear_net_benefit_is_the_normal_evpi_of_its_part():
    """INB = c + a phi + b psi: E[INB | phi] = c + a phi ~ N(c, a^2), so EVPPI(phi) = EVPI of N(c,
    a^2) and EVPPI(psi) that of N(c, b^2); with 1 bn KRW per survivor the answer scales to KRW."""
    got = {"phi": [], "psi": []}
    for seed in range(12):
        t, params = linear_toy(200, C, A, B, seed=seed)
        for name, v in voi.evppi(t, params, [1.0]).items():
            got[name].append(v[0])
    for name, sd in (("phi", A), ("psi", B)):
        m, se = mean_se(got[name])
        assert abs(m - evpi_normal(C, sd)) <= 4 * se, (name, m, se, evpi_normal(C, sd))
    t, params = linear_toy(200, C, A, B, seed=0)
    assert voi.evppi(t, params, [1e9])["phi"][0] == pytest.approx(1e9 * got["phi"][0], rel=1e-6)


def test_evppi_follows_a_nonlinear_net_benefit():
    """INB = c + a (phi^2 - 1) + b psi: E[INB | phi] is a parabola that a straight line cannot see
    (phi^2 and phi are uncorrelated); EVPPI(phi) = E[max(c + a (phi^2 - 1), 0)] - max(c, 0), by
    quadrature."""
    a = 0.8
    truth = integrate.quad(
        lambda z: max(C + a * (z * z - 1), 0.0) * norm.pdf(z), -12, 12, points=[-1, 1], limit=200
    )[0] - max(C, 0.0)
    got = []
    for seed in range(12):
        rng = np.random.default_rng(100 + seed)
        phi, psi = rng.standard_normal(200), rng.standard_normal(200)
        t = comparison((C + a * (phi**2 - 1) + B * psi)[:, None], 0.0, 2, seed)
        got.append(voi.evppi(t, {"phi": phi}, [1.0])["phi"][0])
    m, se = mean_se(got)
    assert abs(m - truth) <= 4 * se, (m, se, truth)
    assert truth > 0.1  # a linear fit would give about 0 here: the check has teeth


def test_evppi_of_three_options_agrees_with_nested_monte_carlo():
    """Three options (and no programme) with NB_j = mu_j + a_j phi + b_j psi + g_j phi psi: the
    interaction makes the residual of a regression on phi depend on phi. Brute force: for each of
    4,000 outer draws of phi, 2,000 inner draws of psi give E[NB_j | phi]; EVPPI is the outer mean
    of the best conditional NB less the best overall mean, with the outer draws' standard error."""
    mu, a, b, g = (
        np.array([0.2, 0.1, -0.1]),
        np.array([0.5, 1.0, -0.6]),
        np.array([0.4, -0.3, 0.8]),
        np.array([0.3, -0.5, 0.2]),
    )
    rng = np.random.default_rng(77)
    outer = rng.standard_normal(4000)
    inner = rng.standard_normal((4000, 2000)).mean(
        axis=1
    )  # each outer draw's own inner sample mean
    cond = np.column_stack(
        [np.zeros(4000), mu + a * outer[:, None] + (b + g * outer[:, None]) * inner[:, None]]
    )
    best = cond.max(axis=1)
    nested, nested_se = best.mean() - max(0.0, *mu), best.std(ddof=1) / math.sqrt(len(best))
    got = []
    for seed in range(10):
        r = np.random.default_rng(200 + seed)
        phi, psi = r.standard_normal(300), r.standard_normal(300)
        signal = mu + a * phi[:, None] + b * psi[:, None] + g * (phi * psi)[:, None]
        t = comparison(signal, 0.0, 2, seed)
        got.append(voi.evppi(t, {"phi": phi}, [1.0])["phi"][0])
    m, se = mean_se(got)
    assert abs(m - nested) <= 4 * math.hypot(se, nested_se), (m, se, nested, nested_se)


def test_noise_raises_the_plain_evpi_and_both_corrections_remove_it():
    """Each draw is the mean of 2 replications with noise SD 2 (the noise of a draw's mean, variance
    2, exceeds the parameters' 1.49, as in a compare with 2 replications a draw): the plain EVPI
    estimates the EVPI of N(c, 1.49 + 2), far above the truth (N(c, 1.49)); the regression on both
    parameters (a GP told each draw's noise) and the moment correction both recover the truth.
    EVPPI needs no correction: the regression averages the noise out."""
    raw, moments, regression, phi = [], [], [], []
    for seed in range(10):
        t, params = linear_toy(100, C, A, B, noise_sd=2.0, seed=1000 + seed)
        raw.append(evpi(t.net_benefit([1.0]))[0])
        moments.append(voi.evpi_corrected(t, [1.0], method="moments")[0][0])
        v, method = voi.evpi_corrected(t, [1.0], params, method="regression")
        assert method == "regression"
        regression.append(v[0])
        phi.append(voi.evppi(t, {"phi": params["phi"]}, [1.0])["phi"][0])
    truth = evpi_normal(C, math.hypot(A, B))
    m, se = mean_se(raw)
    assert m - truth > 4 * se, (m, se, truth)
    assert abs(m - evpi_normal(C, math.sqrt(A * A + B * B + 2.0))) <= 4 * se
    for name, values in (("moments", moments), ("regression", regression)):
        m, se = mean_se(values)
        assert abs(m - truth) <= 4 * se, (name, m, se, truth)
    m, se = mean_se(phi)
    assert abs(m - evpi_normal(C, A)) <= 4 * se, (m, se)


def test_evpi_by_regression_with_few_noisy_draws_and_many_parameters():
    """What a 40-draw compare gives: 40 draws of 2 replications, 7 parameters of which one matters,
    82 % of the draws' spread noise (noise SD 3 per replication against the parameter's SD 1). The
    regression on all seven, told the noise, recovers the EVPI of N(c, 1); a least-squares plane
    under the GP would take 8/40 of the noise for signal (0.41 here)."""
    got = []
    for seed in range(12):
        theta = np.random.default_rng(seed).standard_normal((40, 7))
        t = comparison((C + theta[:, 0])[:, None], 3.0, 2, seed + 50)
        params = {f"p{i}": theta[:, i] for i in range(7)}
        got.append(voi.evpi_corrected(t, [1.0], params, method="regression")[0][0])
    m, se = mean_se(got)
    assert abs(m - evpi_normal(C, 1.0)) <= 4 * se, (m, se)


def test_the_null_floor_is_what_a_parameter_without_influence_gets():
    """With 60 draws a regression on a parameter that does nothing (z, independent of the net
    benefit) still finds a small positive EVPPI by chance; evppi_null estimates that floor from
    permutations: over independent toys the two agree within four standard errors, and the parameter
    that matters (phi) lies far above it."""
    z_values, null, phi = [], [], []
    for seed in range(12):
        t, params = linear_toy(60, C, A, B, noise_sd=1.0, seed=500 + seed)
        z = np.random.default_rng(900 + seed).standard_normal(60)
        got = voi.evppi(t, {"z": z, "phi": params["phi"]}, [1.0])
        z_values.append(got["z"][0])
        phi.append(got["phi"][0])
        null.append(voi.evppi_null(t, [1.0], seed=seed)[0])
    (mz, sz), (mn, sn) = mean_se(z_values), mean_se(null)
    assert mz > 0 and abs(mz - mn) <= 4 * math.hypot(sz, sn), (mz, sz, mn, sn)
    assert mean_se(phi)[0] > 5 * mn


def test_the_moment_correction_leaves_exactly_the_signal_covariance():
    """The mapped draws keep their means and have the draws' covariance less the noise of a draw's
    mean (here the noise is small enough that no direction is clipped)."""
    rng = np.random.default_rng(4)
    signal = rng.normal(size=(30, 3)) @ np.array([[1.0, 0.5, 0.2], [0, 1.0, 0.3], [0, 0, 0.8]])
    t = comparison(signal, 0.3, 3, seed=5)
    ref = voi.reference_option(t)
    d = net_benefit(t.effect - t.effect[:, [ref]], t.cost - t.cost[:, [ref]], [1.0])[0]
    out = voi.denoised_by_moments(t, [1.0], ref)[0]
    others = [j for j in range(4) if j != ref]
    m = np.eye(4)[others] - np.eye(4)[[ref] * 3]
    noise = m @ t.nb_noise([1.0])[0] @ m.T * np.mean(1.0 / t.replications)
    assert out.mean(axis=0) == pytest.approx(d.mean(axis=0))
    assert np.cov(out[:, others], rowvar=False) == pytest.approx(
        np.cov(d[:, others], rowvar=False) - noise, abs=1e-9
    )
    share = voi.noise_share(t, [1.0])[0]
    assert share == pytest.approx(np.trace(noise) / np.trace(np.cov(d[:, others], rowvar=False)))


def test_default_method_and_degenerate_inputs():
    """Few draws: moments; enough draws with parameters: regression; no replicated draw: no noise to
    remove. A parameter that never varies is worth nothing to learn."""
    t, params = linear_toy(10, C, A, B, noise_sd=1.0, seed=3)
    assert voi.evpi_corrected(t, [1.0], params)[1] == "moments"
    t, params = linear_toy(voi.MIN_DRAWS_REGRESSION, C, A, B, noise_sd=1.0, seed=3)
    assert voi.evpi_corrected(t, [1.0], params)[1] == "regression"
    once, _ = linear_toy(10, C, A, B, noise_sd=1.0, replications=1, seed=3)
    assert once.noise is None and voi.evpi_corrected(once, [1.0])[1] == "none"
    assert voi.evppi(t, {"flat": np.full(t.draws, 2.0)}, [1.0, 5.0])["flat"].tolist() == [0.0, 0.0]
    with pytest.raises(ValueError, match="method"):
        voi.evpi_corrected(t, [1.0], params, method="bootstrap")


def test_smooth_merges_repeated_draws_and_falls_back_to_a_line():
    """scipy's smoothing spline refuses a repeated x (a posterior row picked twice by the
    resampling): smooth() fits it as one point at the mean with weight 2, so both copies get the
    same fitted value, and that fit is the one of the merged data. With four distinct values it fits
    a line."""
    from scipy.interpolate import make_smoothing_spline

    x = np.array([0.0, 1, 2, 3, 4, 5, 6, 6])
    y = np.array([0.0, 1.1, 3.9, 9.2, 15.8, 25.1, 35.0, 37.0])
    with pytest.raises(ValueError, match="ascending"):
        make_smoothing_spline(x, y)
    fit = voi.smooth(x, y)
    assert fit[-1] == fit[-2]
    t = (x - x.mean()) / x.std()
    z = (np.append(y[:-2], 36.0) - y.mean()) / y.std()
    merged = make_smoothing_spline(t[:-1], z, w=np.array([1.0] * 6 + [2.0]))(t[:-1])
    # the same up to the 0.001 SD grid values are merged on (voi.MERGE_GRID)
    assert fit[:-1] == pytest.approx(y.mean() + y.std() * merged, abs=0.01 * y.std())
    line = voi.smooth(np.array([0.0, 1, 2, 3, 3]), np.array([1.0, 3, 5, 7, 7]))
    assert line == pytest.approx([1, 3, 5, 7, 7])


def test_against_voiage():
    """EVPI and EVPPI agree with voiage (PyPI), an independent implementation, on the same draws:
    EVPI exactly; EVPPI by voiage's default linear regression on a linear toy (where a line is
    right), and by voiage with a scikit-learn spline regression on the quadratic toy, within four
    standard errors of the per-draw maximum."""
    v = pytest.importorskip(
        "voiage",
        reason="voiage is not installed: on Python 3.11 only voiage 0.2.1 exists, and it pins "
        "scipy<1.17 and pulls jax, numpyro, xarray, statsmodels and seaborn (about 900 MB), so it "
        "is not a test dependency; run this test where it is installed (see docs/decision.md)",
    )
    from sklearn.linear_model import RidgeCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import SplineTransformer

    t, params = linear_toy(2000, C, A, B, seed=8)
    nb = t.net_benefit([1.0])[0]
    assert v.evpi(nb) == pytest.approx(evpi(nb[None])[0], rel=1e-9)
    ours = voi.evppi(t, params, [1.0])
    samples = v.schema.ParameterSet.from_numpy_or_dict(params)
    for name in ("phi", "psi"):
        theirs = v.evppi(nb, samples, [name])
        se = np.std(np.maximum(nb[:, 1], 0)) / math.sqrt(len(nb))
        assert abs(theirs - ours[name][0]) <= 4 * se, (name, theirs, ours[name][0])
    rng = np.random.default_rng(9)
    phi, psi = rng.standard_normal(2000), rng.standard_normal(2000)
    t = comparison((C + 0.8 * (phi**2 - 1) + B * psi)[:, None], 0.0, 2, 9)
    nb = t.net_benefit([1.0])[0]
    model = make_pipeline(SplineTransformer(n_knots=8), RidgeCV(alphas=np.logspace(-4, 3, 30)))
    theirs = v.evppi(
        nb, v.schema.ParameterSet.from_numpy_or_dict({"phi": phi}), ["phi"], regression_model=model
    )
    se = np.std(np.maximum(nb[:, 1], 0)) / math.sqrt(len(nb))
    assert abs(theirs - voi.evppi(t, {"phi": phi}, [1.0])["phi"][0]) <= 4 * se

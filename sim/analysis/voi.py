"""The value of information: what learning an uncertain parameter would be worth for the choice, and
EVPI with the simulation noise of each draw taken out.

**EVPPI by regression** (Strong, Oakley & Brennan 2014, *Medical Decision Making* 34:311-326). The
expected value of learning a parameter (group) ``phi`` exactly is
``E_phi[max_j E(NB_j | phi)] - max_j E(NB_j)``. The inner expectation is a regression of each
option's net benefit on ``phi`` over the posterior draws; its fitted values estimate it. One
parameter: a cubic smoothing spline with its smoothness chosen by generalised cross-validation
(``scipy.interpolate.make_smoothing_spline``, Woltring's GCVSPL: the one-term GAM of Strong et al.,
as voi's ``gam`` and BCEA's INLA/GAM methods); a group of parameters: a Gaussian process with one
length scale per parameter (scikit-learn's ``GaussianProcessRegressor``, computed to the bit by
:mod:`sim.analysis.gp` in half its time; Strong et al.'s GP method, without its least-squares
linear mean, see :func:`gp_smooth`). Both libraries are already core dependencies; the spline is
penalised least squares with the exact roughness penalty, which scikit-learn's ridge on a B-spline
basis is not (it shrinks towards zero, not towards a line).

Net benefit is linear in the outcomes (``NB = lambda x effect - cost``), so the effect and the cost
differences are each regressed once and combined at every willingness to pay, and every option is
taken relative to one *reference* option: EVPPI does not change when the same amount is added to
every option of a draw, and with common random numbers the difference between two programme
variants carries far less simulation noise than either against the counterfactual.

**Simulation noise.** A draw's net benefit is a mean over its R replications, ``NB_hat = NB(theta)
+ e`` with ``e`` of known covariance (the pooled within-draw covariance over R). The regression's
fitted values estimate ``E[NB | phi]`` and average ``e`` out, so EVPPI needs no further correction
(the noise only widens the regression's residual). The plain EVPI, ``mean_k max_j NB_hat -
max_j mean_k NB_hat``, does not: the maximum is convex, so noise that makes options look apart in
a draw raises it (Jensen). :func:`evpi_corrected` removes it two ways:

- ``regression`` (with :data:`MIN_DRAWS_REGRESSION` draws or more and the draws' parameters):
  EVPI is the EVPPI of all parameters jointly, since the draws differ by nothing else; the GP is
  told each draw's known noise variance (``alpha``), so it cannot take noise for signal.
- ``moments`` (fewer draws): the draws' incremental net benefits are mapped linearly so that their
  covariance is the between-draw covariance less the noise (the ANOVA estimate of the variance a
  stochastic model's PSA owes to its parameters, O'Hagan, Stevenson & Madan 2007, *Health
  Economics* 16:1009-1023), shrinking each direction by the square root of its signal share (the
  variance-matching "constrained Bayes" ensemble, Louis 1984, *JASA* 79:393-398). Exact in
  expectation when the incremental net benefit is normal over the posterior.

Everything takes a :class:`~sim.analysis.decision.DrawTable` and the draws' parameter values as
plain arrays, and returns KRW per decision at each willingness to pay.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .decision import DrawTable, evpi

MIN_DRAWS_REGRESSION = 20
"""Posterior draws below which a regression of net benefit on parameters is not attempted: EVPPI is
then undefined and EVPI is corrected by moments. Strong et al. (2014) used thousands; 40 draws
(``compare --draws 40``) tell the parameters that matter from those that do not."""
SPLINE_DRAWS = 200
"""Draws from which one parameter is regressed by a smoothing spline even when the draws carry
known simulation noise; below it, by the Gaussian process told that noise. On 20 to 100 noisy
draws the spline's generalised cross-validation follows part of the noise (with 20 draws of a tiny
comparison, 80 % of whose spread is noise, one parameter's EVPPI came out at three times the EVPI
of all parameters jointly, which is impossible); the GP, told each draw's noise, puts one
parameter on the same footing as the joint fit."""
MIN_DISTINCT_SPLINE = 5
"""Distinct parameter values a smoothing spline needs (scipy's minimum); with fewer, a straight
line."""
MERGE_GRID = (1e-3, 1e-2, 1e-1)
"""Parameter values are merged into one point of the spline on a grid of this many standard
deviations, the finest grid first: values a hair apart (thousands of draws) make scipy's GCV search
numerically singular, and it then fails or, worse, returns a wrong fit silently (seen at 2,000
normal draws with values 4e-8 SD apart). E[NB | parameter] does not change within 0.001 SD."""


def reference_option(table: DrawTable) -> int:
    """The option the others are differenced against: the one whose effect differences to all the
    others carry the least simulation noise (the most central under common random numbers); without
    a noise estimate, the option with the largest expected effect."""
    j = len(table.options)
    if table.noise is None:
        return int(np.argmax(table.effect.mean(axis=0)))
    s = table.noise[:j, :j]
    d = np.diag(s)
    spread = [float(np.sum(d + d[r] - 2 * s[:, r])) for r in range(j)]
    return int(np.argmin(spread))


def _differences(table: DrawTable, ref: int) -> tuple[np.ndarray, np.ndarray]:
    return table.effect - table.effect[:, [ref]], table.cost - table.cost[:, [ref]]


def _difference_noise(table: DrawTable, ref: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Noise variance of one replication's effect and cost differences to ``ref`` (J each)."""
    if table.noise is None:
        return None
    j = len(table.options)
    out = []
    for block in (slice(0, j), slice(j, 2 * j)):
        s = table.noise[block, block]
        out.append(np.maximum(np.diag(s) + s[ref, ref] - 2 * s[:, ref], 0.0))
    return out[0], out[1]


def smooth(x, y) -> np.ndarray:
    """Fitted values at ``x`` of a cubic smoothing spline of ``y`` on ``x`` with its penalty chosen
    by generalised cross-validation. Repeated ``x`` values (a posterior draw picked twice; scipy
    needs distinct ones) are merged into one point at their mean with their count as weight, which
    is the same penalised least-squares problem; so are values closer than :data:`MERGE_GRID`. With
    fewer than :data:`MIN_DISTINCT_SPLINE` distinct values, a least-squares line."""
    from scipy.interpolate import make_smoothing_spline

    x, y = np.asarray(x, float), np.asarray(y, float)
    centre, scale = float(y.mean()), float(y.std())
    if scale == 0.0 or np.ptp(x) == 0.0:
        return np.full_like(y, centre)
    z = (y - centre) / scale
    t = (x - x.mean()) / x.std()
    slope, intercept = np.polyfit(t, z, 1)
    for grid in MERGE_GRID:
        # values closer than the grid are one point: near-repeats make the spline's system singular
        u, inverse, counts = np.unique(
            np.round(t / grid) * grid, return_inverse=True, return_counts=True
        )
        means = np.bincount(inverse, weights=z) / counts
        if len(u) < MIN_DISTINCT_SPLINE:
            return centre + scale * (intercept + slope * t)
        line = intercept + slope * u
        try:
            fit = make_smoothing_spline(u, means, w=counts.astype(float))(u)
        except ValueError:  # "the problem is ill-posed"
            continue
        # a straight line costs no penalty, so a sound fit is never further from the data than the
        # least-squares line; a fit that is was spoilt by rounding: merge on a coarser grid
        if (
            np.sum(counts * (fit - means) ** 2)
            <= np.sum(counts * (line - means) ** 2) * (1 + 1e-6) + 1e-12
        ):
            return centre + scale * fit[inverse]
    raise ValueError(
        "smooth: no smoothing spline could be fitted, even with values merged at "
        f"{MERGE_GRID[-1]} standard deviations"
    )


def gp_smooth(x, y, noise_var=None, seed: int = 0) -> np.ndarray:
    """Fitted values at ``x`` (K x P) of a Gaussian process regression of ``y``: squared-exponential
    kernel with one length scale per parameter (a parameter that does nothing gets a long one and
    drops out), a white-noise term for what the parameters do not explain, hyperparameters by
    maximum marginal likelihood. ``noise_var``: each observation's known noise variance (K), held
    fixed in the fit. No least-squares plane first (Strong et al.'s linear mean): fitted to 40
    noisy draws on 7 parameters it takes 8/40 of the noise for signal, which raised the EVPI of a
    test with a noise share of 0.8 by half; the kernel's length scales shrink instead."""
    from threadpoolctl import threadpool_limits

    from .gp import fit_predict

    y = np.asarray(y, float)
    x = np.asarray(x, float).reshape(len(y), -1)
    keep = np.ptp(x, axis=0) > 0
    centre, scale = float(y.mean()), float(y.std())
    if scale == 0.0 or not keep.any():
        return np.full_like(y, centre)
    t = x[:, keep]
    t = (t - t.mean(axis=0)) / t.std(axis=0)
    z = (y - centre) / scale
    alpha = (
        1e-10 if noise_var is None else np.maximum(np.asarray(noise_var, float) / scale**2, 1e-10)
    )
    # matrices of a few hundred rows: BLAS threads only contend (8x slower on a busy 2-core machine)
    with threadpool_limits(1):
        # the fitted values leave out the white-noise term (part of the residual, not of E[NB | x])
        return centre + scale * fit_predict(t, z, alpha, seed)


def conditional_net_benefit(
    table: DrawTable, x, wtp, ref: int | None = None, noise: bool = True
) -> np.ndarray:
    """Fitted ``E[NB_j - NB_ref | x]`` per draw (L x K x J; the reference's column is 0): the effect
    and cost differences regressed on ``x`` (K values of one parameter: :func:`smooth`; K x P:
    :func:`gp_smooth`, given each draw's known noise variance when ``noise``)."""
    ref = reference_option(table) if ref is None else ref
    de, dc = _differences(table, ref)
    x = np.asarray(x, float)
    var = _difference_noise(table, ref) if noise else None
    # one parameter: a smoothing spline, unless the draws' noise is known and they are few, where
    # the spline's GCV takes noise for signal and the GP is told it (the joint fit's footing)
    one = (x.ndim == 1 or x.shape[1] == 1) and (var is None or table.draws >= SPLINE_DRAWS)
    n = np.asarray(table.replications, float)
    fe, fc = np.zeros_like(de), np.zeros_like(dc)
    for j in range(len(table.options)):
        if j == ref:
            continue
        if one:
            fe[:, j], fc[:, j] = smooth(x.reshape(-1), de[:, j]), smooth(x.reshape(-1), dc[:, j])
        else:
            fe[:, j] = gp_smooth(x, de[:, j], None if var is None else var[0][j] / n)
            fc[:, j] = gp_smooth(x, dc[:, j], None if var is None else var[1][j] / n)
    lam = np.atleast_1d(np.asarray(wtp, float))[:, None, None]
    return lam * fe[None] - fc[None]


def evppi(
    table: DrawTable,
    parameters: Mapping[str, Sequence[float]],
    wtp,
    groups: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, np.ndarray]:
    """EVPPI (KRW per decision, one value per willingness to pay) of each parameter alone and of
    each named group of parameters jointly. ``parameters``: each parameter's value in each draw
    (K)."""
    ref = reference_option(table)
    out = {}
    for name, values in parameters.items():
        out[name] = evpi(conditional_net_benefit(table, np.asarray(values, float), wtp, ref))
    for name, keys in (groups or {}).items():
        x = np.column_stack([np.asarray(parameters[k], float) for k in keys])
        out[name] = evpi(conditional_net_benefit(table, x, wtp, ref))
    return out


def evppi_null(table: DrawTable, wtp, permutations: int = 5, seed: int = 0) -> np.ndarray:
    """The EVPPI a parameter without any influence gets from these draws (L): the mean, over
    ``permutations`` random orders of the draws, of the one-parameter EVPPI of a stand-in parameter
    (evenly spread values) in that order, so that it cannot be linked to the net benefit. With few
    draws a regression picks up some of the residual by chance, and the maximum turns that into a
    small positive EVPPI; a parameter's EVPPI near this floor says nothing about it."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0x4E554C4C,)))
    ref = reference_option(table)
    x = norm_scores(table.draws)
    runs = [
        evpi(conditional_net_benefit(table, rng.permutation(x), wtp, ref))
        for _ in range(permutations)
    ]
    return np.mean(runs, axis=0)


def norm_scores(k: int) -> np.ndarray:
    """``k`` evenly spread standard-normal scores (Blom's (i - 3/8) / (k + 1/4) quantiles)."""
    from scipy.stats import norm

    return norm.ppf((np.arange(1, k + 1) - 0.375) / (k + 0.25))


def _incremental(table: DrawTable, wtp, ref: int) -> np.ndarray:
    de, dc = _differences(table, ref)
    lam = np.atleast_1d(np.asarray(wtp, float))[:, None, None]
    return lam * de[None] - dc[None]


def denoised_by_moments(table: DrawTable, wtp, ref: int | None = None) -> np.ndarray:
    """The draws' incremental net benefits (L x K x J, relative to ``ref``) mapped so that their
    covariance is the between-draw covariance less the simulation noise of a draw's mean, means
    unchanged: in the whitened coordinates of the draws' covariance, each direction shrinks by the
    square root of its share that is not noise. Without a noise estimate, the draws as they are."""
    ref = reference_option(table) if ref is None else ref
    d = _incremental(table, wtp, ref)
    nb_noise = table.nb_noise(wtp)
    if nb_noise is None or table.draws < 2:
        return d
    others = [j for j in range(len(table.options)) if j != ref]
    # noise covariance of the differences to ref, for the mean of a draw (pooled over draws)
    a = np.zeros((len(others), len(table.options)))
    a[np.arange(len(others)), others] = 1.0
    a[:, ref] -= 1.0
    per_mean = float(np.mean(1.0 / np.asarray(table.replications, float)))
    out = d.copy()
    for li in range(d.shape[0]):
        x = d[li][:, others]
        mu = x.mean(axis=0)
        cov = np.atleast_2d(np.cov(x, rowvar=False))
        s = a @ nb_noise[li] @ a.T * per_mean
        lam, v = np.linalg.eigh(cov)
        keep = lam > 1e-12 * max(float(lam.max()), 1e-300)
        if not keep.any():
            continue
        v, root = v[:, keep], np.sqrt(lam[keep])
        w = v / root  # whitening: w.T @ cov @ w = I on the range of cov
        rho, q = np.linalg.eigh(w.T @ s @ w)
        shrink = q @ np.diag(np.sqrt(np.clip(1.0 - rho, 0.0, 1.0))) @ q.T
        out[li][:, others] = mu + ((x - mu) @ w @ shrink) * root @ v.T
    return out


def evpi_corrected(
    table: DrawTable,
    wtp,
    parameters: Mapping[str, Sequence[float]] | None = None,
    method: str | None = None,
) -> tuple[np.ndarray, str]:
    """EVPI with the draws' simulation noise removed (KRW per decision per willingness to pay) and
    the method used: ``regression`` (the EVPPI of all parameters jointly, see the module docstring)
    by default with :data:`MIN_DRAWS_REGRESSION` draws and their parameters, else ``moments``;
    ``none`` when the noise cannot be estimated (every draw ran once) and there is no regression."""
    varying = {k: v for k, v in (parameters or {}).items() if np.ptp(np.asarray(v, float)) > 0}
    if method is None:
        method = "regression" if varying and table.draws >= MIN_DRAWS_REGRESSION else "moments"
    if method == "regression":
        if not varying:
            raise ValueError("evpi_corrected: regression needs the draws' parameter values")
        x = np.column_stack([np.asarray(v, float) for v in varying.values()])
        return evpi(conditional_net_benefit(table, x, wtp)), "regression"
    if method != "moments":
        raise ValueError(f"evpi_corrected: method expected regression or moments, found {method!r}")
    if table.noise is None:
        return evpi(table.net_benefit(wtp)), "none"
    return evpi(denoised_by_moments(table, wtp)), "moments"


def noise_share(table: DrawTable, wtp) -> np.ndarray | None:
    """The share of the spread of the draws' incremental net benefits (summed over options, relative
    to the reference) that is simulation noise, per willingness to pay: near 1, the draws say
    little beyond noise and the plain EVPI and acceptability curve mostly measure it."""
    nb_noise = table.nb_noise(wtp)
    if nb_noise is None or table.draws < 2:
        return None
    ref = reference_option(table)
    d = _incremental(table, wtp, ref)
    per_mean = float(np.mean(1.0 / np.asarray(table.replications, float)))
    j = len(table.options)
    a = np.eye(j) - np.eye(j)[[ref] * j]
    noise = np.einsum("ij,ljk,ik->l", a, nb_noise, a) * per_mean
    total = d.var(axis=1, ddof=1).sum(axis=-1)
    return np.where(total > 0, np.minimum(noise / np.where(total > 0, total, 1.0), 1.0), 0.0)

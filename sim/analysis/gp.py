"""Gaussian-process regression of net benefit on parameters: the value of information's emulator.

The model is scikit-learn's ``GaussianProcessRegressor`` with the kernel ``ConstantKernel(1, (1e-4,
1e2)) * RBF(ones(P), (5e-2, 1e3)) + WhiteKernel(0.1, (1e-8, 1e1))``, a known noise variance per
observation (``alpha``), hyperparameters by maximum marginal likelihood with L-BFGS-B from the
kernel's starting values and from one restart drawn from ``RandomState(seed)`` within the bounds,
and fitted values without the white-noise term. :func:`fit_predict` computes exactly that, with
the same numpy and scipy calls in the same order, so its fitted values are scikit-learn's to the
bit (``tests/test_gp.py`` pins it against scikit-learn itself).

Why not call scikit-learn: a comparison's decision fits about 500 such processes to 40 draws each
(:func:`sim.analysis.voi.gp_smooth`), and at 40 points scikit-learn spends most of a
marginal-likelihood evaluation on its kernel objects' bookkeeping (reading every hyperparameter
back by introspection, cloning, stacking), not on the 40 x 40 algebra: the 40-draw comparison's
decision took 21-22 s with it and takes 10-13 s with this (docs/performance.md). The general
library stays the right tool where the kernel is chosen at run time (the calibration's emulators,
:mod:`sim.analysis.posterior`).
"""

from __future__ import annotations

import numpy as np
from scipy.linalg.lapack import dpotrf, dpotrs
from scipy.optimize import minimize
from scipy.spatial.distance import cdist, pdist, squareform

CONSTANT = (1.0, (1e-4, 1e2))
"""The signal variance's starting value and bounds (of the standardised net benefit)."""
LENGTH_SCALE = (1.0, (5e-2, 1e3))
"""Each parameter's length scale: starting value and bounds (parameters standardised)."""
WHITE = (0.1, (1e-8, 1e1))
"""The white-noise variance (what the parameters do not explain): starting value and bounds."""


def fit_predict(x: np.ndarray, y: np.ndarray, alpha, seed: int = 0) -> np.ndarray:
    """Fitted values at the training points ``x`` (K x P) of the Gaussian process regression of
    ``y`` (K) described in the module docstring, ``alpha`` the known noise variance (a number, or
    one per observation) added to the kernel's diagonal."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    p = x.shape[1]
    theta0 = np.log(np.hstack([CONSTANT[0], np.full(p, LENGTH_SCALE[0]), WHITE[0]]))
    bounds = np.log(np.vstack([CONSTANT[1], np.repeat([LENGTH_SCALE[1]], p, axis=0), WHITE[1]]))
    y2 = y[:, np.newaxis]
    eye = np.eye(len(y))
    diff2 = (x[:, np.newaxis, :] - x[np.newaxis, :, :]) ** 2 if p > 1 else None

    def objective(theta):
        lml, grad = _log_marginal_likelihood(theta, x, y2, alpha, eye, diff2)
        return -lml, -grad

    optima = [_optimum(objective, theta0, bounds)]
    rng = np.random.RandomState(seed)
    optima.append(_optimum(objective, rng.uniform(bounds[:, 0], bounds[:, 1]), bounds))
    theta = optima[int(np.argmin([f for _, f in optima]))][0]
    c, ls, w = _hyperparameters(theta, p)
    k = np.full((len(y), len(y)), c) * _rbf(x, ls)[0] + w * eye
    k.flat[::len(y) + 1] += alpha
    chol = _cholesky(k)
    weights = _solve(chol, y)
    # k(X, X_train): the white-noise kernel is zero between two sets of points
    x_ls = x / _scale(ls)
    k_trans = np.full((len(y), len(y)), c) * np.exp(-0.5 * cdist(x_ls, x_ls, "sqeuclidean"))
    return k_trans @ weights


def _cholesky(k: np.ndarray) -> np.ndarray:
    """The lower Cholesky factor of ``k``: LAPACK's dpotrf, as ``scipy.linalg.cholesky`` calls it
    (without its checks, a third of its time on 40 x 40)."""
    chol, info = dpotrf(k, lower=True, clean=True)
    if info > 0:
        raise np.linalg.LinAlgError(f"leading minor {info} is not positive definite")
    return chol


def _solve(chol: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``k^-1 b`` from ``k``'s lower Cholesky factor: LAPACK's dpotrs, as ``scipy.linalg.cho_solve``
    calls it."""
    x, info = dpotrs(chol, b, lower=True)
    if info != 0:
        raise ValueError(f"dpotrs: illegal value in argument {-info}")
    return x


def _optimum(objective, start: np.ndarray, bounds: np.ndarray) -> tuple[np.ndarray, float]:
    res = minimize(objective, start, method="L-BFGS-B", jac=True, bounds=bounds)
    return res.x, res.fun


def _hyperparameters(theta: np.ndarray, p: int):
    """Signal variance, length scale(s), white-noise variance from the log hyperparameters, as the
    kernel objects store them (one length scale is a number, several an array)."""
    ls = np.exp(theta[1:1 + p]) if p > 1 else np.exp(theta[1])
    return np.exp(theta[0]), ls, np.exp(theta[1 + p])


def _scale(ls) -> np.ndarray:
    return np.squeeze(ls).astype(float)


def _rbf(x: np.ndarray, ls) -> tuple[np.ndarray, np.ndarray]:
    """The squared-exponential kernel's matrix on ``x`` and the scaled squared distances."""
    dists = pdist(x / _scale(ls), metric="sqeuclidean")
    k = squareform(np.exp(-0.5 * dists))
    np.fill_diagonal(k, 1)
    return k, dists


def _log_marginal_likelihood(theta, x, y2, alpha, eye, diff2) -> tuple[float, np.ndarray]:
    """The log marginal likelihood at ``theta`` and its gradient (Rasmussen & Williams 2006,
    algorithm 2.1 and eq. 5.9), term by term as scikit-learn computes them. The gradient's
    matrices are stacked as scikit-learn stacks them: the stack's memory layout follows the
    points' (a Fortran-ordered ``x`` gives another one), einsum sums in the order of the layout,
    and a gradient written into a fresh array differed in its last bits. ``diff2``: the squared
    differences of the points in each parameter (n x n x p, p > 1; theirs, computed once)."""
    n, p = x.shape
    c, ls, w = _hyperparameters(theta, p)
    k_rbf, dists = _rbf(x, ls)
    k_c = np.full((n, n), c)
    if p > 1:
        g_rbf = diff2 / (_scale(ls) ** 2)
        g_rbf *= k_rbf[..., np.newaxis]
    else:
        g_rbf = (k_rbf * squareform(dists))[:, :, np.newaxis]
    g_c = np.full((n, n, 1), c)
    k_gradient = np.dstack((
        np.dstack((g_c * k_rbf[:, :, np.newaxis], g_rbf * k_c[:, :, np.newaxis])),
        w * eye[:, :, np.newaxis],
    ))
    k = c * k_rbf + w * eye
    k.flat[::n + 1] += alpha
    try:
        chol = _cholesky(k)
    except np.linalg.LinAlgError:
        return -np.inf, np.zeros_like(theta)
    a = _solve(chol, y2)
    lml = -0.5 * np.einsum("ik,ik->k", y2, a)
    lml -= np.log(np.diag(chol)).sum()
    lml -= n / 2 * np.log(2 * np.pi)
    inner = np.einsum("ik,jk->ijk", a, a)
    inner -= _solve(chol, eye)[..., np.newaxis]
    grad = 0.5 * np.einsum("ijl,jik->kl", inner, k_gradient)
    return lml.sum(axis=-1), grad.sum(axis=-1)

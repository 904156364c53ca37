"""The value of information's Gaussian process (sim.analysis.gp) is scikit-learn's, computed faster.

The reference is scikit-learn's own ``GaussianProcessRegressor`` with the kernel and settings the
module docstring names, fitted to the same problems: one parameter and several, a known noise
variance per draw and a single tiny one, points in C and in Fortran order (the decision's
standardised parameters are Fortran-ordered, and the gradient's memory layout follows them)."""

import warnings

import numpy as np
import pytest

from sim.analysis.gp import fit_predict


def sklearn_fit_predict(x, y, alpha, seed=0):
    """The reference: scikit-learn's regressor with the module's kernel and settings."""
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

    kernel = ConstantKernel(1.0, (1e-4, 1e2)) * RBF(np.ones(x.shape[1]), (5e-2, 1e3)) + (
        WhiteKernel(0.1, (1e-8, 1e1)))
    gp = GaussianProcessRegressor(kernel, alpha=alpha, normalize_y=False, n_restarts_optimizer=1,
                                  random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence warnings: the same fit either way
        gp.fit(x, y)
    return gp.predict(x)


def problem(rng, p, fortran, noisy):
    """40 draws of ``p`` standardised parameters and a standardised response: a smooth signal in
    the first parameter, a weaker one in the second, noise of a random share."""
    x = rng.standard_normal((40, p))
    if fortran:
        x = np.asfortranarray(x)
    y = np.sin(1.5 * x[:, 0]) + (0.5 * x[:, 1] if p > 1 else 0.0)
    y = y + rng.uniform(0.1, 1.0) * rng.standard_normal(40)
    y = (y - y.mean()) / y.std()
    alpha = np.maximum(rng.uniform(0.0, 0.4, 40), 1e-10) if noisy else 1e-10
    return x, y, alpha


@pytest.mark.parametrize("p", [1, 3, 11])
@pytest.mark.parametrize("fortran", [False, True])
@pytest.mark.parametrize("noisy", [False, True])
def test_fitted_values_are_scikit_learns(p, fortran, noisy):
    """Three problems of each kind: our fitted values are scikit-learn's."""
    rng = np.random.default_rng(1000 * p + 10 * fortran + noisy)
    for _ in range(3):
        x, y, alpha = problem(rng, p, fortran, noisy)
        ours, theirs = fit_predict(x, y, alpha), sklearn_fit_predict(x, y, alpha)
        # the same floating-point operations in the same order: equal to the bit with the
        # versions this was written against (scikit-learn 1.9.1, scipy 1.17.1, numpy 2.4.6); a
        # change of model or optimiser would move fitted values of a unit-variance response by
        # far more than this
        np.testing.assert_allclose(ours, theirs, rtol=0.0, atol=1e-9)


def test_fit_follows_the_signal_not_the_noise():
    """The model itself: with a smooth signal in one parameter, noise on top and a second
    parameter that does nothing, the fitted values lie closer to the signal than the data do."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((40, 2))
    signal = np.sin(1.5 * x[:, 0])
    y = signal + 0.4 * rng.standard_normal(40)
    centre, scale = y.mean(), y.std()
    fit = centre + scale * fit_predict(x, (y - centre) / scale, 1e-10)
    assert np.mean((fit - signal) ** 2) < 0.5 * np.mean((y - signal) ** 2)

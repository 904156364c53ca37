"""Which parameter sets the data allow: history matching with a Gaussian-process emulator.

The model is too slow to run the hundreds of thousands of times that ABC-SMC needs at real scale
(one replication of the programme is seconds), so calibration to a posterior works on an
*emulator*: a Gaussian process per target, fitted to a few dozen simulated design points, that
predicts what the model would produce anywhere in the prior box, with its own uncertainty
(Craig et al. 1997; Vernon, Goldstein and Bower 2010 for history matching of simulators). The
posterior is then

    p(theta | data) ∝ prior(theta) * prod_i N(target_i; m_i(theta), s_obs_i^2 + s_emu_i(theta)^2 +
    s_world_i^2)

where ``m_i`` and ``s_emu_i`` are the emulator's mean and standard deviation for target ``i``,
``s_obs_i`` is the target's observation error (half its tolerance: a tolerance is read as a
two-sigma band for measurement error and model discrepancy together), and ``s_world_i`` is the
spread of one replication about the mean (the real economy is a single draw); the emulator learns it
as its nugget. Everything is in z units, ``(simulated - target) / tolerance``.

*Implausibility* ``I_i = |m_i| / sqrt(total variance)`` rules parts of the prior out (max over
targets above 3, Pukelsheim's three-sigma rule); the next wave of design points is drawn from the
current posterior, so the emulator is sharpest where it matters. The posterior itself is an
importance sample over the unit cube (the prior is uniform there: a ``Param`` maps [0, 1] to
values, linearly or in log space), refined by adaptive Gaussian proposals so that it keeps a large
effective sample size however narrow it is.

This module is numbers in, numbers out: no scenario, no simulation. The study that runs the waves
is :mod:`sim.studies.posterior`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

OBS_SD_Z = 0.5
"""Observation error in units of the target's tolerance (a tolerance is two standard deviations)."""
CUTOFF = 3.0
"""Implausibility above which a parameter set is ruled out (Pukelsheim's three-sigma rule)."""
PINNED = 0.5
"""A parameter is *pinned* when its posterior 90 % interval is at most this share of its prior's."""
OPEN = 0.8
"""... and *open* (the data say little) when it is at least this share."""


# ----------------------------------------------------------------------------------------------
# the emulator
# ----------------------------------------------------------------------------------------------
@dataclass
class Emulator:
    """One Gaussian process per output over unit coordinates in [0, 1]^d."""

    gps: list
    centre: np.ndarray  # per output: the mean of the training outputs
    scale: np.ndarray  # per output: their standard deviation
    # per output: the learnt noise variance (spread of one replication), output units
    nugget_var: np.ndarray
    inputs: int

    def predict(self, units: np.ndarray, chunk: int = 8192) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation of the model's mean output (without the nugget): ``(M, k)``
        each."""
        units = np.atleast_2d(np.asarray(units, float))
        k = len(self.gps)
        mean = np.empty((len(units), k))
        sd = np.empty((len(units), k))
        for j, gp in enumerate(self.gps):
            for a in range(0, len(units), chunk):
                m, s = gp.predict(units[a:a + chunk], return_std=True)
                # return_std includes the fitted white noise; the emulator's own uncertainty is
                # without it
                var = np.maximum(s * s - _white(gp), 0.0)
                mean[a:a + chunk, j] = self.centre[j] + self.scale[j] * m
                sd[a:a + chunk, j] = self.scale[j] * np.sqrt(var)
        return mean, sd

    def length_scales(self) -> np.ndarray:
        """``(k, d)``: each output's fitted correlation length per input (long = that input barely
        matters)."""
        out = np.empty((len(self.gps), self.inputs))
        for j, gp in enumerate(self.gps):
            out[j] = np.broadcast_to(gp.kernel_.k1.k2.length_scale, (self.inputs,))
        return out


def _white(gp) -> float:
    return float(gp.kernel_.k2.noise_level)


def min_points(d: int) -> int:
    """The fewest design points (with finite values) an emulator of ``d`` inputs is fitted on: one
    per input and two more (a mean and a spread), and never fewer than 4."""
    return max(4, d + 2)


def fit_emulator(
    units: np.ndarray, outputs: np.ndarray, seed: int = 0, restarts: int = 3
) -> Emulator:
    """Fit one GP per column of ``outputs`` (``(n, k)``, NaN rows dropped per column) on ``units``
    (``(n, d)``).

    Kernel: a constant times an anisotropic Matern 5/2 (one length scale per input: automatic
    relevance determination) plus white noise (the spread of a replication about its mean, and
    the small steps common random numbers leave).
    """
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

    units = np.atleast_2d(np.asarray(units, float))
    outputs = np.asarray(outputs, float).reshape(len(units), -1)
    n, d = units.shape
    gps, centre, scale, nugget = [], [], [], []
    for j in range(outputs.shape[1]):
        y = outputs[:, j]
        ok = np.isfinite(y)
        if ok.sum() < min_points(d):
            raise ValueError(f"output {j}: only {int(ok.sum())} finite design values; the emulator "
                             f"needs at least {min_points(d)}.")
        c, s = float(y[ok].mean()), float(y[ok].std()) or 1.0
        kernel = (ConstantKernel(1.0, (1e-3, 1e3)) * Matern(np.full(d, 0.5), (0.03, 30.0), nu=2.5)
                  + WhiteKernel(1e-2, (1e-8, 1.0)))
        gp = GaussianProcessRegressor(kernel, normalize_y=False, n_restarts_optimizer=restarts,
                                      random_state=seed + j)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            gp.fit(units[ok], (y[ok] - c) / s)
        gps.append(gp)
        centre.append(c)
        scale.append(s)
        nugget.append(_white(gp) * s * s)
    return Emulator(gps, np.array(centre), np.array(scale), np.array(nugget), d)


# ----------------------------------------------------------------------------------------------
# implausibility and the posterior
# ----------------------------------------------------------------------------------------------
def total_var(emu_sd: np.ndarray, nugget_var: np.ndarray, obs_sd: float = OBS_SD_Z) -> np.ndarray:
    """Variance of (target - emulator mean) in z units: observation + emulator + one replication's
    spread."""
    return obs_sd ** 2 + emu_sd ** 2 + nugget_var[None, :]


def implausibility(mean: np.ndarray, sd: np.ndarray, nugget_var: np.ndarray) -> np.ndarray:
    """``(M, k)``: |emulated z| over its total standard deviation, per target."""
    return np.abs(mean) / np.sqrt(total_var(sd, nugget_var))


def log_likelihood(
    emu: Emulator, units: np.ndarray, weights: np.ndarray | None = None
) -> np.ndarray:
    """Gaussian log-likelihood of the targets (outputs are z scores: 0 is the target) at each unit
    point."""
    return _log_likelihood(*emu.predict(units), emu.nugget_var, weights)


def _log_likelihood(
    mean: np.ndarray, sd: np.ndarray, nugget_var: np.ndarray, weights=None
) -> np.ndarray:
    var = total_var(sd, nugget_var)
    w = np.ones(mean.shape[1]) if weights is None else np.asarray(weights, float)
    return -0.5 * ((mean * mean / var + np.log(var)) * w).sum(axis=1)


@dataclass
class WeightedSample:
    """An importance sample of the posterior over unit coordinates."""

    units: np.ndarray  # (M, d)
    weights: np.ndarray  # (M,), sum 1

    @property
    def ess(self) -> float:
        """The effective sample size of the weights (Kish)."""
        return float(1.0 / np.sum(self.weights ** 2))

    def mean(self) -> np.ndarray:
        """The weighted mean of the sample, by input."""
        return self.weights @ self.units

    def cov(self) -> np.ndarray:
        """The weighted covariance of the sample."""
        c = self.units - self.mean()
        return (c * self.weights[:, None]).T @ c

    def quantiles(self, qs) -> np.ndarray:
        """``(len(qs), d)`` weighted quantiles of each coordinate."""
        out = np.empty((len(qs), self.units.shape[1]))
        for i in range(self.units.shape[1]):
            out[:, i] = weighted_quantile(self.units[:, i], self.weights, qs)
        return out

    def resample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Indices of ``n`` draws by systematic resampling (low variance; repeats where weight is
        heavy)."""
        c = np.cumsum(self.weights)
        c[-1] = 1.0
        return np.searchsorted(c, (rng.random() + np.arange(n)) / n, side="left").clip(
            0, len(c) - 1
        )


def weighted_quantile(x: np.ndarray, w: np.ndarray, qs) -> np.ndarray:
    """The weighted quantiles ``qs`` of ``x`` (weights ``w``)."""
    order = np.argsort(x)
    x, w = x[order], w[order]
    c = np.cumsum(w) - 0.5 * w
    c /= w.sum()
    return np.interp(np.asarray(qs, float), c, x)


def _sobol(d: int, m: int, rng: np.random.Generator) -> np.ndarray:
    from scipy.stats import qmc

    return qmc.Sobol(d, scramble=True, seed=rng).random_base2(m)


def sample_posterior(
    emu: Emulator,
    d: int,
    rng: np.random.Generator,
    *,
    size_log2: int = 15,
    rounds: int = 3,
    weights: np.ndarray | None = None,
) -> tuple[WeightedSample, dict]:
    """Importance-sample the posterior on the unit cube; returns the sample and diagnostics.

    Round 0 draws from the prior (a scrambled Sobol' set). Each later round draws from a defensive
    mixture: 10 % the prior, 90 % a Gaussian with the current sample's mean and 1.5^2 times its
    covariance, truncated to the cube; weights are likelihood x prior / proposal density (the
    truncation's constant cancels when the weights are normalised).
    """
    from scipy.stats import multivariate_normal

    m = 2 ** size_log2
    units = _sobol(d, size_log2, rng)
    mean, sd = emu.predict(units)
    imp = implausibility(mean, sd, emu.nugget_var).max(axis=1)
    info = {"prior_points": m, "non_implausible_share": float(np.mean(imp < CUTOFF))}
    sample = _normalise(units, _log_likelihood(mean, sd, emu.nugget_var, weights))
    for _ in range(rounds):
        mu, cov = sample.mean(), sample.cov() * 1.5 ** 2 + np.eye(d) * 1e-6
        n_gauss = int(0.9 * m)
        g = rng.multivariate_normal(mu, cov, size=4 * n_gauss)
        g = g[np.all((g >= 0.0) & (g <= 1.0), axis=1)][:n_gauss]
        draws = np.vstack([g, rng.random((m - len(g), d))])
        inside = _inside_mass(mu, cov, rng)
        q = (len(g) / m) * multivariate_normal(mu, cov, allow_singular=True).pdf(draws) / inside + (
            1 - len(g) / m
        )
        logw = log_likelihood(emu, draws, weights) - np.log(q)
        candidate = _normalise(draws, logw)
        if candidate.ess >= sample.ess * 0.5 or candidate.ess > 1000:
            sample = candidate
    info["ess"] = sample.ess
    return sample, info


def _inside_mass(mu, cov, rng, n: int = 20000) -> float:
    """Share of the Gaussian proposal inside the unit cube (its truncation constant)."""
    z = rng.multivariate_normal(mu, cov, size=n)
    return max(float(np.mean(np.all((z >= 0.0) & (z <= 1.0), axis=1))), 1.0 / n)


def _normalise(units: np.ndarray, logw: np.ndarray) -> WeightedSample:
    logw = np.where(np.isfinite(logw), logw, -np.inf)
    w = np.exp(logw - logw.max())
    return WeightedSample(units, w / w.sum())


# ----------------------------------------------------------------------------------------------
# what the data pin
# ----------------------------------------------------------------------------------------------
def verdict(width_ratio: float) -> str:
    """``pinned`` / ``narrowed`` / ``open`` from the posterior 90 % width over the prior's."""
    if not math.isfinite(width_ratio):
        return "open"
    if width_ratio <= PINNED:
        return "pinned"
    if width_ratio < OPEN:
        return "narrowed"
    return "open"


def unit_summary(sample: WeightedSample) -> list[dict]:
    """Per coordinate: posterior mean, median, 5 % and 95 % quantiles, and the 90 % width over the
    prior's (0.9)."""
    q = sample.quantiles([0.05, 0.5, 0.95])
    mean = sample.mean()
    out = []
    for i in range(sample.units.shape[1]):
        ratio = float((q[2, i] - q[0, i]) / 0.9)
        out.append(
            {
                "mean": float(mean[i]),
                "q05": float(q[0, i]),
                "median": float(q[1, i]),
                "q95": float(q[2, i]),
                "width_ratio": ratio,
                "verdict": verdict(ratio),
            }
        )
    return out


def draws(
    sample: WeightedSample, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` posterior draws by systematic resampling, repeats merged: unit rows and weights (sum
    1)."""
    idx = sample.resample(n, rng)
    uniq, counts = np.unique(idx, return_counts=True)
    return sample.units[uniq], counts / counts.sum()


def design_from_posterior(sample: WeightedSample, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` new design points spread over the posterior: resampled draws moved by a small Gaussian
    step (a fifth of the posterior's spread) so that no two coincide, kept inside the cube."""
    idx = sample.resample(n, rng)
    spread = np.sqrt(np.maximum(np.diag(sample.cov()), 1e-6))
    jitter = rng.normal(0.0, 0.2, size=(n, sample.units.shape[1])) * spread
    return np.clip(sample.units[idx] + jitter, 0.0, 1.0)

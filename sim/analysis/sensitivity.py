"""Which parameters matter: variance-based (Sobol') sensitivity indices and friends.

Two ways to Sobol' indices, both with bootstrap standard errors:

- :func:`saltelli_indices`: straight from a Saltelli design (matrices A, B and AB_i, see
  :mod:`sim.studies.designs`), with the Saltelli (2010) first-order and Jansen (1999) total
  estimators, the ones ``scipy.stats.sobol_indices`` uses. Honest about the simulation, but it
  needs ``N (k + 2)`` runs and is noisy for small ``N``.
- :class:`Surrogate`: a cheap polynomial metamodel (linear, additive quadratic, or full
  quadratic with pairwise interactions, whichever predicts best in leave-one-out
  cross-validation) fitted to the design's point means, whose Sobol' indices are then exact:
  for a polynomial of degree two in independent inputs the ANOVA (Hoeffding) decomposition has
  closed form, given each input's first four moments. Works with any design (LHS, grid,
  Saltelli) and few runs, but it is only as good as its fit: its R² and leave-one-out Q² are
  reported beside the indices, and what it cannot explain (simulation noise, higher-order
  effects) is not attributed to any parameter. Its bootstrap resamples residuals.

Indices are fractions of the output variance when each parameter varies uniformly over its
range (uniformly in log-space for log ranges; integers uniformly over their whole values;
true/false half and half). First order S_i: the share explained by parameter i alone. Total
ST_i: the share that involves parameter i at all, alone or with others; ST_i near zero means
the parameter can be fixed anywhere in its range without changing the output.

Also here: standardised regression coefficients (a linear screening) and main effects (the
metric expected at each parameter's low and high end, for tornado plots).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np

_NAN = float("nan")


# ----------------------------------------------------------------------------------------------
# Saltelli design estimators
# ----------------------------------------------------------------------------------------------
def _saltelli(f_a: np.ndarray, f_b: np.ndarray, f_ab: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First-order (Saltelli 2010) and total (Jansen 1999) indices; f_ab has shape (k, n)."""
    mean = np.mean(np.concatenate([f_a, f_b]))
    f_a, f_b, f_ab = f_a - mean, f_b - mean, f_ab - mean
    var = np.var(np.concatenate([f_a, f_b]))
    if not var > 0:
        k = f_ab.shape[0]
        return np.full(k, _NAN), np.full(k, _NAN)
    s = np.mean(f_b * (f_ab - f_a), axis=-1) / var
    st = 0.5 * np.mean((f_a - f_ab) ** 2, axis=-1) / var
    return s, st


def split_saltelli(y, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split outputs of a Saltelli design (rows A, B, AB_0 .. AB_k-1) into f_A, f_B, f_AB."""
    y = np.asarray(y, float)
    if y.size % (k + 2):
        raise ValueError(f"a Saltelli design with {k} parameters has a multiple of {k + 2} points, "
                         f"got {y.size}")
    n = y.size // (k + 2)
    return y[:n], y[n:2 * n], y[2 * n:].reshape(k, n)


def saltelli_indices(y, k: int, *, n_boot: int = 500, seed: int = 0,
                     confidence: float = 0.95) -> dict:
    """Sobol' indices from a Saltelli design's outputs, with bootstrap SEs and percentile CIs.

    Args:
        y: Outputs in design order: the N rows of A, the N rows of B, then each AB_i.
        k: Number of parameters.
        n_boot: Bootstrap resamples of the N base rows (A, B and AB_i rows move together).
        seed: Seed of the bootstrap.
        confidence: Level of the percentile intervals.

    Returns:
        ``{"first", "total", "first_se", "total_se", "first_ci", "total_ci", "n", "method"}``
        with one entry per parameter (lists; CIs as [low, high] pairs).
    """
    f_a, f_b, f_ab = split_saltelli(y, k)
    n = f_a.size
    s, st = _saltelli(f_a, f_b, f_ab)
    rng = np.random.default_rng(seed)
    boots_s, boots_t = [], []
    for _ in range(n_boot if n > 1 else 0):
        j = rng.integers(0, n, n)
        bs, bt = _saltelli(f_a[j], f_b[j], f_ab[:, j])
        boots_s.append(bs)
        boots_t.append(bt)
    return {"method": "saltelli", "n": int(n), "first": s.tolist(), "total": st.tolist(),
            **_boot_summary("first", boots_s, k, confidence),
            **_boot_summary("total", boots_t, k, confidence)}


def _boot_summary(name: str, boots: list[np.ndarray], k: int, confidence: float) -> dict:
    if not boots:
        return {f"{name}_se": [_NAN] * k, f"{name}_ci": [[_NAN, _NAN]] * k}
    b = np.asarray(boots, float)
    ok = np.isfinite(b).all(axis=1)
    b = b[ok]
    if len(b) < 2:
        return {f"{name}_se": [_NAN] * k, f"{name}_ci": [[_NAN, _NAN]] * k}
    a = (1 - confidence) / 2
    lo, hi = np.quantile(b, [a, 1 - a], axis=0)
    return {f"{name}_se": b.std(axis=0, ddof=1).tolist(),
            f"{name}_ci": np.stack([lo, hi], axis=1).tolist()}


# ----------------------------------------------------------------------------------------------
# polynomial surrogate with exact Sobol' indices
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Marginal:
    """The distribution of one input, in the surrogate's coordinate z = 2u - 1 in [-1, 1]."""

    moments: tuple[float, float, float, float]  # E z, E z^2, E z^3, E z^4
    levels: int  # distinct values it can take (a large number for continuous inputs)

    @classmethod
    def uniform(cls) -> Marginal:
        """A continuous input spread evenly over its range (the moments of z uniform on [-1, 1])."""
        return cls((0.0, 1.0 / 3.0, 0.0, 1.0 / 5.0), 10**9)

    @classmethod
    def discrete(cls, z) -> Marginal:
        """Equally likely values ``z`` (in [-1, 1])."""
        z = np.unique(np.asarray(z, float))
        return cls(tuple(float(np.mean(z ** p)) for p in (1, 2, 3, 4)), len(z))

    @property
    def var(self) -> float:
        """The variance of z under this marginal (floored at 0 against rounding)."""
        m1, m2, _, _ = self.moments
        return max(m2 - m1 * m1, 0.0)


def marginal_for(kind: str, low: float, high: float, unit_of=None) -> Marginal:
    """The marginal of a sweep parameter: uniform, whole numbers in [low, high], or true/false."""
    if kind == "bool":
        return Marginal.discrete([-1.0, 1.0])
    if kind == "int":
        values = np.arange(math.ceil(low - 1e-9), math.floor(high + 1e-9) + 1, dtype=float)
        if 1 < len(values) <= 10_000 and unit_of is not None:
            return Marginal.discrete([2.0 * unit_of(v) - 1.0 for v in values])
        if len(values) == 1:
            return Marginal.discrete([0.0])
    return Marginal.uniform()


TERMS = ("linear", "additive quadratic", "quadratic with interactions")


@dataclass
class Surrogate:
    """y ~ c0 + sum a_i z_i + sum b_i z_i^2 + sum g_ij z_i z_j (some terms absent), z = 2u - 1."""

    k: int
    degree: str
    terms: list[tuple]  # ("1",), ("z", i), ("zz", i), ("zizj", i, j)
    coef: np.ndarray
    r2: float
    q2: float
    n: int
    marginals: list[Marginal] = field(default_factory=list)

    # -- fitting --------------------------------------------------------------------------------
    @staticmethod
    def basis(z: np.ndarray, terms: list[tuple]) -> np.ndarray:
        """The design matrix: one column per term (constant, z_i, z_i^2 or z_i z_j) at points z."""
        cols = []
        for t in terms:
            if t[0] == "1":
                cols.append(np.ones(len(z)))
            elif t[0] == "z":
                cols.append(z[:, t[1]])
            elif t[0] == "zz":
                cols.append(z[:, t[1]] ** 2)
            else:
                cols.append(z[:, t[1]] * z[:, t[2]])
        return np.column_stack(cols)

    @staticmethod
    def candidate_terms(z: np.ndarray) -> dict[str, list[tuple]]:
        """The terms of each candidate degree; an input with too few distinct values for a
        term (one value: no slope; two: no curvature) does not get it."""
        k = z.shape[1]
        distinct = [len(np.unique(np.round(z[:, i], 12))) for i in range(k)]
        lin = [("1",)] + [("z", i) for i in range(k) if distinct[i] >= 2]
        add = lin + [("zz", i) for i in range(k) if distinct[i] >= 3]
        full = add + [("zizj", i, j) for i, j in itertools.combinations(range(k), 2)
                      if distinct[i] >= 2 and distinct[j] >= 2]
        return {"linear": lin, "additive quadratic": add, "quadratic with interactions": full}

    @classmethod
    def fit(cls, units, y, marginals: list[Marginal] | None = None,
            degree: str = "auto") -> Surrogate:
        """Least-squares fit; ``degree="auto"`` keeps the candidate with the best leave-one-out
        Q²."""
        u = np.asarray(units, float)
        y = np.asarray(y, float)
        if u.ndim != 2 or len(u) != len(y):
            raise ValueError("units must be (n, k) and y (n,)")
        ok = np.isfinite(y)
        u, y = u[ok], y[ok]
        z = 2.0 * u - 1.0
        k = z.shape[1]
        marginals = marginals or [Marginal.uniform()] * k
        cands = cls.candidate_terms(z)
        if degree != "auto":
            cands = {degree: cands[degree]}
        best = None
        for name, terms in cands.items():
            x = cls.basis(z, terms)
            if len(y) < len(terms) + 2 or np.linalg.matrix_rank(x) < len(terms):
                continue
            coef, r2, q2 = _lstsq(x, y)
            if best is None or q2 > best.q2 + 1e-9:
                best = cls(k, name, terms, coef, r2, q2, len(y), marginals)
        if best is None:  # too few points for even a line: the constant
            terms = [("1",)]
            coef = np.array([float(np.mean(y)) if len(y) else _NAN])
            best = cls(k, "constant", terms, coef, 0.0, _NAN, len(y), marginals)
        return best

    def refit(self, units, y) -> Surrogate:
        """The same terms fitted to other data (for the bootstrap)."""
        z = 2.0 * np.asarray(units, float) - 1.0
        coef, r2, q2 = _lstsq(self.basis(z, self.terms), np.asarray(y, float), press=False)
        return Surrogate(self.k, self.degree, self.terms, coef, r2, q2, len(y), self.marginals)

    def predict(self, units) -> np.ndarray:
        """The surrogate's output at inputs given in unit coordinates (each in [0, 1])."""
        z = 2.0 * np.atleast_2d(np.asarray(units, float)) - 1.0
        return self.basis(z, self.terms) @ self.coef

    # -- exact variance decomposition ------------------------------------------------------------
    def _parts(self):
        k = self.k
        a, b = np.zeros(k), np.zeros(k)
        g = np.zeros((k, k))
        c0 = 0.0
        for t, c in zip(self.terms, self.coef, strict=True):
            if t[0] == "1":
                c0 = c
            elif t[0] == "z":
                a[t[1]] = c
            elif t[0] == "zz":
                b[t[1]] = c
            else:
                g[t[1], t[2]] = g[t[2], t[1]] = c
        return c0, a, b, g

    def decomposition(self) -> dict:
        """Mean, variance, main-effect variances V_i and pairwise V_ij of the surrogate."""
        c0, a, b, g = self._parts()
        mom = np.array([m.moments for m in self.marginals])  # (k, 4)
        m1, m2, m3, m4 = mom.T
        var_z = np.maximum(m2 - m1 ** 2, 0.0)
        var_z2 = np.maximum(m4 - m2 ** 2, 0.0)
        cov_z_z2 = m3 - m1 * m2
        alpha = a + g @ m1  # g has a zero diagonal
        vi = alpha ** 2 * var_z + b ** 2 * var_z2 + 2 * alpha * b * cov_z_z2
        vij = g ** 2 * np.outer(var_z, var_z)
        mean = c0 + float(a @ m1 + b @ m2) + 0.5 * float(m1 @ g @ m1)
        var = float(vi.sum() + np.triu(vij, 1).sum())
        return {"mean": mean, "var": var, "vi": vi, "vij": vij}

    def indices(self) -> tuple[np.ndarray, np.ndarray]:
        """(first-order, total) Sobol' indices, exact for the polynomial; NaN without variance."""
        d = self.decomposition()
        if not d["var"] > 0:
            return np.full(self.k, _NAN), np.full(self.k, _NAN)
        s = d["vi"] / d["var"]
        st = (d["vi"] + d["vij"].sum(axis=1)) / d["var"]
        return s, st

    def main_effect(self, i: int, u) -> np.ndarray:
        """E[y | u_i = u]: the metric expected with parameter i at ``u``, the others varying."""
        c0, a, b, g = self._parts()
        m1 = np.array([m.moments[0] for m in self.marginals])
        m2 = np.array([m.moments[1] for m in self.marginals])
        d = self.decomposition()
        z = 2.0 * np.asarray(u, float) - 1.0
        alpha = a[i] + g[i] @ m1
        return d["mean"] + alpha * (z - m1[i]) + b[i] * (z ** 2 - m2[i])


def _lstsq(x: np.ndarray, y: np.ndarray, press: bool = True) -> tuple[np.ndarray, float, float]:
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ coef
    ss = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - float(resid @ resid) / ss if ss > 0 else _NAN
    q2 = _NAN
    if press and ss > 0:
        # leave-one-out residuals from the hat matrix: e_i / (1 - h_ii)
        q, _ = np.linalg.qr(x)
        h = np.sum(q * q, axis=1)
        if np.all(h < 1 - 1e-10):
            q2 = 1.0 - float(np.sum((resid / (1 - h)) ** 2)) / ss
        else:
            q2 = -math.inf
    return coef, r2, q2


def surrogate_indices(units, y, marginals: list[Marginal] | None = None, *, n_boot: int = 300,
                      seed: int = 0, confidence: float = 0.95, degree: str = "auto") -> dict:
    """Sobol' indices of a fitted polynomial surrogate, with bootstrap SEs and percentile CIs.

    The bootstrap resamples residuals (the design points are fixed by design, so resampling
    the points themselves would leave too few distinct ones to refit a quadratic): each
    resample is the fitted values plus residuals drawn with replacement, inflated by
    sqrt(n / (n - p)) for the p fitted terms; the surrogate is refitted and its indices
    recomputed. The spread reflects simulation noise and lack of fit.
    """
    u = np.asarray(units, float)
    y = np.asarray(y, float)
    ok = np.isfinite(y)
    u, y = u[ok], y[ok]
    sur = Surrogate.fit(u, y, marginals, degree)
    s, st = sur.indices()
    k = u.shape[1]
    rng = np.random.default_rng(seed)
    boots_s, boots_t = [], []
    if sur.degree != "constant":
        fitted = sur.predict(u)
        n, p = len(y), len(sur.terms)
        resid = (y - fitted) * math.sqrt(n / max(n - p, 1))
        for _ in range(n_boot):
            bs, bt = sur.refit(u, fitted + resid[rng.integers(0, n, n)]).indices()
            boots_s.append(bs)
            boots_t.append(bt)
    return {"method": "surrogate", "surrogate": sur, "degree": sur.degree, "r2": sur.r2,
            "q2": sur.q2, "n": int(len(y)), "first": s.tolist(), "total": st.tolist(),
            **_boot_summary("first", boots_s, k, confidence),
            **_boot_summary("total", boots_t, k, confidence)}


# ----------------------------------------------------------------------------------------------
# screening
# ----------------------------------------------------------------------------------------------
def src(values, y) -> dict:
    """Standardised regression coefficients of a linear fit on the parameter values, and its R²."""
    x = np.asarray(values, float)
    y = np.asarray(y, float)
    ok = np.isfinite(y)
    x, y = x[ok], y[ok]
    k = x.shape[1]
    sx = x.std(axis=0, ddof=1) if len(y) > 1 else np.zeros(k)
    sy = float(y.std(ddof=1)) if len(y) > 1 else 0.0
    if len(y) < k + 2 or not sy > 0:
        return {"src": [_NAN] * k, "r2": _NAN}
    keep = sx > 0
    xs = np.zeros_like(x)
    xs[:, keep] = (x[:, keep] - x[:, keep].mean(axis=0)) / sx[keep]
    design = np.column_stack([np.ones(len(y)), xs[:, keep]])
    coef, *_ = np.linalg.lstsq(design, (y - y.mean()) / sy, rcond=None)
    out = np.zeros(k)
    out[keep] = coef[1:]
    resid = (y - y.mean()) / sy - design @ coef
    r2 = 1.0 - float(resid @ resid) / float(len(y) - 1)
    return {"src": out.tolist(), "r2": r2}


def ranking(total, first=None) -> list[int]:
    """Parameter indices by importance: total index, then first order; NaN last."""
    t = np.nan_to_num(np.asarray(total, float), nan=-np.inf)
    f = np.nan_to_num(np.asarray(first if first is not None else total, float), nan=-np.inf)
    return sorted(range(len(t)), key=lambda i: (-t[i], -f[i], i))


# ----------------------------------------------------------------------------------------------
# analytic test functions (used by the tests and as a check of the estimators)
# ----------------------------------------------------------------------------------------------
def ishigami(units, a: float = 7.0, b: float = 0.1) -> np.ndarray:
    """The Ishigami function on [0, 1]^3 mapped to [-pi, pi]^3."""
    x = -np.pi + 2 * np.pi * np.asarray(units, float)
    return np.sin(x[:, 0]) + a * np.sin(x[:, 1]) ** 2 + b * x[:, 2] ** 4 * np.sin(x[:, 0])


def ishigami_indices(a: float = 7.0, b: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Exact first-order and total indices of :func:`ishigami`."""
    v1 = 0.5 * (1 + b * np.pi ** 4 / 5) ** 2
    v2 = a ** 2 / 8
    v13 = b ** 2 * np.pi ** 8 * (1 / 18 - 1 / 50)
    v = v1 + v2 + v13
    return np.array([v1, v2, 0.0]) / v, np.array([v1 + v13, v2, v13]) / v

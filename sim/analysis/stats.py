"""Statistics across replications: confidence intervals, paired comparisons, precision.

An experiment runs R replications of each scenario with common random numbers: replication r
of every scenario draws from the same random streams. Per-replication metrics are arrays of
length R indexed by replication, so the difference between two scenarios is best estimated
*pairwise* (replication by replication), which removes the noise the scenarios share and gives
much narrower intervals than comparing two independent samples.

Everything here is plain numpy/scipy (no pandas) and NaN-aware: a metric can be undefined in
some replications (for instance supported survival when nothing was supported); such values are
ignored, and in paired functions the whole pair is dropped. Functions return plain Python
floats/ints in dicts so the results serialise straight to JSON.

Intervals are Student-t intervals over replications: replications are independent and
identically distributed by construction, and their means are close to normal for the sample
sizes used (tens to hundreds of replications), so the t interval is the standard choice for
simulation output analysis (Law, *Simulation Modeling and Analysis*, ch. 9).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats as sps

__all__ = [
    "holm",
    "mean_curve",
    "paired_difference",
    "ratio_ci",
    "replications_needed",
    "summarize",
]

_NAN = float("nan")


def _check_confidence(confidence: float) -> float:
    confidence = float(confidence)
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence!r}")
    return confidence


def _t_quantile(confidence: float, df: float | np.ndarray) -> float | np.ndarray:
    """Two-sided Student-t critical value for ``confidence`` with ``df`` degrees of freedom."""
    return sps.t.ppf(0.5 + confidence / 2.0, df)


def _finite(values) -> np.ndarray:
    """Values as a flat float array with NaN (and +-inf) removed."""
    x = np.asarray(values, dtype=float).ravel()
    return x[np.isfinite(x)]


def _mean_sd(x: np.ndarray) -> tuple[float, float]:
    """Mean and sample SD (ddof=1) of a non-empty finite array, exact for constant input.

    Floating-point rounding makes ``np.std`` of e.g. ten copies of 0.1 a tiny positive number;
    constant input gets an SD of exactly 0 so its interval has exactly zero width.
    """
    if np.all(x == x[0]):
        return float(x[0]), (0.0 if x.size > 1 else _NAN)
    return float(x.mean()), (float(x.std(ddof=1)) if x.size > 1 else _NAN)


def summarize(values, confidence: float = 0.95) -> dict:
    """Mean of per-replication values with a Student-t confidence interval.

    Args:
        values: Per-replication values (any shape; flattened). NaN and infinite values are
            ignored: they mark replications where the metric is undefined.
        confidence: Two-sided confidence level, in (0, 1).

    Returns:
        A dict with ``mean``, ``ci_low``, ``ci_high``, ``half_width``, ``sd`` (sample standard
        deviation, ddof=1) and ``n`` (number of finite values). With no finite value every
        float is NaN and ``n`` is 0; with one value the mean is that value and ``sd``, the
        interval and ``half_width`` are NaN (no spread can be estimated); constant values give
        ``sd`` 0 and a zero-width interval.
    """
    confidence = _check_confidence(confidence)
    x = _finite(values)
    n = int(x.size)
    if n == 0:
        return {
            "mean": _NAN,
            "ci_low": _NAN,
            "ci_high": _NAN,
            "sd": _NAN,
            "n": 0,
            "half_width": _NAN,
        }
    mean, sd = _mean_sd(x)
    if n == 1:
        return {
            "mean": mean,
            "ci_low": _NAN,
            "ci_high": _NAN,
            "sd": _NAN,
            "n": 1,
            "half_width": _NAN,
        }
    half = float(_t_quantile(confidence, n - 1) * sd / math.sqrt(n)) if sd > 0 else 0.0
    return {
        "mean": mean,
        "ci_low": mean - half,
        "ci_high": mean + half,
        "sd": sd,
        "n": n,
        "half_width": half,
    }


def _paired(a, b) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (a_r, b_r) with both sides finite, as two aligned float arrays."""
    a = np.asarray(a, dtype=float).ravel()
    b = np.asarray(b, dtype=float).ravel()
    if a.shape != b.shape:
        raise ValueError(
            f"paired arrays must have the same length (one value per replication), got {a.size} "
            f"and {b.size}"
        )
    keep = np.isfinite(a) & np.isfinite(b)
    return a[keep], b[keep]


def paired_difference(a, b, confidence: float = 0.95) -> dict:
    """Mean difference ``a - b`` over paired replications, with t interval and paired t-test.

    With common random numbers replication r of scenario ``a`` and of reference ``b`` share
    their random streams, so the per-replication differences ``a[r] - b[r]`` are analysed as
    one sample (a paired t-test): the shared noise cancels and the interval is much narrower
    than an unpaired comparison whenever the scenarios are positively correlated.

    Args:
        a: Per-replication values of the scenario, indexed by replication.
        b: Per-replication values of the reference scenario, same replication indices.
        confidence: Two-sided confidence level, in (0, 1).

    Returns:
        A dict with ``diff`` (mean of ``a - b``), ``ci_low``, ``ci_high``, ``half_width``,
        ``p_value`` (two-sided paired t-test of zero mean difference, as
        ``scipy.stats.ttest_rel``) and ``n`` (number of pairs used). Pairs with a NaN on either
        side are dropped. When all differences are exactly 0 the p-value is 1.0 and the interval
        has zero width (the scenarios are indistinguishable, e.g. a policy that never triggers);
        constant non-zero differences give a p-value of 0.0 and a zero-width interval (scipy
        would return NaN there). With fewer than two pairs the interval and p-value are NaN.

    Raises:
        ValueError: if ``a`` and ``b`` have different lengths.
    """
    confidence = _check_confidence(confidence)
    x, y = _paired(a, b)
    d = x - y
    s = summarize(d, confidence)
    out = {
        "diff": s["mean"],
        "ci_low": s["ci_low"],
        "ci_high": s["ci_high"],
        "half_width": s["half_width"],
        "p_value": _NAN,
        "n": s["n"],
    }
    if s["n"] < 2:
        return out
    if s["sd"] == 0.0:  # constant differences: the t statistic is 0/0 or x/0
        out["p_value"] = 1.0 if s["mean"] == 0.0 else 0.0
        return out
    out["p_value"] = float(sps.ttest_1samp(d, 0.0).pvalue)
    return out


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (step-down family-wise error control).

    When several scenarios are each compared with the reference, some comparisons look
    significant by chance; Holm's procedure controls the probability of any false rejection at
    level alpha (rejecting where the adjusted p-value is <= alpha) without assuming
    independence, and is uniformly more powerful than plain Bonferroni.

    With the m non-NaN p-values sorted ascending, ``p_(1) <= ... <= p_(m)``, the adjusted value
    is ``max_{j <= i} min(1, (m - j + 1) * p_(j))``: monotone in the original p-values and
    capped at 1.

    Args:
        p_values: Raw p-values. NaN entries (comparisons that could not be tested) are passed
            through as NaN and do not count towards m.

    Returns:
        Adjusted p-values as a float array in the input order.

    Raises:
        ValueError: if a non-NaN p-value lies outside [0, 1].
    """
    p = np.asarray(p_values, dtype=float).ravel()
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    pv = p[ok]
    if np.any((pv < 0.0) | (pv > 1.0)):
        raise ValueError(f"p-values must lie in [0, 1] (or be NaN), got {p_values!r}")
    m = pv.size
    if m == 0:
        return out
    order = np.argsort(pv, kind="stable")
    scaled = (m - np.arange(m)) * pv[order]
    adjusted = np.minimum(np.maximum.accumulate(scaled), 1.0)
    res = np.empty(m)
    res[order] = adjusted
    out[ok] = res
    return out


def ratio_ci(num_diffs, den_diffs, confidence: float = 0.95) -> dict:
    """Ratio of two paired mean differences with a Fieller confidence interval.

    Used for cost-effectiveness: ``num_diffs[r]`` is the extra programme cost of a scenario over
    the reference in replication r and ``den_diffs[r]`` the extra survivors, so the ratio
    ``mean(num_diffs) / mean(den_diffs)`` is the cost per additional survivor.

    The interval is **Fieller's** (not the delta method): it is the set of ratios R for which a
    paired t-test of ``num_diffs - R * den_diffs`` does not reject zero mean at the given
    confidence, using the sample variances *and covariance* of the paired replications. Unlike
    the delta method it is exact under normality, asymmetric where it should be, and it says
    honestly when the ratio cannot be bounded: if the denominator's own t interval includes 0
    (the extra survivors are not distinguishable from none) the confidence set is unbounded.
    In that case the point ratio is still returned, ``ci_low``/``ci_high`` are NaN and
    ``defined`` is False.

    Args:
        num_diffs: Per-replication numerator differences (e.g. extra cost).
        den_diffs: Per-replication denominator differences (e.g. extra survivors), aligned by
            replication with ``num_diffs``; pairs with a NaN on either side are dropped.
        confidence: Two-sided confidence level, in (0, 1).

    Returns:
        A dict with ``ratio`` (mean numerator / mean denominator; +-inf if the mean
        denominator is exactly 0 and the numerator is not, NaN if both are 0), ``ci_low``,
        ``ci_high``, ``defined`` (True when the Fieller interval is a bounded interval, i.e.
        the denominator's interval excludes 0; False also with fewer than two pairs),
        ``num_mean``, ``den_mean``, ``n`` (pairs used) and ``method`` (``"fieller"``).

    Raises:
        ValueError: if the two arrays have different lengths.
    """
    confidence = _check_confidence(confidence)
    x, y = _paired(num_diffs, den_diffs)
    n = int(x.size)
    out = {
        "ratio": _NAN,
        "ci_low": _NAN,
        "ci_high": _NAN,
        "defined": False,
        "num_mean": _NAN,
        "den_mean": _NAN,
        "n": n,
        "method": "fieller",
    }
    if n == 0:
        return out
    mx, my = float(x.mean()), float(y.mean())
    with np.errstate(divide="ignore", invalid="ignore"):
        out["ratio"] = float(np.divide(mx, my))
    out["num_mean"], out["den_mean"] = mx, my
    if n < 2:
        return out
    # variances and covariance of the two sample means
    cov = np.cov(x, y, ddof=1) / n
    v11, v22, v12 = float(cov[0, 0]), float(cov[1, 1]), float(cov[0, 1])
    t2 = float(_t_quantile(confidence, n - 1)) ** 2
    # (mx - R my)^2 <= t^2 (v11 - 2 R v12 + R^2 v22)  <=>  a R^2 - 2 b R + c <= 0
    a = my * my - t2 * v22
    if not a > 0.0:  # denominator's interval contains 0: the confidence set is unbounded
        return out
    b = mx * my - t2 * v12
    c = mx * mx - t2 * v11
    disc = max(b * b - a * c, 0.0)  # >= 0 mathematically when a > 0; clip rounding
    root = math.sqrt(disc)
    out["ci_low"] = (b - root) / a
    out["ci_high"] = (b + root) / a
    out["defined"] = True
    return out


def replications_needed(values_or_diffs, target_half_width: float, confidence: float = 0.95) -> int:
    """Total number of replications for a t interval of at most ``target_half_width``.

    Estimates the standard deviation from the pilot replications (finite values only) and
    returns the smallest n >= 2 with ``t_{n-1} * sd / sqrt(n) <= target_half_width``; the
    caller runs ``max(0, result - replications_done)`` more. Pass per-replication metric
    values to target the precision of a scenario mean, or paired differences to target the
    precision of a comparison (usually far fewer replications under common random numbers).
    The SD is itself estimated, so treat the answer as a plan and re-check after running.

    Args:
        values_or_diffs: Pilot per-replication values (or paired differences).
        target_half_width: Desired half-width of the interval, in the metric's units (> 0).
        confidence: Two-sided confidence level, in (0, 1).

    Returns:
        The total number of replications needed (at least 2; 2 when the pilot values are
        constant).

    Raises:
        ValueError: if ``target_half_width`` is not a positive finite number or there are fewer
            than two finite pilot values (no SD can be estimated).
    """
    confidence = _check_confidence(confidence)
    h = float(target_half_width)
    if not (h > 0.0 and math.isfinite(h)):
        raise ValueError(
            f"target_half_width must be a positive finite number, got {target_half_width!r}"
        )
    x = _finite(values_or_diffs)
    if x.size < 2:
        raise ValueError(f"need at least 2 finite pilot values to estimate the SD, got {x.size}")
    _, sd = _mean_sd(x)

    def ok(n: int) -> bool:
        return float(_t_quantile(confidence, n - 1)) * sd / math.sqrt(n) <= h

    if ok(2):
        return 2
    # the normal-quantile answer is a lower bound (t quantiles exceed z); grow, then bisect
    z = float(sps.norm.ppf(0.5 + confidence / 2.0))
    lo = max(2, math.ceil((z * sd / h) ** 2) - 1)
    if ok(lo):  # rounding at the boundary: the bound itself may already do
        lo = 2
    hi = max(lo + 1, 3)
    while not ok(hi):
        lo, hi = hi, 2 * hi
    while hi - lo > 1:  # invariant: not ok(lo), ok(hi)
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid
    return int(hi)


def mean_curve(curves, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pointwise mean and t interval across replications of per-replication curves.

    Each row is one replication's curve on a common grid (e.g. a KM survival curve or
    cumulative supported start-ups by month). Each grid point gets the same interval as
    :func:`summarize` over its finite values, so the bands show replication-to-replication
    uncertainty of the expected curve.

    Args:
        curves: Array of shape (R, G): R replications by G grid points; NaN where a
            replication's curve is undefined.
        confidence: Two-sided confidence level, in (0, 1).

    Returns:
        ``(mean, low, high)``, each of length G. Points with no finite value are NaN; points
        with one finite value have the mean and NaN bounds; constant points have zero width.

    Raises:
        ValueError: if ``curves`` is not two-dimensional.
    """
    confidence = _check_confidence(confidence)
    c = np.asarray(curves, dtype=float)
    if c.ndim != 2:
        raise ValueError(
            f"curves must be a 2-D array (replications x grid points), got shape {c.shape}"
        )
    fin = np.isfinite(c)
    n = fin.sum(axis=0)
    z = np.where(fin, c, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = z.sum(axis=0) / n
        dev = np.where(fin, c - mean, 0.0)
        sd = np.sqrt((dev * dev).sum(axis=0) / (n - 1))
        hi_v = np.where(fin, c, -np.inf).max(axis=0)
        lo_v = np.where(fin, c, np.inf).min(axis=0)
        const = (n >= 1) & (hi_v == lo_v)
        mean = np.where(const, hi_v, mean)  # exact mean and zero SD for constant points
        sd = np.where(const & (n >= 2), 0.0, sd)
        q = _t_quantile(confidence, np.where(n >= 2, n - 1, 1))
        half = np.where(n >= 2, q * sd / np.sqrt(np.maximum(n, 1)), np.nan)
    mean = np.where(n >= 1, mean, np.nan)
    return mean, mean - half, mean + half

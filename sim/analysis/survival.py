"""Kaplan-Meier survival with right-censoring.

:func:`km_at` is the fast per-replication estimator (pure numpy, checked against
``scipy.stats.ecdf`` in the tests); :func:`km_curve` is the pooled curve with Greenwood (log-log)
confidence bands for the reports, in numpy as well (the same as ``scipy.stats.ecdf``'s to 1e-16,
also checked in the tests).
"""

from __future__ import annotations

import numpy as np


def km_at(durations: np.ndarray, events: np.ndarray, ages: np.ndarray | list[float],
          weights: np.ndarray | None = None) -> np.ndarray:
    """Kaplan-Meier survival S(a) at each age in ``ages``.

    ``durations``: time from origin to event or censoring; ``events``: True where the
    duration ends in the event (death), False where it is censored; ``weights``: how many firms
    each one stands for (deaths and numbers at risk are sums of weights). Returns NaN for ages
    beyond the last observed duration at risk (the curve is undefined there) unless the curve has
    already dropped to 0 (the last firms at risk all died, so S stays 0), and NaN everywhere
    when there is no one at risk.
    """
    ages = np.asarray(ages, dtype=float)
    d = np.asarray(durations, dtype=float)
    e = np.asarray(events, dtype=bool)
    if d.size == 0:
        return np.full(ages.shape, np.nan)
    return _km(*_risk_sets(d, e, weights), ages)


def _km(times: np.ndarray, at_risk: np.ndarray, deaths: np.ndarray, ages: np.ndarray) -> np.ndarray:
    """:func:`km_at` from the risk sets (:func:`_risk_sets`)."""
    factors = 1.0 - deaths / at_risk
    surv = np.cumprod(factors)
    idx = np.searchsorted(times, ages, side="right") - 1
    out = np.where(idx >= 0, surv[np.maximum(idx, 0)], 1.0)
    # undefined once nobody is at risk any more (beyond the largest duration) -- unless the
    # curve has already reached 0 (the last at-risk firms all died): then S = 0 from there on
    if surv[-1] > 0.0:
        out = np.where(ages > times[-1], np.nan, out)
    return out


def _risk_sets(d: np.ndarray, e: np.ndarray, weights: np.ndarray | None):
    """Distinct durations, with the number at risk and the deaths at each (sums of weights when
    given)."""
    w = None if weights is None else np.asarray(weights, dtype=float)
    if w is None and d.size and d.min() >= 0.0:  # False with a NaN
        # one sort of values, not of positions (numpy sorts values with SIMD, several times
        # faster): each duration's bits (order-preserving for non-negative doubles; + 0.0 makes
        # -0.0 the 0.0 it equals) shifted left, its event in the freed lowest bit; the order
        # within a run of equal durations changes no count
        key = np.sort(((d + 0.0).view(np.uint64) << np.uint64(1)) | e.astype(np.uint64))
        d_sorted = (key >> np.uint64(1)).view(np.float64)
        first = _runs(d_sorted)
        deaths = np.add.reduceat((key & np.uint64(1)).astype(np.int64), first)
        return d_sorted[first], d.size - first, deaths
    # the order within a run of equal durations changes no count, and with whole-number weights
    # (the model's) no sum either: numpy's default sort then, several times faster than a stable
    # one; other weights keep the stable order, so every sum is taken in one order
    stable = w is not None and not np.array_equal(w, np.floor(w))
    order = np.argsort(d, kind="stable" if stable else None)
    d, e = d[order], e[order]
    first = _runs(d)
    times = d[first]
    if w is None:
        return times, d.size - first, np.add.reduceat(e.astype(np.int64), first)
    w = w[order]
    return times, np.cumsum(w[::-1])[::-1][first], np.add.reduceat(np.where(e, w, 0.0), first)


def _runs(d_sorted: np.ndarray) -> np.ndarray:
    """Positions of the first of each run of equal values in sorted ``d_sorted`` (np.unique would
    sort them again)."""
    return np.flatnonzero(np.concatenate(([True], d_sorted[1:] != d_sorted[:-1])))


def km_curve(durations: np.ndarray, events: np.ndarray, grid: np.ndarray, confidence: float = 0.95,
             weights: np.ndarray | None = None):
    """Pooled KM curve on ``grid`` with pointwise Greenwood (log-log) confidence bands.

    Returns (survival, low, high) arrays of the grid's length (NaN where undefined: beyond the
    last duration unless the curve reached 0 there; the band where S = 0). With ``weights`` that
    are not all 1 see :func:`weighted_km_curve`. (scipy's ``ecdf`` gives the same curve and band
    to 1e-16, at three times the cost on a few million firms: the report draws dozens.)
    """
    d = np.asarray(durations, dtype=float)
    e = np.asarray(events, dtype=bool)
    grid = np.asarray(grid, dtype=float)
    w = None if weights is None else np.asarray(weights, dtype=float)
    if w is not None and not np.any(w != 1.0):
        w = None
    if d.size == 0:
        nan = np.full(grid.shape, np.nan)
        return nan, nan.copy(), nan.copy()
    return _greenwood(d, e, grid, w, confidence)


def weighted_km_curve(d: np.ndarray, e: np.ndarray, grid: np.ndarray, w: np.ndarray,
                      confidence: float = 0.95):
    """KM curve of weighted firms with a Greenwood (log-log) band widened by Kish's design effect.

    Deaths and numbers at risk are sums of weights. Greenwood's variance on those sums would treat
    a firm of weight 50 as 50 independent firms; multiplying it by the design effect
    ``n * sum(w^2) / sum(w)^2`` (1 when all weights are equal) counts it as what it is, one
    sampled firm (Kish 1965; a standard first-order correction for weighted survival curves).
    """
    return _greenwood(np.asarray(d, float), np.asarray(e, bool), np.asarray(grid, float),
                      np.asarray(w, float), confidence)


def _greenwood(d: np.ndarray, e: np.ndarray, grid: np.ndarray, w: np.ndarray | None,
               confidence: float):
    """The KM curve at ``grid`` and its log-log band from Greenwood's variance (times Kish's design
    effect with weights ``w``; None: every firm counts once)."""
    from scipy.stats import norm

    times, at_risk, deaths = _risk_sets(d, e, w)  # sorted once for the curve and its band
    s = _km(times, at_risk, deaths, grid)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(at_risk > deaths, deaths / (at_risk * (at_risk - deaths)), np.inf)
    deff = 1.0 if w is None else d.size * float((w ** 2).sum()) / float(w.sum()) ** 2
    greenwood = np.concatenate([[0.0], np.cumsum(terms)]) * deff
    idx = np.searchsorted(times, grid, side="right")
    z = norm.ppf(0.5 + confidence / 2.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.log(s)
        half = z * np.sqrt(greenwood[idx]) / np.abs(logs)
        lo, hi = np.exp(-np.exp(np.log(-logs) + half)), np.exp(-np.exp(np.log(-logs) - half))
    # at S = 1 the band is the point itself; where S = 0 or nobody is at risk it is undefined
    lo = np.where(s >= 1.0, 1.0, np.where(s > 0.0, lo, np.nan))
    hi = np.where(s >= 1.0, 1.0, np.where(s > 0.0, hi, np.nan))
    return s, lo, hi


def hazard_by_age(durations: np.ndarray, events: np.ndarray, edges: np.ndarray,
                  weights: np.ndarray | None = None) -> np.ndarray:
    """Deaths per firm-month at risk in each age band (the shape of the death valley); with
    ``weights``, each firm counts as that many."""
    d = np.asarray(durations, dtype=float)
    e = np.asarray(events, dtype=bool)
    w = np.ones(d.shape) if weights is None else np.asarray(weights, dtype=float)
    out = np.full(len(edges) - 1, np.nan)
    for i, (a, b) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
        exposure = (w * np.clip(d - a, 0.0, b - a)).sum()
        deaths = w[e & (d >= a) & (d < b)].sum()
        if exposure > 0:
            out[i] = deaths / exposure
    return out

"""Kaplan-Meier survival with right-censoring.

:func:`km_at` is the fast per-replication estimator (pure numpy, checked against
``scipy.stats.ecdf`` in the tests); :func:`km_curve` is the pooled curve with Greenwood
confidence bands, computed by ``scipy.stats.ecdf`` for the reports.
"""

from __future__ import annotations

import warnings

import numpy as np


def km_at(durations: np.ndarray, events: np.ndarray, ages: np.ndarray | list[float]) -> np.ndarray:
    """Kaplan-Meier survival S(a) at each age in ``ages``.

    ``durations``: time from origin to event or censoring; ``events``: True where the
    duration ends in the event (death), False where it is censored. Returns NaN for ages beyond
    the last observed duration at risk (the curve is undefined there) unless the curve has
    already dropped to 0 (the last firms at risk all died, so S stays 0), and NaN everywhere
    when there is no one at risk.
    """
    ages = np.asarray(ages, dtype=float)
    d = np.asarray(durations, dtype=float)
    e = np.asarray(events, dtype=bool)
    if d.size == 0:
        return np.full(ages.shape, np.nan)
    order = np.argsort(d, kind="stable")
    d, e = d[order], e[order]
    times, first = np.unique(d, return_index=True)
    at_risk = d.size - first
    deaths = np.add.reduceat(e.astype(np.int64), first)
    factors = 1.0 - deaths / at_risk
    surv = np.cumprod(factors)
    idx = np.searchsorted(times, ages, side="right") - 1
    out = np.where(idx >= 0, surv[np.maximum(idx, 0)], 1.0)
    # undefined once nobody is at risk any more (beyond the largest duration) -- unless the
    # curve has already reached 0 (the last at-risk firms all died): then S = 0 from there on
    if surv[-1] > 0.0:
        out = np.where(ages > d[-1], np.nan, out)
    return out


def km_curve(durations: np.ndarray, events: np.ndarray, grid: np.ndarray, confidence: float = 0.95):
    """Pooled KM curve on ``grid`` with pointwise Greenwood (log-log) confidence bands.

    Returns (survival, low, high) arrays of the grid's length (NaN where undefined).
    """
    d = np.asarray(durations, dtype=float)
    e = np.asarray(events, dtype=bool)
    grid = np.asarray(grid, dtype=float)
    nan = np.full(grid.shape, np.nan)
    if d.size == 0 or not e.any():
        s = km_at(d, e, grid)
        return s, s.copy(), s.copy()
    from scipy import stats  # here, not at import: workers that never draw a curve skip its cost

    data = stats.CensoredData(uncensored=d[e], right=d[~e])
    res = stats.ecdf(data).sf
    s = res.evaluate(grid)
    try:
        # scipy warns where the log-log band is undefined (S = 0) and returns NaN there; keep
        # those NaN points (under warnings-as-errors the whole band used to be discarded)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "The confidence interval is undefined", RuntimeWarning)
            ci = res.confidence_interval(confidence_level=confidence, method="log-log")
        lo, hi = ci.low.evaluate(grid), ci.high.evaluate(grid)
    except ValueError:  # pragma: no cover - degenerate data
        lo, hi = nan.copy(), nan.copy()
    beyond = grid > d.max()
    if km_at(d, e, d.max(keepdims=True))[0] == 0.0:  # curve reached 0: defined (0) beyond
        beyond[:] = False
    for arr in (s, lo, hi):
        arr[beyond] = np.nan
    return s, lo, hi


def hazard_by_age(durations: np.ndarray, events: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Deaths per firm-month at risk in each age band (the shape of the death valley)."""
    d = np.asarray(durations, dtype=float)
    e = np.asarray(events, dtype=bool)
    out = np.full(len(edges) - 1, np.nan)
    for i, (a, b) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
        exposure = np.clip(d - a, 0.0, b - a).sum()
        deaths = np.count_nonzero(e & (d >= a) & (d < b))
        if exposure > 0:
            out[i] = deaths / exposure
    return out

"""Scenario discovery: the conditions (boxes in parameter space) under which an outcome happens.

PRIM, the Patient Rule Induction Method (Friedman and Fisher 1999; Bryant and Lempert 2010 for
its use in policy analysis), peels a box down from the whole space, a little at a time, keeping
the cases where the outcome of interest happens. Each step trades *coverage* (the share of all
cases of interest inside the box) for *density* (the share of cases inside the box that are of
interest); the sequence of boxes is the *peeling trajectory*. The EMA Workbench's implementation
does the peeling (and quasi-p-values for each restriction); this module picks one box from the
trajectory and turns it into plain data.

Numbers in, numbers out: the cases come from a study (:mod:`sim.studies.discover`).
"""

from __future__ import annotations

import warnings

import numpy as np

MIN_CASES = 20
"""Fewer cases than this and PRIM has nothing to peel: the study says so and asks for more draws."""


def prim_available() -> bool:
    """Whether the EMA Workbench's PRIM can be imported (the optional ``discover`` extra)."""
    try:
        _prim()
    except ImportError:
        return False
    return True


def _prim():
    with warnings.catch_warnings():
        # the workbench warns about optional parallel back-ends on import
        warnings.simplefilter("ignore")
        from ema_workbench.analysis import prim
        from ema_workbench.util import ema_logging

    ema_logging.get_rootlogger().setLevel(40)
    return prim


def find_box(x: dict[str, np.ndarray], y: np.ndarray, *, threshold: float = 0.8,
             peel_alpha: float = 0.05, min_coverage: float = 0.5) -> dict:
    """PRIM on cases ``x`` (column name -> values) and outcome ``y`` (True: the case of interest).

    The chosen box is the densest on the trajectory whose coverage is at least ``min_coverage``
    (ties: the one covering more); ``meets_threshold`` says whether its density reaches
    ``threshold``. Returns the trajectory (coverage, density, mass, restricted dimensions per step),
    the chosen step, its limits on each restricted column with quasi-p-values, and the base rate
    (the density of the whole space).
    """
    import pandas as pd

    prim = _prim()
    frame = pd.DataFrame({k: np.asarray(v, float) for k, v in x.items()})
    y = np.asarray(y, bool)
    base = {"cases": int(len(y)), "of_interest": int(y.sum()),
            "base_density": float(y.mean()) if len(y) else None,
            "threshold": threshold, "peel_alpha": peel_alpha, "min_coverage": min_coverage}
    if y.sum() == 0 or y.all():
        return {**base, "trajectory": [], "chosen": None,
                "why": "the condition holds in no case" if y.sum() == 0 else "the condition holds "
                "in every case"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # the workbench peels down to its minimum mass whatever the threshold, then swaps a box
        # whose density misses the threshold for the whole space. It also counts a case as of
        # interest when y >= threshold, so a tiny positive threshold counts exactly the True cases
        # and keeps the box found; the choice below says whether it meets the planner's threshold.
        p = prim.Prim(frame, y, threshold=1e-9, peel_alpha=peel_alpha)
        box = p.find_box()
    traj = box.peeling_trajectory
    rows = [{"step": int(i), "coverage": float(r["coverage"]), "density": float(r["density"]),
             "mass": float(r["mass"]), "restricted": int(r["res_dim"])} for i, r in traj.iterrows()]
    ok = [r for r in rows if r["coverage"] >= min_coverage] or rows[:1]
    chosen = max(ok, key=lambda r: (r["density"], r["coverage"]))
    lims = box.box_lims[chosen["step"]]
    whole = box.box_lims[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        box.select(chosen["step"])
        qp = box.qp if isinstance(box.qp, list) else []
    # the workbench gives (p of the lower limit, p of the upper), -1 where a side is not restricted
    qmap = {}
    for item in qp:
        for col, v in getattr(item, "items", lambda: [])():
            ps = [float(t) for t in np.ravel(v) if float(t) >= 0]
            qmap[col] = min(ps) if ps else None
    limits = []
    for col in frame.columns:
        lo, hi = float(lims[col][0]), float(lims[col][1])
        if lo > float(whole[col][0]) or hi < float(whole[col][1]):
            limits.append({"column": col, "low": lo, "high": hi, "whole_low": float(whole[col][0]),
                           "whole_high": float(whole[col][1]), "quasi_p": qmap.get(col)})
    return {**base, "trajectory": rows,
            "chosen": {**chosen, "limits": limits,
                       "meets_threshold": chosen["density"] >= threshold}}

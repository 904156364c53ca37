"""The programme's effect on the start-ups it supported, and the published gap split into effect and
selection.

With common random numbers, start-up ``serial`` of a region in replication ``r`` is the same firm,
with the same luck, in every scenario: its *twin* in the no-programme world is the same firm left
alone. Following each supported start-up from its support date in both worlds gives the effect
of treatment on the treated, free of selection. The published-style gap (supported survival
from support minus unsupported survival from founding) is that effect plus selection.

A twin is the same firm only if it was founded at the same moment (founder education in a
region changes its arrivals); those few supported firms are left out and counted.
"""

from __future__ import annotations

import math

import numpy as np

from ..categorical import Categorical
from ..model.codes import DIED
from .survival import km_at, km_curve

VISIBLE_PP = 0.02
"""The least gap between two survival curves (a fraction: 2 percentage points) a reader can see on
a 0-100 % axis a few centimetres high; a scenario whose supported firms and twins differ by less
is described in words instead of drawn."""


def firm_keys(
    replication, region_names, serial, codes: dict[str, int], region_codes=None
) -> np.ndarray:
    """One integer per firm, equal for twins: (replication, region by name, serial). With
    ``region_codes`` (positions into ``region_names``, as ``np.unique(..., return_inverse=True)``
    gives them) the names are looked up once, not once per firm."""
    if region_codes is None:
        reg = np.fromiter((codes[r] for r in region_names), dtype=np.int64, count=len(serial))
    else:
        reg = np.array([codes[r] for r in region_names], dtype=np.int64)[np.asarray(region_codes)]
    # in place: tens of millions of firms, one array of keys and no temporaries beside it
    key = np.broadcast_to(replication, np.shape(serial)).astype(np.int64)  # a copy, of any input
    key *= 10**12
    reg *= 10**9
    key += reg
    key += np.asarray(serial)
    return key


def match_twins(
    key_a, founded_a, key_b, founded_b, order_b=None, sorted_b=None
) -> tuple[np.ndarray, np.ndarray]:
    """Positions ``(ia, ib)`` of the firms present in both worlds and founded at the same moment, in
    the order of their keys (keys are unique within each world). ``order_b``, ``argsort(key_b)``,
    and ``sorted_b``, ``key_b[order_b]``, may be given when the same world ``b`` is matched many
    times (a comparison's counterfactual)."""
    key_a, key_b = np.asarray(key_a), np.asarray(key_b)
    if order_b is None:
        order_b = np.argsort(key_b, kind="stable")
    if sorted_b is None:
        sorted_b = key_b[order_b]
    pos = np.searchsorted(sorted_b, key_a)
    found = pos < sorted_b.size
    found[found] = sorted_b[pos[found]] == key_a[found]
    ia = np.flatnonzero(found)
    ia = ia[np.argsort(key_a[ia], kind="stable")]
    ib = order_b[pos[ia]]
    # only the matched firms' founding times are widened to float64 (the same values)
    same = np.abs(np.asarray(founded_a)[ia].astype(float)
                  - np.asarray(founded_b)[ib].astype(float)) < 1e-9
    return ia[same], ib[same]


def survival_since_support(
    age_end, died, support_age, twin_age_end, twin_died, ages
) -> tuple[np.ndarray, np.ndarray]:
    """Kaplan-Meier survival of supported firms from their support date, with the programme and
    (their twins, from the same date) without it. Ages in months; a twin that died before that
    date counts as dead at once."""
    support_age = np.asarray(support_age, float)
    treated = km_at(np.asarray(age_end, float) - support_age, np.asarray(died, bool), ages)
    untreated = km_at(
        np.maximum(np.asarray(twin_age_end, float) - support_age, 0.0),
        np.asarray(twin_died, bool),
        ages,
    )
    return treated, untreated


def gap_decomposition(p: dict, c: dict, age_months: float = 60.0) -> dict:
    """Split the published-style gap at ``age_months`` into the programme's effect and selection.

    ``p`` and ``c`` are the firms of the programme world and of the no-programme world, as arrays:
    ``key`` (see :func:`firm_keys`), ``founded``, ``age_end`` (months from founding to death,
    acquisition or the horizon), ``died``, ``supported``, ``support_age`` (months from founding to
    selection), ``cohort`` (founded inside the cohort window) and, optionally, ``weight`` (how many
    start-ups each stands for; supported firms and their twins always stand for one).
    """
    out = {
        "supported": 0,
        "matched": 0,
        "s_sup": math.nan,
        "s_same_cf": math.nan,
        "s_unsup": math.nan,
        "naive": math.nan,
        "effect": math.nan,
        "selection": math.nan,
    }
    sup = np.flatnonzero(p["supported"])
    out["supported"] = int(sup.size)
    unsup = p["cohort"] & ~p["supported"]
    w = p.get("weight")
    out["s_unsup"] = float(km_at(p["age_end"][unsup], p["died"][unsup], [age_months],
                                 None if w is None else w[unsup])[0])
    if sup.size == 0:
        return out
    ia, ic = match_twins(p["key"][sup], p["founded"][sup], c["key"], c["founded"])
    m = sup[ia]
    out["matched"] = int(m.size)
    if m.size == 0:
        return out
    s_sup, s_cf = survival_since_support(
        p["age_end"][m],
        p["died"][m],
        p["support_age"][m],
        c["age_end"][ic],
        c["died"][ic],
        [age_months],
    )
    out["s_sup"], out["s_same_cf"] = float(s_sup[0]), float(s_cf[0])
    out["naive"] = out["s_sup"] - out["s_unsup"]
    out["effect"] = out["s_sup"] - out["s_same_cf"]
    out["selection"] = out["s_same_cf"] - out["s_unsup"]
    return out


def twins(records, scenario, supported_only: bool = True, quality: bool = False,
          keep: np.ndarray | None = None) -> dict:
    """Probe (see :func:`sim.experiment.task.run_task`): the firms needed to follow supported
    start-ups into the counterfactual, as columns. A programme scenario keeps its supported firms;
    the counterfactual keeps every firm that may apply (any of them may be some scenario's supported
    twin), or the rows ``keep`` selects (:func:`twins_eligible`). With ``quality``, their latent
    quality too (validation reports the supported firms' median)."""
    s = records.startups
    # a firm of the weighted sample never applies, so it is nobody's supported twin
    if keep is None:
        keep = s["supported"] if supported_only else s["weight"] == 1.0
    # compact columns (a comparison keeps these for every replication): a twin's founding time is
    # the
    # same float in both worlds, so float32 keeps the equality test exact
    return {
        "region": Categorical.of(s["region"][keep], records.region_names),
        "serial": s["serial"][keep].astype(np.int32),
        "founded_month": s["founded"][keep].astype(np.float32),
        "age_end": (s["outcome_time"] - s["founded"])[keep].astype(np.float32),
        "died": (s["outcome"] == DIED)[keep],
        "support_age": (s["support_time"] - s["founded"])[keep].astype(np.float32),
        **({"quality": s["quality"][keep]} if quality else {}),
    }


def twins_all(records, scenario) -> dict:
    """:func:`twins` for the counterfactual: every firm (what comparisons kept before
    :func:`twins_eligible`; folders that name it still resume with it)."""
    return twins(records, scenario, supported_only=False)


ELIGIBLE_MARGIN_MONTHS = 1.0
"""Months by which :func:`twins_eligible` widens each region's founding window: a twin founded at
the same moment in both worlds may differ in the last bits of its founding month (arrivals drawn
under another founding rate), and a month of firms costs a hundredth of the probe."""


def twins_eligible(records, scenario, bounds: dict[str, dict[str, float]]) -> dict:
    """:func:`twins` for the counterfactual of a comparison: only the firms some scenario of it
    could select, by ``bounds`` (:func:`sim.model.centre.applicant_bounds` of every scenario and
    posterior draw of the comparison, recorded in its manifest): in a region some centre recruits
    from, an application draw below the keenest centre's ``apply_below`` and founded inside
    ``founded_from`` .. ``founded_to`` (widened by :data:`ELIGIBLE_MARGIN_MONTHS`). A firm outside
    them is never supported in any scenario, so it is nobody's twin (:func:`twins_all` kept every
    firm of weight 1: in the shipped library this keeps 0.73 of them)."""
    s = records.startups
    names = records.region_names
    inf = float("inf")
    apply_below = np.array([bounds.get(r, {}).get("apply_below", 0.0) for r in names])
    lo = np.array([bounds.get(r, {}).get("founded_from", inf) for r in names])
    hi = np.array([bounds.get(r, {}).get("founded_to", -inf) for r in names])
    region = np.asarray(s["region"], np.int64)
    founded = s["founded"]
    keep = ((s["weight"] == 1.0) & (records.apply_u < apply_below[region])
            & (founded >= lo[region] - ELIGIBLE_MARGIN_MONTHS)
            & (founded <= hi[region] + ELIGIBLE_MARGIN_MONTHS))
    return twins(records, scenario, supported_only=False, keep=keep)


PROBES = {"twins": twins, "twins-all": twins_all, "twins-eligible": twins_eligible}
"""Probes a study may ask the experiment layer to run with a task, by name (names go in
manifests, with a probe's parameters where it takes some: see
:meth:`sim.experiment.runner.ExperimentSpec.probe`)."""


def twin_index(cf: dict) -> None:
    """Keep the counterfactual's key order in its twins table (``key_order``, ``key_sorted``), once:
    every scenario is matched against it."""
    if "key_order" not in cf:
        cf["key_order"] = np.argsort(np.asarray(cf["key"]), kind="stable")
        cf["key_sorted"] = np.asarray(cf["key"])[cf["key_order"]]


def twin_match(prog: dict, cf: dict) -> tuple[np.ndarray, np.ndarray]:
    """Positions ``(ia, ib)`` of a scenario's supported firms (``prog``) and of their twins in the
    counterfactual (``cf``), twins tables as for :func:`gap_by_replication` (:func:`match_twins`;
    the counterfactual's key order is kept in its table, since every scenario is matched against
    it)."""
    twin_index(cf)
    return match_twins(prog["key"], prog["founded_month"], cf["key"], cf["founded_month"],
                       cf["key_order"], cf.get("key_sorted"))


def gap_by_replication(
    prog: dict, cf: dict, unsupported_5y: dict[int, float], age_months: float = 60.0,
    matched: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict:
    """Per replication, the supported firms' survival from support with and without the programme.

    ``prog`` and ``cf`` are twins tables (columns of :func:`twins` with ``replication``, and each
    firm's ``key`` from :func:`firm_keys` in place of its region) of a scenario and of the
    counterfactual; ``unsupported_5y`` maps a replication to the scenario's
    ``unsupported_survival_5y``. Returns arrays by replication: ``s_sup``, ``s_same_cf``, ``effect``
    (s_sup - s_same_cf: what the programme did for the firms it supported), ``selection`` (s_same_cf
    - s_unsup: the rest of the published-style gap) and ``matched``. ``matched``: the firms'
    :func:`twin_match`, when it is already known.
    """
    reps = sorted(unsupported_5y)
    out = {
        k: np.full(len(reps), np.nan)
        for k in ("s_sup", "s_same_cf", "s_unsup", "effect", "selection", "matched")
    }
    # twins over all replications at once (the key holds the replication), then grouped by
    # replication
    ia_all, ib_all = matched if matched is not None else twin_match(prog, cf)
    # twin_match gives the twins in key order, and a key starts with its replication: each
    # replication's twins are one run of them
    rep_of = np.asarray(prog["replication"])[ia_all]
    starts = np.searchsorted(rep_of, reps, "left")
    ends = np.searchsorted(rep_of, reps, "right")
    for j, r in enumerate(reps):
        ia, ib = ia_all[starts[j]:ends[j]], ib_all[starts[j]:ends[j]]
        out["matched"][j] = ia.size
        out["s_unsup"][j] = unsupported_5y[r]
        if ia.size == 0:
            continue
        s_sup, s_cf = survival_since_support(
            np.asarray(prog["age_end"])[ia],
            np.asarray(prog["died"])[ia],
            np.asarray(prog["support_age"])[ia],
            np.asarray(cf["age_end"])[ib],
            np.asarray(cf["died"])[ib],
            [age_months],
        )
        out["s_sup"][j], out["s_same_cf"][j] = s_sup[0], s_cf[0]
    out["effect"] = out["s_sup"] - out["s_same_cf"]
    out["selection"] = out["s_same_cf"] - out["s_unsup"]
    out["replications"] = np.array(reps)
    return out


def twin_curves(
    prog: dict, cf: dict, grid_months, matched: tuple[np.ndarray, np.ndarray] | None = None
) -> dict | None:
    """Kaplan-Meier survival of a scenario's supported firms from their support date (with the
    programme) beside the same firms' twins in the counterfactual from the same date (without it),
    pooled over every replication, with 95 % Greenwood bands, on ``grid_months`` (months since
    support). ``prog`` and ``cf``: twins tables as for :func:`gap_by_replication`. Returns
    ``supported``, ``matched``, ``treated`` and ``twins`` ((survival, low, high) each), the largest
    gap between the two curves (``largest_gap``) and whether it is :data:`VISIBLE_PP` or more
    (``visible``); None when no supported firm has a twin. ``matched``: the firms'
    :func:`twin_match`, when it is already known."""
    ia, ib = matched if matched is not None else twin_match(prog, cf)
    if ia.size == 0:
        return None
    # the matched firms' columns, widened to float64 after they are picked (the same values)
    support = np.asarray(prog["support_age"])[ia].astype(float)
    grid = np.asarray(grid_months, float)
    treated = km_curve(np.asarray(prog["age_end"])[ia].astype(float) - support,
                       np.asarray(prog["died"])[ia].astype(bool), grid)
    untreated = km_curve(np.maximum(np.asarray(cf["age_end"])[ib].astype(float) - support, 0.0),
                         np.asarray(cf["died"])[ib].astype(bool), grid)
    gap = np.abs(treated[0] - untreated[0])
    largest = float(np.nanmax(gap)) if np.isfinite(gap).any() else math.nan
    return {
        "supported": int(np.asarray(prog["key"]).size),
        "matched": int(ia.size),
        "treated": treated,
        "twins": untreated,
        "largest_gap": largest,
        "visible": bool(math.isfinite(largest) and largest >= VISIBLE_PP),
    }

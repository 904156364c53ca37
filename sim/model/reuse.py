"""Reuse of a replication's draws across the scenarios that share them.

With common random numbers, replication ``r`` of every scenario draws the same start-ups with the
same luck, and scenarios that differ only in their programme (centres, grants, partners) have the
very same cohorts and the very same unsupported walks. A region's cohort and walk depend only on
that region (its own stream, its own rates), so they are kept region by region: a scenario that
changes one region (founder education in Daegu, regional funds outside Seoul) redraws or rewalks
that region only. A worker keeps a few replications' regions, keyed by exactly what they depend
on (the seed address and the scenario values that enter them), and hands them to the next task
that needs them. The arrays are made read-only, so a reuse can never change a result: a run from
the cache and a run from scratch are identical (a test pins it).
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Callable

import numpy as np

MAX_ENTRIES = 3 * 17
"""Entries kept per cache: three replications' regions (a replication's cohorts of the shipped
economy take about 80 MB)."""

_CACHES: dict[str, OrderedDict] = {"cohorts": OrderedDict(), "walk": OrderedDict(),
                                   "economy": OrderedDict(), "population": OrderedDict()}
_LIMITS = {"cohorts": MAX_ENTRIES, "walk": MAX_ENTRIES, "economy": 3, "population": 2}
_ONE_REPLICATION = {"economy", "population"}
"""Caches that keep one replication's values only: a value of another replication drops them."""
"""Economies (every region's cohort and walk laid end to end, about 95 MB each at the shipped
scale) are kept for the last three asked for, of one replication only (see :func:`economy_key`):
the runner gives a worker a replication's scenarios one after another, and the shipped library
holds four economies per replication (the common one, grants-only's and the counterfactual's
without founder education in Daegu, regional funds), of which only the common one returns later
in the run. A whole population (its columns and row table, about 120 MB) is kept for the last two
asked for: economies that differ in their venture money alone (regional funds) share it."""
STATS = {kind: {"hits": 0, "misses": 0} for kind in _CACHES}
"""Per cache, how often a lookup found its value (hits) or made it (misses)."""


COHORT_SECTIONS = ("calendar", "sectors", "startups", "sampling")
"""What every region's cohort (arrivals and every random attribute) depends on, besides its seed
address, its own entry of ``regions`` and the founder education in it."""
WALK_SECTIONS = (*COHORT_SECTIONS, "funding")
"""What a region's unsupported walk depends on: its cohort, the funding terms, and its venture money
(the supply row given to :func:`key`). A region's part of the population (its start-ups' rates and
round sizes, kind "population") depends on the same sections, without the venture money."""


def key(kind: str, scenario, seed: int, replication: int, salt: int, region: str,
        supply: np.ndarray | None = None) -> tuple:
    """The cache key of ``region``'s cohort (``kind`` "cohorts"), its start-ups' rates
    ("population") or its unsupported walk ("walk", with the region's venture money by period,
    ``supply``: None when not limited)."""
    sections = COHORT_SECTIONS if kind == "cohorts" else WALK_SECTIONS
    data = {s: scenario.model_dump(mode="json", include={s})[s] for s in sections}
    data["region"] = scenario.regions[region].model_dump(mode="json")
    data["education"] = {n: e.model_dump(mode="json") for n, e in scenario.founder_education.items()
                         if e.region == region}
    # and the dated changes of those (a region's founding rate and its funding access, its
    # education's multipliers, the walk's round odds and hazards, from a month on)
    mine = (f"regions.{region}.", *(f"founder_education.{n}." for n in data["education"]),
            *(f"{s}." for s in sections))
    dated = {m: {k: v for k, v in items.items() if k.startswith(mine)}
             for m, items in scenario.timeline.items()}
    if any(dated.values()):
        data["dated"] = {m: items for m, items in dated.items() if items}
    h = hashlib.sha1(json.dumps(data, sort_keys=True).encode())
    if kind == "walk":
        h.update(b"unlimited" if supply is None
                 else np.ascontiguousarray(supply, dtype=float).tobytes())
    return (seed, replication, salt, region, h.hexdigest())


def freeze(value):
    """Make every numpy array attribute of ``value`` read-only, and those of the objects it holds
    directly (a walk's paths, the market's demand); return ``value``."""
    for v in vars(value).values():
        if isinstance(v, np.ndarray):
            v.setflags(write=False)
        elif (hasattr(v, "__dict__") and not isinstance(v, type)
              and type(v).__module__.startswith("sim.")):
            freeze(v)
    return value


def economy_key(seed: int, replication: int, salt: int, walk_keys: list[tuple]) -> tuple:
    """The cache key of the economy the regions' walks ``walk_keys`` (from :func:`key`) make up (or
    of the population their "population" keys make up); like every key here it starts with the seed
    address (seed, replication, salt)."""
    return (seed, replication, salt, tuple(walk_keys))


def cached(kind: str, k: tuple, make: Callable):
    """The value for ``k`` from this worker's ``kind`` cache, made (and kept) on a miss."""
    cache = _CACHES[kind]
    if k in cache:
        cache.move_to_end(k)
        STATS[kind]["hits"] += 1
        return cache[k]
    STATS[kind]["misses"] += 1
    if kind in _ONE_REPLICATION:  # another replication's values will not be asked for again soon
        for old in [o for o in cache if o[:3] != k[:3]]:
            del cache[old]
    value = freeze(make())
    cache[k] = value
    while len(cache) > _LIMITS[kind]:
        cache.popitem(last=False)
    return value


def clear() -> None:
    """Empty this worker's caches and zero their counts, so a test or a benchmark starts cold."""
    for cache in _CACHES.values():
        cache.clear()
    for counts in STATS.values():
        counts.update(hits=0, misses=0)

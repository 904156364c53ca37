"""Reuse of a replication's draws across the scenarios that share them.

With common random numbers, replication ``r`` of every scenario draws the same start-ups with the
same luck, and scenarios that differ only in their programme (centres, grants, partners) have the
very same cohorts and the very same unsupported walks: in the shipped library 11 of 14 scenarios
share ccei-announced's. A worker keeps the last few cohorts and walks, keyed by exactly what they
depend on (the seed address and the scenario sections that enter them), and hands them to the next
task that needs them. The arrays are made read-only, so a reuse can never change a result: a run
from the cache and a run from scratch are identical (a test pins it).
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Callable

import numpy as np

MAX_ENTRIES = 3
"""Entries kept per cache (a replication's cohorts of the shipped economy take about 20 MB)."""

_CACHES: dict[str, OrderedDict] = {"cohorts": OrderedDict(), "walk": OrderedDict()}
STATS = {"hits": 0, "misses": 0}


def _digest(scenario, sections: tuple[str, ...]) -> str:
    data = {s: scenario.model_dump(mode="json", include={s})[s] for s in sections}
    return hashlib.sha1(json.dumps(data, sort_keys=True).encode()).hexdigest()


COHORT_SECTIONS = ("calendar", "sectors", "regions", "startups", "founder_education")
"""What a region's cohort (arrivals and every random attribute) depends on, besides its seed address."""
WALK_SECTIONS = (*COHORT_SECTIONS, "funding")
"""What the unsupported walk depends on: the cohorts, and the funding market."""


def key(kind: str, scenario, seed: int, replication: int, salt: int) -> tuple:
    sections = COHORT_SECTIONS if kind == "cohorts" else WALK_SECTIONS
    return (seed, replication, salt, _digest(scenario, sections))


def _frozen(value):
    """Make every numpy array inside ``value`` (a list, a dataclass) read-only; return ``value``."""
    items = value if isinstance(value, list) else [value]
    for item in items:
        for v in vars(item).values():
            if isinstance(v, np.ndarray):
                v.setflags(write=False)
    return value


def cached(kind: str, k: tuple, make: Callable):
    """The value for ``k`` from this worker's ``kind`` cache, made (and kept) on a miss."""
    cache = _CACHES[kind]
    if k in cache:
        cache.move_to_end(k)
        STATS["hits"] += 1
        return cache[k]
    STATS["misses"] += 1
    value = _frozen(make())
    cache[k] = value
    while len(cache) > MAX_ENTRIES:
        cache.popitem(last=False)
    return value


def clear() -> None:
    for cache in _CACHES.values():
        cache.clear()
    STATS.update(hits=0, misses=0)

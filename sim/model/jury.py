"""A contest's applicants and the jury's ranking of them, in one compiled call.

:meth:`Centre.contest <sim.model.centre.Centre.contest>` asks who applies (start-ups of its
catchment founded inside its age window, still in the valley at the contest, willing to apply and
not yet taken) and whom the jury ranks first on its noisy view of quality. In numpy that was a
binary search and four masks per region, a gather, a score and a partial sort, some twenty calls
a contest at about 600 contests a scenario; here it is one call with the same arithmetic, so the
same start-ups in the same order (tests/test_hot_path.py holds it to the numpy expressions). A
candidate that has left the valley or been taken is skipped by every later scan: four in five of
the window a contest scans at the shipped scale. Measured on one replication of the main job (15
tasks, 9,122 contests): the contests' own time 1.29-1.33 s -> 0.67-0.77 s of CPU, the same
records.

Numba is imported with this module, by a process that simulates (``World.jury``), like
:mod:`kernels`.
"""

from __future__ import annotations

import numba
import numpy as np

_jit = numba.njit(cache=True, error_model="numpy", boundscheck=False, nogil=True)


@_jit
def best(neg, k):
    """Positions of the ``k`` smallest values of ``neg`` in the order a stable sort of all of them
    gives (ties in position order, NaN last): a partition, then a stable sort of the top."""
    if k < neg.size:
        kth = np.partition(neg, k - 1)[k - 1]
        if kth == kth:  # not NaN
            top = np.flatnonzero(neg <= kth)
            return top[np.argsort(neg[top], kind="mergesort")[:k]]
    return np.argsort(neg, kind="mergesort")[:k]


@_jit
def _next(skip, p):
    """The first position at or after ``p`` not yet known to be out of every later contest
    (``skip[p] == p``), halving the path on the way."""
    while skip[p] != p:
        skip[p] = skip[skip[p]]
        p = skip[p]
    return p


@_jit
def contest(cand, founded, leaves, apply_u, starts, skip, regions, oldest, youngest, now,
            p_apply, taken, log_quality, pitch_z, noise, sector, in_focus, focused, bonus, k):
    """One contest's applicants and the ``k`` the jury ranks first.

    The pool (:meth:`Population.fresh <sim.model.population.Population.fresh>`): ``cand`` (sids),
    ``founded``, ``leaves`` and ``apply_u`` of the candidates, region ``r``'s at
    ``starts[r]:starts[r + 1]`` in founding order. Applicants: those of ``regions`` founded in
    [``oldest``, ``youngest``], still in the valley at ``now`` (``leaves > now``), willing
    (``apply_u < p_apply``) and not ``taken``, region by region in founding order. The jury's score
    is ``log_quality + noise * pitch_z``, plus ``bonus`` for a sector ``in_focus`` when the centre
    has a focus (``focused``). Returns (how many applied, the chosen sids in rank order)."""
    room = 0
    for j in range(regions.size):
        room += starts[regions[j] + 1] - starts[regions[j]]
    sids = np.empty(room, np.int64)
    n = 0
    for j in range(regions.size):
        a, b = starts[regions[j]], starts[regions[j] + 1]
        lo = a + np.searchsorted(founded[a:b], oldest, side="left")
        hi = a + np.searchsorted(founded[a:b], youngest, side="right")
        p = _next(skip, lo)
        while p < hi:
            s = cand[p]
            if not leaves[p] > now or taken[s]:
                skip[p] = p + 1
            elif apply_u[p] < p_apply:
                sids[n] = s
                n += 1
            p = _next(skip, p + 1)
    if n == 0:
        return 0, sids[:0]
    neg = np.empty(n)
    for j in range(n):
        s = sids[j]
        score = log_quality[s] + noise * pitch_z[s]
        if focused:
            score = score + (bonus if in_focus[int(sector[s])] else 0.0)
        neg[j] = -score
    return n, sids[:n][best(neg, k)]

"""Random streams: one root seed -> independent numpy generators per replication and purpose.

Every stream is addressed by ``(replication, purpose, key)`` through a SeedSequence spawn key,
never by the order in which streams happen to be created. The key of a region is a stable hash
of its name, so replication ``r`` of every scenario sees the same start-ups with the same luck
(common random numbers), whatever other regions, centres or workers exist.

Each start-up's luck is one row of :data:`N_UNIFORMS` uniforms drawn at founding, with a fixed
column per use (:class:`Col`). Clocks that the programme can speed up or slow down are driven by
exponential "budgets" (an Exp(1) draw consumed by the integrated hazard), so a changed rate
moves the event in time without reshuffling any other draw.
"""

from __future__ import annotations

import zlib

import numpy as np

ARRIVALS = 1
STARTUPS = 2
SAMPLE_ARRIVALS = 3
"""Arrivals of the weighted sample of never-applicants (see :mod:`region`)."""
SAMPLE_STARTUPS = 4
SAMPLE_QUALITY = 5
"""The sampled never-applicants' quality draws (drawn first: their sampling tier depends on it)."""
SAMPLE_KEEP = 6
"""The draw that keeps or drops a candidate of the sample (by its quality tier)."""


class Col:
    """Columns of a start-up's row of uniforms."""

    QUALITY = 0
    SECTOR = 1
    CASH = 2
    BURN = 3
    TEAM = 4
    APPLY = 5
    PITCH = 6
    WORK = 7  # 7, 8, 9: work content of prototype, product, traction
    FAIL = 10  # one Exp(1) budget for non-cash failure, across stages
    ACQUIRE = 11
    MATURE = 12
    RAISE = 13  # 13, 14, 15: venture (equity) rounds after prototype, product, traction
    RAISE_SIZE = 16  # 16, 17, 18
    BRIDGE = 19  # 19 .. 19 + MAX_BRIDGE_DRAWS - 1: bridge loans when cash runs out (debt)
    BRIDGE_SIZE = 27  # 27 .. 27 + MAX_BRIDGE_DRAWS - 1
    CONGLOMERATE = 35
    DEBT = 36  # 36, 37, 38: loans at the milestones (debt)
    DEBT_SIZE = 39  # 39, 40, 41


MAX_BRIDGE_DRAWS = 8
N_UNIFORMS = 42


def name_key(name: str) -> int:
    """A stable 32-bit key for a name (the same in every process and Python version)."""
    return zlib.crc32(name.encode("utf-8"))


def generator(seed: int, replication: int, purpose: int, key: int = 0,
              salt: int = 0) -> np.random.Generator:
    """The generator for one (replication, purpose, key). ``salt`` != 0 breaks CRN on purpose."""
    ss = np.random.SeedSequence(entropy=int(seed),
                                spawn_key=(int(replication), purpose, int(key), int(salt)))
    return np.random.Generator(np.random.PCG64(ss))

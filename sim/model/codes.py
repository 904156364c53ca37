"""The model's codes, named once: outcomes, causes of death, stages and clocks.

Records store these as small integers (numpy columns); every module compares against these
names, never against bare numbers, and the results files spell them out (:data:`OUTCOMES`,
:data:`CAUSES`, :data:`STAGE_NAMES`).
"""

from __future__ import annotations

# outcome of a start-up at the horizon
ALIVE, DIED, ACQUIRED = 0, 1, 2
OUTCOMES = ("alive", "died", "acquired")
"""Names of the outcome codes, by code."""

# causes of death ("" for the living and the acquired)
NO_CAUSE, CASH, FAILURE, MATURE = 0, 1, 2, 3
CAUSES = ("", "cash", "failure", "mature")
"""Names of the cause codes, by code: out of cash, non-cash failure, death after the valley."""

# stages: 0, 1, 2 are the valley's stages (scenario.schema.STAGES); this one is past it
TRACTION = 2
"""The valley's last stage: market acquisitions and the partner's decision happen here."""
CROSSED = 3
"""Stage index once the valley is crossed."""

# the clocks a start-up waits on (which one rang first)
MILESTONE, FAIL, BROKE, ACQUISITION = 0, 1, 2, 3
HORIZON = 4
"""The calendar ends before any clock rings (the bulk walk)."""
RESIDENCY_END = 5
"""The residency at a centre ends (a supported start-up's walk)."""
BREAK = 6
"""A dated hazard changes (the walk's break clock, :mod:`dated`): the clocks run on at the new
rate."""
LIMIT = -1
"""The walk reached the time limit it was asked to stop at (a supported start-up's walk)."""

# channels of money a start-up raises (rounds and the ledger of money attracted)
EQUITY, DEBT, PARTNER = 0, 1, 2
CHANNELS = ("equity", "debt", "partner")
"""Venture (equity) rounds from the market, loans (milestone loans and bridges), the partner's
equity."""

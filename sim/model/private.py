"""A supported start-up's private walk, compiled (numba).

A selected start-up's own arithmetic (its four clocks, the milestones and bridge rounds that concern
nobody else, the replay from its founding to its selection) is most of what it costs, and in Python
most of that is the interpreter's: reading and writing two dozen attributes a step. Here the
mutable state of every supported start-up of a world is one row of a float64 table
(:data:`STATE_WIDTH` columns, laid out below) and the walk runs in compiled code on that row; the
:class:`startup.Startup` object keeps its index and what the SimPy side holds (its seat, its
centre, the moment it waits for); its record (grant, partner's money, outcome) is columns of its row
too, so the records read every supported start-up in one gather. Seats, budgets and partners'
decisions stay on the SimPy clock: a kernel returns at the first moment others must see, exactly
where the Python walk returned before.

The arithmetic is :mod:`walk`'s and the Python walk's, operation by operation and in the same order
(no fastmath: no reassociation, no fused multiply-adds; ``0.5 ** x`` is C's ``pow`` as in Python;
``int(t / PERIOD_MONTHS)`` truncates), so results are bit-identical: tests/test_private.py runs the
kernels compiled and as plain Python on the same start-ups, and the bulk-walk tests replay start-ups
through them. Divisions are guarded as in Python (``error_model="numpy"`` only drops the zero
checks).

The world's constants (round odds, market multipliers, dated terms, caps) are packed in one float64
vector (:func:`constants`) and the money a supported firm seeks, raises and hires after its support
goes to one log table (:data:`SOUGHT`, :data:`ROUND`, :data:`PARTNER_RAISED`, :data:`HIRED` rows, in
the order the Python walk appended them to the world's lists; row 0 holds the count): each kernel
takes a few arrays, so a call from Python costs well under a microsecond.

The kernels are :mod:`kernels`; a world imports them when it is built (``World.kernels``), so
only a process that simulates loads numba. ``cache=True`` keeps the machine code in
``sim/model/__pycache__`` (or ``NUMBA_CACHE_DIR``): a fresh checkout compiles once, in each worker
process that starts before the cache is written.
"""

from __future__ import annotations

import math

import numpy as np

from .codes import ALIVE, NO_CAUSE, PARTNER
from .market import PERIOD_MONTHS
from .population import ROW
from .streams import MAX_BRIDGE_DRAWS

INF = math.inf

# -- a state row: the start-up's population row (population.ROW), its bridge sizes, its walk -----
_ROW = ROW.width
FOUNDED, SECTOR, REGION, CASH, BURN, TEAM = 0, 1, 2, 3, 4, 5
FAIL_BUDGET, ACQ_BUDGET, MATURE_BUDGET, HQ, SPEED_Q, EQ_Q, DEBT_Q, ACQ_RATE = (
    7, 8, 9, 10, 11, 12, 13, 14)
WORK, RAISE_U, RAISE_AMOUNT = ROW.work.start, ROW.raise_u.start, ROW.raise_amount.start
DEBT_U, DEBT_AMOUNT, BRIDGE_U = ROW.debt_u.start, ROW.debt_amount.start, ROW.bridge_u.start
BRIDGE_AMOUNT = _ROW  # 3 * MAX_BRIDGE_DRAWS sizes: stage s, draw b at BRIDGE_AMOUNT + s * 8 + b
_MUTABLE = BRIDGE_AMOUNT + 3 * MAX_BRIDGE_DRAWS
(REVENUE, STAGE, WORK_LEFT, FAIL_USED, ACQ_USED, BRIDGES, BRIDGES_WON, EPOCH, HAZARD_MULT,
 SPEED_MULT, FUND_MULT, FUND_BOOST, BOOST_HALF_LIFE, RES_END, SUPPORT_TIME, EQUITY_KRW, DEBT_KRW,
 SUPPORTED, SID, CELL0,
 CENTRE, GRANT_KRW, CONGLOMERATE_KRW, SUBCONTRACT, OUTCOME, CAUSE, OUTCOME_TIME,
 CROSSED_TIME) = range(_MUTABLE, _MUTABLE + 28)
STATE_WIDTH = _MUTABLE + 28
"""Columns of a state row. The row's ``CASH`` column is the start-up's cash (its founding cash
until it walks); ``SUPPORTED`` is 1 once a centre supports it (what it raises is logged from
then on). ``CENTRE`` to ``CROSSED_TIME`` are what the records read of a supported start-up besides
its walk (its centre's index, its grant, its partner's money, a subcontract, its outcome, cause
and their months): written at its selection (:func:`kernels.select`) and by the SimPy side
(:class:`startup.Startup`'s properties), read in one gather."""
FRESH = slice(_MUTABLE, STATE_WIDTH)
"""The walk's own columns of a state row (REVENUE to CROSSED_TIME)."""
FRESH_ROW = np.zeros(STATE_WIDTH - _MUTABLE)
"""Those columns at founding, before the row's own values (work left, epoch, sid, first market
cell) are written: no revenue, stage 0, nothing used, sought or raised, multipliers 1, no boost,
no residency, not supported, no centre (-1), no grant or partner's money, alive (codes.ALIVE,
NO_CAUSE), never crossed (NaN months)."""
FRESH_ROW[[c - _MUTABLE for c in (HAZARD_MULT, SPEED_MULT, FUND_MULT)]] = 1.0
FRESH_ROW[[c - _MUTABLE for c in (BOOST_HALF_LIFE, RES_END)]] = INF
FRESH_ROW[[c - _MUTABLE for c in (SUPPORT_TIME, OUTCOME_TIME, CROSSED_TIME)]] = math.nan
FRESH_ROW[CENTRE - _MUTABLE] = -1.0
for _name, _col in zip(("founded", "region", "cash", "burn", "team", "fail_budget", "acq_budget",
                        "mature_budget", "hq", "speed_q", "eq_q", "debt_q", "acq_rate"),
                       (FOUNDED, REGION, CASH, BURN, TEAM, FAIL_BUDGET, ACQ_BUDGET,
                        MATURE_BUDGET, HQ, SPEED_Q, EQ_Q, DEBT_Q, ACQ_RATE), strict=True):
    assert getattr(ROW, _name) == _col, _name  # the population row's layout
assert ALIVE == 0 and NO_CAUSE == 0  # a fresh row's zeros

# -- the log: one row per entry, (kind, sid, month, KRW, channel, bridge) --------------------------
SOUGHT, ROUND, PARTNER_RAISED, HIRED = 0.0, 1.0, 2.0, 3.0
"""Kinds of log rows: venture money sought (sid column: the market cell), a round won (also money
raised), a partner's equity (money raised, not a round), jobs hired (KRW column: the jobs)."""
LOG_WIDTH = 6
ROWS_PER_STARTUP = 13
"""Log rows one supported start-up can write after its support, bridges aside: at each of its three
milestones one sought, two rounds, one hire; and one partner's equity."""

# -- what a supported start-up's wake-up asks of the SimPy side (kernels.wake, kernels.walk_on) --
WAIT, GONE, CROSS, ASK, OVER = 0, 1, 2, 3, 4
"""Actions a wake-up returns with (action, time, clock, value): ``WAIT`` for the next moment others
must see (at time, for clock, after a delay of value), ``GONE`` out of the valley at time by
clock (failure, cash, market acquisition), ``CROSS`` crossed at time (value: its mature death,
inf if never), ``ASK`` its partner decides at time (traction; value: the clock to walk on from),
``OVER`` nothing more before the horizon."""

# -- a centre's terms a resident's walk reads (Centre.walk_terms): by configuration -------------
T_N, T_PARTNER_UNTIL, T_HORIZON, T_SINCE = 0, 1, 2, 3
"""Slots of a centre's terms vector: the number n of its configurations, until when a partner may
decide, the horizon, then n months from which each configuration is in force, n hazard and n speed
multipliers after the residency, and n flags (1: a partner in force)."""


def alone_terms(horizon: float) -> np.ndarray:
    """The terms vector of no centre: one configuration, no partner ever, no training after."""
    return np.array([1.0, -INF, horizon, 0.0, 1.0, 1.0, 0.0])


def walk_terms(since, trainings, partners, partner_until: float, horizon: float) -> np.ndarray:
    """A centre's terms vector (:data:`T_SINCE`) from its configurations' months, trainings and
    partners (None: no partner)."""
    n = len(since)
    return np.array([n, partner_until, horizon, *since,
                     *(t.hazard_multiplier_after for t in trainings),
                     *(t.speed_multiplier_after for t in trainings),
                     *(0.0 if p is None else 1.0 for p in partners)], float)


# -- the world's constants: a header (K_: its slots), then the arrays -----------------------------
(K_MAX_P, K_LAST_PERIOD, K_MAX_BRIDGES, K_DATED, K_N_BREAKS, K_PERIODS, K_HAS_ACCESS, K_HAS_RATIO,
 K_EPOCHS, K_PERIOD_MONTHS, K_O_FAIL, K_O_BREAKS, K_O_EQUITY, K_O_DEBT, K_O_BRIDGE, K_O_M,
 K_O_ACCESS, K_O_RATIO, K_O_JOBS, K_HALF, K_O_MATURE) = range(21)
K_HEADER = 21


def constants(world) -> np.ndarray:
    """The world's walk constants packed in one vector (the header's offsets say where each array
    starts): caps, market periods, the base 0.5 of a boost's fading (read, not a literal: LLVM
    would turn ``pow(0.5, x)`` into ``exp2(-x)``, which differs from Python's ``pow`` in the last
    bit), the failure hazards (by epoch and stage, or the undated ones),
    breaks, round odds by (stage, period), market multipliers, access ratios by (region, period),
    hazard ratios by (region, epoch), jobs multipliers, the mature hazards (by epoch, or the
    undated one)."""
    dated = world.breaks is not None
    parts = [np.array(world.fail_hazards if dated else [world.fail_hazard], float).ravel(),
             np.array(world.breaks if dated else [], float),
             np.array(world.equity_prob, float).ravel(), np.array(world.debt_prob, float).ravel(),
             np.array(world.bridge_prob, float).ravel(), np.array(world.market_m, float).ravel(),
             np.array(world.access if world.access is not None else [], float).ravel(),
             np.array(world.hazard_ratio if world.hazard_ratio is not None else [], float).ravel(),
             np.array(world.job_mult, float),
             np.array(world.mature_hazards if dated else [world.mature_hazard], float)]
    head = np.zeros(K_HEADER)
    head[[K_MAX_P, K_LAST_PERIOD, K_MAX_BRIDGES, K_DATED, K_N_BREAKS, K_PERIODS, K_HAS_ACCESS,
          K_HAS_RATIO, K_EPOCHS, K_PERIOD_MONTHS, K_HALF]] = (
        world.max_funding_probability, world.last_period, world.max_bridges, float(dated),
        len(world.breaks) if dated else 0, world.periods, float(world.access is not None),
        float(world.hazard_ratio is not None), len(world.fail_hazards), PERIOD_MONTHS, 0.5)
    at = K_HEADER
    for slot, part in zip((K_O_FAIL, K_O_BREAKS, K_O_EQUITY, K_O_DEBT, K_O_BRIDGE, K_O_M,
                           K_O_ACCESS, K_O_RATIO, K_O_JOBS, K_O_MATURE), parts, strict=True):
        head[slot] = at
        at += part.size
    return np.concatenate([head, *parts])


def new_log(capacity: int) -> np.ndarray:
    """An empty log of ``capacity`` entries (row 0 holds the count of rows used, itself
    included)."""
    log = np.empty((capacity + 1, LOG_WIDTH))
    log[0, 0] = 1.0
    return log


def log_partner(log: np.ndarray, t: float, amount: float) -> None:
    """A partner's equity in a supported firm at ``t`` (money raised, in the log's order)."""
    k = int(log[0, 0])
    log[k] = (PARTNER_RAISED, -1.0, t, amount, PARTNER, 0.0)
    log[0, 0] = k + 1


def entries(log: np.ndarray) -> dict[str, np.ndarray]:
    """The log as the world's ledgers, each in the order its entries were written: ``sought``
    (market cell, KRW), ``raised`` (month, KRW, channel), ``hired`` (month, jobs) as float tables,
    ``rounds`` as (sid, month, KRW, channel, bridge) float rows."""
    rows = log[1:int(log[0, 0])]
    kind = rows[:, 0]
    raised = (kind == ROUND) | (kind == PARTNER_RAISED)
    return {"sought": rows[kind == SOUGHT, 1:3], "raised": rows[raised, 2:5],
            "hired": rows[kind == HIRED, 2:4], "rounds": rows[kind == ROUND, 1:6]}

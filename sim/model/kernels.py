"""The compiled kernels of a supported start-up's private walk (:mod:`private` says what and why):
:func:`select` (the replay to its selection, its support, its first walk), :func:`run_until` (a
walk to the next moment others must see), :func:`milestone` (a stage finished) and :func:`wake`
(a moment others see applied, then the walk on to the next one: what the SimPy side must do
comes back as one of :data:`private.WAIT` ... :data:`private.OVER`)."""

from __future__ import annotations

import math

import numba

from .codes import (
    ACQUISITION,
    BREAK,
    BROKE,
    CROSSED,
    DEBT,
    EQUITY,
    FAIL,
    LIMIT,
    MILESTONE,
    RESIDENCY_END,
    TRACTION,
)
from .private import (
    ACQ_BUDGET,
    ACQ_RATE,
    ACQ_USED,
    ASK,
    BOOST_HALF_LIFE,
    BRIDGE_AMOUNT,
    BRIDGE_U,
    BRIDGES,
    BRIDGES_WON,
    BURN,
    CASH,
    CELL0,
    CENTRE,
    CROSS,
    DEBT_AMOUNT,
    DEBT_KRW,
    DEBT_Q,
    DEBT_U,
    EPOCH,
    EQ_Q,
    EQUITY_KRW,
    FAIL_BUDGET,
    FAIL_USED,
    FOUNDED,
    FUND_BOOST,
    FUND_MULT,
    GONE,
    GRANT_KRW,
    HAZARD_MULT,
    HIRED,
    HQ,
    K_DATED,
    K_EPOCHS,
    K_HALF,
    K_HAS_ACCESS,
    K_HAS_RATIO,
    K_LAST_PERIOD,
    K_MAX_BRIDGES,
    K_MAX_P,
    K_N_BREAKS,
    K_O_ACCESS,
    K_O_BREAKS,
    K_O_BRIDGE,
    K_O_DEBT,
    K_O_EQUITY,
    K_O_FAIL,
    K_O_JOBS,
    K_O_M,
    K_O_MATURE,
    K_O_RATIO,
    K_PERIOD_MONTHS,
    K_PERIODS,
    MATURE_BUDGET,
    OVER,
    RAISE_AMOUNT,
    RAISE_U,
    REGION,
    RES_END,
    REVENUE,
    ROUND,
    SID,
    SOUGHT,
    SPEED_MULT,
    SPEED_Q,
    STAGE,
    SUPPORT_TIME,
    SUPPORTED,
    T_HORIZON,
    T_N,
    T_PARTNER_UNTIL,
    T_SINCE,
    TEAM,
    WAIT,
    WORK,
    WORK_LEFT,
)
from .streams import MAX_BRIDGE_DRAWS

INF = math.inf

_jit = numba.njit(cache=True, error_model="numpy", boundscheck=False, nogil=True)


@_jit
def _append(log, kind, a, b, c, d, e):
    k = int(log[0, 0])
    log[k, 0] = kind
    log[k, 1] = a
    log[k, 2] = b
    log[k, 3] = c
    log[k, 4] = d
    log[k, 5] = e
    log[0, 0] = k + 1


@_jit
def _period(t, K):
    q = int(t / K[K_PERIOD_MONTHS])  # the market period (walk.walk: the same expression)
    last = int(K[K_LAST_PERIOD])
    if q > last:
        q = last
    return q


@_jit
def milestone(s, i, t, K, log):
    """Finish the current stage of start-up ``i`` (state table ``s``) at time ``t``: its venture
    round, its loan, then the next stage (its work). Returns the new stage; the caller crosses it
    (stage ``CROSSED``) and asks the partner (traction)."""
    stage = int(s[i, STAGE])
    q = _period(t, K)
    periods = int(K[K_PERIODS])
    region = int(s[i, REGION])
    cap = K[K_MAX_P]
    supported = s[i, SUPPORTED] != 0.0
    # the venture round: the programme's multipliers, rationed by the market (its region's m)
    mult = s[i, FUND_MULT]
    if s[i, FUND_BOOST] != 0.0:  # a network boost that fades: the extra odds halve every half-life
        mult *= 1.0 + s[i, FUND_BOOST] * K[K_HALF] ** ((t - s[i, SUPPORT_TIME])
                                                   / s[i, BOOST_HALF_LIFE])
    p = K[int(K[K_O_EQUITY]) + stage * periods + q] * s[i, EQ_Q]
    if K[K_HAS_ACCESS] != 0.0:  # a dated funding access (walk.walk: the same expression)
        p = p * K[int(K[K_O_ACCESS]) + region * periods + q]
    p = p * mult * K[int(K[K_O_M]) + region * periods + q]
    if p > cap:
        p = cap
    amount = s[i, RAISE_AMOUNT + stage]
    if supported:  # the venture money it seeks after its support, for the market's books
        _append(log, SOUGHT, s[i, CELL0] + q, amount * p, 0.0, 0.0, 0.0)
    if s[i, RAISE_U + stage] < p:
        s[i, CASH] += amount
        s[i, EQUITY_KRW] += amount
        if supported:  # money the supported firm attracted after its support
            _append(log, ROUND, s[i, SID], t, amount, EQUITY, 0.0)
    # the loan
    p = K[int(K[K_O_DEBT]) + stage * periods + q] * s[i, DEBT_Q]
    if p > cap:
        p = cap
    if s[i, DEBT_U + stage] < p:
        amount = s[i, DEBT_AMOUNT + stage]
        s[i, CASH] += amount
        s[i, DEBT_KRW] += amount
        if supported:
            _append(log, ROUND, s[i, SID], t, amount, DEBT, 0.0)
    stage += 1
    s[i, STAGE] = stage
    if supported:  # the jobs a supported firm adds after its support (hires: gains only)
        jobs = int(K[K_O_JOBS])
        gain = s[i, TEAM] * (K[jobs + stage] - K[jobs + stage - 1])
        if gain > 0.0:
            _append(log, HIRED, 0.0, t, gain, 0.0, 0.0)
    if stage != CROSSED:
        s[i, WORK_LEFT] = s[i, WORK + stage]
    return stage


@_jit
def _bridge(s, i, t, K, log):
    """A bridge loan when cash runs out: won or not (its draw against the odds)."""
    b = int(s[i, BRIDGES])
    if b >= int(K[K_MAX_BRIDGES]):
        return False
    s[i, BRIDGES] = b + 1
    stage = int(s[i, STAGE])
    q = _period(t, K)
    p = K[int(K[K_O_BRIDGE]) + stage * int(K[K_PERIODS]) + q] * s[i, DEBT_Q]
    if p > K[K_MAX_P]:
        p = K[K_MAX_P]
    won = s[i, BRIDGE_U + b] < p
    if won:
        amount = s[i, BRIDGE_AMOUNT + stage * MAX_BRIDGE_DRAWS + b]
        s[i, CASH] += amount
        s[i, DEBT_KRW] += amount
        s[i, BRIDGES_WON] += 1.0
        if s[i, SUPPORTED] != 0.0:
            _append(log, ROUND, s[i, SID], t, amount, DEBT, 1.0)
    return won


@_jit
def run_until(s, i, t, limit, partner_until, K, log):
    """Walk start-up ``i`` privately from time ``t`` until the first event others must see, or
    ``limit`` (a partner may decide before ``partner_until``).

    Returns (time, clock, stage) with the state advanced to that time and the event not yet
    applied; clock is ``LIMIT`` when ``limit`` came first. Milestones that concern nobody else and
    successful bridge rounds are applied here.
    """
    partner = s[i, SUPPORTED] != 0.0 and t < partner_until
    dated = K[K_DATED] != 0.0
    n_breaks = int(K[K_N_BREAKS])
    o_fail, o_breaks = int(K[K_O_FAIL]), int(K[K_O_BREAKS])
    while True:
        stage = int(s[i, STAGE])
        epoch = int(s[i, EPOCH])
        if not dated:
            hz = K[o_fail + stage] * s[i, HQ] * s[i, HAZARD_MULT]
        else:  # the hazards of its epoch (walk.walk: the same expression)
            hz = K[o_fail + epoch * 3 + stage] * s[i, HQ] * s[i, HAZARD_MULT]
            if K[K_HAS_RATIO] != 0.0:
                hz = hz * K[int(K[K_O_RATIO]) + int(s[i, REGION]) * int(K[K_EPOCHS]) + epoch]
        speed = s[i, SPEED_Q] * s[i, SPEED_MULT]
        net = s[i, BURN] - s[i, REVENUE]
        acq = s[i, ACQ_RATE] if stage == TRACTION else 0.0

        # a speed of 0 (a training speed multiplier of 0) means no progress, not a crash
        dt, clock = (s[i, WORK_LEFT] / speed if speed > 0.0 else INF), MILESTONE
        if hz > 0.0:
            d = (s[i, FAIL_BUDGET] - s[i, FAIL_USED]) / hz
            if d < dt:
                dt, clock = d, FAIL
        if net > 0.0:
            d = s[i, CASH] / net
            if d < dt:
                dt, clock = d, BROKE
        if acq > 0.0:
            d = (s[i, ACQ_BUDGET] - s[i, ACQ_USED]) / acq
            if d < dt:
                dt, clock = d, ACQUISITION
        d = s[i, RES_END] - t
        if d < dt:
            dt, clock = d, RESIDENCY_END
        if dated and epoch + 1 < n_breaks:
            d = K[o_breaks + epoch + 1] - t
            if d < dt:
                dt, clock = d, BREAK
        if t + dt > limit:
            dt, clock = limit - t, LIMIT
        s[i, WORK_LEFT] -= dt * speed
        s[i, FAIL_USED] += dt * hz
        s[i, CASH] -= dt * net
        s[i, ACQ_USED] += dt * acq
        t += dt
        if clock == MILESTONE:
            s[i, WORK_LEFT] = 0.0
            if stage == TRACTION or (stage == TRACTION - 1 and partner):
                return t, clock, stage
            # private: no partner can decide now, so none is asked (Centre.partner_at is None)
            milestone(s, i, t, K, log)
        elif clock == BROKE:
            s[i, CASH] = 0.0
            if not _bridge(s, i, t, K, log):
                return t, clock, stage
        elif clock == BREAK:  # a dated hazard changes: run on at the new rates (private)
            s[i, EPOCH] = epoch + 1
        else:
            return t, clock, stage


@_jit
def select(s, i, now, centre, res_end, grant, grant_mult, hazard_mult, speed_mult, fund_mult,
           fund_boost, boost_half_life, partner_until, horizon, K, log):
    """Start-up ``i`` is selected at ``now`` by centre ``centre`` (its index): replay its private
    walk from its founding (nobody supported it then), take the centre's support (multipliers,
    residency end, a grant that also multiplies its funding odds by ``grant_mult``), and walk on
    towards ``horizon``: what :func:`run_until` returns from ``now``."""
    run_until(s, i, s[i, FOUNDED], now, -INF, K, log)
    s[i, SUPPORT_TIME] = now
    s[i, CENTRE] = centre
    s[i, RES_END] = res_end
    s[i, HAZARD_MULT] = hazard_mult
    s[i, SPEED_MULT] = speed_mult
    s[i, FUND_MULT] = fund_mult
    s[i, FUND_BOOST] = fund_boost
    s[i, BOOST_HALF_LIFE] = boost_half_life
    if grant > 0:
        s[i, CASH] += grant
        s[i, GRANT_KRW] += grant
        s[i, FUND_MULT] *= grant_mult
    s[i, SUPPORTED] = 1.0
    return run_until(s, i, now, horizon, partner_until, K, log)


@_jit
def select_all(s, rows, now, centre, res_end, grants, grant_mult, hazard_mult, speed_mult,
               fund_mult, fund_boost, boost_half_life, partner_until, horizon, K, log, out):
    """:func:`select` for each of a contest's selected start-ups (``rows``, in rank order, each with
    its grant), one after another as the contest selects them: one call per contest, not one per
    start-up. Row ``j`` of ``out`` gets start-up ``j``'s (time, clock, stage)."""
    for j in range(rows.shape[0]):
        t, clock, stage = select(s, rows[j], now, centre, res_end, grants[j], grant_mult,
                                 hazard_mult, speed_mult, fund_mult, fund_boost, boost_half_life,
                                 partner_until, horizon, K, log)
        out[j, 0] = t
        out[j, 1] = clock
        out[j, 2] = stage


@_jit
def _mature_death(t, budget, hq, epoch, region, K):
    """When a start-up that crossed the valley at ``t`` (in ``epoch``, of ``region``, with hazard
    factor ``hq``) uses up its mature-death ``budget``, epoch by epoch (inf if never): the
    arithmetic of :func:`dated.mature_death`, for one."""
    o_mature = int(K[K_O_MATURE])
    if K[K_DATED] == 0.0:
        h = K[o_mature] * hq
        return t + budget / h if h > 0 else INF
    last = int(K[K_N_BREAKS]) - 1
    o_breaks, o_ratio, epochs = int(K[K_O_BREAKS]), int(K[K_O_RATIO]), int(K[K_EPOCHS])
    while True:
        h = K[o_mature + epoch] * hq
        if K[K_HAS_RATIO] != 0.0:
            h = h * K[o_ratio + region * epochs + epoch]
        d = budget / h if h > 0 else INF
        end = K[o_breaks + epoch + 1] if epoch < last else INF
        if t + d <= end:
            return t + d
        if end == INF:
            return INF
        budget = budget - h * (end - t)
        t = end
        epoch += 1


@_jit
def _in_force(T, t):
    """Which of a centre's configurations is in force at ``t`` (Centre._at: the last one from at
    or before ``t``)."""
    n = int(T[T_N])
    if n == 1:
        return 0
    j = 0
    while j < n and T[T_SINCE + j] <= t:
        j += 1
    return j - 1 if j > 0 else n - 1  # Python's index -1 before the first


@_jit
def _apply(s, i, t, clock, now, resume, T, K, log):
    """Apply the event of ``clock`` at time ``t`` (the SimPy clock ``now``): a graduation (the
    training after the residency, as in force then), a milestone (crossing; traction where a partner
    is in force is the partner's: ``ASK``, its value ``resume``, the clock to walk on from once the
    partner has decided), an exit. Returns (action, time, clock, value); action -1: walk on."""
    if clock == RESIDENCY_END:
        _graduate(s, i, now, T)
    elif clock == MILESTONE:
        stage = milestone(s, i, t, K, log)
        if stage == CROSSED:
            return CROSS, t, clock, _mature_death(t, s[i, MATURE_BUDGET], s[i, HQ],
                                                  int(s[i, EPOCH]), int(s[i, REGION]), K)
        if stage == TRACTION and T[T_SINCE + 3 * int(T[T_N]) + _in_force(T, t)] != 0.0:
            return ASK, t, clock, resume
    elif clock in (FAIL, BROKE, ACQUISITION):
        return GONE, t, clock, 0.0
    return -1, t, clock, 0.0


@_jit
def walk_on(s, i, t0, now, seat, T, K, log):
    """Walk supported start-up ``i`` on from ``t0`` (the SimPy clock, ``now``; ``seat``: it holds
    one) to the first moment others must see (its centre's terms ``T``): the end of its residency
    and any exit or crossing while it holds a seat, reaching traction while its partner may still
    decide. Moments before that which concern nobody else are applied here (exits and crossings of
    a start-up that holds no seat end the walk). Returns (action, time, clock, value)
    (:data:`private.WAIT` ...)."""
    partner_until, horizon = T[T_PARTNER_UNTIL], T[T_HORIZON]
    t, clock, stage = run_until(s, i, t0, horizon, partner_until, K, log)
    while True:
        if clock == LIMIT:
            return OVER, t, clock, 0.0
        if seat or (t0 < partner_until and stage < TRACTION):
            return WAIT, t, clock, t - t0
        t0 = t0 + (t - t0)  # the clock SimPy would have shown after that timeout
        # (a start-up without a seat has no residency left to end here)
        action, t, clock, value = _apply(s, i, t, clock, now, t0, T, K, log)
        if action >= 0:
            return action, t, clock, value
        t, clock, stage = run_until(s, i, t0, horizon, partner_until, K, log)


@_jit
def _graduate(s, i, now, T):
    """The residency ended at ``now``: the training's effects after it, as in force then."""
    n, j = int(T[T_N]), _in_force(T, now)
    s[i, RES_END] = INF
    s[i, HAZARD_MULT] = T[T_SINCE + n + j]
    s[i, SPEED_MULT] = T[T_SINCE + 2 * n + j]


@_jit
def wake(s, i, t, now, clock, seat, T, K, log):
    """The moment supported start-up ``i`` waited for (``clock`` at time ``t``; the SimPy clock
    ``now``; ``seat``: it holds one, already given back by a graduate): apply it (a milestone, an
    exit, a graduation), then :func:`walk_on`. Returns (action, time, clock, value); ``ASK``'s value
    is the clock to walk on from once the partner has decided."""
    action, t, clock, value = _apply(s, i, t, clock, now, now, T, K, log)
    if action >= 0:
        return action, t, clock, value
    return walk_on(s, i, now, now, seat, T, K, log)

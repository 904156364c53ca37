"""A conglomerate partner: invests in, acquires, or subcontracts alumni that reach traction.

Its money is an annual budget (a SimPy ``Container`` refilled every calendar January, unspent
money lapses) shared by all its centres, so two busy centres of one partner compete for it.
Where the scenario's timeline changes a partner's terms from a month on, the partner reads them
when it acts: the budget at each January refill, its appetite at each decision.
"""

from __future__ import annotations

import bisect

import simpy

from .codes import ACQUIRED, NO_CAUSE


class Conglomerate:
    """A partner of one or more centres: its terms over time, its budget, and what it did (the
    counts, and the money it paid out)."""

    def __init__(self, world, name: str, cfg):
        """Read the partner's terms at every epoch of the timeline and, if it has money, start the
        January refills of its budget."""
        self.world = world
        self.name = name
        self.cfg = cfg
        # its terms over time: a new entry only where the timeline changes them
        self._since, self._cfgs = [], []
        for month, sc in world.scenario.epochs():
            c = sc.conglomerates[name]
            if not self._cfgs or c != self._cfgs[-1]:
                self._since.append(month)
                self._cfgs.append(c)
        env = world.env
        annual = max(c.annual_budget_krw for c in self._cfgs)
        self.budget = (simpy.Container(env, capacity=annual, init=cfg.annual_budget_krw)
                       if annual > 0 else None)
        self.invested = 0.0
        self.acquisitions = 0
        self.investments = 0
        self.subcontracts = 0
        if self.budget is not None:
            env.process(self._budget_years())

    def cfg_at(self, t: float):
        """The partner's terms in force at month ``t``."""
        return (self.cfg if len(self._cfgs) == 1
                else self._cfgs[bisect.bisect_right(self._since, t) - 1])

    def _budget_years(self):
        env = self.world.env
        start_month = int(self.world.scenario.calendar.start[5:7])
        yield env.timeout((13 - start_month) % 12 or 12)  # next January
        while True:
            if self.budget.level > 0:
                yield self.budget.get(self.budget.level)
            annual = self.cfg_at(env.now).annual_budget_krw
            if annual > 0:
                yield self.budget.put(annual)
            yield env.timeout(12.0)

    def _spend(self, amount: float, public: float = 0.0) -> bool:
        """Pay ``amount`` from this year's budget if it holds that much (``public`` of it is public
        money)."""
        if amount <= 0 or self.budget is None or self.budget.level < amount:
            return amount == 0
        self.budget.get(amount)
        self.invested += amount
        self.world.partner_paid.append((self.world.env.now, amount, public))
        return True

    def consider(self, s) -> bool:
        """An alumnus reached traction. Returns True if it was acquired (its process ends)."""
        now = self.world.env.now
        cfg = self.cfg_at(now)
        m = cfg.focus_multiplier if s.sector in s.centre.focus_at(now) else 1.0
        pa, pi, ps = (cfg.acquire_probability * m, cfg.invest_probability * m,
                      cfg.subcontract_probability * m)
        total = pa + pi + ps
        if total > 1.0:
            pa, pi, ps = pa / total, pi / total, ps / total
        u = s.conglomerate_u
        if u < pa:
            if self._spend(cfg.acquire_price_krw):
                s.conglomerate_krw += cfg.acquire_price_krw
                self.acquisitions += 1
                s.exit(ACQUIRED, NO_CAUSE, self.world.env.now)
                return True
        elif u < pa + pi:
            if self._spend(cfg.invest_krw, cfg.public_share * cfg.invest_krw):
                s.cash += cfg.invest_krw
                s.conglomerate_krw += cfg.invest_krw
                self.world.raise_partner(self.world.env.now, cfg.invest_krw)
                self.investments += 1
        elif u < pa + pi + ps:
            s.revenue += cfg.subcontract_revenue_krw_per_month
            s.subcontract = True
            self.subcontracts += 1
        return False

"""The walk's dated terms: the round odds and funding access by market period, the hazards by epoch.

A scenario's timeline may change the walk's own terms from a month on (``sim.scenario.timeline``:
``ROUND_ODDS``, ``HAZARDS``, a region's ``funding_access`` and ``hazard_multiplier``). The walk
(:mod:`walk`) and a supported start-up's own walk (:func:`kernels.run_until`) read them
from the arrays built here, with the same arithmetic, so the two stay bit-identical:

- **Round odds** are per (stage, market period): a dated change fills its channel's row from its
  period on (such changes are dated at a period's first month, so "from its month" is exact).
- **Funding access** is a ratio per (region, period) to the access the population's odds already
  carry (:func:`base_factor`), 1.0 until a change: a round's odds are multiplied by it, so before a
  change they are the undated odds to the bit. ``None`` when no region's access is dated.
- **Hazards** change at *breaks*: the months where a stage's failure hazard, the mature hazard or a
  region's hazard multiplier changes. Between two breaks (an *epoch*) every rate is constant, so a
  start-up's failure clock runs as before within an epoch and stops at the break (a clock of its
  own, :data:`codes.BREAK`), then runs on at the new rate with what is left of its budget. A
  region's multiplier enters as a ratio per (epoch, region) to its base value, 1.0 until a change.

Without dated walk keys every array is the undated one (one period row filled throughout, one epoch,
no ratios) and the walk takes its plain path.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..scenario.schema import STAGES
from ..scenario.timeline import HAZARDS

_HAZARD_KEYS = (*HAZARDS,)


def base_factor(scenario, region: str, key: str) -> float:
    """The value of a region's ``funding_access`` or ``hazard_multiplier`` the population's columns
    carry: its value at the calendar's start, or 1 where that is 0 and a later change raises it (so
    that the ratio in force, 0 before the change, is defined)."""
    value = getattr(scenario.regions[region], key)
    if value == 0 and len(scenario.schedule(f"regions.{region}.{key}")) > 1:
        return 1.0
    return value


@dataclass(frozen=True)
class WalkTerms:
    """The walk's terms in force: odds by (stage, period), access by (region, period), hazards by
    epoch."""

    equity_prob: np.ndarray  # (3, periods)
    debt_prob: np.ndarray  # (3, periods)
    bridge_prob: np.ndarray  # (3, periods)
    access: np.ndarray | None  # (regions, periods): ratio to the base access; None: none dated
    breaks: np.ndarray  # months an epoch starts, from 0.0; one entry: no dated hazard
    fail_hazard: np.ndarray  # (epochs, 3)
    mature_hazard: np.ndarray  # (epochs,)
    # (epochs, regions): ratio to the base multiplier; None: none dated
    hazard_ratio: np.ndarray | None

    @property
    def dated_hazards(self) -> bool:
        """True when a hazard changes during the run (the walk then runs its break clock)."""
        return len(self.breaks) > 1


def walk_terms(scenario, periods: int, period_months: float) -> WalkTerms:
    """The scenario's walk terms over ``periods`` market periods of ``period_months``."""
    regions = list(scenario.regions)
    epochs = scenario.epochs()
    fu = scenario.funding
    odds = {c: np.outer([getattr(fu, c).rounds[s].probability for s in STAGES], np.ones(periods))
            for c in ("equity", "debt")}
    bridge = odds["debt"] * fu.bridge_probability_multiplier
    dated_access = [r for r in regions if len(scenario.schedule(f"regions.{r}.funding_access")) > 1]
    access = np.ones((len(regions), periods)) if dated_access else None
    base_access = {r: base_factor(scenario, r, "funding_access") for r in dated_access}
    for month, sc in epochs[1:]:
        q = int(month // period_months)  # per-period keys change at a period's first month
        f = sc.funding
        for c in ("equity", "debt"):
            odds[c][:, q:] = np.array([getattr(f, c).rounds[s].probability
                                       for s in STAGES])[:, None]
        bridge[:, q:] = odds["debt"][:, q:] * f.bridge_probability_multiplier
        for r in dated_access:
            access[regions.index(r), q:] = sc.regions[r].funding_access / base_access[r]
    # the hazards' epochs: the calendar's start and every month a hazard changes
    changed = {0.0}
    for month, items in scenario.timeline.items():
        if any(k in _HAZARD_KEYS or (k.startswith("regions.") and k.endswith(".hazard_multiplier"))
               for k in items):
            changed.add(scenario.calendar.month(month))
    breaks = np.array(sorted(changed))
    at = [scenario.at(m) for m in breaks]
    fail = np.array([[sc.startups.stages[s].failure_hazard_per_month for s in STAGES] for sc in at])
    mature = np.array([sc.startups.mature_hazard_per_month for sc in at])
    dated_hazard = [r for r in regions
                    if len(scenario.schedule(f"regions.{r}.hazard_multiplier")) > 1]
    ratio = None
    if dated_hazard:
        ratio = np.ones((len(breaks), len(regions)))
        for r in dated_hazard:
            base = base_factor(scenario, r, "hazard_multiplier")
            ratio[:, regions.index(r)] = [sc.regions[r].hazard_multiplier / base for sc in at]
    return WalkTerms(odds["equity"], odds["debt"], bridge, access, breaks, fail, mature, ratio)


def mature_death(t: np.ndarray, budget: np.ndarray, hq: np.ndarray, epoch: np.ndarray,
                 breaks: np.ndarray, mature: np.ndarray, ratio: np.ndarray | None) -> np.ndarray:
    """When start-ups that crossed the valley at ``t`` (in epoch ``epoch``, with quality-and-region
    hazard factor ``hq`` and, with ``ratio``, the ratios of their regions' multipliers by epoch as
    ``ratio`` columns) use up their mature-death ``budget``, epoch by epoch (inf if never).

    The same arithmetic as :func:`kernels._mature_death` (a supported start-up's), element by
    element."""
    t, budget, epoch = t.astype(float), budget.astype(float), epoch.copy()
    out = np.full(t.shape, np.inf)
    ends = np.append(breaks[1:], np.inf)
    live = np.ones(t.shape, bool)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        while live.any():
            i = np.flatnonzero(live)
            e = epoch[i]
            h = mature[e] * hq[i]
            if ratio is not None:
                h = h * ratio[i, e]
            d = np.where(h > 0, budget[i] / h, np.inf)
            end = ends[e]
            dies = t[i] + d <= end
            out[i[dies]] = t[i][dies] + d[dies]
            on = ~dies & np.isfinite(end)
            j = i[on]
            budget[j] = budget[j] - h[on] * (end[on] - t[j])
            t[j] = end[on]
            epoch[j] = e[on] + 1
            live[:] = False
            live[j] = True
    return out

"""Sums over a replication's start-ups, taken once per economy and corrected where the programme
changed them.

Every scenario of a comparison that shares an economy shares its 250,000 simulated start-ups, and
the programme changes the rows of a few tens of thousands of them: the ones it supported and the
never-supported ones whose rounds its market moved (``records.alone["sid"]``). The rest walk
exactly the economy's own path in every scenario (:class:`sim.model.world.EconomyRows`). So a sum
over all start-ups is the economy's sum, computed for the first scenario and kept while the
economy is, plus the changed rows' new contributions less their contributions in the economy.
The result is the same sum in another order (equal to rounding: exact for counts with the model's
whole-number weights, within a few units of the last digit for money).

A metric is written once as a function of columns (``lambda c: c["weight"] * c["jobs"]``), and
:class:`Totals` evaluates it on whichever rows it needs; records without an economy (built by hand
in tests) are summed directly.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable

import numpy as np

_ECONOMIES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
"""Per economy (a :class:`sim.model.world.EconomyRows`, kept by the model's reuse cache), its sums
and derived columns by calendar window: dropped with the economy."""


class _Rows:
    """Columns at some rows (all of them, or the positions ``at``), each taken when first asked
    for; ``cohort`` (founded in the cohort window) and ``supported`` are derived."""

    def __init__(self, columns, at: np.ndarray | None, window: tuple[int, int],
                 cohort: np.ndarray | None = None, economy: bool = False):
        # ``columns`` is a mapping, never the EconomyRows object itself: the kept sums must not
        # keep their economy alive (its weak key)
        self._columns, self._at, self._window, self._economy = columns, at, window, economy
        self._taken: dict[str, np.ndarray] = {} if cohort is None else {"cohort": cohort}

    def __getitem__(self, name: str) -> np.ndarray:
        got = self._taken.get(name)
        if got is None:
            if name == "cohort":
                year = self["cohort_year"]
                got = (year >= self._window[0]) & (year <= self._window[1])
            elif name == "supported" and self._economy:
                got = np.zeros(len(self["weight"]), bool)  # the economy's own: nobody supported
            else:
                col = self._columns[name]
                got = col if self._at is None else col[self._at]
            self._taken[name] = got
        return got


class Totals:
    """Sums over every start-up of one replication's records (see the module's docstring)."""

    def __init__(self, records, calendar):
        """The sums of ``records`` for the cohort window of ``calendar``."""
        self.window = (calendar.cohort_first_year, calendar.cohort_last_year)
        s = records.startups
        economy = getattr(records, "economy", None)
        if economy is None:
            self._base = None
            self.rows = _Rows(s, None, self.window)
            return
        per_window = _ECONOMIES.setdefault(economy, {})
        if self.window not in per_window:
            per_window[self.window] = {
                "rows": _Rows(economy.columns, None, self.window, economy=True), "sums": {}}
        self._base = per_window[self.window]
        self.changed = np.asarray(records.alone["sid"], np.int64)
        self._new = _Rows(s, self.changed, self.window)
        self._old = _Rows(economy.columns, self.changed, self.window, economy=True)
        # founding is the economy's, so the window's mask is too
        self.rows = _Rows(s, None, self.window, cohort=self._base["rows"]["cohort"])

    def sum(self, name: str, contribution: Callable) -> float:
        """The sum over every start-up of ``contribution(columns)`` (a per-row array); ``name``
        identifies the contribution among this economy's kept sums."""
        if self._base is None:
            return float(contribution(self.rows).sum())
        sums = self._base["sums"]
        if name not in sums:
            sums[name] = float(contribution(self._base["rows"]).sum())
        if not self.changed.size:
            return sums[name]
        return sums[name] + float((contribution(self._new) - contribution(self._old)).sum())

    def by_region(self, name: str, contribution: Callable, regions: int) -> np.ndarray:
        """Like :meth:`sum`, per region (``regions`` of them, by the ``region`` column)."""
        def per_region(c) -> np.ndarray:
            return np.bincount(c["region"], weights=contribution(c), minlength=regions)

        if self._base is None:
            return per_region(self.rows)
        sums = self._base["sums"]
        key = ("by region", name)
        if key not in sums:
            sums[key] = per_region(self._base["rows"])
        if not self.changed.size:
            return sums[key].copy()
        return sums[key] + per_region(self._new) - per_region(self._old)

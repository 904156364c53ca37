"""Levers of a budget optimisation: decision variables in [0, 1], each mapped to scenario keys.

==================== ======================================= ==========================
lever                sets                                    default range
==================== ======================================= ==========================
seats                centres.*.seats                         10 .. 100
intake_size          centres.*.intake_size                   5 .. 40
grant_size           centres.*.grants.per_startup_krw        0 .. 100 M KRW
grants_per_round     centres.*.grants.per_round              0 .. 40
grant_budget         centres.*.grants.annual_budget_krw      0 .. 3 bn KRW
conglomerate_budget  conglomerates.*.annual_budget_krw       0 .. 20 bn KRW
residency            centres.*.residency_months              3 .. 24
centres              centres.NAME.enabled, one per centre    open / closed
opening              centres.NAME.opens, one per centre      0 .. 24 months later
regional_seats       centres.NAME.seats, one per centre      10 .. 100
==================== ======================================= ==========================

``NAME=LOW:HIGH`` changes a range, ``centres=Seoul+Busan`` limits a per-centre lever to some
centres, and any ``KEY=LOW:HIGH`` (as in ``sweep``) is a lever too. A lever over a range is a
:class:`~sim.scenario.ranges.Param`; opening and closing centres are levers of their own kinds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from ..errors import UsageError
from ..scenario.economy import is_economy_key
from ..scenario.keys import get_key
from ..scenario.loader import resolved_dict
from ..scenario.ranges import Param, make_param
from ..scenario.schema import Scenario

CATALOGUE = {
    "seats": ("centres.*.seats", 10, 100),
    "intake_size": ("centres.*.intake_size", 5, 40),
    "grant_size": ("centres.*.grants.per_startup_krw", 0, 100_000_000),
    "grants_per_round": ("centres.*.grants.per_round", 0, 40),
    "grant_budget": ("centres.*.grants.annual_budget_krw", 0, 3_000_000_000),
    "conglomerate_budget": ("conglomerates.*.annual_budget_krw", 0, 20_000_000_000),
    "residency": ("centres.*.residency_months", 3, 24),
}
PER_CENTRE = {"centres": (0, 1), "opening": (0, 24), "regional_seats": (10, 100)}


# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Lever:
    """One decision variable: u in [0, 1] -> scenario keys."""

    label: str
    kind: str  # param | open | delay
    param: dict | None = None  # Param.to_json() for kind "param"
    centre: str | None = None
    low: float = 0.0
    high: float = 1.0
    base_opens: str | None = None  # for delay

    def range_param(self) -> Param:
        """The range a ``param`` lever moves along."""
        return Param.from_json(self.param)

    def assignments(self, u: float) -> dict:
        """The scenario keys and values the lever sets at ``u``."""
        u = min(max(float(u), 0.0), 1.0)
        if self.kind == "param":
            p = self.range_param()
            return p.assignments(p.value(u))
        if self.kind == "open":
            return {f"centres.{self.centre}.enabled": bool(u >= 0.5)}
        months = int(round(self.low + u * (self.high - self.low)))
        return {f"centres.{self.centre}.opens": _add_months(self.base_opens, months)}

    def shown(self, u: float) -> str:
        """The lever's value at ``u``, as a planner reads it."""
        u = min(max(float(u), 0.0), 1.0)
        if self.kind == "param":
            p = self.range_param()
            v = p.value(u)
            if p.kind == "int":
                return str(int(v))
            if p.kind == "bool":
                return "true" if v >= 0.5 else "false"
            if p.key.endswith("_krw") and not p.relative:
                return f"{v / 1e9:,.2f} bn KRW" if abs(v) >= 1e9 else f"{v / 1e6:,.1f} M KRW"
            return f"{v:,.4g}"
        if self.kind == "open":
            return "open" if u >= 0.5 else "closed"
        months = int(round(self.low + u * (self.high - self.low)))
        return f"{_add_months(self.base_opens, months)} (+{months} months)"

    @property
    def range(self) -> str:
        """The lever's range, as a planner reads it."""
        if self.kind == "param":
            p = self.range_param()
            return f"{p.low:,.6g} .. {p.high:,.6g}"
        if self.kind == "open":
            return "open/closed"
        return f"+{self.low:g} .. +{self.high:g} months"


def _add_months(date: str, months: int) -> str:
    y, m = int(date[:4]), int(date[5:7])
    k = y * 12 + (m - 1) + months
    return f"{k // 12:04d}-{k % 12 + 1:02d}"


def split_levers(texts) -> list[str]:
    """``--levers`` texts, comma-separated or repeated, as one list."""
    out = []
    for t in texts:
        for part in str(t).split(","):
            if part.strip():
                out.append(part.strip())
    return out


def make_levers(texts, data: dict, base: Scenario) -> list[Lever]:
    """Parse --levers against the base scenario (raw ``data`` for ``*``, validated ``base``)."""
    resolved = resolved_dict(base)
    levers: list[Lever] = []
    for text in split_levers(texts):
        name, eq, rest = text.partition("=")
        name = name.strip()
        if name in CATALOGUE:
            key, lo, hi = CATALOGUE[name]
            rng = rest.strip() if eq else f"{lo}:{hi}"
            if not _has_targets(data, key):
                raise UsageError(f"--levers {name}: the scenario has no entries for {key}.")
            p = _money_step(make_param(f"{key}={rng}", data, resolved, option=f"--levers {name}"))
            levers.append(Lever(label=name, kind="param", param=p.to_json()))
        elif name in PER_CENTRE:
            centres = list(base.centres)
            lo, hi = PER_CENTRE[name]
            if eq and ":" in rest:
                if name == "centres":
                    raise UsageError("--levers centres: takes a list of centres "
                                     "(centres=Seoul+Busan), not a range.")
                lo_s, _, hi_s = rest.partition(":")
                try:
                    lo, hi = float(lo_s), float(hi_s)
                except ValueError:
                    raise UsageError(f"--levers {text!r}: expected {name}=LOW:HIGH with "
                                     "numbers.") from None
                if not lo < hi:
                    raise UsageError(f"--levers {text!r}: expected LOW < HIGH.")
            elif eq:
                wanted = [c.strip() for c in rest.split("+") if c.strip()]
                unknown = [c for c in wanted if c not in base.centres]
                if unknown:
                    raise UsageError(f"--levers {name}: {unknown} are not centres of the scenario; "
                                     f"expected some of {centres}.")
                centres = wanted
            if not centres:
                raise UsageError(f"--levers {name}: the scenario has no centres.")
            for c in centres:
                if name == "centres":
                    levers.append(Lever(label=f"centres.{c}", kind="open", centre=c))
                elif name == "opening":
                    cal = base.calendar
                    room = int(cal.horizon_months - 1 - cal.month(base.centres[c].opens))
                    if room < 1:
                        raise UsageError(f"--levers opening: centre {c} opens in the calendar's "
                                         "last month; it cannot open later.")
                    levers.append(
                        Lever(
                            label=f"opening.{c}",
                            kind="delay",
                            centre=c,
                            low=min(lo, room),
                            high=min(hi, room),
                            base_opens=base.centres[c].opens,
                        )
                    )
                else:
                    p = make_param(
                        f"centres.{c}.seats={lo:g}:{hi:g}",
                        data,
                        resolved,
                        option="--levers regional_seats",
                    )
                    levers.append(Lever(label=f"seats.{c}", kind="param", param=p.to_json()))
        elif eq:
            p = _money_step(make_param(text, data, resolved, option="--levers"))
            if any(is_economy_key(t) for t in p.targets):
                raise UsageError(f"--levers {text!r}: {p.key} belongs to the economy (who is "
                                 "founded, the start-ups, the market, the calendar), not to a "
                                 "policy: every candidate is measured against the counterfactual's "
                                 "economy. Use a policy's key, or ask how it matters with: python "
                                 "run_sim.py sweep FILE --param KEY=LOW:HIGH")
            levers.append(Lever(label=p.key, kind="param", param=p.to_json()))
        else:
            raise UsageError(f"--levers {text!r}: expected one of "
                             f"{', '.join([*CATALOGUE, *PER_CENTRE])}, NAME=LOW:HIGH, or a "
                             "scenario KEY=LOW:HIGH.")
    seen = {}
    for lv in levers:
        keys = lv.assignments(0.5).keys()
        for k in keys:
            if k in seen:
                raise UsageError(f"--levers: {k} is set by both {seen[k]} and {lv.label}; give "
                                 "each once.")
            seen[k] = lv.label
    if not levers:
        raise UsageError("--levers: give at least one lever.")
    return levers


def _money_step(p: Param) -> Param:
    """Money levers move in steps of about a thousandth of their range (e.g. 100,000 KRW)."""
    if p.kind == "float" and p.key.endswith("_krw") and not p.relative and p.high > 0:
        return replace(p, step=10.0 ** (math.floor(math.log10(p.high)) - 3))
    return p


def _has_targets(data: dict, key: str) -> bool:
    node = get_key(data, key.split(".*")[0])
    return isinstance(node, dict) and bool(node)



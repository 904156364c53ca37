"""Policy that changes over time: a scenario's dated timeline.

A scenario file may say that any of its values takes a new value from a month on::

    timeline:
      2018-03:                          # MSS task force: one-partner pairing abolished
        centres.*.partner: null
      2019-01:
        centre_defaults.seats: 255      # the growth after 2018
        conglomerates.SK.annual_budget_krw: 0

Each month (``YYYY-MM``, inside the calendar) holds changes written as ``--set`` writes them: a
dotted key (``*`` for every entry of a mapping) and its new value; a nested mapping is read as its
dotted leaves, so ``centres: {Daejeon: {seats: 40}}`` is ``centres.Daejeon.seats: 40``. A month's
changes apply in the order written, on top of everything in force before; the scenario from that
month on is what the file would be had it been written with those values, validated like the file
itself (a ``centre_defaults`` change reaches every centre that does not set the key itself, as a
default does). A child file's timeline merges into its parent's month by month (``2018-03: null``
drops an inherited month), and ``--set 'timeline.2018-03.centres.*.partner=null'`` adds a change.

The validated scenario keeps its timeline *resolved*: every change as the concrete keys whose
values it changes (wildcards and defaults worked out), so ``show`` prints what changes and the
results' manifest can rebuild the same scenario. The model reads a value when it acts (a contest,
a budget refill, a partner's decision), from :meth:`Scenario.at` or :meth:`Scenario.schedule`.
"""

from __future__ import annotations

import copy
import datetime
import math
import re
from collections.abc import Iterable

from .paths import get_key

PREFIX = "timeline"
_MONTH = re.compile(r"^\d{4}-\d{2}$")

# -- which keys can be dated ----------------------------------------------------------------------
CENTRE_FIXED = {
    "enabled": "a centre that exists for part of the run is written with its opens and closes "
               "dates",
    "region": "a centre that moves is one that closes and another that opens (closes, opens)",
    "opens": "it is a date already",
    "closes": "it is a date already",
}
"""Keys of a centre that cannot take a new value from a month on, and why."""
EDUCATION_DATABLE = ("founding_rate_multiplier", "quality_multiplier", "cost_krw_per_year")
REGION_DATABLE = ("founding_rate_per_year", "founding_trend_per_year", "sector_mix",
                  "funding_access", "hazard_multiplier")
HAZARDS = ("startups.mature_hazard_per_month", *(f"startups.stages.{s}.failure_hazard_per_month"
                                                 for s in ("prototype", "product", "traction")))
"""The walk's hazards that can be dated: from their month on every start-up's clock runs at the new
rate (a break in its walk at that month), with a region's ``hazard_multiplier``."""
ROUND_ODDS = (*(f"funding.{c}.rounds.{s}.probability" for c in ("equity", "debt")
                for s in ("prototype", "product", "traction")),
              "funding.bridge_probability_multiplier")
"""The round odds that can be dated: read per market period (a quarter), with a region's
``funding_access``; such a change is dated at a period's first month (:func:`period_problem`)."""
WALK_LEVEL = ("the start-ups' walk reads it at founding or along each firm's whole path (dated "
              "keys of the walk: the round odds, a region's funding_access and hazard_multiplier, "
              "the stages' failure hazards and the mature hazard)")
READ_AT_START = "it is read once, when the run is set up"

DATABLE_SUMMARY = (
    "Keys that can be dated: every key of a centre or of `centre_defaults` except `enabled`, "
    "`region`, `opens` and `closes` (read at each contest, budget refill, selection, graduation or "
    "partner's decision; `first_intake_after_months` at the opening; the operating cost month by "
    "month); every key of a conglomerate or of `conglomerate_defaults` (the budget at each January "
    "refill, the appetite at each decision); founder education's `founding_rate_multiplier`, "
    "`quality_multiplier` (for start-ups founded from the month on) and `cost_krw_per_year`; a "
    "region's `founding_rate_per_year` (from the month on the region founds this many a year, its "
    "trend continuing from there), `founding_trend_per_year` (the rate grows at the new trend from "
    "its level at the month) and `sector_mix` (for start-ups founded from the month on); the "
    "walk's hazards, `startups.stages.<stage>.failure_hazard_per_month`, "
    "`startups.mature_hazard_per_month` and a region's `hazard_multiplier` (every start-up's clock "
    "runs at the new rate from the month on); the round odds, "
    "`funding.equity.rounds.<stage>.probability`, `funding.debt.rounds.<stage>.probability` and "
    "`funding.bridge_probability_multiplier`, and a region's `funding_access` (read per market "
    "quarter: dated at a quarter's first month, the calendar's start month and every third month "
    "after it). Not dated: `calendar`, `sectors`, `sampling`, `market`, `funds`, `name` and "
    "`description` (read once, when the run is set up; the market's series are yearly already, a "
    "fund has its own dates), and the rest of `startups.*` and `funding.*` (drawn at founding or "
    "read along each firm's whole path). A centre, conglomerate, region or founder-education "
    "programme cannot be added or removed from a month on: write its own dates.")
"""One paragraph for the key reference and for error messages."""


def refusal(parts: list[str]) -> str | None:
    """Why the concrete key ``parts`` cannot take a new value from a month on, or None if it can."""
    head = parts[0]
    if head in ("centres", "conglomerates", "founder_education", "regions") and len(parts) < 3:
        return (f"a whole {_ENTRY.get(head, 'entry')} cannot be added or removed from a month on "
                "(write its own dates)")
    if head in ("centres", "centre_defaults"):
        field = parts[2] if head == "centres" else parts[1] if len(parts) > 1 else ""
        return CENTRE_FIXED.get(field) if field else ("centre_defaults as a whole cannot be dated "
                                                      "(date its keys)")
    if head in ("conglomerates", "conglomerate_defaults"):
        return None if head == "conglomerates" or len(parts) > 1 else ("date the keys of "
                                                                       "conglomerate_defaults")
    if head == "founder_education":
        return None if parts[2] in EDUCATION_DATABLE else READ_AT_START
    if head == "regions":
        return None if parts[2] in REGION_DATABLE else READ_AT_START
    if head in ("startups", "funding"):
        return None if ".".join(parts) in (*HAZARDS, *ROUND_ODDS) else WALK_LEVEL
    if head == PREFIX:
        return "a timeline cannot be dated"
    return READ_AT_START


_ENTRY = {"centres": "centre", "conglomerates": "conglomerate",
          "founder_education": "founder-education programme",
          "regions": "region"}


# -- months ----------------------------------------------------------------------------------------
def month_key(value) -> str:
    """A timeline month as YYYY-MM (a YAML date is cut to its month); ValueError with the reason."""
    if isinstance(value, datetime.date):
        return f"{value.year:04d}-{value.month:02d}"
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError(f"a month as YYYY-MM (for example 2018-03), found {value!r}")
    if isinstance(value, int):
        raise ValueError(f"a month as YYYY-MM, found the number {value} (write {value}-01 for "
                         f"January {value})")
    text = value[:7] if re.match(r"^\d{4}-\d{2}-\d{2}$", value) else value
    if not _MONTH.match(text) or not 1 <= int(text[5:7]) <= 12:
        raise ValueError(f"a month as YYYY-MM (for example 2018-03), found {value!r}")
    return text


def split_key(key: str) -> tuple[str, str] | None:
    """``timeline.2018-03.centres.X.seats`` -> ("2018-03", "centres.X.seats"); None for other
    keys."""
    parts = key.split(".", 2)
    if parts[0] != PREFIX or len(parts) < 2:
        return None
    return parts[1], parts[2] if len(parts) > 2 else ""


# -- entries as written -> changes -----------------------------------------------------------------
def flatten(entry: dict, prefix: tuple[str, ...] = ()) -> list[tuple[str, object]]:
    """A month's entry as (dotted key, value) pairs in the order written: nested mappings become
    their dotted leaves (an empty mapping is a value)."""
    out: list[tuple[str, object]] = []
    for k, v in entry.items():
        path = (*prefix, str(k))
        if isinstance(v, dict) and v:
            out += flatten(v, path)
        else:
            out.append((".".join(path), v))
    return out


def changes(a: dict, b: dict, prefix: str = "") -> list[tuple[str, object]]:
    """The concrete (dotted key, new value) pairs that turn plain data ``a`` into ``b`` (same
    shape)."""
    out: list[tuple[str, object]] = []
    for k, v in b.items():
        key = f"{prefix}{k}"
        old = a.get(k, _MISSING) if isinstance(a, dict) else _MISSING
        if isinstance(old, dict) and isinstance(v, dict) and set(old) <= set(v):
            out += changes(old, v, key + ".")
        elif old is _MISSING or old != v:
            out.append((key, copy.deepcopy(v)))
    return out


_MISSING = object()


def apply_changes(data: dict, items: Iterable[tuple[str, object]]) -> dict:
    """``data`` (changed in place and returned) with each concrete dotted key set to its value."""
    for key, value in items:
        node = data
        parts = key.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = copy.deepcopy(value)
    return data


# -- what a resolved timeline means for the schema and the model -----------------------------------
def timeline_problems(scenario) -> list[tuple[str, str]]:
    """A resolved timeline's form: months inside the calendar and in order, concrete keys that can
    be dated."""
    cal, out, last = scenario.calendar, [], -1.0
    for month, items in scenario.timeline.items():
        where = f"{PREFIX}.{month}"
        if not _MONTH.match(str(month)) or not 1 <= int(str(month)[5:7]) <= 12:
            out.append((where, f"a month as YYYY-MM, found {month!r}"))
            continue
        if not 0 <= cal.month(month) < cal.horizon_months:
            out.append((where,
                        f"a month inside the calendar {cal.start} .. {cal.horizon}, found {month}"))
        elif cal.month(month) <= last:
            out.append((where, "months in calendar order, each once"))
        last = max(last, cal.month(month))
        for key in items if isinstance(items, dict) else ():
            if "*" in key.split(".") or (why := refusal(key.split("."))) is not None:
                out.append((f"{where}.{key}", "a concrete key that can be dated"
                            + (f" ({why})" if "*" not in key else "")))
            elif (why := period_problem(cal, month, key)) is not None:
                out.append((f"{where}.{key}", why))
    return out


def per_period(key: str) -> bool:
    """True for a dated key the model reads per market period (a round's odds, funding access)."""
    return key in ROUND_ODDS or (key.startswith("regions.") and key.endswith(".funding_access"))


def period_problem(cal, month: str, key: str) -> str | None:
    """Why ``key`` cannot change in ``month`` (a per-period key off a period's first month), or
    None."""
    from .funding import PERIOD_MONTHS

    if not per_period(key) or cal.month(month) % PERIOD_MONTHS == 0:
        return None
    first = int(cal.month(month) // PERIOD_MONTHS * PERIOD_MONTHS)
    y, m = divmod(int(cal.start[:4]) * 12 + int(cal.start[5:7]) - 1 + first, 12)
    y2, m2 = divmod(y * 12 + m + int(PERIOD_MONTHS), 12)
    return ("a market quarter's first month (the round odds and funding access hold for a quarter "
            f"of {int(PERIOD_MONTHS)} months from the calendar's start, {cal.start}): {month} is "
            f"inside the quarter from {y:04d}-{m + 1:02d}; date it {y:04d}-{m + 1:02d} or "
            f"{y2:04d}-{m2 + 1:02d}")


def build_epochs(scenario) -> tuple:
    """(month, the validated scenario in force from then on) for the calendar's start and each dated
    month."""
    out = [(0.0, scenario)]
    data = scenario.model_dump(mode="json")
    data[PREFIX] = {}
    for month, items in scenario.timeline.items():
        apply_changes(data, items.items())
        out.append((scenario.calendar.month(month),
                    type(scenario).model_validate(copy.deepcopy(data))))
    return tuple(out)


def founding_intensity(scenario, region: str):
    """Expected foundings in each month of the calendar in ``region`` (a numpy array).

    The region's rate at the calendar's start grows at its yearly trend; founder education in the
    region multiplies it from its start. A dated ``founding_rate_per_year`` sets the rate from its
    month on (the trend continues from there); a dated ``founding_trend_per_year`` grows the rate at
    the new trend from the level it has reached at its month; a dated education multiplier applies
    from its month on."""
    import numpy as np

    cal = scenario.calendar
    reg = scenario.regions[region]
    months = np.arange(int(cal.horizon_months), dtype=float)
    with np.errstate(over="ignore"):  # an absurd trend is reported by validation, not as a warning
        lam = (reg.founding_rate_per_year / 12.0
               * (1.0 + reg.founding_trend_per_year) ** (months / 12.0))
        trend = reg.founding_trend_per_year
        for month, items in scenario.timeline.items():
            rate = items.get(f"regions.{region}.founding_rate_per_year")
            new_trend = items.get(f"regions.{region}.founding_trend_per_year")
            if rate is None and new_trend is None:
                continue
            i = int(cal.month(month))
            level = rate / 12.0 if rate is not None else lam[i]
            trend = trend if new_trend is None else new_trend
            lam[i:] = level * (1.0 + trend) ** ((months[i:] - i) / 12.0)
        for name, edu in scenario.founder_education.items():
            if edu.region == region:
                steps = schedule(scenario, f"founder_education.{name}.founding_rate_multiplier")
                mult = edu.founding_rate_multiplier if len(steps) == 1 else values_at(steps, months)
                lam = np.where(months >= cal.month(edu.starts), lam * mult, lam)
    return lam


def values_at(steps: list[tuple[float, object]], months):
    """A schedule's (from :func:`schedule`) value at each of ``months`` (a numpy array)."""
    import numpy as np

    starts = np.array([s for s, _ in steps])
    values = np.array([float(v) for _, v in steps])
    return values[np.searchsorted(starts, months, side="right") - 1]


# -- reading a resolved timeline -------------------------------------------------------------------
def schedule(scenario, key: str) -> list[tuple[float, object]]:
    """(month it takes effect, value) of a concrete key, from the calendar's start (month 0) on: its
    value in the scenario, then each dated change of it."""
    out = [(0.0, base_value(scenario, key))]
    cal = scenario.calendar
    for month, items in scenario.timeline.items():
        if key in items:
            out.append((cal.month(month), items[key]))
    return out


def base_value(scenario, key: str):
    """The value at a concrete dotted key of a validated scenario (None where the key holds
    nothing)."""
    node = scenario
    for p in key.split("."):
        node = node.get(p) if isinstance(node, dict) else getattr(node, p, None)
        if node is None:
            return None
    return node.model_dump(mode="json") if hasattr(node, "model_dump") else node


def monthly_values(scenario, key: str):
    """The value of a numeric concrete key in each month of the calendar (a numpy array, one entry
    per month from ``calendar.start`` to ``calendar.horizon``): what a per-period model reads."""
    import numpy as np

    n = int(scenario.calendar.horizon_months)
    out = np.empty(n)
    for since, value in schedule(scenario, key):
        out[int(since):] = float(value)
    return out


def per_year_total(scenario, key: str, lo: float, hi: float) -> float:
    """The sum over months ``lo`` .. ``hi`` of a per-year amount (``*_krw_per_year``) as it is in
    force: each stretch's yearly value times its months / 12."""
    steps = schedule(scenario, key)
    if len(steps) == 1:  # the plain arithmetic of a value that never changes
        return float(steps[0][1]) * max(0.0, hi - lo) / 12.0
    total = 0.0
    for i, (since, value) in enumerate(steps):
        until = steps[i + 1][0] if i + 1 < len(steps) else math.inf
        total += float(value) * max(0.0, min(hi, until) - max(lo, since)) / 12.0
    return total


def dated_changes(resolved: dict) -> list[dict]:
    """A scenario's dated changes as rows a report can draw, in calendar order: ``month``, ``key``,
    ``before`` (the value in force until then), ``after`` (from then on) and ``entries`` (the
    centres, regions, ... it concerns).

    ``resolved`` is the resolved scenario as plain data (``resolved_dict``, or a manifest's copy).
    A key set to the same value in several entries of a section is one row: ``centres.*.seats`` when
    it is every entry, ``centres.{A, B}.seats`` otherwise; ``before`` is then one value if they all
    had it, or a mapping of entry to value. ``centre_defaults`` and ``conglomerate_defaults`` rows
    are left out: the entries' own rows say what changed.
    """
    state = copy.deepcopy({k: v for k, v in resolved.items() if k != PREFIX})
    rows: list[dict] = []
    for month, items in (resolved.get(PREFIX) or {}).items():
        groups: dict[tuple, dict[str, object]] = {}
        for key, value in items.items():
            parts = key.split(".")
            if parts[0] in ("centre_defaults", "conglomerate_defaults"):
                continue
            section, entry, rest = ((parts[0], parts[1], ".".join(parts[2:])) if len(parts) > 2
                                    else (key, "", ""))
            group = groups.setdefault((section, rest, _freeze(value)), {})
            group[entry] = copy.deepcopy(get_key(state, key))
        apply_changes(state, items.items())
        for (section, rest, after), befores in groups.items():
            entries = list(befores)
            if rest:
                every = len(entries) == len(state.get(section) or {}) and len(entries) > 1
                names = ("*" if every else entries[0] if len(entries) == 1
                         else "{" + ", ".join(entries) + "}")
                key = f"{section}.{names}.{rest}"
            else:
                key = section
            values = list(befores.values())
            before = values[0] if all(v == values[0] for v in values) else befores
            rows.append({"month": month, "key": key, "before": before, "after": _thaw(after),
                         "entries": entries if rest else [],
                         "before_text": _before_text(before, before is befores),
                         "after_text": _plain(_thaw(after))})
    return rows


def _before_text(before, per_entry: bool) -> str:
    """``60`` or, when the entries differed, the commonest value and the others:
    ``60 (Daejeon: 20)``."""
    if not per_entry:
        return _plain(before)
    counts: dict = {}
    for v in before.values():
        counts[_freeze(v)] = counts.get(_freeze(v), 0) + 1
    common = max(counts, key=counts.get)
    if 2 * counts[common] <= len(before):  # no value most entries had: each entry's own
        return ", ".join(f"{e}: {_plain(v)}" for e, v in before.items())
    others = ", ".join(f"{e}: {_plain(v)}" for e, v in before.items() if _freeze(v) != common)
    return f"{_plain(_thaw(common))} ({others})"


def _plain(v) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return f"{v:,.0f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def _freeze(v):
    if isinstance(v, dict):
        return tuple(sorted((k, _freeze(x)) for k, x in v.items()))
    if isinstance(v, list):
        return ("__list__", *(_freeze(x) for x in v))
    return v


def _thaw(v):
    if isinstance(v, tuple):
        if v and v[0] == "__list__":
            return [_thaw(x) for x in v[1:]]
        return {k: _thaw(x) for k, x in v}
    return v

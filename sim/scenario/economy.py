"""The economy a scenario simulates, and the check that a comparison's scenarios all share one.

A comparison pairs replication ``r`` of every scenario with replication ``r`` of the counterfactual
(common random numbers): a difference is the policy's doing only when both simulate the same
economy, the same start-ups founded in the same regions, meeting the same market. A variant at a
twentieth of the economy (or with an eighteenth region) compared with the real-scale counterfactual
would report hundreds of thousands of "lost" start-ups that no policy lost.

**The economy** is, section by section (:data:`ECONOMY`, :data:`REGION_ECONOMY`):

- ``calendar``: the run's dates, its horizon and the cohort window every metric is measured on;
- ``sectors``: the national sector mix of foundings;
- ``regions``: the same regions, each with the same founding (``founding_rate_per_year``,
  ``founding_trend_per_year``, ``sector_mix``);
- ``startups``: what a start-up is (quality, cash, burn, stages, hazards, acquisitions);
- ``funding``: the rounds a start-up may raise (their odds, sizes, bridges);
- ``market``: the venture money there is (the national series, its shares by age and region, how
  much of the supported firms' extra money displaces others', what public money earns and costs);
- ``sampling``: how the economy is represented (who is simulated one by one, what the others weigh).

A ``timeline`` change of an economy key (a region's founding rate from a month on) is the economy
too: each month's economy changes must be the counterfactual's.

**A policy** may change everything else: its centres (and ``centre_defaults``), the partners
(``conglomerates``), founder education, public venture funds (``funds``: money a policy adds, at
its cost), and a region's ``funding_access`` and
``hazard_multiplier``, the conditions a regional policy moves (``regional-funds`` lifts the
regions' funding access). ``--set`` changes every scenario of a comparison alike, so it never
makes them differ.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

from ..errors import ScenarioError
from .loader import resolved_dict

ECONOMY = ("calendar", "sectors", "startups", "funding", "market", "sampling")
"""Top-level sections that are the economy as a whole."""
REGION_ECONOMY = ("founding_rate_per_year", "founding_trend_per_year", "sector_mix")
"""A region's keys that are its economy (who is founded there); its other keys are conditions a
policy moves."""
SHOWN = 4
"""Differences named per scenario in the error (the rest are counted)."""


def is_economy_key(key: str) -> bool:
    """Whether a dotted scenario key belongs to the economy (a lever may not move it)."""
    parts = key.split(".")
    if parts[0] in ECONOMY:
        return True
    return parts[0] == "regions" and (len(parts) < 3 or parts[2] in REGION_ECONOMY)


def _same(a, b) -> bool:
    if a is _MISSING or b is _MISSING:
        return a is b
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return (math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=0.0)
                or (math.isnan(a) and math.isnan(b)))
    return a == b


def _walk(a, b, where: str, out: list[tuple[str, object, object]]) -> None:
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        for k in [*a, *(k for k in b if k not in a)]:
            _walk(a.get(k, _MISSING), b.get(k, _MISSING), f"{where}.{k}" if where else str(k), out)
        return
    if not _same(a, b):
        out.append((where, a, b))


class _Said(str):
    """A description standing in for a value (shown as is, not quoted)."""


_MISSING = _Said("nothing")


def economy_differences(counterfactual: Mapping,
                        other: Mapping) -> list[tuple[str, object, object]]:
    """Where ``other``'s economy differs from ``counterfactual``'s (both resolved scenarios, as
    plain data): (dotted key, the value in ``other``, the value in the counterfactual), in schema
    order."""
    out: list[tuple[str, object, object]] = []
    for section in ECONOMY:
        _walk(other.get(section, _MISSING), counterfactual.get(section, _MISSING), section, out)
    mine, theirs = other.get("regions") or {}, counterfactual.get("regions") or {}
    for name in [*theirs, *(n for n in mine if n not in theirs)]:
        if name not in mine or name not in theirs:
            out.append((f"regions.{name}", _Said("a region" if name in mine else "no such region"),
                        _Said("a region" if name in theirs else "no such region")))
            continue
        for key in REGION_ECONOMY:
            _walk(mine[name].get(key), theirs[name].get(key), f"regions.{name}.{key}", out)
    mine, theirs = _dated(other), _dated(counterfactual)
    for month in sorted({*mine, *theirs}):
        a, b = mine.get(month, {}), theirs.get(month, {})
        for key in [*b, *(k for k in a if k not in b)]:
            _walk(a.get(key, _MISSING), b.get(key, _MISSING), f"timeline.{month}.{key}", out)
    return out


def _dated(resolved: Mapping) -> dict[str, dict]:
    """The resolved timeline's changes of economy keys, by month."""
    line = resolved.get("timeline") or {}
    return {m: {k: v for k, v in items.items() if is_economy_key(k)}
            for m, items in line.items() if isinstance(items, Mapping)}


def _shown(v) -> str:
    if isinstance(v, _Said):
        return str(v)
    if isinstance(v, float) and v.is_integer() and abs(v) >= 1e4:
        return f"{v:,.0f}"
    if isinstance(v, (dict, list)):
        text = repr(v)
        return text if len(text) <= 60 else text[:57] + "..."
    return repr(v) if isinstance(v, str) else str(v)


def check_same_economy(counterfactual: tuple[str, object, object], others, *,
                       study: str = "compare") -> None:
    """Refuse (:class:`ScenarioError`, exit 2) a study in which some scenario simulates another
    economy than the counterfactual's, naming each such scenario, its file and what differs.

    ``counterfactual`` and each of ``others`` are (name, scenario, file): the scenario validated or
    as resolved data; a scenario of the counterfactual's name is the counterfactual itself and
    skipped. ``study`` names the command in the message.
    """
    cf_name, cf, cf_file = counterfactual

    def data(sc) -> Mapping:
        return sc if isinstance(sc, Mapping) else resolved_dict(sc)

    def named(n: str, f) -> str:
        return f"{n} ({f})" if f else n

    problems = []
    for name, sc, file in others:
        diffs = [] if name == cf_name else economy_differences(data(cf), data(sc))
        if not diffs:
            continue
        shown = "; ".join(f"{k} is {_shown(mine)} there and {_shown(theirs)} in {cf_name}"
                          for k, mine, theirs in diffs[:SHOWN])
        more = f" (and {len(diffs) - SHOWN} more)" if len(diffs) > SHOWN else ""
        problems.append(f"{named(name, file)}: {shown}{more}")
    if problems:
        raise ScenarioError(
            f"{study}: every scenario must simulate the counterfactual's economy (the same "
            "calendar, sectors, regions and their founding, start-ups, funding market and "
            "sampling), so that a difference is the policy's doing; these differ from "
            f"{named(cf_name, cf_file)}: " + ". ".join(problems)
            + ". Use variants that extend the counterfactual (a scenario of that name beside the "
            "given files is used before the shipped one), or give --counterfactual a scenario with "
            "their economy.")


def find_named(name: str, beside, shipped: Path) -> Path | None:
    """The scenario file for ``name`` (a counterfactual or baseline not among a comparison's files):
    ``NAME.yaml`` beside the given files (in their order), else in ``shipped``; None if neither has
    it."""
    folders = list(dict.fromkeys(Path(f).parent for f in beside)) + [Path(shipped)]
    for folder in folders:
        candidate = folder / f"{name}.yaml"
        try:
            if candidate.is_file():
                return candidate
        except (OSError, ValueError):  # a name too long for the file system, a NUL byte, ...
            continue
    return None

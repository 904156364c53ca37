"""No free lunch: every shipped scenario against the file it extends.

A change that raises the economy's money raised or the number of supported start-ups without raising
public or partner cost must name the supply it comes from; otherwise the test names the lever. The
supplies the model knows: venture money (the market's published supply and public funds, which cost
public money, plus what investors bring for the supported firms when ``market.coupling`` < 1), loans
(bank and policy lending, not limited: an assumption, so no policy variant may change their odds for
free) and the partners' budgets (partner cost). A supported start-up costs the centre that selects
it (``operating_cost_krw_per_supported``), so capacity is never free.

The shipped files run at their real scale (the programme's capacity against the economy and the
market as they are), one replication each: every difference is paired by common random numbers, so
one replication answers whether a change gains anything at no cost. The test also builds two free
lunches by hand and checks that it catches them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from sim.analysis.metrics import replication_metrics
from sim.model import simulate
from sim.scenario import load_scenario, resolved_dict

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
REPS = (0,)
SEED = 20140902
FREE_KEYS = ("market.", "funding.")
"""Keys whose change adds money without a cost of its own (the market's supply, the odds of a loan
or a venture round): a policy variant may not change them at no extra public or partner cost."""


def _shipped() -> dict[str, Path]:
    """Every shipped scenario by name: the policy library and the outlook's options."""
    return {p.stem: p for p in [*sorted(SCENARIOS.glob("*.yaml")),
                                *sorted((SCENARIOS / "outlook").glob("*.yaml"))]}


def _parent(path: Path) -> str | None:
    """The scenario a shipped file extends in its own folder (one on another calendar, as the
    outlook's baseline extends ccei-as-run, is not a variant of it)."""
    ref = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("extends")
    if ref is None or (path.parent / str(ref)).resolve().parent != path.parent.resolve():
        return None
    return Path(str(ref)).stem


VARIANTS = [n for n, p in _shipped().items() if _parent(p)]
"""Shipped scenarios tested against the file they extend."""
RUN = sorted({*VARIANTS, *(_parent(_shipped()[n]) for n in VARIANTS)})
"""The variants and their parents: the scenarios run."""


def _flat(data, prefix="") -> dict[str, object]:
    out = {}
    if isinstance(data, dict):
        for k, v in data.items():
            out.update(_flat(v, f"{prefix}{k}."))
    else:
        out[prefix[:-1]] = data
    return out


def _levers(child, parent) -> list[str]:
    a, b = _flat(resolved_dict(child)), _flat(resolved_dict(parent))
    return sorted(
        k for k in set(a) | set(b) if k != "name" and k != "description" and a.get(k) != b.get(k)
    )


def _run(path: Path, extra=()) -> tuple:
    sc = load_scenario(path, list(extra))
    rows = []
    for rep in REPS:
        rec = simulate(sc, SEED, rep)
        m = replication_metrics(rec, sc.calendar)
        mk = rec.market
        rows.append(
            {
                "supported": m["supported"],
                "public": m["public_cost_krw"],
                "partner": m["partner_investment_krw"],
                "operating": m["operating_cost_krw"],
                "debt": m["debt_raised_krw"],
                "paid": float(mk["paid"].sum()),
                "available": float((mk["supply"] + mk["induced"]).sum()),
                "slack": float(np.maximum(mk["supply"] + mk["induced"] - mk["paid"], 0.0).sum()),
                "induced": float(mk["induced"].sum()),
            }
        )
    return sc, rows


def free_lunches(name: str, child, parent, a: list[dict], b: list[dict]) -> list[str]:
    """What ``child`` gains over ``parent`` at no extra public or partner cost without a named
    supply."""
    levers = _levers(child, parent)
    problems = []
    for ra, rb in zip(a, b, strict=True):
        # a supported start-up is paid for by the centre's operating cost (its part per supported
        # start-up)
        if ra["supported"] > rb["supported"] + 0.5 and ra["operating"] <= rb["operating"] + 1.0 \
                and ra["partner"] <= rb["partner"] + 1.0:
            problems.append(
                f"{name}: +{ra['supported'] - rb['supported']:,.0f} supported start-ups over "
                f"{parent.name} at no extra operating or partner cost; levers: {levers}"
            )
        # the market's supply and the odds of a round are the economy's, not a policy's: whatever
        # else a variant pays for, more money from changing them is money from nothing (a public
        # fund has a price)
        free = [k for k in levers if k.startswith(FREE_KEYS) and k != "market.coupling"]
        if free and (ra["paid"] > rb["paid"] + 1e6 or ra["debt"] > rb["debt"] + 1e6):
            problems.append(
                f"{name}: more money than {parent.name} from a change of the market or the odds "
                f"of a round, which no budget pays for; levers: {free}"
            )
        if ra["public"] > rb["public"] + 1.0 or ra["partner"] > rb["partner"] + 1.0:
            continue  # it pays: public or partners' money (the question is then value for money)
        allowed = ra["available"] - rb["available"] + rb["slack"]
        if ra["paid"] - rb["paid"] > allowed + 1e6:
            problems.append(
                f"{name}: +{(ra['paid'] - rb['paid']) / 1e9:,.1f} bn KRW of venture money over "
                f"{parent.name} beyond the supply it had or gained; levers: {levers}"
            )
    return problems


@pytest.fixture(scope="module")
def runs() -> dict[str, tuple]:
    """Every shipped variant and its parent run once at full scale (the scenario and its books)."""
    return {name: _run(path) for name, path in _shipped().items() if name in RUN}


@pytest.mark.parametrize("name", VARIANTS)
def test_every_shipped_change_names_the_supply_of_what_it_adds(runs, name):
    """Each shipped variant against its parent: more supported start-ups or more money only with a
    cost, or from a supply the scenario names (a public fund, the market's unused money)."""
    parent = _parent(_shipped()[name])
    child_sc, child_rows = runs[name]
    parent_sc, parent_rows = runs[parent]
    assert free_lunches(name, child_sc, parent_sc, child_rows, parent_rows) == []


INDUCED_AT_FULL_COUPLING = 1e-4
"""With full coupling investors bring money only where the supported firms alone would expect more
than a region's whole quarter (they meet investors first, sim.model.market): at the shipped scale a
won in ten thousand at most (stronger-selection: about 70 M of 32.5 tn KRW), which the market books
as brought in."""


@pytest.mark.parametrize("name", RUN)
def test_no_venture_money_comes_from_nowhere(runs, name):
    """With full coupling (the shipped market) every won handed out is the supply's or, in a handful
    of cells, money the books show investors bringing; never more than both."""
    sc, rows = runs[name]
    assert sc.market.coupling == 1.0
    for r in rows:
        assert r["induced"] <= INDUCED_AT_FULL_COUPLING * (r["available"] - r["induced"])
        assert r["paid"] <= r["available"] * (1 + 1e-9)


def test_the_test_catches_a_free_lunch(runs):
    """Four times the seats and intakes until 2019 in the centres without partners, with capacity
    made free (no cost per supported start-up), and a venture market twice as large for nothing:
    both are named, with their levers."""
    base_sc, base_rows = runs["ccei-announced"]
    path = _shipped()["no-conglomerate"]  # no partner to pay for what the extra firms do
    sc = load_scenario(path)
    bigger = [
        f"centre_defaults.seats={sc.centres['Daegu'].seats * 4}",
        f"centre_defaults.intake_size={sc.centres['Daegu'].intake_size * 4}",
        "centre_defaults.operating_cost_krw_per_supported=0",
        "centres.*.operating_cost_krw_per_supported=0",
    ]
    free_base_sc, free_base_rows = _run(path, ["centre_defaults.operating_cost_krw_per_supported=0",
                                               "centres.*.operating_cost_krw_per_supported=0"])
    cap_sc, cap_rows = _run(path, bigger)
    found = free_lunches("capacity", cap_sc, free_base_sc, cap_rows, free_base_rows)
    assert found and "supported start-ups" in found[0] and "centre_defaults.seats" in found[0]
    money_sc, money_rows = _run(_shipped()["ccei-announced"], ["market.supply_multiplier=2"])
    found = free_lunches("money", money_sc, base_sc, money_rows, base_rows)
    assert found and "market.supply_multiplier" in " ".join(found)

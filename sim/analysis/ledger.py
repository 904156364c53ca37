"""The yearly ledger: what one replication's economy raised and spent, calendar year by calendar
year.

`year_columns` turns a replication's records into one row per calendar year of the run (the rows of
``years.parquet``): the venture money raised and the money the market had for it, loans, public cost
by item, partners' payments and the start-ups first supported that year. Every row is a sum of the
records' ledgers (rounds, public spending, partners' payments), so the years add up to the whole-run
metrics exactly (:mod:`metrics`). Money raised is an input (what investors and lenders put in), not
a benefit."""

from __future__ import annotations

import numpy as np

from ..model.books import FUNDS, GRANTS, OPERATING, PARTNERS_PUBLIC, PER_SUPPORTED
from ..model.codes import DEBT, EQUITY

YEAR_COLUMNS: dict[str, tuple[str, str]] = {
    "year": ("year", "calendar year"),
    "equity_raised_krw": ("KRW", "venture (equity) money the economy's start-ups raised that year"),
    "equity_supply_krw": (
        "KRW",
        "venture money the market had for them that year (the series' share for "
        "their ages and regions, plus public funds' investments; 0 when not limited)",
    ),
    "equity_induced_krw": (
        "KRW",
        "venture money investors brought for the supported firms' extra rounds "
        "(1 - market.coupling of it)",
    ),
    "equity_firms": ("start-ups", "start-ups that raised venture money that year"),
    "debt_raised_krw": ("KRW", "loans raised that year (at milestones and as bridges)"),
    "bridge_rounds": (
        "rounds",
        "bridge loans raised when cash ran out (distress rounds) that year",
    ),
    "public_cost_krw": ("KRW", "public money spent that year (every item of the public ledger)"),
    "operating_cost_krw": (
        "KRW",
        "centres' operating cost (fixed and per supported start-up) and founder "
        "education that year",
    ),
    "grants_krw": ("KRW", "programme grants paid that year"),
    "centres_cost_krw": (
        "KRW",
        "the centres' own budgets that year: operating cost (fixed and per supported start-up) "
        "and grants, what central and local government gave the centres (founder education, "
        "public funds and the linked funds' public money are not in it)",
    ),
    "funds_public_cost_krw": ("KRW", "public funds' cost that year, net of what comes back"),
    "partner_investment_krw": ("KRW", "partners' investments and acquisition payments that year"),
    "supported_new": ("start-ups", "start-ups first supported that year"),
}
"""Columns of years.parquet (besides scenario and replication): unit and definition."""


def _year(calendar, months: np.ndarray) -> np.ndarray:
    start_year, start_month = int(calendar.start[:4]), int(calendar.start[5:7])
    return (
        start_year + (start_month - 1 + np.floor(np.asarray(months, float)).astype(np.int64)) // 12
    )


def year_columns(records, calendar) -> dict[str, np.ndarray]:
    """One row per calendar year from ``calendar.start`` to the horizon, as columns (see
    :data:`YEAR_COLUMNS`): what a task hands the store as its ``years`` table."""
    first = int(calendar.start[:4])
    years = np.arange(first, int(calendar.horizon[:4]) + 1)
    n = len(years)

    def by_year(months, amounts) -> np.ndarray:
        idx = _year(calendar, months) - first
        ok = (idx >= 0) & (idx < n)
        return np.bincount(idx[ok], np.asarray(amounts, float)[ok], minlength=n)

    s, rd = records.startups, records.rounds
    w = s["weight"]
    out: dict[str, np.ndarray] = {}
    if rd and rd["krw"].size:
        money = w[rd["sid"]] * rd["krw"]
        eq, de = rd["channel"] == EQUITY, rd["channel"] == DEBT
        out["equity_raised_krw"] = by_year(rd["month"][eq], money[eq])
        out["debt_raised_krw"] = by_year(rd["month"][de], money[de])
        out["bridge_rounds"] = by_year(
            rd["month"][de & rd["bridge"]], w[rd["sid"]][de & rd["bridge"]]
        )
        # a start-up counts once in a year however many rounds it raised then
        ys = _year(calendar, rd["month"][eq])
        pairs = np.unique(np.stack([rd["sid"][eq], ys]), axis=1)
        out["equity_firms"] = by_year(_month_of(calendar, pairs[1]), w[pairs[0]])
    else:
        for k in ("equity_raised_krw", "debt_raised_krw", "bridge_rounds", "equity_firms"):
            out[k] = np.zeros(n)
    mk = records.market
    if mk:
        months = np.arange(mk["supply"].shape[1]) * float(mk["period_months"][0])
        out["equity_supply_krw"] = by_year(months, mk["supply"].sum(axis=0))
        out["equity_induced_krw"] = by_year(months, mk["induced"].sum(axis=0))
    else:
        out["equity_supply_krw"] = out["equity_induced_krw"] = np.zeros(n)
    sp = records.spending
    item = sp[:, 2].astype(np.int64)
    out["public_cost_krw"] = by_year(sp[:, 0], sp[:, 1])
    out["grants_krw"] = by_year(sp[item == GRANTS, 0], sp[item == GRANTS, 1])
    out["funds_public_cost_krw"] = by_year(sp[item == FUNDS, 0], sp[item == FUNDS, 1])
    centres = np.isin(item, [OPERATING, PER_SUPPORTED, GRANTS])
    out["centres_cost_krw"] = by_year(sp[centres, 0], sp[centres, 1])
    other = ~np.isin(item, [GRANTS, FUNDS, PARTNERS_PUBLIC])
    out["operating_cost_krw"] = by_year(sp[other, 0], sp[other, 1])
    pp = records.partner_paid
    out["partner_investment_krw"] = by_year(pp[:, 0], pp[:, 1])
    sup = s["supported"]
    out["supported_new"] = by_year(s["support_time"][sup], w[sup])
    return {
        "year": years.astype(np.int64),
        **{k: np.asarray(out[k], float) for k in YEAR_COLUMNS if k != "year"},
    }


def _month_of(calendar, years: np.ndarray) -> np.ndarray:
    """A month inside each calendar year (its first month on the run's clock, at least 0)."""
    start_year, start_month = int(calendar.start[:4]), int(calendar.start[5:7])
    return np.maximum((np.asarray(years) - start_year) * 12 - (start_month - 1), 0).astype(float)


def year_rows(records, calendar) -> list[dict]:
    """The same ledger as :func:`year_columns`, one dict per calendar year."""
    cols = year_columns(records, calendar)
    return [{k: (int(v[i]) if k == "year" else float(v[i])) for k, v in cols.items()}
            for i in range(len(cols["year"]))]

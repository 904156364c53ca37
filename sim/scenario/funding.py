"""The scenario's money: the channels of external money, the regional venture market, public funds.

A section of :mod:`schema` of its own because money is where most of the model's claims about
supply and cost live: venture equity comes from a market whose supply per region and year is
published (``market``), loans from banks and policy lenders (``funding.debt``), and every public
fund (``funds``) says how large it is, who pays for it, when and where it invests.
"""

from __future__ import annotations

import math

from pydantic import Field, field_validator, model_validator

from .fields import (
    STAGES,
    Count,
    Money,
    Month,
    Multiplier,
    NonNegative,
    Probability,
    Strict,
    coerce_date,
)

PERIOD_MONTHS = 3.0
"""The venture market's period, a quarter: its supply, its rationing and the odds of a round hold
for a period, so a dated change of a round's odds or of a region's funding access takes effect from
the first month of a period (January, April, July or October of a calendar starting in January)."""


class Round(Strict):
    """A financing round a start-up may raise at a stage's milestone: its odds and its size."""

    probability: Probability
    """Chance of raising this round at the milestone for a median start-up (in Seoul, for venture
    money)."""
    size_median_krw: Money
    """Median size of the round."""
    size_sigma: NonNegative = Field(0.6, le=5)
    """Log-sd of the round size (lognormal)."""


def _stage_rounds(v: dict[str, Round]) -> dict[str, Round]:
    if set(v) != set(STAGES):
        raise ValueError(f"exactly the stages {list(STAGES)}, found {sorted(v)}")
    return {s: v[s] for s in STAGES}


class Channel(Strict):
    """One channel of external money: its rounds at the milestones and how they follow quality."""

    rounds: dict[str, Round]
    """Round raised on finishing each stage (keyed by the stage just finished)."""
    quality_exponent: NonNegative = Field(1.0, le=10)
    """Odds scale with quality ** exponent."""

    @field_validator("rounds")
    @classmethod
    def _all_stages(cls, v: dict[str, Round]) -> dict[str, Round]:
        return _stage_rounds(v)


def _equity() -> Channel:
    return Channel(rounds={"prototype": Round(probability=0.02, size_median_krw=300_000_000),
                           "product": Round(probability=0.03, size_median_krw=1_000_000_000),
                           "traction": Round(probability=0.04, size_median_krw=3_000_000_000)},
                   quality_exponent=2.0)


def _debt() -> Channel:
    return Channel(rounds={"prototype": Round(probability=0.15, size_median_krw=50_000_000),
                           "product": Round(probability=0.15, size_median_krw=100_000_000),
                           "traction": Round(probability=0.15, size_median_krw=200_000_000)},
                   quality_exponent=0.5)


class Funding(Strict):
    """External money, in two channels: venture equity (angels and venture capital, from the
    regional venture market of ``market``, whose supply is limited) and debt (bank and policy loans,
    credit guarantees; not supply-limited). At each milestone a start-up may raise a round in each
    channel; when its cash runs out it may get a bridge loan (debt). The programme's funding-odds
    multipliers act on the channel their evidence is about: venture rounds (Howell 2017, Koo
    2018)."""

    equity: Channel = Field(default_factory=_equity)
    """Venture rounds at the milestones; their odds also scale with the region's ``funding_access``
    and fall with the market's rationing when the money sought exceeds the money available."""
    debt: Channel = Field(default_factory=_debt)
    """Loans at the milestones (and bridges when cash runs out)."""
    bridge_probability_multiplier: Multiplier = 0.6
    """A bridge loan when cash runs out has this multiple of the stage's loan odds."""
    max_bridges: Count = Field(2, le=8)
    """Bridges tried when cash runs out, at most 8 in a start-up's life."""
    max_probability: Probability = 0.95
    """Cap on any one round's or bridge's odds, whatever the multipliers."""


class Market(Strict):
    """The regional venture market: how much venture money there is, each quarter and region.

    The supply is Korea's new venture investment of the year (``venture_investment_krw_by_year``),
    times the share that goes to firms as young as the model's (``under_3_share_by_year`` and
    ``from_3_to_7_share_by_year``, counted only for the ages the calendar holds), times the region's
    share (the capital region's share by year, split inside and outside it by ``region_shares``), a
    quarter of it each quarter, plus the public funds' investments (``funds``). Without a series,
    venture money is not limited (every seeker's odds are as the rounds say)."""

    venture_investment_krw_by_year: dict[int, Money] = Field(default_factory=dict)
    """New venture investment of each year (KRW); between the years given, interpolated in logs;
    before the first, held at the first year's value; after the last, held at the last year's value,
    or following the trend of ``trend_fit_years`` when it is given."""
    trend_fit_years: list[int] = Field(default_factory=list)
    """Two years of the series, the first and the last a log-linear trend is fitted to (least
    squares on the logs of the series' values from the one to the other). Past the series' last year
    the series then follows that trend, from its fitted level at the last fitted year, instead of
    holding its last value. Empty: held (an assumption to state where it matters)."""
    growth_after_data_per_year: float | None = Field(None, ge=-0.5, le=1.0, allow_inf_nan=False)
    """The trend's yearly growth past the series' last year (None: the fitted trend's own growth).
    Only with ``trend_fit_years``; an assumption, with a prior where a horizon reaches past the
    data."""
    supply_multiplier: Multiplier = 1.0
    """Multiplies the whole series (1 = as published; another value is a what-if about the market's
    size)."""
    under_3_share_by_year: dict[int, Probability] = Field(default_factory=dict)
    """Share of the year's new venture investment going to firms under 3 years old (interpolated
    linearly between years, held outside them)."""
    from_3_to_7_share_by_year: dict[int, Probability] = Field(default_factory=dict)
    """Share going to firms 3 to 7 years old (as above)."""
    capital_region: list[str] = Field(default_factory=list)
    """The regions of the capital region (keys of ``regions``)."""
    capital_region_share_by_year: dict[int, Probability] = Field(default_factory=dict)
    """The capital region's share of the year's new venture investment (interpolated, held
    outside)."""
    region_shares: dict[str, NonNegative] = Field(default_factory=dict)
    """Each region's weight inside its part of the country (the capital region, or the rest);
    weights are normalised within each part. Every region needs one when the series is given."""
    coupling: Probability = 1.0
    """How much of the supported start-ups' extra venture money comes out of what others would have
    raised: 1 = all of it (the supply is fixed: full displacement), 0 = none (investors bring new
    money for them)."""
    fund_return_per_year: float = Field(0.0343, ge=-1.0, le=1.0, allow_inf_nan=False)
    """Yearly return a public fund earns on the money it invests (sets what its investors get
    back)."""
    fund_fee_per_year: Probability = 0.02
    """Management fee, a share of the fund's size a year over its life (paid out, not invested)."""
    fund_life_years: float = Field(8.0, gt=0, le=50, allow_inf_nan=False)
    """Years from a fund's start to its dissolution, when its investors are paid back."""
    discount_rate_per_year: float = Field(0.045, ge=0.0, le=1.0, allow_inf_nan=False)
    """The public cost of capital: what the public's money returned later is worth now."""

    @field_validator("venture_investment_krw_by_year", "under_3_share_by_year",
                     "from_3_to_7_share_by_year", "capital_region_share_by_year")
    @classmethod
    def _years(cls, v: dict[int, float]) -> dict[int, float]:
        bad = [y for y in v if not 1900 <= int(y) <= 2200]
        if bad:
            raise ValueError(f"calendar years (1900-2200) as keys, found {bad[0]!r}")
        return dict(sorted(v.items()))

    @field_validator("trend_fit_years")
    @classmethod
    def _fit_years(cls, v: list[int]) -> list[int]:
        if v and (len(v) != 2 or v[0] >= v[1]):
            raise ValueError("two years, the first before the second (for example [2015, 2020]), "
                             f"found {v}")
        return v

    @model_validator(mode="after")
    def _trend(self) -> Market:
        series = self.venture_investment_krw_by_year
        if self.trend_fit_years:
            missing = [y for y in self.trend_fit_years if y not in series]
            if missing:
                raise ValueError("trend_fit_years: years of venture_investment_krw_by_year "
                                 f"({sorted(series)}), found {missing[0]}")
        elif self.growth_after_data_per_year is not None:
            raise ValueError("growth_after_data_per_year: only with trend_fit_years (the trend it "
                             "continues), found trend_fit_years empty")
        return self

    @property
    def limited(self) -> bool:
        """True when venture money has a supply (a series is given)."""
        return bool(self.venture_investment_krw_by_year)

    def trend(self) -> tuple[int, float, float] | None:
        """The series' trend past its data: (last fitted year, the fitted level there in KRW, the
        yearly growth after the data), or None when the series is held past its last year."""
        if not self.trend_fit_years:
            return None
        import numpy as np

        first, last = self.trend_fit_years
        years = np.array([y for y in self.venture_investment_krw_by_year if first <= y <= last],
                         dtype=float)
        logs = np.log([self.venture_investment_krw_by_year[int(y)] for y in years])
        slope, intercept = np.polyfit(years, logs, 1)
        growth = (math.expm1(slope) if self.growth_after_data_per_year is None
                  else self.growth_after_data_per_year)
        return last, float(math.exp(intercept + slope * last)), float(growth)


class Fund(Strict):
    """A public venture fund: its size, who pays it, when and where it invests."""

    size_krw: Money
    """The fund's size (all its investors' commitments together)."""
    public_share: Probability = 0.5
    """Share of the fund paid by central and local government (the rest by private investors)."""
    starts: Month
    """Month the fund starts investing."""
    invest_years: float = Field(4.0, gt=0, le=50, allow_inf_nan=False)
    """Years over which it invests what is left after its fees, evenly by quarter."""
    regions: list[str] = Field(default_factory=lambda: ["*"])
    """Regions it invests in (keys of ``regions``; ["*"] = all), split in proportion to their
    founding rates."""

    _v_dates = field_validator("starts", mode="before")(coerce_date)

"""The scenario schema: every lever of the model, with its unit, its range and its default.

A scenario file is YAML; after `extends` and `--set` are applied the resulting mapping is
validated against :class:`Scenario`. Unknown keys are errors (a misspelt lever must never be
silently ignored), numbers are range-checked, and cross references (a centre's region and
partner, dates inside the calendar) are checked in :meth:`Scenario._check_references`.

Units are in the names: ``*_krw`` is Korean won, ``*_months`` is months, ``*_per_month`` is a
rate per month, ``*_per_year`` per year; dates are ``YYYY-MM`` strings.
"""

from __future__ import annotations

import bisect
from typing import Annotated, Any

import numpy as np
from pydantic import Field, PrivateAttr, field_validator, model_validator

from .fields import (  # noqa: F401 - re-exported: the schema's types are read from here
    STAGES,
    Count,
    Money,
    Month,
    Multiplier,
    NonNegative,
    Positive,
    Probability,
    Strict,
    parse_month,
)
from .fields import coerce_date as _coerce_date
from .funding import Channel, Fund, Funding, Market, Round  # noqa: F401 - re-exported
from .timeline import timeline_problems

MAX_CALENDAR_YEARS = 100
"""Longest calendar (start to horizon) a scenario may span."""
MAX_STARTUPS = 2_000_000
"""Most start-ups one replication may expect to simulate (about 1 KB of memory and a few
microseconds each): ten times what the shipped scenarios simulate of the real economy. Founding
rates that are valid one by one but add up to more (1e7 a year in every region) are refused
before they allocate gigabytes."""


class Calendar(Strict):
    """Simulated time. Month 0 is the first day of ``start``; the run ends at the end of
    ``horizon``."""

    start: Month = "2012-01"
    """First month of the simulation (month 0)."""
    horizon: Month = "2024-12"
    """Last month simulated; outcomes are observed up to its end."""
    cohort_first_year: int = Field(2014, ge=1900, le=2200)
    """First founding year counted in population survival metrics."""
    cohort_last_year: int = Field(2019, ge=1900, le=2200)
    """Last founding year counted (5-year survival needs cohorts at least 5 years before the
    horizon)."""

    _v_dates = field_validator("start", "horizon", mode="before")(_coerce_date)

    @model_validator(mode="after")
    def _order(self) -> Calendar:
        if self.months_between(self.start, self.horizon) < 0:
            raise ValueError(f"a horizon at or after start {self.start}, found {self.horizon}")
        if self.months_between(self.start, self.horizon) >= 12 * MAX_CALENDAR_YEARS:
            raise ValueError(f"a horizon less than {MAX_CALENDAR_YEARS} years after start "
                             f"{self.start}, found {self.horizon}")
        if self.cohort_last_year < self.cohort_first_year:
            raise ValueError("cohort_last_year at or after cohort_first_year "
                             f"{self.cohort_first_year}, found {self.cohort_last_year}")
        return self

    @staticmethod
    def months_between(a: str, b: str) -> int:
        """Whole months from ``a`` to ``b`` (both ``YYYY-MM``; negative when ``b`` is earlier)."""
        ya, ma = parse_month(a)
        yb, mb = parse_month(b)
        return (yb - ya) * 12 + (mb - ma)

    @property
    def horizon_months(self) -> float:
        """Length of the run in months (the horizon month is included)."""
        return float(self.months_between(self.start, self.horizon) + 1)

    def month(self, date: str) -> float:
        """Months from the start of the calendar to the first day of ``date``."""
        return float(self.months_between(self.start, date))

    def year_start(self, year: int) -> float:
        """Months from the start of the calendar to 1 January of ``year``."""
        return float(self.months_between(self.start, f"{year:04d}-01"))


class Region(Strict):
    """A metropolitan city or province: where start-ups are founded and how hard life is there."""

    founding_rate_per_year: NonNegative = Field(..., le=1e7)
    """Technology start-ups founded per year (Poisson arrivals)."""
    founding_trend_per_year: float = Field(0.0, ge=-0.5, le=1.0, allow_inf_nan=False)
    """Relative yearly growth of the founding rate (0.03 = +3 % a year)."""
    funding_access: Multiplier = 1.0
    """Odds of raising venture (equity) money relative to Seoul (Seoul = 1), before the market's
    rationing."""
    hazard_multiplier: Multiplier = 1.0
    """Failure hazard relative to the national stage hazards."""
    sector_mix: dict[str, NonNegative] | None = None
    """Overrides the national sector mix for this region (weights, normalised)."""


class StageParams(Strict):
    """One stage of the death valley: how long it takes, and how likely a start-up fails in it."""

    months_to_milestone: Positive = Field(..., le=600)
    """Median-quality start-up's mean time to finish this stage, in months."""
    failure_hazard_per_month: NonNegative = Field(..., le=10)
    """Hazard of non-cash failure (team, market) while in this stage."""
    jobs_multiplier: NonNegative = Field(1.0, le=1000)
    """Jobs = founding team x this multiplier while in this stage."""


class Startups(Strict):
    """The start-up population: attributes drawn at founding and the walk through the valley."""

    quality_sigma: NonNegative = Field(0.8, le=5)
    """Latent quality is lognormal with median 1 and this log-sd."""
    initial_cash_median_krw: Money = 60_000_000
    """Median cash a start-up is founded with."""
    initial_cash_sigma: NonNegative = Field(0.7, le=5)
    """Log-sd of founding cash (lognormal)."""
    monthly_burn_median_krw: Money = 6_000_000
    """Median net cash burn a month."""
    monthly_burn_sigma: NonNegative = Field(0.4, le=5)
    """Log-sd of the monthly burn (lognormal)."""
    team_size_mean: float = Field(3.0, ge=1, le=1000, allow_inf_nan=False)
    """Mean founding team (jobs at founding); at least 1."""
    milestone_time_shape: Positive = Field(2.0, le=100)
    """Gamma shape of milestone times (1 = exponential; larger = more regular)."""
    quality_speed_exponent: NonNegative = Field(0.5, le=10)
    """Milestone time scales with quality ** -exponent."""
    quality_hazard_exponent: NonNegative = Field(1.0, le=10)
    """Failure hazard scales with quality ** -exponent."""
    stages: dict[str, StageParams] = Field(
        default_factory=lambda: {
            "prototype": StageParams(months_to_milestone=10, failure_hazard_per_month=0.012,
                                     jobs_multiplier=1.0),
            "product": StageParams(months_to_milestone=14, failure_hazard_per_month=0.010,
                                   jobs_multiplier=1.5),
            "traction": StageParams(months_to_milestone=18, failure_hazard_per_month=0.008,
                                    jobs_multiplier=2.5),
        }
    )
    crossed_jobs_multiplier: NonNegative = Field(4.0, le=10_000)
    """Jobs multiplier once the valley is crossed."""
    mature_hazard_per_month: NonNegative = Field(0.004, le=10)
    """Hazard after crossing the valley."""
    acquisition_hazard_per_month: NonNegative = Field(0.002, le=10)
    """Hazard of a market acquisition while in traction (scaled by quality)."""

    @field_validator("stages")
    @classmethod
    def _all_stages(cls, v: dict[str, StageParams]) -> dict[str, StageParams]:
        if set(v) != set(STAGES):
            missing = [s for s in STAGES if s not in v]
            extra = [s for s in v if s not in STAGES]
            parts = []
            if missing:
                parts.append(f"missing {missing}")
            if extra:
                parts.append(f"unknown {extra}")
            raise ValueError(f"exactly the stages {list(STAGES)} ({'; '.join(parts)})")
        return {s: v[s] for s in STAGES}


class Training(Strict):
    """What a residency does. Multipliers of 1 mean no effect."""

    hazard_multiplier_during: Multiplier = 0.8
    """Failure hazard during the residency, relative to an unsupported start-up."""
    hazard_multiplier_after: Multiplier = 0.95
    """Failure hazard after graduating, relative to an unsupported start-up."""
    speed_multiplier_during: Multiplier = 1.2
    """Milestone speed during the residency (1.2 = milestones 20 % faster)."""
    speed_multiplier_after: Multiplier = 1.05
    """Milestone speed after graduating."""
    funding_odds_multiplier: Multiplier = 1.3
    """Venture (equity) round odds through the centre's network, from selection on (loans are not
    affected: the evidence is about investors)."""
    funding_odds_half_life_months: float | None = Field(None, gt=0, le=1200, allow_inf_nan=False)
    """Half-life of the network's funding boost: the extra odds halve every this many months after
    selection (null: the boost lasts for life). Mentoring and investor ties matter most soon after
    support (Koo, KDI Journal of Economic Policy, 2018, on Korea's TIPS)."""
    resolution_multiplier: Multiplier = 1.0
    """Acceleration: during the residency both the failure hazard and the milestone speed are
    multiplied by this (on top of the other multipliers), so weak start-ups fail earlier and strong
    ones reach milestones earlier; 1 = no effect. Accelerated firms resolve faster both ways (Yu,
    Management Science, 2020; Winston Smith and Hannigan, 2015; Hallen, Cohen and Bingham,
    Organization Science, 2020)."""


class Grants(Strict):
    """A centre's grants: their size, how many per round, the yearly budget and their own effect."""

    funding_odds_multiplier: Multiplier = 1.0
    """A grant's own effect on its recipient's later venture (equity) round odds (the grant, not the
    selection: only granted start-ups get it, for life). A US SBIR Phase I award about doubles the
    probability of later venture funding (Howell, American Economic Review, 2017); 1 = no effect."""
    per_startup_krw: Money = 20_000_000
    """Grant paid to each granted start-up at selection."""
    per_round: Count = 10
    """How many of a round's selected start-ups get a grant."""
    annual_budget_krw: Money = 400_000_000
    """Refilled each programme year; unspent money lapses."""


class Centre(Strict):
    """A support centre: a regional innovation centre, or a training branch with no partner."""

    enabled: bool = True
    """false: the centre does not exist in this scenario."""
    region: str
    """The region the centre stands in (a key of ``regions``)."""
    partner: str | None = None
    """Conglomerate partner (a key of ``conglomerates``) or null for an independent provider."""
    opens: Month
    """Month the centre opens (its first contest follows ``first_intake_after_months`` later)."""
    closes: Month | None = None
    """Month the centre closes (null: open to the horizon)."""
    sector_focus: list[str] = Field(default_factory=list)
    """Sectors the centre favours in contests (keys of ``sectors``)."""
    catchment: list[str] | None = None
    """Regions whose start-ups may apply; default the centre's own region; ["*"] = all regions."""
    seats: Count = 30
    """Start-ups the centre can host at once; a contest admits only into free seats (dated in the
    timeline, capacity changes from a month on: residents are never sent away, fewer seats only stop
    admissions)."""
    intake_every_months: float = Field(6.0, ge=0.25, le=600, allow_inf_nan=False)
    """Months between contests (at least a week: each contest looks at every eligible start-up)."""
    first_intake_after_months: float = Field(0.0, ge=0, le=600, allow_inf_nan=False)
    """Months from the opening to the first contest (a new centre first recruits its first
    cohort)."""
    intake_size: Count = 15
    """Start-ups selected per contest (at most the free seats)."""
    apply_probability: Probability = 0.35
    """Share of eligible start-ups that apply to a contest (a fixed trait of each start-up)."""
    min_applicant_age_months: float = Field(0.0, ge=0, le=1200, allow_inf_nan=False)
    """Youngest applicants, in months since founding (a jury wants a team and a prototype to
    judge)."""
    max_applicant_age_months: float = Field(36.0, ge=0, le=1200, allow_inf_nan=False)
    """Oldest applicants, in months since founding."""
    selection_noise: NonNegative = Field(0.5, le=100)
    """SD of the jury's error on log-quality (0 = the jury sees quality; large = lottery)."""
    focus_bonus: float = Field(0.3, ge=-10, le=10, allow_inf_nan=False)
    """Score bonus for applicants in the centre's sector focus."""
    residency_months: float = Field(10.0, ge=0, le=600, allow_inf_nan=False)
    """Months a selected start-up stays (holds its seat, is trained)."""
    training: Training = Field(default_factory=Training)
    grants: Grants = Field(default_factory=Grants)
    operating_cost_krw_per_year: Money = 1_500_000_000
    """Public operating cost of the centre a year while open (its fixed part: staff, building)."""
    operating_cost_krw_per_supported: Money = 0.0
    """Public operating cost per start-up the centre selects (selection, mentoring, programmes: the
    part that grows with the firms served), paid when it is selected."""

    _v_dates = field_validator("opens", "closes", mode="before")(
        lambda v: None if v is None else _coerce_date(v)
    )

    @model_validator(mode="after")
    def _applicant_ages(self) -> Centre:
        if self.min_applicant_age_months > self.max_applicant_age_months:
            raise ValueError("min_applicant_age_months at most max_applicant_age_months "
                             f"({self.max_applicant_age_months:g}), found "
                             f"{self.min_applicant_age_months:g}")
        return self


class Conglomerate(Strict):
    """A partner firm: what it does for alumni that reach traction, within an annual budget."""

    annual_budget_krw: Money = 3_000_000_000
    """The partner's yearly budget for investments and acquisitions (refilled each January)."""
    invest_probability: Probability = 0.15
    """Chance an alumnus at traction gets the partner's investment."""
    invest_krw: Money = 300_000_000
    """Size of one investment."""
    acquire_probability: Probability = 0.03
    """Chance the partner buys an alumnus at traction."""
    acquire_price_krw: Money = 2_000_000_000
    """Price of one acquisition."""
    subcontract_probability: Probability = 0.15
    """Chance the partner takes an alumnus on as a subcontractor."""
    subcontract_revenue_krw_per_month: Money = 5_000_000
    """Monthly revenue a subcontract brings (it lengthens the runway)."""
    focus_multiplier: Multiplier = 1.5
    """Appetite multiplier for alumni in the centre's sector focus."""
    public_share: Probability = 0.0
    """Share of the partner's investments paid with public money (policy lenders or the fund of
    funds in its linked fund): counted as public cost, net of what it earns back (``market`` fund
    terms)."""

    @model_validator(mode="after")
    def _sum(self) -> Conglomerate:
        total = self.invest_probability + self.acquire_probability + self.subcontract_probability
        if total > 1.0 + 1e-12:
            raise ValueError(
                "invest_probability + acquire_probability + subcontract_probability at most 1, "
                f"found {total:g}"
            )
        return self


class FounderEducation(Strict):
    """Founder education in a region (e.g. Samsung's software centre in Daegu)."""

    region: str
    """The region whose founders are educated (a key of ``regions``)."""
    starts: Month
    """Month the education starts."""
    founding_rate_multiplier: Multiplier = 1.0
    """Multiplies the region's founding rate once education starts."""
    quality_multiplier: float = Field(1.0, gt=0.0, le=1000.0, allow_inf_nan=False)
    """Multiplies the quality of start-ups founded once education starts (0 would be no quality at
    all)."""
    cost_krw_per_year: Money = 0.0
    """Public cost of the programme a year, from its start."""

    _v_dates = field_validator("starts", mode="before")(_coerce_date)


class Sampling(Strict):
    """How the economy is simulated, not what it is. Only a start-up that applies to a centre can be
    touched by the programme; every other one walks the valley alone. Every start-up whose
    application draw is below ``full_below_apply`` is simulated (weight 1); of the rest, who never
    apply whatever a centre's ``apply_probability`` up to that value, one in ``others_weight`` is
    simulated and stands for ``others_weight`` start-ups. Every count, sum, survival curve and cost
    carries the weights, so the results are those of the whole economy; with common random numbers
    the sampled start-ups are the same in every scenario and add no noise to a difference."""

    full_below_apply: Probability = 1.0
    """Start-ups whose application draw is below this are all simulated; at least every centre's
    apply_probability."""
    others_weight: float = Field(1.0, ge=1.0, le=1e6, allow_inf_nan=False)
    """How many start-ups each simulated start-up above that draw stands for (1: simulate
    everyone)."""
    quality_tiers: list[tuple[Probability,
                              Annotated[float, Field(ge=1.0, le=1e6, allow_inf_nan=False)]]] = \
        Field(default_factory=list)
    """Denser samples of the best of those start-ups: ``[quantile, weight]`` pairs, each start-up
    whose latent quality is above that quantile standing for ``weight`` (at most ``others_weight``)
    instead. Venture money goes to the best firms, so sampling them more densely makes money and its
    displacement far less noisy."""

    def weights(self) -> tuple[np.ndarray, np.ndarray]:
        """Quantile cut points (ascending, from 0) and the weight of the sample above each."""
        tiers = sorted(self.quality_tiers)
        return (np.array([0.0, *(q for q, _ in tiers)]),
                np.array([self.others_weight, *(min(w, self.others_weight) for _, w in tiers)]))

    def simulated_share(self) -> float:
        """The share of the economy's start-ups that is simulated."""
        cuts, weights = self.weights()
        mass = np.diff(np.append(cuts, 1.0))
        return self.full_below_apply + (1.0 - self.full_below_apply) * float((mass / weights).sum())


class Scenario(Strict):
    """A whole scenario, after ``extends`` and overrides have been applied."""

    name: str = Field(..., min_length=1, max_length=200)
    """The scenario's name in tables and reports (default: the file name)."""
    description: str = ""
    """One line saying what the scenario is."""
    calendar: Calendar = Field(default_factory=Calendar)
    sectors: dict[str, NonNegative]
    """National sector mix of new technology start-ups (weights, normalised)."""
    regions: dict[str, Region]
    startups: Startups = Field(default_factory=Startups)
    funding: Funding = Field(default_factory=Funding)
    centre_defaults: dict = Field(default_factory=dict)
    """Values every centre starts from (deep-merged under each entry of ``centres``)."""
    centres: dict[str, Centre] = Field(default_factory=dict)
    conglomerate_defaults: dict = Field(default_factory=dict)
    """Values every conglomerate starts from (deep-merged under each entry of ``conglomerates``)."""
    conglomerates: dict[str, Conglomerate] = Field(default_factory=dict)
    founder_education: dict[str, FounderEducation] = Field(default_factory=dict)
    market: Market = Field(default_factory=Market)
    funds: dict[str, Fund] = Field(default_factory=dict)
    """Public venture funds: each adds venture money where and when it invests, at a public cost."""
    sampling: Sampling = Field(default_factory=Sampling)
    timeline: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Dated changes: from a month (YYYY-MM, inside the calendar) on, keys take new values
    (``centres.*.partner: null``). Resolved, it holds the concrete keys each month changes, with
    their new values."""

    _epochs: tuple | None = PrivateAttr(default=None)

    @field_validator("sectors")
    @classmethod
    def _mix(cls, v: dict[str, float]) -> dict[str, float]:
        if not v or sum(v.values()) <= 0:
            raise ValueError("at least one sector with a positive weight")
        return v

    @field_validator("regions")
    @classmethod
    def _regions(cls, v: dict[str, Region]) -> dict[str, Region]:
        if not v:
            raise ValueError("at least one region")
        return v

    @model_validator(mode="after")
    def _check_references(self) -> Scenario:
        cal = self.calendar
        problems: list[tuple[str, str]] = []
        for rname, region in self.regions.items():
            for sector in region.sector_mix or {}:
                if sector not in self.sectors:
                    problems.append((f"regions.{rname}.sector_mix.{sector}",
                                     _unknown("sector", sector, self.sectors)))
        for cname, c in self.centres.items():
            where = f"centres.{cname}"
            if c.region not in self.regions:
                problems.append((f"{where}.region", _unknown("region", c.region, self.regions)))
            if c.partner is not None and c.partner not in self.conglomerates:
                problems.append((f"{where}.partner",
                                 _unknown("conglomerate", c.partner, self.conglomerates)))
            for r in c.catchment or []:
                if r != "*" and r not in self.regions:
                    problems.append((f"{where}.catchment", _unknown("region", r, self.regions)))
            for s in c.sector_focus:
                if s not in self.sectors:
                    problems.append((f"{where}.sector_focus", _unknown("sector", s, self.sectors)))
            if not 0 <= cal.month(c.opens) < cal.horizon_months:
                problems.append((f"{where}.opens",
                                 f"a date inside the calendar {cal.start} .. {cal.horizon}, found "
                                 f"{c.opens}"))
            if c.closes is not None and cal.month(c.closes) <= cal.month(c.opens):
                problems.append((f"{where}.closes",
                                 f"a date after opens ({c.opens}), found {c.closes}"))
        problems += self._market_references()
        keen = [n for n, c in self.centres.items() if c.enabled
                and c.apply_probability > self.sampling.full_below_apply]
        if keen:
            c = self.centres[keen[0]]
            others = f" (and {len(keen) - 1} other centre(s))" if len(keen) > 1 else ""
            problems.append((f"centres.{keen[0]}.apply_probability",
                             "at most sampling.full_below_apply "
                             f"({self.sampling.full_below_apply:g}): every start-up that may apply "
                             f"must be simulated, found {c.apply_probability:g}{others}; raise "
                             "sampling.full_below_apply (the same value in every scenario of a "
                             "comparison keeps their start-ups paired)"))
        for ename, e in self.founder_education.items():
            if e.region not in self.regions:
                problems.append((f"founder_education.{ename}.region",
                                 _unknown("region", e.region, self.regions)))
            if not 0 <= cal.month(e.starts) < cal.horizon_months:
                problems.append((f"founder_education.{ename}.starts",
                                 f"a date inside the calendar {cal.start} .. {cal.horizon}, found "
                                 f"{e.starts}"))
        problems += timeline_problems(self)
        if not problems:
            expected = self.expected_startups() * self.sampling.simulated_share()
            if not expected <= MAX_STARTUPS:
                problems.append(("regions",
                                 f"founding rates adding up to at most {MAX_STARTUPS:,} simulated "
                                 f"start-ups over the calendar {cal.start} .. {cal.horizon} (one "
                                 f"replication), found about {expected:,.3g}; lower "
                                 "founding_rate_per_year (or founding_trend_per_year, "
                                 "founder_education's founding_rate_multiplier), shorten the "
                                 "calendar, or simulate fewer of those who never apply "
                                 "(sampling.others_weight)"))
        if problems:
            raise ReferenceProblems(problems)
        return self

    def _market_references(self) -> list[tuple[str, str]]:
        cal, mk = self.calendar, self.market
        problems = []
        for r in mk.capital_region:
            if r not in self.regions:
                problems.append(("market.capital_region", _unknown("region", r, self.regions)))
        for r in mk.region_shares:
            if r not in self.regions:
                problems.append((f"market.region_shares.{r}", _unknown("region", r, self.regions)))
        if mk.limited:
            missing = [r for r in self.regions if r not in mk.region_shares]
            if missing:
                problems.append(("market.region_shares", "a share for every region when "
                                 "market.venture_investment_krw_by_year is given, found none for "
                                 f"{missing}"))
            elif not any(mk.region_shares[r] > 0 for r in self.regions):
                problems.append(("market.region_shares",
                                 "at least one region with a positive share, found none"))
        for fname, f in self.funds.items():
            for r in f.regions:
                if r != "*" and r not in self.regions:
                    problems.append((f"funds.{fname}.regions", _unknown("region", r, self.regions)))
            if not 0 <= cal.month(f.starts) < cal.horizon_months:
                problems.append((f"funds.{fname}.starts",
                                 f"a date inside the calendar {cal.start} .. {cal.horizon}, found "
                                 f"{f.starts}"))
        return problems

    def founding_intensity(self, region: str):
        """Expected foundings in each month of the calendar in ``region`` (a numpy array): the
        region's rate, its yearly trend, and founder education from its start, each as dated
        (:func:`timeline.founding_intensity`)."""
        from .timeline import founding_intensity

        return founding_intensity(self, region)

    def expected_startups(self) -> float:
        """Expected start-ups founded over the calendar in all regions (one replication)."""
        return float(sum(self.founding_intensity(r).sum() for r in self.regions))

    # -- conveniences used by the model -------------------------------------------------------
    @property
    def active_centres(self) -> dict[str, Centre]:
        """The centres that exist in this scenario (``enabled``), by name: those the model runs."""
        return {k: c for k, c in self.centres.items() if c.enabled}

    def epochs(self) -> tuple[tuple[float, Scenario], ...]:
        """The scenario as it is in force from each dated month on: (month since the calendar's
        start, the whole validated scenario from then on), this scenario itself first (from month
        0)."""
        if self._epochs is None:
            from .timeline import build_epochs

            self._epochs = build_epochs(self)
        return self._epochs

    def at(self, month: float) -> Scenario:
        """The scenario in force at ``month`` (months since the calendar's start)."""
        epochs = self.epochs()
        if len(epochs) == 1:
            return self
        i = bisect.bisect_right([m for m, _ in epochs], month) - 1
        return epochs[max(i, 0)][1]

    def schedule(self, key: str) -> list[tuple[float, Any]]:
        """(month it takes effect, value) of a concrete dotted key: its value here, then each dated
        change."""
        from .timeline import schedule

        return schedule(self, key)


class ReferenceProblems(ValueError):
    """Cross-reference errors, each with its own key path (turned into located messages)."""

    def __init__(self, problems: list[tuple[str, str]]):
        """Keep each (key path, message) for the located error; the text joins them."""
        self.problems = problems
        super().__init__("; ".join(f"{p}: {m}" for p, m in problems))


def _unknown(kind: str, value: str, known) -> str:
    import difflib

    close = difflib.get_close_matches(str(value), [str(k) for k in known], n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"the name of a {kind} defined in this scenario, found {value!r}{hint}"



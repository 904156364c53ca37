"""What each study records about itself in its results folder's manifest, as typed, frozen data.

A study's folder holds the facts its report and its ``resume`` need, written when it runs (the
manifest's ``study`` entry) and read back from there, never from today's scenario files:

=============== ============================= ======================================================
kind            class                         read by
=============== ============================= ======================================================
``compare``     :class:`CompareInfo`          the report (counterfactual, baseline, practical
                                              threshold, what the validation run measured), discover
``sweep``       :class:`SweepInfo`            the sweep's analysis and page, discover
``optimize``    :class:`OptimizeInfo`         ``resume`` and the optimisation's page
``posterior``   :class:`PosteriorInfo`        ``resume`` and the posterior's page
(any)           :class:`DiscoverInfo`         the compare report's discovery section (``discover``)
=============== ============================= ======================================================

A ``run`` records nothing beyond the manifest's common entries (its scenarios, each with its
resolved values, file, hash and question). A new fact a study's report needs is a new field here,
written by the study that knows it and read where the page is computed
(:mod:`sim.analysis.folder`). Each class round-trips through JSON (:meth:`to_json`,
:meth:`from_json`); :func:`study_info` reads the right one from a manifest.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .files import DEFAULT_SEED

FORMAT_VERSION = 3
"""The manifest's layout: 2 keeps a study's facts under ``study`` (1, before, under ``extra`` or
``spec``; :func:`study_info` still reads those); 3 says every finished run has its yearly ledger,
years.parquet."""
YEARS_SINCE = 3
"""The first format whose finished runs all have years.parquet (older folders may lack it)."""

PRACTICAL_PP = 0.2
"""Default least difference in 5-year survival (percentage points) a planner would act on: smaller
differences are reported as "small" even when statistically certain. An assumption each planner
should set (compare --practical PP), not a published figure."""


class _Json:
    """JSON round trip of a frozen dataclass whose fields are JSON-able (tuples come back as
    tuples)."""

    KIND: ClassVar[str] = ""

    def to_json(self) -> dict:
        """The fields as plain JSON data."""
        return dataclasses.asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_json(cls, d: dict):
        """The object ``d`` (from :meth:`to_json`) describes; unknown keys are ignored."""
        out = {}
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            if f.name in d:
                v = d[f.name]
                out[f.name] = tuple(v) if isinstance(v, list) and "tuple" in str(f.type) else v
        return cls(**out)


@dataclass(frozen=True)
class CompareInfo(_Json):
    """A comparison: every scenario against the counterfactual, and every variant against the
    baseline."""

    KIND: ClassVar[str] = "compare"
    counterfactual: str
    baseline: str | None = None
    practical_pp: float = PRACTICAL_PP
    """The least difference in 5-year survival (percentage points) the report treats as worth acting
    on."""
    posterior: dict | None = None
    """The posterior the replications ran over: ``file``, ``draws`` (K), ``source`` and
    ``priors`` (the parameters no data pin, with their prior's ``low`` and ``high``); None at fixed
    values."""
    shipped_baseline: bool = False
    """The baseline was a shipped scenario exactly as on disk when the comparison ran: the scenario
    a separate validation run measured (docs/validation.md), which the report then cites."""
    ranks: str | None = None
    """The optimisation folder whose finalists this comparison ranks (``optimize``'s ``final/``)."""
    wtp_krw: float | None = None
    """The planner's willingness to pay per additional unit of the decision's effect (KRW,
    ``--wtp``): the value the decision is read at. None: what the baseline pays per additional
    unit (:func:`sim.analysis.choice.planner_wtp`)."""
    outcome: str = "survivors"
    """The decision's effect measure (``--outcome``): ``survivors`` (additional 5-year survivors of
    the cohort window) or ``jobs`` (additional jobs at the horizon in the same start-ups)."""
    published: dict | None = None
    """The programme's published yearly figures the report draws the yearly ledger against, read
    from the history file when the comparison ran (:func:`sim.analysis.history.published_record`):
    ``file``, ``scenario`` (the scenario the record is of), ``series`` and ``points``. None when
    there was no such file."""


@dataclass(frozen=True)
class SweepInfo(_Json):
    """A sweep: a design over scenario parameters, one scenario per design point."""

    KIND: ClassVar[str] = "sweep"
    file: str
    base: str
    metric: str
    design: str
    samples: int
    seed: int
    params: tuple[dict, ...]
    """Each parameter as :meth:`sim.scenario.ranges.Param.to_json` gives it."""
    units: tuple[Any, ...]
    """The design in unit coordinates, a row per point."""
    values: tuple[Any, ...]
    """The design in the parameters' own values, a row per point."""
    blocks: tuple[Any, ...]
    overrides: tuple[str, ...] = ()


@dataclass(frozen=True)
class OptimizeInfo(_Json):
    """An optimisation: everything it needs, so that ``resume`` ignores edited files."""

    KIND: ClassVar[str] = "optimize"
    file: str
    base_name: str
    data: dict
    """The base file merged (``extends``, ``--set``), not yet validated."""
    levers: tuple[dict, ...]
    """Each lever as :class:`sim.studies.levers.Lever`'s fields."""
    budget_krw: float
    budget_given: str
    objective: str
    counterfactual: dict
    """The counterfactual, resolved."""
    counterfactual_file: str
    baseline: dict | None
    """The baseline, resolved (None without one)."""
    baseline_file: str | None
    lever_texts: tuple[str, ...] = ()
    evaluations: int = 40
    finalists: int = 3
    final_replications: int = 8
    replications: int = 2
    seed: int = DEFAULT_SEED
    overrides: tuple[str, ...] = ()
    crn: bool = True
    robust: bool = False
    """Search over posterior draws (``optimize --robust``): replication ``r`` of every candidate
    runs with draw ``r mod K`` (common random numbers within a draw), the objective is a robust
    score of each candidate's net benefit per draw (:attr:`robust_objective`)."""
    robust_objective: str = "expected"
    """``expected`` net benefit, ``minimax-regret`` or a ``percentile`` of net benefit over the
    draws."""
    percentile: float = 10.0
    """The percentile of net benefit the ``percentile`` objective maximises."""
    wtp_krw: float | None = None
    """The willingness to pay per additional unit of the objective's effect (KRW) the net benefit is
    valued at; set from the baseline's cost per additional unit when the search starts, if not
    given."""
    wtp_source: str = "given"
    posterior: dict | None = None
    """The posterior the draws come from: ``file``, ``draws`` (K), ``source``."""
    draws: dict | None = None
    """The K draws picked (:meth:`sim.scenario.draws.Draws.to_json`), so ``resume`` uses the
    same."""
    counterfactual_data: dict | None = None
    """The counterfactual before validation (what a draw's values are set into)."""
    baseline_data: dict | None = None
    """The baseline before validation."""


@dataclass(frozen=True)
class PosteriorInfo(_Json):
    """A calibration to a posterior (history matching): everything ``resume`` rebuilds it from."""

    KIND: ClassVar[str] = "posterior"
    file: str
    targets_file: str
    priors: tuple[str, ...] = ()
    overrides: tuple[str, ...] = ()
    points: int = 0
    """Design points per wave (0: the default per parameter)."""
    waves: int = 2
    replications: int = 1
    seed: int = DEFAULT_SEED
    crn: bool = False
    """Design points draw their own start-ups (no common random numbers): then one replication's
    luck is noise the emulator learns as its nugget, and its mean is the model's mean. With common
    random numbers every point would share replication 0's offset, which the emulator cannot see and
    the posterior would inherit as a bias."""
    draws: int = 1000


@dataclass(frozen=True)
class DiscoverInfo(_Json):
    """A scenario discovery run on the folder (``discover``): its result is discover.json."""

    KIND: ClassVar[str] = "discover"
    condition: str
    scenario: str | None = None
    threshold: float = 0.8
    min_coverage: float = 0.5
    files: dict = field(default_factory=dict)


STUDIES = {c.KIND: c for c in (CompareInfo, SweepInfo, OptimizeInfo, PosteriorInfo)}
"""Manifest kind -> the class of its ``study`` entry (a ``run`` has none)."""


def study_info(manifest: dict):
    """The typed ``study`` entry of a manifest (None for a ``run``, or when it has none)."""
    cls = STUDIES.get(manifest.get("kind"))
    if cls is None:
        return None
    d = manifest.get("study")
    if d is None:  # format 1
        legacy = manifest.get("extra") or {}
        d = manifest.get("spec") or (legacy.get("sweep") if cls is SweepInfo else legacy) or None
        if cls is CompareInfo and d is not None and "optimize" in d:
            d = {**d, "ranks": d["optimize"]}
    return None if d is None else cls.from_json(d)


def discover_info(manifest: dict) -> DiscoverInfo | None:
    """The scenario discovery recorded in a manifest, if ``discover`` ran on the folder."""
    d = manifest.get("discover")
    return DiscoverInfo.from_json(d) if d else None

"""What each study returns: the folder it wrote and what a caller shows or uses next.

Every study function (:mod:`sim.studies`) ends with one of these frozen records. The command
line prints :meth:`lines` (the text the terminal shows on stdout, laid out by
:mod:`sim.report.terminal`) and exits 1 when :attr:`failures` is not empty; the Python API hands
the record back (``sim.run`` and ``sim.compare`` open the folder as
:class:`~sim.analysis.folder.Results`).
A new thing a study hands back is a new field of its record, filled where the study ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import TasksFailed
from ..terminal import fit


@dataclass(frozen=True)
class Outcome:
    """What every study's record has: its results folder, and the tasks that failed (if any)."""

    root: Path
    failures: tuple[dict, ...] = ()
    """Failed tasks, each with ``scenario``, ``replication``, ``error`` and ``replay`` (a
    command)."""

    def failed(self) -> TasksFailed | None:
        """The error a caller raises when some tasks failed (exit code 1), else None."""
        return TasksFailed(self.root, list(self.failures)) if self.failures else None

    def lines(self, width: int = 100) -> list[str]:
        """What the terminal shows on stdout at the end of the study."""
        return [f"results: {self.root}"]


@dataclass(frozen=True)
class RunOutcome(Outcome):
    """``run``: replications of one scenario (or of any experiment resumed)."""

    scenarios: tuple[str, ...] = ()
    """The scenarios, in the experiment's order."""
    summary: dict = field(default_factory=dict)
    """summary.json."""
    replications: int = 0
    seconds: float = 0.0

    def lines(self, width: int = 100) -> list[str]:
        """The headline table, then where the results are."""
        from ..report.terminal import headline

        return [*headline(self.summary, list(self.scenarios), width), f"results: {self.root}"]


@dataclass(frozen=True)
class CompareOutcome(RunOutcome):
    """``compare``: every scenario against the counterfactual and the baseline, with the report."""

    counterfactual: str | None = None
    baseline: str | None = None
    precision: tuple[dict, ...] = ()
    """Each difference against the counterfactual with its half-width and target
    (:func:`sim.analysis.summary.precision_check`)."""
    report: dict | None = None
    """Paths of report.html and report.md (None when some tasks failed or no report was asked
    for)."""

    def lines(self, width: int = 100) -> list[str]:
        """The headline table, how precisely the differences are known, and where everything is."""
        from ..report.terminal import decision_lines, headline, precision_line, report_lines

        out = headline(self.summary, list(self.scenarios), width)
        out += decision_lines(self.summary.get("decision"), width)
        line = precision_line(list(self.precision))
        out += fit(line, width).splitlines() if line else []
        out.append(f"results: {self.root}")
        return out + (report_lines(self.report) if self.report else [])


@dataclass(frozen=True)
class ReportOutcome(Outcome):
    """``report`` of a run or comparison folder (or ``resume`` of one whose report alone was
    missing)."""

    report: dict = field(default_factory=dict)
    """Paths of the pages written (``html``, ``markdown``)."""
    label: str = "report:"

    def lines(self, width: int = 100) -> list[str]:
        """Where the pages are."""
        from ..report.terminal import report_lines

        return report_lines(self.report, label=self.label)


@dataclass(frozen=True)
class SweepOutcome(Outcome):
    """``sweep``: which parameters matter, from a design over them."""

    analysis: dict | None = None
    """sensitivity.json (None when some tasks failed: the analysis needs every point)."""
    report: dict | None = None
    """Paths of sweep.html and sweep.md."""

    def lines(self, width: int = 100) -> list[str]:
        """The parameters that matter most, then where everything is."""
        from ..report.terminal import report_lines, sweep_lines

        if self.analysis is None:  # some tasks failed: the caller says which
            return []
        return [*sweep_lines(self.analysis), f"results: {self.root}", *report_lines(self.report)]


@dataclass(frozen=True)
class OptimizeOutcome(Outcome):
    """``optimize``: the best allocation of a budget, re-checked on fresh replications."""

    result: dict = field(default_factory=dict)
    """optimize.json."""

    def lines(self, width: int = 100) -> list[str]:
        """The verdict, the best allocation and where everything is."""
        from ..report.terminal import optimize_lines

        return optimize_lines(self.result, self.root)


@dataclass(frozen=True)
class PosteriorOutcome(Outcome):
    """``calibrate --method history-matching``: the parameter sets the targets allow."""

    result: dict = field(default_factory=dict)
    """posterior.json, with ``files`` (the paths written)."""

    def lines(self, width: int = 100) -> list[str]:
        """Each parameter's verdict and interval, and where everything is."""
        from ..report.terminal import posterior_lines

        return posterior_lines(self.result, self.root)


@dataclass(frozen=True)
class CalibrationOutcome(Outcome):
    """``calibrate``: a best fit of parameters to published targets."""

    loss: tuple[float, float] = (0.0, 0.0)
    """The loss before and after the fit."""
    evaluations: int = 0
    fitted: dict = field(default_factory=dict)
    """Each fitted dotted key's value."""
    files: dict = field(default_factory=dict)
    """Paths of the calibrated file (``yaml``) and the fit report (``json``, ``markdown``,
    ``png``)."""

    def lines(self, width: int = 100) -> list[str]:
        """The loss before and after, the fitted values, and the files."""
        out = [f"loss {self.loss[0]:.4g} -> {self.loss[1]:.4g} after {self.evaluations} "
               "evaluations"]
        out += [f"  {key}: {value}" for key, value in self.fitted.items()]
        return out + ["calibrated file: "
                      f"{self.files['yaml']}", f"fit report:      {self.files['markdown']}"]


@dataclass(frozen=True)
class DiscoverOutcome(Outcome):
    """``discover``: the box of parameter values where a condition holds."""

    result: dict = field(default_factory=dict)
    """discover.json, with ``files``."""
    quiet: bool = False

    def lines(self, width: int = 100) -> list[str]:
        """The finding in words (unless quiet), then where the page is."""
        from ..report.discovery import summary_lines

        words = [] if self.quiet else summary_lines(self.result)
        return [*words, f"report: {self.result['files']['markdown']}"]


@dataclass(frozen=True)
class ValidationOutcome(Outcome):
    """``validation``: the model against its targets, and its effect against the naive gap."""

    markdown: str = ""
    """The tables of docs/validation.md, as Markdown."""
    seconds: float = 0.0

    def lines(self, width: int = 100) -> list[str]:
        """The Markdown tables."""
        return self.markdown.rstrip("\n").split("\n")


@dataclass(frozen=True)
class ReplayOutcome(Outcome):
    """``replay``: one task run again in this process (nothing in the folder changes)."""

    scenario: str = ""
    replication: int = 0
    error: str | None = None
    traceback: str = ""
    startups: int = 0
    events: int = 0
    seconds: float = 0.0
    survival_5y: float = float("nan")

    def lines(self, width: int = 100) -> list[str]:
        """One line on the replayed task (when it succeeded)."""
        return [f"replayed {self.scenario} replication {self.replication}: {self.startups} "
                f"start-ups, {self.events} events, {self.seconds:.1f} s, ok (survival_5y "
                f"{self.survival_5y:.4f})"]

"""The targets a calibration fits, checked against the scenario it fits them with."""

from __future__ import annotations

from ..analysis.targets import MONTHLY, TargetSet
from ..errors import ScenarioError
from ..scenario.schema import Scenario


def check_targets(targets: TargetSet, sc: Scenario) -> None:
    """Every target must be something the scenario can produce: months inside its calendar, survival
    ages some founding cohort reaches before the horizon."""
    cal = sc.calendar
    for p in targets.points:
        if p.group in MONTHLY and not 0 <= cal.month(p.key) < cal.horizon_months:
            raise ScenarioError(f"{targets.path}: {p.group}.{p.key}: expected a month inside the "
                                f"scenario's calendar {cal.start} .. {cal.horizon}.")
        observable = cal.horizon_months - cal.year_start(cal.cohort_first_year)
        if p.group == "survival" and 12.0 * int(p.key) > observable:
            raise ScenarioError(f"{targets.path}: survival.{p.key}: no founding cohort of the "
                                f"scenario ({cal.cohort_first_year}-{cal.cohort_last_year}) "
                                f"reaches {p.key} years before the horizon {cal.horizon}.")

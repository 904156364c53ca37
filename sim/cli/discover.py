"""Command ``discover``: the conditions under which a policy fails or wins (PRIM boxes)."""

from __future__ import annotations

from pathlib import Path

import click

from .options import show


@click.command()
@click.argument("root", type=click.Path(path_type=Path))
@click.option("--condition", required=True, metavar="TEXT",
              help="cost-per-survivor>KRW (the baseline's public cost per additional 5-year "
                   "survivor above KRW), beats:VARIANT (the variant's 5-year survival above the "
                   "baseline's), or METRIC>VALUE / METRIC<VALUE (a compare: --scenario's "
                   "difference against the counterfactual; a sweep: the point's mean).")
@click.option("--scenario", default=None, metavar="NAME",
              help="The scenario a cost or metric condition is about (default: the baseline).")
@click.option("--threshold", type=click.FloatRange(0.0, 1.0, min_open=True), default=0.8,
              show_default=True, help="PRIM's density threshold (the peeling continues while the "
                                      "box is below it).")
@click.option("--min-coverage", type=click.FloatRange(0.0, 1.0), default=0.5, show_default=True,
              help="The box chosen is the densest on the peeling trajectory with at least this "
                   "coverage.")
@click.option("--quiet", "-q", is_flag=True, help="Print only where the report is.")
def discover(root, condition, scenario, threshold, min_coverage, quiet):
    """Find the parameter conditions under which CONDITION holds, in a compare over the posterior
    (each posterior draw a case) or in a sweep (each design point a case).

    PRIM (EMA Workbench) peels a box of parameter values where the condition is most likely; writes
    discover.json, discover.md and discover.png (the peeling trajectory) into ROOT, and a compare's
    report shows the box (python run_sim.py report ROOT).
    """
    from ..studies.discover import discover as discover_study

    show(
        discover_study(
            root,
            condition,
            scenario=scenario,
            threshold=threshold,
            min_coverage=min_coverage,
            quiet=quiet,
        )
    )

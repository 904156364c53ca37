"""The command line: ``python run_sim.py COMMAND ...`` (or ``valleysim COMMAND ...``).

One click group over the study functions (:mod:`sim.studies`): a command parses its options,
calls one study, prints the record it returns (:func:`.options.show`) and maps valleysim's errors
to their exit codes (0 done, 1 some tasks failed, 2 bad input, 3 results not written, 130
interrupted); it does nothing of its own, so the Python API can do all it does. The commands live
in a module per family (:mod:`.scenarios`, :mod:`.runs`, :mod:`.folders`, :mod:`.sweeps`,
:mod:`.calibrate`, :mod:`.discover`). No traceback reaches a planner (``VALLEYSIM_DEBUG=1`` shows
it for developers).
"""

from __future__ import annotations

import os
import sys

import click

from ..errors import Interrupted, ValleysimError
from . import calibrate, discover, folders, runs, scenarios, sweeps


class Group(click.Group):
    """The command group: valleysim's errors become one paragraph on stderr and their exit code."""

    def invoke(self, ctx):
        """Run the command; a :class:`~sim.errors.ValleysimError` ends it with its message and
        code."""
        try:
            return super().invoke(ctx)
        except ValleysimError as exc:
            if os.environ.get("VALLEYSIM_DEBUG"):
                raise
            click.echo(f"error: {exc.message}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:  # outside a study's own handling (planning): not "Aborted!"
            if os.environ.get("VALLEYSIM_DEBUG"):
                raise
            click.echo(f"error: {INTERRUPTED}", err=True)
            ctx.exit(Interrupted.exit_code)


INTERRUPTED = ("Interrupted. What was finished is kept: python run_sim.py resume DIR continues a "
               "results folder (and writes a comparison's report if only that is missing).")
"""What Ctrl-C outside a study's own handling says (exit 130)."""


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="valleysim")
def cli():
    """valleysim: start-ups in the death valley, and what regional support programmes do about
    it."""


for command in (
    scenarios.validate,
    scenarios.show,
    scenarios.keys,
    runs.run,
    runs.compare,
    folders.report,
    folders.resume,
    runs.replay,
    calibrate.calibrate,
    sweeps.sweep,
    sweeps.optimize,
    discover.discover,
    runs.validation,
):
    cli.add_command(command)


def main(argv=None):
    """Console entry point."""
    try:
        cli.main(args=argv, prog_name="run_sim.py", standalone_mode=True)
    except KeyboardInterrupt:  # pragma: no cover - outside an experiment
        click.echo("interrupted", err=True)
        sys.exit(130)

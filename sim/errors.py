"""Errors a planner may see. Each carries one clear paragraph and an exit code; the CLI prints
the message (never a traceback) and exits with the code."""

from __future__ import annotations

from pathlib import Path


class ValleysimError(Exception):
    """An error meant for the person at the terminal."""

    exit_code = 1

    def __init__(self, message: str, *, path: Path | None = None):
        """An error with its one-paragraph ``message``, and the file or folder it is about (if any).
        """
        super().__init__(message)
        self.message = message
        self.path = path


class ScenarioError(ValleysimError):
    """Bad input: a scenario file, an override or a command-line value. Exit code 2."""

    exit_code = 2


class UsageError(ValleysimError):
    """A command used wrongly (an existing results folder without --force, ...). Exit code 2."""

    exit_code = 2


class ResultsError(ValleysimError):
    """Results could not be written or read (disk full, permissions). Exit code 3."""

    exit_code = 3


class Interrupted(ValleysimError):
    """Ctrl-C, SIGTERM or a lost executor: what finished is safe and resumable. Exit code 130."""

    exit_code = 130


class TasksFailed(ValleysimError):
    """Some tasks of an experiment failed; the rest completed and are kept. Exit code 1.

    The message lists the first failures, each with the command that replays it, and how to
    finish the experiment once the cause is fixed.
    """

    exit_code = 1

    def __init__(self, root: Path, failures: list[dict]):
        """The failures of the experiment in ``root``, each with ``scenario``, ``replication`` and
        ``error``."""
        import shlex

        self.root = Path(root)
        self.failures = list(failures)
        n = len(self.failures)
        where = shlex.quote(str(self.root))
        lines = [f"{n} task(s) failed; the rest completed (details in "
                 f"{self.root / 'failures.json'}). Replay one with:"]
        lines += [f"  python run_sim.py replay {where} --scenario "
                  f"{shlex.quote(str(f['scenario']))} --replication {f['replication']}   # "
                  f"{f['error']}" for f in self.failures[:5]]
        if n > 5:
            lines.append(f"  ... and {n - 5} more in failures.json")
        lines.append(f"Once fixed, finish the experiment with: python run_sim.py resume {where}")
        super().__init__("\n".join(lines), path=self.root)

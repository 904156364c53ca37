"""Errors a planner may see. Each carries one clear paragraph and an exit code; the CLI prints
the message (never a traceback) and exits with the code."""

from __future__ import annotations

from pathlib import Path


class ValleysimError(Exception):
    """An error meant for the person at the terminal."""

    exit_code = 1

    def __init__(self, message: str, *, path: Path | None = None):
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

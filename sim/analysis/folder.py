"""A results folder read back: its manifest, its summary and its tables, or a clear error.

:class:`Results` is the one reader of a finished ``run``, ``compare`` or ``sweep`` folder, for the
Python API (``sim.Results``, pandas DataFrames) and for the reports (numpy columns,
:mod:`sim.analysis.findings`). It never reads anything outside the folder (not the scenario files,
which may have changed since), and it says what is wrong instead of returning what it could not
read: a folder whose tasks failed raises :class:`~sim.errors.TasksFailed` (exit code 1), one that
is incomplete or damaged a :class:`~sim.errors.UsageError` naming the file and the command that
repairs it (exit code 2).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import TasksFailed, UsageError
from ..metadata import study_info

TABLES = ("replications.parquet", "regions.parquet", "startups.parquet")
"""The tables every run keeps (startups.parquet only for the kept replications)."""


def damaged(path: Path, what: str) -> UsageError:
    """The error for a results file that cannot be read: which file, what is wrong, what to do."""
    root = path.parent
    return UsageError(f"{path}: is {what}, so nothing is read from it (a report never shows n/a for numbers "
                      f"it failed to read). Rebuild the folder's data with: python run_sim.py resume {root} (it "
                      f"runs the tasks again and gives the same numbers), then: python run_sim.py report {root}",
                      path=path)


def read_json(path: Path) -> dict:
    """A JSON object from a results folder, or the :func:`damaged` error saying why it cannot be read."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise damaged(path, f"unreadable ({exc})") from None
    if not text.strip():
        raise damaged(path, "empty")
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise damaged(path, f"not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise damaged(path, "not a JSON object")
    return data


def read_manifest(root: Path) -> dict:
    """The folder's manifest, or an error saying there is no results folder here."""
    root = Path(root)
    if not (root / "manifest.json").is_file():
        raise UsageError(f"{root}: no manifest.json here, so there is nothing to resume or report. "
                         "Give the folder a previous run wrote.")
    return read_json(root / "manifest.json")


def read_table(path: Path, **options):
    """A Parquet file as a pyarrow table, or the :func:`damaged` error saying why it cannot be read."""
    import pyarrow.parquet as pq

    if not path.is_file():
        raise damaged(path, "missing")
    try:
        return pq.read_table(path, **options)
    except Exception as exc:  # noqa: BLE001 - any failure to read is damage
        raise damaged(path, f"unreadable ({type(exc).__name__}: {str(exc).splitlines()[0][:160]})") from None


def check_finished(root: Path, manifest: dict, *, failed_ok: bool = False) -> None:
    """Raise unless the study in ``root`` finished: TasksFailed for failed tasks (unless
    ``failed_ok``), a UsageError saying how to finish it when it is still running or was interrupted."""
    status = manifest.get("status")
    if status == "complete" or (status == "failed" and failed_ok):
        return
    if status == "failed" and manifest.get("failures"):
        summary = root / "summary.json"
        rows = (read_json(summary).get("failures") if summary.is_file() else None) or \
            [{"scenario": "?", "replication": "?", "error": manifest.get("error", "see failures.json")}]
        raise TasksFailed(root, rows)
    if status == "failed":
        raise UsageError(f"{root}: this study failed ({manifest.get('error', 'see its manifest')}); nothing in it "
                         "counts as done. Fix the cause and resume it (python run_sim.py resume DIR), or run it "
                         "again.", path=root)
    raise UsageError(f"{root}: is not complete (status {status!r}), so its results are not all there; finish it "
                     f"first with: python run_sim.py resume {root}", path=root)


@dataclass
class Results:
    """A finished results folder, as Python objects.

    ``summary`` is summary.json (means with 95 % CIs per scenario, paired comparisons);
    ``replications``, ``regions`` and ``startups`` are its Parquet files as pandas DataFrames, read
    on first use (``startups`` holds the kept replications' start-ups only). Units and definitions:
    docs/data-dictionary.md.
    """

    root: Path
    summary: dict
    manifest: dict
    report: dict | None = None
    """Paths of report.html and report.md (a comparison), else None."""
    _frames: dict = field(default_factory=dict, repr=False)

    @classmethod
    def open(cls, root) -> Results:
        """The results of an earlier run, comparison or sweep (a folder the CLI or the API wrote).

        Raises :class:`~sim.errors.TasksFailed` when some of its tasks failed, and a
        :class:`~sim.errors.UsageError` when it is not complete or a file of it is missing or damaged.
        """
        root = Path(root)
        manifest = read_manifest(root)
        check_finished(root, manifest)
        summary = read_json(root / "summary.json")
        for name in TABLES[:2]:
            _footer(root / name)
        if manifest.get("keep_startups", "first") != "none" or (root / TABLES[2]).exists():
            _footer(root / TABLES[2])
        report = {"html": root / "report.html", "markdown": root / "report.md"}
        return cls(root, summary, manifest, report if report["html"].is_file() else None)

    def _frame(self, name: str):
        if name not in self._frames:
            path = self.root / name
            if not path.is_file() and name == TABLES[2]:
                import pandas as pd

                self._frames[name] = pd.DataFrame()  # --startups none: no start-up table was kept
            else:
                self._frames[name] = read_table(path).to_pandas()
        return self._frames[name]

    @property
    def info(self):
        """What the study recorded about itself (:mod:`sim.metadata`), None for a run."""
        return study_info(self.manifest)

    @property
    def replications(self):
        """One row per (scenario, replication), one column per metric."""
        return self._frame("replications.parquet")

    @property
    def regions(self):
        """One row per (scenario, replication, region)."""
        return self._frame("regions.parquet")

    @property
    def startups(self):
        """One row per start-up of the kept replications."""
        return self._frame("startups.parquet")

    @property
    def scenarios(self) -> list[str]:
        """The scenarios, in the experiment's order."""
        return list(self.summary.get("scenarios", {}))


def _footer(path: Path) -> None:
    """Check a Parquet file is there and whole (its footer reads), else raise :func:`damaged`'s error."""
    import pyarrow.parquet as pq

    if not path.is_file():
        raise damaged(path, "missing")
    try:
        pq.read_metadata(path)
    except Exception as exc:  # noqa: BLE001 - any failure to read is damage
        raise damaged(path, f"unreadable ({type(exc).__name__}: {str(exc).splitlines()[0][:160]})") from None

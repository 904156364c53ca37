"""Where results folders go, who may write one, what in it is valleysim's, and whether its data is
whole.

- **Where.** A study given no ``--out`` writes ``results/<name>-<timestamp>/`` in the project
  (:data:`RESULTS`, :func:`default_out`): one rule for the command line and the Python API.

- **One writer at a time.** A writer holds an exclusive ``flock`` on ``.valleysim.lock`` in the
  folder for as long as it writes; the operating system drops the lock when the process ends,
  however it ends, so a lock is never stale. The lock file and the manifest name the writer (pid,
  host, command); on the same host a manifest whose writer process is still alive also counts as
  held, for writers that took no lock. A second writer, or ``--force`` on a folder in use, is
  refused with one paragraph naming the writer.
- **Proven ownership.** A folder is valleysim's when its manifest.json carries valleysim's
  marker and format version (:data:`MARKER`, :data:`FORMAT_VERSION`). ``--force`` deletes only the
  files valleysim writes (:data:`OWNED`), and refuses, naming them, if a folder holds anything else.
- **Whole data.** :func:`damaged_outputs` reads every final file of a finished folder and says
  which is missing, empty or unreadable, so ``resume`` can rebuild it and ``report`` can say so
  instead of reporting "n/a" for what it failed to read.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
from pathlib import Path

from ..errors import UsageError
from ..files import now, process_alive
from ..metadata import FORMAT_VERSION, YEARS_SINCE

RESULTS = Path(__file__).resolve().parents[2] / "results"
"""The results root: where a study writes when it is given no folder (git-ignored but its
README)."""
MARKER = "valleysim-results"
"""Written into every manifest as ``format`` and ``format_version``: the proof a folder is
valleysim's."""
LOCK = ".valleysim.lock"
PARTS_DIR = "parts"
TABLES = {
    "metrics": "replications.parquet",
    "regions": "regions.parquet",
    "years": "years.parquet",
    "startups": "startups.parquet",
    "probe": "probes.parquet",
}
"""Each kind of task part -> the table its parts are consolidated into. A new per-task table is one
entry here: the task puts its columns in its result under the kind (:mod:`sim.experiment.task`),
the store writes and consolidates it, ``--force`` knows it as valleysim's, and
:func:`damaged_outputs` checks it; its columns' units go into :mod:`sim.analysis.dictionary`."""
REQUIRED = ("replications.parquet", "regions.parquet")
"""Tables every finished run has (the others only when their kind was kept)."""
OWNED = frozenset(
    {
        "manifest.json",
        "parts",
        "failures.json",
        *TABLES.values(),
        "summary.json",
        "report.html",
        "report.md",
        "figures",
        LOCK,
        "design.parquet",
        "design.csv",
        "sensitivity.json",
        "sweep.html",
        "sweep.md",
        "optimize.json",
        "optimize.md",
        "optimize.html",
        "best.yaml",
        "evaluations.jsonl",
        "candidates.jsonl",
        "final",
        "waves.jsonl",
        "posterior.parquet",
        "posterior.json",
        "posterior.md",
        "posterior.png",
        "discover.json",
        "discover.md",
        "discover.png",
    }
)
"""Names valleysim writes at the top of a results folder (and half-written ``.NAME.tmp-PID``
files)."""


def default_out(name: str) -> Path:
    """``results/<name>-<timestamp>/``, never an existing folder (``name`` made safe for a file
    name)."""
    import datetime as dt
    import re

    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "experiment"
    out = RESULTS / f"{slug}-{stamp}"
    i = 2
    while out.exists():
        out = RESULTS / f"{slug}-{stamp}-{i}"
        i += 1
    return out


def marker() -> dict:
    """The manifest keys that prove a folder is valleysim's."""
    return {"format": MARKER, "format_version": FORMAT_VERSION}


def writer_info() -> dict:
    """Who is writing: this process, its host and its command."""
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "since": now(),
        "command": " ".join(sys.argv),
    }


def _describe(w: dict) -> str:
    return (f"valleysim process {w.get('pid')} on {w.get('host')} (writing since {w.get('since')}: "
            f"{w.get('command') or 'unknown command'})")


def _in_use(root: Path, holder: dict) -> UsageError:
    return UsageError(
        f"{root}: is in use by {_describe(holder)}. A results folder belongs to the run writing "
        "it: wait for it to finish (or stop it, then continue it with: python run_sim.py resume "
        f"{root}), or choose another --out. --force never takes a folder from a live "
        "writer.", path=root)


def read_manifest_quietly(root: Path) -> dict | None:
    """The folder's manifest, or None when it is missing or unreadable."""
    try:
        m = json.loads((Path(root) / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    return m if isinstance(m, dict) else None


class FolderLock:
    """The exclusive right to write one results folder (see the module docstring)."""

    def __init__(self, root: Path):
        """The lock of the folder ``root`` (not taken yet: :meth:`acquire`)."""
        self.root = Path(root)
        self._fd: int | None = None

    def acquire(self) -> FolderLock:
        """Take the lock, or raise a UsageError naming the writer who holds it."""
        import fcntl

        path = self.root / LOCK
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:
            # a folder we cannot even create a file in fails at its first write, with exit 3
            return self
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            try:
                holder = json.loads(os.pread(fd, 4096, 0) or b"{}")
            except ValueError:
                holder = {}
            os.close(fd)
            raise _in_use(self.root, holder) from None
        m = read_manifest_quietly(self.root) or {}
        w = m.get("writer") or {}
        if (m.get("status") == "running" and w.get("host") == socket.gethostname()
                and isinstance(w.get("pid"), int) and w["pid"] != os.getpid()
                and process_alive(w["pid"])):
            os.close(fd)  # a writer that took no lock (an older valleysim) is still alive
            raise _in_use(self.root, w)
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(writer_info()).encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        """Give the lock up (closing the file drops it)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)  # closing drops the flock

    def __enter__(self) -> FolderLock:
        """Take the lock for the block."""
        return self.acquire()

    def __exit__(self, *exc) -> None:
        """Give the lock up."""
        self.release()


def provably_ours(root: Path) -> bool:
    """Whether ``root`` is valleysim's: its manifest carries the marker, or it holds nothing but
    what a run that stopped before writing its manifest leaves (the lock, and parts/ with task
    parts)."""
    import re

    m = read_manifest_quietly(root)
    if m is not None:
        return m.get("format") == MARKER
    if (root / "manifest.json").exists():
        return False
    part = re.compile(r"^(s\d{3}-r\d{6}\.\w+\.parquet|\..*\.tmp-\d+)$")
    for p in root.iterdir():
        if p.name == PARTS_DIR and p.is_dir():
            if not all(part.match(q.name) for q in p.iterdir()):
                return False
        elif p.name != LOCK and ".tmp-" not in p.name:
            return False
    return True


def check_force(root: Path) -> None:
    """Refuse ``--force`` (deleting nothing) unless ``root`` is provably valleysim's and holds
    nothing but valleysim's files."""
    if not provably_ours(root):
        raise UsageError(f"{root}: is not a valleysim results folder valleysim can prove is its "
                         "own (no manifest.json carrying valleysim's marker \"format\": "
                         f"\"{MARKER}\"); refusing to delete anything in it even with --force. "
                         "Choose another --out, or empty the folder yourself.",
                         path=root)
    foreign = sorted(
        p.name for p in root.iterdir() if p.name not in OWNED and ".tmp-" not in p.name
    )
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} "
                                          "more" if len(foreign) > 5 else "")
        raise UsageError(f"{root}: holds files valleysim did not write ({shown}); --force deletes "
                         "only valleysim's own files and will not touch yours. Move them out, or "
                         "choose another --out.", path=root)


def clear_owned(root: Path) -> None:
    """Delete valleysim's files in ``root`` (after :func:`check_force`), keeping the lock file."""
    import shutil

    from ..files import write_error

    for p in root.iterdir():
        if p.name == LOCK:
            continue
        try:
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            else:
                p.unlink()
        except OSError as exc:
            raise write_error(root, exc) from None


def _readable_parquet(path: Path) -> str | None:
    """None if ``path`` is a whole Parquet file, else what is wrong with it."""
    import pyarrow.parquet as pq

    if not path.is_file():
        return "missing"
    if path.stat().st_size == 0:
        return "empty"
    try:
        pf = pq.ParquetFile(path)
        for _ in pf.iter_batches(batch_size=65_536):
            pass
    except Exception as exc:  # noqa: BLE001 - any failure to read is damage
        return f"unreadable ({type(exc).__name__}: {str(exc).splitlines()[0][:160]})"
    return None


def _readable_json(path: Path) -> str | None:
    if not path.is_file():
        return "missing"
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return f"unreadable ({exc})"
    if not text.strip():
        return "empty"
    try:
        json.loads(text)
    except ValueError as exc:
        return f"not valid JSON ({exc})"
    return None


def damaged_outputs(root: Path, manifest: dict) -> dict[str, str]:
    """The final files of a finished run or comparison that are missing, empty or unreadable,
    with what is wrong with each (an empty mapping when the folder is whole)."""
    root = Path(root)
    out = {}
    if (r := _readable_json(root / "summary.json")) is not None:
        out["summary.json"] = r
    for name in REQUIRED:
        if (r := _readable_parquet(root / name)) is not None:
            out[name] = r
    wanted = {"startups.parquet": manifest.get("keep_startups", "first") != "none",
              "probes.parquet": bool(manifest.get("probes")),
              "years.parquet": manifest.get("format_version", 1) >= YEARS_SINCE}
    for name in TABLES.values():
        path = root / name
        if name in REQUIRED or not (wanted.get(name) or path.exists()):
            continue
        if (r := _readable_parquet(path)) is not None:
            out[name] = r
    return out


def unreadable_part(path: Path) -> bool:
    """Whether a task's part file is cut short or corrupt (its footer cannot be read)."""
    import pyarrow.parquet as pq

    try:
        pq.read_metadata(path)
    except Exception:  # noqa: BLE001 - any failure to read is damage
        return True
    return False

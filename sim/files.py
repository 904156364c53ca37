"""The bottom of the house: writing files safely, JSON a browser can read, and run facts.

Every layer writes through these helpers, so there is one meaning of "written": to a temporary
name, flushed to disk, then renamed into place (a crash leaves the old file or the new one,
never half of either). JSON is written with NaN and infinity as ``null`` (standard JSON has no
NaN; a report reader would choke on it). The default root seed lives here, with its reason.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import os
import platform
from pathlib import Path

from .errors import ResultsError

DEFAULT_SEED = 20140902
"""The default root seed: the date the programme was announced (2 September 2014). Any seed
would do; a fixed, memorable one makes every default run reproducible by anyone."""


def write_error(path: Path, exc: OSError) -> ResultsError:
    """The exit-3 error for a results file that could not be written."""
    reason = exc.strerror or str(exc)
    return ResultsError(f"{path}: cannot write results ({reason}). Nothing written there counts as "
                        "done; free some space or choose another --out folder, then rerun (or "
                        "--resume).", path=path)


def atomic_write_bytes(path: Path, data: bytes | str) -> None:
    """Write ``data`` to ``path`` through a temporary file, fsync'd, then renamed into place."""
    path = Path(path)
    if isinstance(data, str):
        data = data.encode("utf-8")
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise write_error(path, exc) from None


def atomic_write_json(path: Path, obj, *, clean: bool = False) -> None:
    """``obj`` as indented JSON; with ``clean``, NaN and infinities become ``null`` first."""
    if clean:
        obj = json_clean(obj)
    atomic_write_bytes(
        path, (json.dumps(obj, indent=2, allow_nan=True, default=str) + "\n").encode()
    )


def atomic_write_table(path: Path, table, **options) -> None:
    """A pyarrow table as Parquet (``options``: ``pq.write_table``'s), through a temporary file
    renamed into place."""
    import pyarrow.parquet as pq

    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        pq.write_table(table, tmp, **options)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise write_error(path, exc) from None


def finite_or_none(x):
    """A finite number as a float, anything else (NaN, inf, None, text) as None."""
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def json_clean(x):
    """``x`` with NaN and infinities as None and numpy values as Python ones, recursively."""
    import numpy as np

    if isinstance(x, dict):
        return {k: json_clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple, np.ndarray)):
        return [json_clean(v) for v in x]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def read_json(path: Path):
    """The JSON in ``path``, or None if it is missing or unreadable."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host (one we may not signal counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def now() -> str:
    """The current UTC time, to the second, as ISO 8601 (for manifests)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def versions() -> dict:
    """Versions of Python and of the packages a result depends on (for manifests)."""
    from importlib import metadata

    out = {"python": platform.python_version()}
    for pkg in ("valleysim", "simpy", "numpy", "scipy", "pydantic", "pyarrow"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[pkg] = metadata.version(pkg)
    return out

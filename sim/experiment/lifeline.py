"""Worker processes end when the run's main process dies, however it dies.

``kill -9`` (or the OOM killer) gives a run's main process no chance to stop its pool. Its workers
would finish their tasks and then wait for more, forever, holding their memory; and because each
worker keeps the forkserver's and the resource tracker's pipes open, those two live on with them.
So every pool worker watches the main process from the moment it starts (:func:`watch`, the pool's
initializer calls it):

- on Linux, when the worker is the main process's own child (the Python API forks its workers),
  ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` has the kernel kill it the instant its parent dies;
- everywhere, a daemon thread waits for the main process to end, on a pidfd where the system has
  them (Linux 5.3 and later: no polling, no cost) and otherwise by looking for its pid twice a
  second, and ends the worker. This covers the forkserver's workers, whose parent is the
  forkserver, not the main process.

Once the workers are gone the forkserver sees its last client leave and exits, and the resource
tracker, whose pipe nobody holds any more, exits after it.
"""

from __future__ import annotations

import os
import select
import signal
import sys
import threading
import time

from ..files import process_alive

PR_SET_PDEATHSIG = 1
"""prctl option: the signal a process gets when its parent dies (linux/prctl.h)."""
POLL_SECONDS = 0.5
"""How often the fallback watch looks for the main process (where there is no pidfd)."""


def _die_with_parent() -> None:
    """Linux only: SIGKILL this process when its parent dies (best effort; nothing elsewhere)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _wait_for(pid: int) -> None:
    """Return once process ``pid`` has ended."""
    fd = None
    if hasattr(os, "pidfd_open"):
        try:
            fd = os.pidfd_open(pid)
        except ProcessLookupError:
            return
        except OSError:  # an older kernel, or a sandbox without pidfds
            fd = None
    if fd is not None:
        while True:
            readable, _, _ = select.select([fd], [], [])  # readable once the process has ended
            if readable:
                return
    while process_alive(pid):
        time.sleep(POLL_SECONDS)


def _end_when_gone(pid: int) -> None:
    _wait_for(pid)
    os._exit(1)  # the run is gone: nobody will read this worker's results


def watch(main_pid: int) -> None:
    """In a worker: end this process as soon as ``main_pid`` (the run's main process) has died."""
    if os.getppid() == main_pid:
        _die_with_parent()
    if not process_alive(main_pid):  # it died before the watch began
        os._exit(1)
    threading.Thread(target=_end_when_gone, args=(main_pid,), name="valleysim-lifeline",
                     daemon=True).start()

"""Processes the tests start: a clean environment, free ports, and a real Dask cluster."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest


def env(**extra) -> dict:
    """This process's environment without valleysim's test hooks, plus ``extra``."""
    e = {k: v for k, v in os.environ.items() if not k.startswith("VALLEYSIM_")}
    e.update({k: str(v) for k, v in extra.items()})
    return e


def kill_group(proc: subprocess.Popen, sig=signal.SIGKILL) -> None:
    """Kill the process group of ``proc`` (every process it started)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def dask_cluster(workers: int) -> Iterator[tuple[str, list[subprocess.Popen]]]:
    """A real ``dask scheduler`` and ``workers`` ``dask worker`` processes on loopback, each in its
    own session; yields the scheduler's address and the worker processes once all workers have
    joined."""
    pytest.importorskip("distributed")
    dask_cli = shutil.which("dask")
    if dask_cli is None:
        pytest.skip("the `dask` command is not installed")
    from distributed import Client

    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "start_new_session": True}
    procs = []
    try:
        procs.append(
            subprocess.Popen(
                [
                    dask_cli,
                    "scheduler",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--no-dashboard",
                ],
                **quiet,
            )
        )
        for _ in range(workers):
            procs.append(
                subprocess.Popen(
                    [dask_cli, "worker", address, "--nthreads", "1", "--no-dashboard"],
                    env=env(),
                    **quiet,
                )
            )
        deadline = time.monotonic() + 90
        while True:
            assert procs[0].poll() is None, "dask scheduler exited"
            with contextlib.suppress(OSError, TimeoutError), Client(address, timeout=2) as c:
                c.wait_for_workers(workers, timeout=max(1.0, deadline - time.monotonic()))
                break
            assert time.monotonic() < deadline, "the Dask cluster did not start"
            time.sleep(0.2)
        yield address, procs[1:]
    finally:
        for p in reversed(procs):
            kill_group(p, signal.SIGTERM)
        for p in reversed(procs):
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                kill_group(p)
                p.wait(timeout=15)


def session_processes(sid: int) -> dict[int, str]:
    """Every live process of session ``sid`` but its leader (pid -> command line), from /proc: a
    process stays in its session when its parent dies, so orphans are found too."""
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == sid:
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                stat = fh.read()
            fields = stat[stat.rindex(")") + 2:].split()
            # a zombie has ended; field 6 is the session
            if fields[0] == "Z" or int(fields[3]) != sid:
                continue
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                out[int(entry)] = fh.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except (OSError, ValueError, IndexError):
            continue
    return out

"""A page's figures drawn in parallel: the report's longest step once its numbers are computed.

Each figure is drawn by matplotlib from plain numbers, apart from the others, and drawing is nearly
all of a report's time after :func:`sim.analysis.findings.findings` (the comparison's ten figures
take about 4 s on one core). :func:`draw_all` draws every figure still to be drawn
(:class:`~sim.report.document.Drawing`) in a few forked processes: they have the parent's imports,
fonts and the drawings' arguments without loading or sending them, take the next figure as soon as
they are free, and send back PNG bytes. A PNG depends only on its drawing's arguments, so the
pages are byte for byte the same whatever the number of workers. A figure no worker drew (a worker
that died, an error) is drawn here, where its error, if any, is raised as it would be without
workers. Ctrl-C stops the workers at once (they ignore it themselves).
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
from collections.abc import Iterable

from .document import Drawing, Figure

RENDER_WORKERS = 2
"""Processes that draw a page's figures at once by default (at most the cores this process may
use): the machine the main job is sized for has two cores."""


def default_workers() -> int:
    """:data:`RENDER_WORKERS`, or fewer when this process may use fewer cores."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(1, min(RENDER_WORKERS, cores))


def draw_all(figures: Iterable[Figure], workers: int | None = None) -> None:
    """Draw every figure of ``figures`` not drawn yet, in ``workers`` forked processes
    (:func:`default_workers` by default; with 1, or where processes cannot fork, one after another
    here)."""
    pending = [f for f in figures if isinstance(f.source, Drawing)]
    workers = min(default_workers() if workers is None else max(1, int(workers)), len(pending))
    if workers > 1 and "fork" in multiprocessing.get_all_start_methods():
        pngs = _drawn_in_workers([f.source for f in pending], workers)
        for f, png in zip(pending, pngs, strict=True):
            if png is not None:
                f.source = png
    for f in pending:
        f.png  # noqa: B018 - draws here what no worker drew, raising its error here


def _drawn_in_workers(drawings: list[Drawing], workers: int) -> list[bytes | None]:
    """Each drawing's PNG, drawn by ``workers`` forked processes, each sent the next drawing's
    number as soon as it is free; None for a drawing no worker drew."""
    from multiprocessing.connection import wait

    ctx = multiprocessing.get_context("fork")
    out: list[bytes | None] = [None] * len(drawings)
    procs, busy = {}, {}
    todo = iter(range(len(drawings)))
    # the parent's objects out of the workers' garbage collection: a collection there would touch
    # each of them and copy the memory they share with the parent, page by page
    gc.freeze()
    try:
        for _ in range(workers):
            mine, theirs = ctx.Pipe()
            p = ctx.Process(target=_worker, args=(theirs, drawings), daemon=True,
                            name="valleysim-draw")
            try:
                p.start()
            except OSError:  # no more processes: those started draw, or this one does
                mine.close()
                break
            finally:
                theirs.close()
            procs[mine] = p
            _give(busy, mine, next(todo, None))
        gc.unfreeze()
        while busy:
            for conn in wait(list(busy)):
                try:
                    i, png = conn.recv()
                except (EOFError, OSError):  # the worker died: what it held is drawn here
                    busy.pop(conn)
                    continue
                out[i] = png
                _give(busy, conn, next(todo, None))
    finally:
        gc.unfreeze()
        for conn, p in procs.items():
            if p.is_alive() and conn in busy:  # interrupted, or an error here: stop at once
                p.kill()
            p.join()
            conn.close()
    return out


def _give(busy: dict, conn, i: int | None) -> None:
    """Send the worker at ``conn`` drawing ``i`` and mark it busy with it; None (no more) lets it
    end. A worker that cannot be sent to has died: its drawing is drawn here."""
    try:
        conn.send(i)
    except OSError:
        i = None
    if i is None:
        busy.pop(conn, None)
    else:
        busy[conn] = i


def _worker(conn, drawings: list[Drawing]) -> None:
    """A forked process: draw each drawing it is sent and send back its PNG (None when it raised:
    the parent draws it again and raises the error)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops the workers
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    while (i := conn.recv()) is not None:
        try:
            png = drawings[i]()
        except Exception:  # noqa: BLE001 - drawn again by the parent, which raises it
            png = None
        conn.send((i, png))

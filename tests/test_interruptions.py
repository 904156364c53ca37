"""Interrupted runs: kills at moments the experiment tests do not reach (right after start, during
consolidation, before the final status) never leave a folder that looks complete, resume ends
identical to an uninterrupted run, and a Dask worker killed mid-experiment changes nothing.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import time

import pytest
from procs import dask_cluster as start_dask_cluster
from procs import env, free_port
from robust import (
    N_REF,
    NAME,
    SEED,
    assert_never_falsely_complete,
    clean_cli_result,
    finish_after_kill,
    invoke,
    manifest,
    parts,
    same_as_reference,
    start_cli,
    stop,
    wait_until,
)

from sim.scenario import load_scenario

# ---------------------------------------------------------------------------------------------
# 3. interruption at moments tests/test_experiment.py does not reach
# ---------------------------------------------------------------------------------------------
HOLDS = [
    ("consolidate", signal.SIGKILL),
    ("consolidate", signal.SIGTERM),
    ("before-complete", signal.SIGKILL),
    ("after-complete", signal.SIGKILL),
    ("after-complete", signal.SIGTERM),
]


@pytest.mark.slow
def test_kill_during_consolidation_and_finish_never_looks_complete(tiny, reference, tmp_path):
    """kill -9 or SIGTERM while the final files are assembled (replications.parquet half-written),
    between summary.json and the final status, and between the final status and the clean-up:
    the manifest never says complete with a file missing or wrong, and resume ends identical.
    (The five runs overlap, so this costs about one run's start-up.)"""
    runs = []
    for i, (hold, sig) in enumerate(HOLDS):
        out, mark = tmp_path / f"out{i}", tmp_path / f"mark{i}"
        runs.append(
            (
                hold,
                sig,
                out,
                mark,
                start_cli(
                    "run",
                    tiny,
                    "-n",
                    N_REF,
                    "--executor",
                    "serial",
                    "--out",
                    out,
                    "-q",
                    hold=hold,
                    mark=mark,
                ),
            )
        )
    for hold, sig, out, mark, proc in runs:
        wait_until(proc, mark.exists)
        _, err = stop(proc, sig)
        assert "Traceback" not in err, (hold, sig, err)
        status = assert_never_falsely_complete(out, reference)
        if sig == signal.SIGTERM:
            assert proc.returncode == 130 and status == "interrupted", (hold, proc.returncode, err)
            assert f"python run_sim.py resume {out}" in err
        if hold == "consolidate":
            # half-written
            assert status != "complete" and list(out.glob(".replications.parquet.tmp-*"))
        if hold == "before-complete":
            assert status != "complete" and (out / "summary.json").is_file()
        if hold == "after-complete" and sig == signal.SIGKILL:
            assert status == "complete"  # every output was in place before the status was written
    for _hold, _sig, out, _mark, _proc in runs:
        finish_after_kill(out, tiny, reference)


@pytest.mark.slow
def test_kill_at_random_moments_never_looks_complete_and_resume_is_identical(
    tiny, reference, tmp_path
):
    """kill -9 or SIGTERM right after start, at a random delay, and after a random number of
    finished tasks (serial and a process pool of 2). Seeded (VALLEYSIM_KILL_SEED), so a failure can
    be replayed."""
    rng = random.Random(int(os.environ.get("VALLEYSIM_KILL_SEED", "8")))
    moments = [
        ("delay", 0.0, "serial"),
        ("delay", rng.uniform(0.3, 3.0), "processes"),
        ("parts", rng.randrange(0, N_REF - 1), "serial"),
        ("parts", rng.randrange(1, N_REF), "processes"),
    ]
    def start(i, executor):
        out = tmp_path / f"out{i}"
        return out, start_cli(
            "run", tiny, "-n", N_REF, "-j", 2, "--executor", executor, "--out", out, "-q"
        )

    # the runs killed after a delay overlap (one run's start-up, not two); a run killed after a
    # number of finished tasks starts only when it is watched, so it cannot finish unwatched
    started = {i: start(i, ex) for i, (kind, _, ex) in enumerate(moments) if kind == "delay"}
    t0 = time.monotonic()
    runs = []
    for i, (kind, when, executor) in enumerate(moments):
        sig = rng.choice([signal.SIGKILL, signal.SIGTERM])
        if kind == "delay":
            out, proc = started[i]
            time.sleep(max(0.0, t0 + when - time.monotonic()))
        else:
            out, proc = start(i, executor)
            wait_until(proc, lambda out=out, when=when: len(parts(out)) > when)
        _, err = stop(proc, sig)
        assert "Traceback" not in err, (kind, when, sig, err)
        runs.append((kind, when, out, proc, sig))
    for _kind, _when, out, _proc, _sig in runs:
        finish_after_kill(out, tiny, reference)




# ---------------------------------------------------------------------------------------------
# 4. distributed faults
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def dask_two_workers():
    """A real ``dask scheduler`` and two ``dask worker`` processes on loopback, each in its own
    session."""
    with start_dask_cluster(2) as cluster:
        yield cluster


@pytest.mark.slow
def test_dask_worker_killed_mid_experiment_still_completes_identically(
    dask_two_workers, tiny, reference, tmp_path
):
    """SIGKILL one of two `dask worker` processes (and its nanny) once some tasks are done: the
    scheduler reruns its tasks on the other worker and the experiment completes, identical."""
    import threading

    from sim.experiment import DaskExecutor, ExperimentSpec, run_experiment

    address, workers = dask_two_workers
    out = tmp_path / "out"
    executor = DaskExecutor(address)
    assert executor.workers == 2
    killed_at = []

    def kill_one_worker():
        deadline = time.monotonic() + 120
        while len(parts(out)) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        killed_at.append(len(parts(out)))
        os.killpg(workers[0].pid, signal.SIGKILL)  # the worker and its nanny, without warning

    killer = threading.Thread(target=kill_one_worker, daemon=True)
    killer.start()
    spec = ExperimentSpec(scenarios={NAME: load_scenario(tiny)}, replications=N_REF, seed=SEED)
    outcome = run_experiment(spec, out, executor, progress=False, echo=lambda _m: None)
    killer.join(timeout=10)
    assert killed_at and 2 <= killed_at[0] < N_REF, f"the worker was lost after {killed_at} tasks"
    assert workers[0].wait(timeout=10) is not None
    assert not outcome.failures
    assert manifest(out)["status"] == "complete"
    same_as_reference(out, reference)


class _SilentListener:
    """Something that accepts TCP connections and never says a word (a wrong port, a stalled
    host)."""

    def __enter__(self):
        import threading

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.conns = []

        def accept():
            with contextlib.suppress(OSError):
                while True:
                    self.conns.append(self.sock.accept()[0])

        threading.Thread(target=accept, daemon=True).start()
        return f"tcp://127.0.0.1:{self.sock.getsockname()[1]}"

    def __exit__(self, *exc):
        for c in self.conns:
            c.close()
        self.sock.close()


def test_unreachable_scheduler_variants_fail_within_seconds(tiny, tmp_path):
    """Besides a closed port (tests/test_experiment.py): something that accepts connections but
    never answers (this used to hang forever) and a malformed address: exit 2, a clear message,
    within seconds, nothing written."""
    pytest.importorskip("distributed")
    with _SilentListener() as silent:
        for address, says in [(silent, "did not answer as a Dask scheduler"),
                              ("not-an-address", "missing port number")]:
            start = time.perf_counter()
            r = invoke("run", tiny, "-n", 1, "--scheduler", address, "--out", tmp_path / "out")
            elapsed = time.perf_counter() - start
            clean_cli_result(r, codes=(2,))
            assert f"--scheduler {address}: cannot reach the Dask scheduler within 5 s" in r.stderr
            assert says in r.stderr, r.stderr
            assert elapsed < 20, f"{address}: {elapsed:.1f} s"
            assert not (tmp_path / "out").exists()




def _dask_proc(*args) -> subprocess.Popen:
    return subprocess.Popen(
        [shutil.which("dask"), *args, "--no-dashboard"],
        env=env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


@contextlib.contextmanager
def _scheduler_and_worker():
    """A `dask scheduler` and one `dask worker` (nthreads 1) on loopback; yields (address,
    scheduler, worker)."""
    if shutil.which("dask") is None:
        pytest.skip("the `dask` command is not installed")
    from distributed import Client

    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs = [_dask_proc("scheduler", "--host", "127.0.0.1", "--port", str(port))]
    procs.append(_dask_proc("worker", address, "--nthreads", "1"))
    try:
        deadline = time.monotonic() + 90
        while True:
            with contextlib.suppress(OSError, TimeoutError), Client(address, timeout=2) as c:
                c.wait_for_workers(1, timeout=max(1.0, deadline - time.monotonic()))
                break
            assert time.monotonic() < deadline, "the Dask cluster did not start"
            time.sleep(0.2)
        yield address, procs
    finally:
        for p in procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
            p.wait(timeout=15)


@pytest.mark.slow
def test_dask_with_every_worker_gone_says_so_and_goes_on_when_one_joins(tiny, reference, tmp_path):
    """The only worker is killed mid-run: within seconds the run says no worker is connected and how
    to start one, keeps waiting, and a worker that joins finishes it with identical results."""
    with _scheduler_and_worker() as (address, procs):
        out = tmp_path / "out"
        run = start_cli("run", tiny, "-n", N_REF, "--scheduler", address, "--out", out, "-q")
        try:
            wait_until(run, lambda: len(parts(out)) >= 1)
            os.killpg(procs[1].pid, signal.SIGKILL)
            killed = time.monotonic()
            stderr = []

            def said_so():
                line = run.stderr.readline()
                stderr.append(line)
                return "no worker is connected to the scheduler" in line

            wait_until(run, said_so, timeout=60)
            assert time.monotonic() - killed < 15, "said too late"
            assert f"dask worker {address}" in stderr[-1] and "resume" in stderr[-1]
            time.sleep(2)
            assert run.poll() is None, "it must keep waiting"
            procs.append(_dask_proc("worker", address, "--nthreads", "1"))
            _, err = run.communicate(timeout=180)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(run.pid, signal.SIGKILL)
        assert run.returncode == 0, err
        assert "connected again; continuing" in err and "Traceback" not in err
        same_as_reference(out, reference)


@pytest.mark.slow
def test_a_lost_dask_scheduler_is_an_interruption_exit_130(tiny, reference, tmp_path):
    """The scheduler is killed mid-run: exit 130, one paragraph saying what happened and how to
    resume, no library traceback; the folder is interrupted and resume (locally) ends identical."""
    with _scheduler_and_worker() as (address, procs):
        out = tmp_path / "out"
        run = start_cli("run", tiny, "-n", N_REF, "--scheduler", address, "--out", out, "-q")
        try:
            wait_until(run, lambda: len(parts(out)) >= 1)
            os.killpg(procs[0].pid, signal.SIGKILL)
            _, err = run.communicate(timeout=120)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(run.pid, signal.SIGKILL)
    assert run.returncode == 130, err
    assert "Traceback" not in err and "ERROR" not in err
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert (
        len(errors) == 1
        and "Dask scheduler" in errors[0]
        and f"python run_sim.py resume {out}" in errors[0]
    )
    assert manifest(out)["status"] == "interrupted"
    r = invoke("resume", out, "--executor", "serial", "-q")
    assert r.exit_code == 0, r.output
    same_as_reference(out, reference)


# ---------------------------------------------------------------------------------------------
# kill -9 of the main process: no orphans
# ---------------------------------------------------------------------------------------------
ORPHAN_CASES = {
    "compare": ["compare", "scenarios/ccei-announced.yaml", "--baseline", "none", "--fixed",
                "-n", "4"],
    "sweep": ["sweep", "scenarios/ccei-announced.yaml", "--param", "centre_defaults.seats=10:40",
              "--samples", "4", "-n", "1"],
    "calibrate": ["calibrate", "scenarios/ccei-as-opened.yaml", "--targets",
                  "scenarios/targets/programme.yaml", "--method", "history-matching",
                  "--waves", "1"],
    "optimize": ["optimize", "scenarios/ccei-announced.yaml", "--budget-krw", "baseline",
                 "--levers", "grant_size", "--evaluations", "5", "-n", "1"],
}


@pytest.mark.slow
@pytest.mark.parametrize("command", [*ORPHAN_CASES, "python api"])
def test_kill_9_of_the_main_process_ends_its_workers_forkserver_and_resource_tracker(
        command, tmp_path):
    """kill -9 of the main process alone (not its group): the pool's workers, the forkserver and the
    resource tracker used to live on, holding memory. Within seconds none of them is alive. The
    Python API forks its workers from the caller (no forkserver): they end too."""
    import sys

    from procs import session_processes

    if command == "python api":
        out = str(tmp_path / "out")
        script = f"import sim; sim.run('ccei-announced', replications=8, workers=2, out={out!r})"
        run = subprocess.Popen([sys.executable, "-c", script], env=env(), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    else:
        run = start_cli(*ORPHAN_CASES[command], "--workers", "2", "--out", tmp_path / "out", "-q")
    try:
        def pool_busy():
            procs = session_processes(run.pid)
            if command == "python api":
                return len(procs) >= 2
            workers = [c for c in procs.values() if "forkserver" in c]
            # the forkserver and two workers, and the resource tracker
            return len(workers) >= 3 and any("resource_tracker" in c for c in procs.values())

        wait_until(run, pool_busy, timeout=180)
        children = session_processes(run.pid)
        assert run.poll() is None, "the run ended before it could be killed"
        os.kill(run.pid, signal.SIGKILL)
        run.wait(timeout=10)
        deadline = time.monotonic() + 10
        while session_processes(run.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = session_processes(run.pid)
        assert not left, (f"still alive after the main process was killed: {left} (children were "
                          f"{children})")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(run.pid, signal.SIGKILL)
        for pid in session_processes(run.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        run.communicate(timeout=30)


@pytest.mark.slow
def test_a_scheduler_without_workers_is_said_within_seconds_waits_and_ctrl_c_is_exit_130(
        tiny, tmp_path):
    """With --scheduler and no worker: nothing was said for 60 s, then exit 2, and Ctrl-C meanwhile
    printed "Aborted!" with exit 1. Now the run says within seconds that it waits for a worker (and
    how to start one), Ctrl-C is exit 130 with one paragraph, and a worker that joins starts the
    run."""
    if shutil.which("dask") is None:
        pytest.skip("the `dask` command is not installed")
    from distributed import Client

    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    scheduler = _dask_proc("scheduler", "--host", "127.0.0.1", "--port", str(port))
    procs = [scheduler]
    try:
        deadline = time.monotonic() + 60
        while True:  # the scheduler answers
            with contextlib.suppress(OSError, TimeoutError), Client(address, timeout=2):
                break
            assert time.monotonic() < deadline, "the Dask scheduler did not start"
            time.sleep(0.2)

        def waiting(run, stderr):
            def said_so():
                line = run.stderr.readline()
                stderr.append(line)
                return "no worker is connected to the scheduler" in line
            return said_so

        # Ctrl-C with SIGINT at its default, then with SIGINT ignored from the start (a run
        # started as a script's background job, and this test under such a CI script: it waited
        # 180 s for an exit that never came), then a worker that joins
        for interrupt, sigint in ((True, "default"), (True, "ignored"), (False, None)):
            out = tmp_path / f"out-{interrupt}-{sigint}"
            run = start_cli("run", tiny, "-n", "2", "--scheduler", address, "--out", out, "-q",
                            sigint=sigint)
            try:
                stderr: list[str] = []
                started = time.monotonic()
                wait_until(run, waiting(run, stderr), timeout=60)
                assert time.monotonic() - started < 15, "said too late"
                assert f"dask worker {address}" in stderr[-1]
                time.sleep(1)
                assert run.poll() is None, "it must keep waiting"
                if interrupt:
                    os.kill(run.pid, signal.SIGINT)
                else:
                    procs.append(_dask_proc("worker", address, "--nthreads", "1"))
                _, err = run.communicate(timeout=180)
            finally:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(run.pid, signal.SIGKILL)
            err = "".join(stderr) + err
            assert "Traceback" not in err and "Aborted!" not in err, err
            if interrupt:
                assert run.returncode == 130, err
                assert "error: Interrupted while waiting for a Dask worker to join" in err
                assert not out.exists()
            else:
                assert run.returncode == 0, err
                assert "a worker joined; starting" in err and manifest(out)["status"] == "complete"
    finally:
        for p in procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
            p.wait(timeout=15)

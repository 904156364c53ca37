#!/usr/bin/env python3
"""One worker's bundle of the main job timed in CPU seconds, for a commit and this checkout
alternately: a finer figure than benchmarks/ab.py's wall times on a shared machine.

    python benchmarks/bundle.py main                   # replication 1, 4 rounds
    python benchmarks/bundle.py main --replication 8 --rounds 6

Each run is a fresh process that runs the 15 scenarios of one replication of the default compare
(`python run_sim.py compare`: the library against no-programme over the shipped posterior) in plan
order, as a pool worker runs a bundle (``run_task`` on each: the simulation, its metrics, its
probe), and prints the CPU seconds (``time.process_time``) of the tasks alone, imports and the
first process start-up excluded. Prints each run and the median of the per-round ratios.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def bundle_seconds(replication: int) -> float:
    """CPU seconds of the default compare's tasks of ``replication``, run here one after another."""
    from sim.experiment.task import run_task
    from sim.scenario.draws import SHIPPED_POSTERIOR
    from sim.scenario.loader import resolved_dict, scenario_hash
    from sim.studies.compare import plan_compare

    spec = plan_compare([], baseline="ccei-announced", counterfactual="no-programme",
                        posterior=SHIPPED_POSTERIOR)
    args = []
    for t in spec.tasks(range(replication, replication + 1)):
        sc = spec.scenario_at(t.scenario, t.replication)
        args.append((resolved_dict(sc), scenario_hash(sc), t, spec.seed, spec.crn, spec.keep(t),
                     spec.probe(t.scenario)))
    c0 = time.process_time()
    for a in args:
        run_task(*a)
    return time.process_time() - c0


def timed(checkout: Path, replication: int) -> float:
    """:func:`bundle_seconds` in a fresh process running ``checkout``'s code."""
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child",
                          str(replication)], cwd=checkout, env=env, check=True,
                         capture_output=True, text=True).stdout
    return float(out.split()[-1])


def main() -> None:
    """Time the bundle of a commit and of the working tree alternately; print the ratios."""
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("ref", nargs="?", help="the git commit to compare this checkout with")
    ap.add_argument("--replication", type=int, default=1, help="the replication (default 1)")
    ap.add_argument("--rounds", type=int, default=4, help="runs of each, alternating (default 4)")
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child is not None:
        print(bundle_seconds(args.child))
        return
    if not args.ref:
        ap.error("give the git commit to compare this checkout with")
    with tempfile.TemporaryDirectory() as tmp:
        other = Path(tmp) / "ref"
        subprocess.run(["git", "worktree", "add", "--detach", "-f", str(other), args.ref],
                       cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ratios = []
        try:
            for _ in range(args.rounds):
                old = timed(other, args.replication)
                new = timed(ROOT, args.replication)
                ratios.append(new / old)
                print(f"{args.ref}: {old:6.2f} s  working tree: {new:6.2f} s  "
                      f"ratio {new / old:.3f}  load {os.getloadavg()[0]:.1f}", flush=True)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(other)], cwd=ROOT,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    print(f"bundle CPU, working tree / {args.ref}: median {statistics.median(ratios):.3f} "
          f"of {len(ratios)} rounds")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The README's main job timed for two commits back to back, so a speed-up is measured on this noisy
machine as a ratio within one run rather than against yesterday's figure.

    python benchmarks/ab.py e30564e            # that commit against the working tree, twice each
    python benchmarks/ab.py e30564e --rounds 3 --json

Each round runs ``python run_sim.py compare`` (the main job, report included) from a git worktree of
REF and from this checkout, alternating, and prints for each run the wall time and its phases: the
plan printed, the simulation (manifest ``seconds``), the summary table printed, the report written.
Nothing is asserted; results go to a temporary folder and are deleted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed_compare(checkout: Path, out: Path) -> dict:
    """Run the main job from ``checkout`` into ``out``; the moments each phase ended, in seconds."""
    t0 = time.perf_counter()
    # the checkout's own code, whatever an editable install or the caller's PYTHONPATH points at
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    proc = subprocess.Popen(
        [sys.executable, "run_sim.py", "compare", "--out", str(out)],
        cwd=checkout,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    )
    marks = {}
    for line in proc.stdout:
        now = round(time.perf_counter() - t0, 1)
        if line.startswith("plan:"):
            marks["plan"] = now
        elif line.startswith("valleysim: means"):
            marks["table"] = now
    if proc.wait() != 0:
        raise SystemExit(f"compare failed in {checkout}")
    marks["end"] = round(time.perf_counter() - t0, 1)
    marks["simulation"] = json.loads((out / "manifest.json").read_text())["seconds"]
    return marks


def main() -> None:
    """Time the main job of a commit and of the working tree alternately; print the ratios."""
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("ref", help="the git commit to compare this checkout with")
    ap.add_argument("--rounds", type=int, default=2, help="runs of each, alternating (default 2)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        other = Path(tmp) / "ref"
        subprocess.run(
            ["git", "worktree", "add", "--detach", "-f", str(other), args.ref],
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        runs: dict[str, list[dict]] = {args.ref: [], "working tree": []}
        try:
            for r in range(args.rounds):
                for name, checkout in ((args.ref, other), ("working tree", ROOT)):
                    marks = timed_compare(
                        checkout, Path(tmp) / f"out-{r}-{len(runs[name])}-{name[:6]}"
                    )
                    runs[name].append(marks)
                    if not args.json:
                        print(f"{name:>14}  {marks}")
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(other)], cwd=ROOT,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ends = {k: [m["end"] for m in v] for k, v in runs.items()}
    ratio = sum(ends["working tree"]) / sum(ends[args.ref])
    if args.json:
        print(json.dumps({"runs": runs, "ratio_working_tree_to_ref": ratio}, indent=2))
    else:
        print(f"main job, working tree / {args.ref}: {ratio:.2f} (sums of {args.rounds} runs each)")


if __name__ == "__main__":
    main()

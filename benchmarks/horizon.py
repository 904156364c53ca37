#!/usr/bin/env python3
"""Memory and time against the calendar's horizon: does a longer calendar cost only its start-ups?

    python benchmarks/horizon.py            # table
    python benchmarks/horizon.py --json     # one JSON object
    python benchmarks/horizon.py --quick    # a tenth of the economy, for a smoke run

Runs the outlook's baseline (scenarios/outlook/carry-on.yaml, the programme as run, founding
extrapolated at +5 % a year) with its horizon cut to 2024, 2030 and 2035, each as a whole serial
`run` of a few replications in a fresh process (the worker's work, the records and the report), and
prints peak RSS, seconds and the simulated start-ups. A longer calendar holds more start-ups (the
population grows with the horizon and with the founding trend); "flat" means the memory above a
fixed floor grows no faster than they do: ``rss_per_startup_ratio`` (the 2035 run's MB above the
floor per simulated start-up over the 2024 run's) near 1 and at most 1.2. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim.scenario import load_scenario  # noqa: E402

SCENARIO = ROOT / "scenarios" / "outlook" / "carry-on.yaml"
HORIZONS = {"2024-12": (2016, 2019), "2030-12": (2019, 2025), "2035-12": (2022, 2030)}
"""Horizon -> the cohort window that keeps 5-year survival observable."""
TARGET_RATIO = 1.2


def _calendar(horizon: str) -> list[str]:
    first, last = HORIZONS[horizon]
    out = [
        f"calendar.horizon={horizon}",
        f"calendar.cohort_first_year={first}",
        f"calendar.cohort_last_year={last}",
    ]
    # the outlook's extrapolation starts in 2025; drop it from a shorter calendar
    if horizon < "2025-01":
        out += ["timeline.2025-01=null"]
    return out


def _rss_and_seconds(cmd: list[str]) -> tuple[float, float]:
    """Peak RSS (MB) of the largest process of ``cmd`` and its wall time, from a fresh wrapper."""
    wrapper = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, "
               "stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); "
               "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", wrapper, *cmd], check=True, cwd=ROOT, capture_output=True, text=True
    )
    return int(out.stdout.strip()) / 1024.0, time.perf_counter() - t0


def measure(reps: int, scale: list[str]) -> dict:
    """Peak memory and seconds of a run at each horizon, with the floor of the imports alone."""
    res: dict = {}
    with tempfile.TemporaryDirectory() as d:
        floor, _ = _rss_and_seconds([sys.executable, "-c", "import sim.studies.api, "
                                                           "sim.report.compare"])
        res["floor_rss_mb"] = floor
        for horizon in HORIZONS:
            over = [*scale, *_calendar(horizon)]
            sc = load_scenario(SCENARIO, over)
            simulated = sc.expected_startups() * sc.sampling.simulated_share()
            sets = [x for o in over for x in ("--set", o)]
            rss, secs = _rss_and_seconds(
                [
                    sys.executable,
                    "run_sim.py",
                    "run",
                    str(SCENARIO),
                    "-n",
                    str(reps),
                    "--executor",
                    "serial",
                    "--quiet",
                    "--out",
                    str(Path(d) / horizon),
                    *sets,
                ]
            )
            res[horizon] = {"peak_rss_mb": rss, "seconds": secs, "simulated_startups": simulated,
                            "mb_per_100k_startups": (rss - floor) / simulated * 1e5}
    first, last = res["2024-12"], res["2035-12"]
    res["rss_per_startup_ratio"] = last["mb_per_100k_startups"] / first["mb_per_100k_startups"]
    res["seconds_per_startup_ratio"] = (last["seconds"] / last["simulated_startups"]) / (
        first["seconds"] / first["simulated_startups"])
    return res


def main() -> None:
    """Print the memory per simulated start-up against the horizon (``--json`` for one line)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("-n", type=int, default=2, help="replications per run (default 2)")
    a = ap.parse_args()
    scale = []
    if a.quick:
        base = load_scenario(SCENARIO)
        scale = [
            f"regions.{r}.founding_rate_per_year={g.founding_rate_per_year / 10:.6g}"
            for r, g in base.regions.items()
        ]
    res = measure(a.n, scale)
    if a.json:
        print(json.dumps(res, indent=2))
        return
    print(f"floor (imports only): {res['floor_rss_mb']:.0f} MB")
    print(f"{'horizon':<9} {'simulated':>10} {'peak MB':>8} {'MB/100k':>8} {'seconds':>8}")
    for h in HORIZONS:
        r = res[h]
        print(f"{h:<9} {r['simulated_startups']:>10,.0f} {r['peak_rss_mb']:>8.0f} "
              f"{r['mb_per_100k_startups']:>8.1f} {r['seconds']:>8.1f}")
    print(f"rss_per_startup_ratio (2035 / 2024): {res['rss_per_startup_ratio']:.2f} (target <= "
          f"{TARGET_RATIO})")
    print(f"seconds_per_startup_ratio (2035 / 2024): {res['seconds_per_startup_ratio']:.2f}")


if __name__ == "__main__":
    main()

"""``optimize --robust``: a budget allocation searched over posterior draws, re-checked on fresh
replications over the same draws, and its robust choice equal to the brute-force best.

The tiny world of test_sweeps (the shipped programme, 20x fewer start-ups, a calendar ending in
2020), whose centres inherit the shipped posterior's keys, so the draws reach them. The one lever
opens or closes two centres: four allocations, all of them finalists, so the brute-force best over
every allocation the search evaluated is the best among the finalists, computed here by hand from
the final replications.
"""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from test_sweeps import tiny  # noqa: F401 - the fixture

from sim.analysis.decision import frontier
from sim.cli import cli
from sim.experiment.runner import spec_from_manifest

K = 3


def invoke(*args):
    """Run the CLI in this process."""
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def robust_run(tiny, tmp_path_factory):  # noqa: F811 - the fixture imported above
    """A finished robust optimisation (minimax regret over 3 draws) of the tiny programme."""
    out = tmp_path_factory.mktemp("robust") / "run"
    res = invoke("optimize", tiny["tiny"], "--budget-krw", "baseline", "--levers",
                 "centres=Seoul+Jeju", "--counterfactual", tiny["tiny-none"], "--baseline",
                 tiny["tiny"], "--robust", "--robust-objective", "minimax-regret", "--draws", K,
                 "--evaluations", "5", "--finalists", "4", "--seed", "3", "--executor", "serial",
                 "-q", "--out", out)
    assert res.exit_code == 0, res.output
    return out, res.output


@pytest.mark.slow
def test_the_robust_choice_is_the_brute_force_best_over_the_same_draws(robust_run):
    """Every allocation evaluated is re-checked on 2 K fresh replications over the same K draws;
    from those replications, each option's net benefit per draw (lambda x additional survivors -
    additional public cost, against the counterfactual) gives by hand the option with the smallest
    largest regret: the study's choice, with its regret, how often it is best and its place on the
    efficient frontier; the terminal says so."""
    out, output = robust_run
    result = json.loads((out / "optimize.json").read_text())
    r = result["robust"]
    study = json.loads((out / "manifest.json").read_text())["study"]
    assert study["robust"] and study["robust_objective"] == "minimax-regret"
    lam = study["wtp_krw"]
    assert lam > 0 and r["wtp_krw"] == lam and "tiny pays" in r["wtp_source"]
    assert len(result["search"]["candidates"]) <= result["final"]["finalists"]
    final = json.loads((out / "final" / "manifest.json").read_text())
    assert final["draws"]["values"] == study["draws"]["values"]
    assert len(final["draws"]["values"]) == K
    assert final["replications"] == 2 * K and final["seed"] == study["seed"] + 1
    spec = spec_from_manifest(final)
    assert all(spec.applied(n) for n in spec.scenarios if n.startswith("finalist"))
    # brute force, from the final replications
    t = pq.read_table(out / "final" / "replications.parquet").to_pydict()
    names = list(final["scenarios"])
    cf = "tiny-none"
    rows = {(s, rep): i for i, (s, rep) in enumerate(zip(t["scenario"], t["replication"],
                                                         strict=True))}
    reps = sorted({rep for s, rep in rows if s == cf})
    nb = np.zeros((K, len(names)))
    survivors, cost = t["survivors_5y"], t["cohort_public_cost_krw"]
    for j, n in enumerate(names):
        per = [lam * (survivors[rows[n, x]] - survivors[rows[cf, x]])
               - (cost[rows[n, x]] - cost[rows[cf, x]]) for x in reps]
        for k in range(K):
            nb[k, j] = np.mean([v for x, v in zip(reps, per, strict=True) if x % K == k])
    regret = nb.max(axis=1, keepdims=True) - nb
    finalists = [j for j, n in enumerate(names) if n.startswith("finalist")]
    brute = min(finalists, key=lambda j: (regret[:, j].max(), j))
    assert r["choice"] == names[brute] == result["best"]["name"]
    assert r["max_regret"] == pytest.approx(regret[:, brute].max(), rel=1e-9, abs=1.0)
    assert r["expected_regret"] == pytest.approx(regret[:, brute].mean(), rel=1e-9, abs=1.0)
    top = nb == nb.max(axis=1, keepdims=True)
    assert r["prob_best"] == pytest.approx((top / top.sum(axis=1, keepdims=True))[:, brute].mean())
    effect = {o["scenario"]: o for o in r["options"]}
    e = [effect[n]["effect"] for n in names]
    c = [effect[n]["cost_krw"] for n in names]
    fr = frontier(c, e)
    assert r["dominated"] == fr.dominated[brute]
    assert r["frontier"][0] == cf and set(r["frontier"]) == {names[i] for i in fr.order}
    assert f"robust choice (minimax-regret, {K} posterior draws" in output
    assert f": {r['choice']};" in output
    md = (out / "optimize.md").read_text(encoding="utf-8")
    assert "The robust choice over the posterior draws" in md and "largest regret" in md


def test_robust_options_need_robust_and_draws_need_replications(tiny, tmp_path):  # noqa: F811
    """--draws, --posterior, --wtp or --robust-objective without --robust, and a robust search with
    fewer replications than draws, are exit 2 before any folder exists."""
    out = tmp_path / "never"
    base = ["optimize", tiny["tiny"], "--budget-krw", "baseline", "--levers", "centres=Seoul",
            "--counterfactual", tiny["tiny-none"], "--baseline", tiny["tiny"], "--out", out]
    res = CliRunner().invoke(cli, [str(a) for a in [*base, "--draws", "3"]])
    assert res.exit_code == 2 and "add --robust" in res.output
    res = CliRunner().invoke(cli, [str(a) for a in [*base, "--robust", "--draws", "4", "-n", "3"]])
    assert res.exit_code == 2 and "every draw needs at least one replication" in res.output
    assert not out.exists()

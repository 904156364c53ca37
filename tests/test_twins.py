"""The counterfactual's twins probe of a comparison keeps only the firms some scenario could select
(sim.model.centre.applicant_bounds, sim.analysis.effects.twins_eligible), and loses none of the
twins the full probe (every firm of weight 1) matched; folders that name the full probe still
resume with it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from sim.analysis.effects import firm_keys, twin_match, twins_all, twins_eligible
from sim.experiment.runner import new_manifest, spec_from_manifest
from sim.model.centre import applicant_bounds
from sim.model.world import simulate
from sim.scenario.loader import dump_yaml
from sim.studies.compare import plan_compare

GOLDEN = Path(__file__).resolve().parent / "golden" / "scenarios"
REPLICATIONS = 3

KEEN = {
    "extends": str(GOLDEN / "tiny-programme.yaml"),
    "name": "tiny-keen",
    "centres": {
        # a late, short-lived centre recruiting young Seoul firms keenly: a window of its own
        "Seoul": {"region": "Seoul", "opens": "2016-01", "closes": "2018-01",
                  "apply_probability": 0.6, "min_applicant_age_months": 6,
                  "max_applicant_age_months": 18, "intake_every_months": 2, "intake_size": 15,
                  "seats": 30},
        # Busan's centre also recruits in Daejeon (its catchment)
        "Busan": {"catchment": ["Busan", "Daejeon"]},
    },
    # Busan's centre becomes keener from 2017: only the timeline's epoch says so
    "timeline": {"2017-01": {"centres.Busan.apply_probability": 0.7}},
}


def _columns(probe: dict, replication: int, names: list[str]) -> dict:
    codes = {r: i for i, r in enumerate(names)}
    key = firm_keys(np.full(len(probe["serial"]), replication), names, probe["serial"], codes,
                    region_codes=probe["region"].codes)
    return {**probe, "key": key, "replication": np.full(len(key), replication)}


def _matched(spec, cf_probe) -> dict[str, set]:
    """Per scenario, (key, twin's age_end, twin's died) of every supported firm the
    counterfactual's ``cf_probe`` holds a twin of, over the spec's replications."""
    cf = spec.info.counterfactual
    out = {n: set() for n in spec.scenarios if n != cf}
    for r in range(spec.replications):
        base = simulate(spec.scenario_at(cf, r), spec.seed, r)
        twins = _columns(cf_probe(base, None), r, base.region_names)
        for n in out:
            rec = simulate(spec.scenario_at(n, r), spec.seed, r)
            prog = _columns(spec.probe(n)(rec, None), r, rec.region_names)
            ia, ib = twin_match(prog, twins)
            out[n] |= set(zip(prog["key"][ia].tolist(), twins["age_end"][ib].tolist(),
                              twins["died"][ib].tolist(), strict=True))
    return out


def test_the_lean_counterfactual_keeps_every_twin_the_full_one_matched(tmp_path):
    """Every scenario's supported firms find the same twins, with the same outcomes, in the lean
    probe as in the full one, in every replication, though it holds far fewer firms; a bound that
    ignores a scenario's timeline loses some, so the comparison is not vacuous."""
    keen = tmp_path / "tiny-keen.yaml"
    keen.write_text(dump_yaml(KEEN), encoding="utf-8")
    files = [GOLDEN / "tiny-none.yaml", GOLDEN / "tiny-programme.yaml", keen]
    spec = plan_compare(files, baseline="tiny-programme", counterfactual="tiny-none",
                        replications=REPLICATIONS, seed=7)
    probe = spec.probes["tiny-none"]
    assert probe["name"] == "twins-eligible"
    bounds = probe["parameters"]["bounds"]
    assert bounds["Seoul"]["apply_below"] == 0.6 and bounds["Busan"]["apply_below"] == 0.7
    assert bounds["Daejeon"]["apply_below"] == 0.7  # Busan's catchment, in the later epoch
    full = _matched(spec, twins_all)
    lean = _matched(spec, spec.probe("tiny-none"))
    assert all(len(full[n]) > 200 for n in full), {n: len(v) for n, v in full.items()}
    assert lean == full

    base = simulate(spec.scenario_at("tiny-none", 0), spec.seed, 0)
    assert len(spec.probe("tiny-none")(base, None)["serial"]) < 0.8 * len(
        twins_all(base, None)["serial"])

    # without the keen variant's timeline, Busan's and Daejeon's keener applicants are left out
    untimed = {**KEEN, "timeline": {}}
    keen.write_text(dump_yaml(untimed), encoding="utf-8")
    narrow = applicant_bounds(
        plan_compare(files, baseline="tiny-programme", counterfactual="tiny-none",
                     replications=REPLICATIONS, seed=7).scenarios.values())
    keen.write_text(dump_yaml(KEEN), encoding="utf-8")
    lost = _matched(spec, lambda rec, sc: twins_eligible(rec, sc, narrow))
    assert lost["tiny-keen"] < full["tiny-keen"]
    assert lost["tiny-programme"] == full["tiny-programme"]


def test_older_manifests_name_the_full_probe_and_still_resume_with_it():
    """A manifest names each scenario's probe: by name alone (every folder before the lean probe:
    ``twins-all``), or by name with its parameters, which survive the manifest's JSON."""
    files = sorted(GOLDEN.glob("*.yaml"))
    spec = plan_compare(files, baseline="tiny-programme", counterfactual="tiny-none",
                        replications=2, seed=7)
    manifest = json.loads(json.dumps(new_manifest(spec, ["test"])))
    again = spec_from_manifest(manifest)
    assert again.probes == spec.probes
    rec = simulate(spec.scenario_at("tiny-none", 1), spec.seed, 1)
    a, b = again.probe("tiny-none")(rec, None), spec.probe("tiny-none")(rec, None)
    assert all(np.array_equal(a[k], b[k], equal_nan=True) for k in a if k != "region")

    manifest["probes"]["tiny-none"] = "twins-all"
    old = spec_from_manifest(manifest)
    assert old.probe("tiny-none") is twins_all
    assert old.probe("tiny-programme") is spec.probe("tiny-programme")
    assert len(old.probe("tiny-none")(rec, None)["serial"]) > len(a["serial"])

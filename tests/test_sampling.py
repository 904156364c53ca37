"""The economy at its real scale through a weighted sample of those who never apply
(scenario.sampling).

Every start-up that may apply is simulated; the others are one in ``others_weight``, each standing
for that many. These tests pin that the weighted run is the full run's economy (counts, sums,
survival, costs within their noise, the programme's own records identical) and that the sample is
drawn apart from the applicants.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.analysis.metrics import replication_metrics
from sim.errors import ScenarioError
from sim.model.region import SAMPLE_SERIAL, draw_cohort
from sim.model.world import simulate

SEED = 20140902
HUB = {
    "region": "North",
    "opens": "2015-01",
    "seats": 60,
    "intake_size": 20,
    "apply_probability": 0.1,
    "grants": {"per_startup_krw": 20_000_000, "per_round": 10, "annual_budget_krw": 600_000_000},
}
BIG = {
    "calendar": {
        "start": "2013-01",
        "horizon": "2021-12",
        "cohort_first_year": 2014,
        "cohort_last_year": 2016,
    },
    "regions": {
        "North": {"founding_rate_per_year": 3000},
        "South": {"founding_rate_per_year": 1500},
    },
    "centres": {"Hub": HUB},
}
POPULATION = ("startups", "survival_1y", "survival_3y", "survivors_5y", "alive_end", "jobs_end",
              "private_investment_krw", "crossed_valley", "acquired", "unsupported_survival_5y")
PROGRAMME = (
    "supported",
    "grants_krw",
    "public_cost_krw",
    "supported_survival_1y",
    "supported_survival_3y",
    "supported_by_2015_12",
)


def _metrics(make_scenario, weight: float, reps: range) -> dict[str, np.ndarray]:
    sc = make_scenario({**BIG, "sampling": {"full_below_apply": 0.2, "others_weight": weight}})
    rows = [replication_metrics(simulate(sc, SEED, r), sc.calendar) for r in reps]
    return {k: np.array([m[k] for m in rows]) for k in rows[0]}


@pytest.fixture(scope="module")
def runs(request):
    """The same small economy run with and without sampling the never-applicants (twelve
    replications each)."""
    make_scenario = request.getfixturevalue("make_scenario")
    reps = range(12)
    return _metrics(make_scenario, 1.0, reps), _metrics(make_scenario, 10.0, reps)


def test_the_weighted_run_and_the_full_run_agree_within_their_noise(runs):
    """Twelve replications each. The population's counts, sums and survival agree within four
    standard errors of the difference of means (the samples are independent draws); the programme's
    records are identical replication by replication, because every applicant is simulated in both
    runs."""
    full, weighted = runs
    for k in POPULATION:
        a, b = full[k], weighted[k]
        se = np.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
        assert abs(a.mean() - b.mean()) <= 4 * se + 1e-12, (k, a.mean(), b.mean(), se)
        # weights carried: unweighted counts would be ~1/7 of these
        assert b.mean() > 0.5 * a.mean(), k
    for k in PROGRAMME:
        np.testing.assert_array_equal(full[k], weighted[k], err_msg=k)
    assert full["supported"].min() > 100


def test_the_weighted_count_is_the_economys(runs, make_scenario):
    """The expected number of start-ups founded in the cohort window is known exactly (the founding
    rates over 2014-2016); the weighted runs' mean count is within four standard errors of it."""
    _, weighted = runs
    sc = make_scenario(BIG)
    expected = sum(sc.founding_intensity(r)[12:48].sum() for r in sc.regions)
    n = weighted["startups"]
    assert abs(n.mean() - expected) <= 4 * n.std(ddof=1) / np.sqrt(n.size), (n.mean(), expected)


def test_the_sample_is_drawn_apart_from_the_applicants(make_scenario):
    """Applicants (draw below the cut) have weight 1 and serials from 0; the sample of the others
    has weight ``others_weight``, draws at or above the cut, serials from SAMPLE_SERIAL, and about
    (1 - cut) / weight of the founding rate."""
    sc = make_scenario({**BIG, "sampling": {"full_below_apply": 0.2, "others_weight": 25}})
    c = draw_cohort(sc, "North", SEED, 3)
    keen = c.weight == 1.0
    assert (c.apply_u[keen] < 0.2).all() and (c.serial[keen] < SAMPLE_SERIAL).all()
    assert (c.apply_u[~keen] >= 0.2).all() and (c.weight[~keen] == 25).all()
    assert (c.serial[~keen] >= SAMPLE_SERIAL).all()
    assert (np.diff(c.founded) >= 0).all()
    total = sc.founding_intensity("North").sum()
    for n, mean in ((keen.sum(), 0.2 * total), ((~keen).sum(), 0.8 * total / 25)):
        assert abs(n - mean) <= 4 * np.sqrt(mean), (n, mean)
    # with everyone simulated the applicants' draws are the plain stream's (no sample, no thinning)
    everyone = draw_cohort(make_scenario(BIG), "North", SEED, 3)
    assert (everyone.weight == 1).all() and everyone.serial.max() < SAMPLE_SERIAL


def test_a_centre_keener_than_the_simulated_applicants_is_refused(make_scenario):
    """A centre keener on applicants than the sampled ones allow is refused, naming both keys."""
    with pytest.raises(ScenarioError) as exc:
        make_scenario({**BIG, "sampling": {"full_below_apply": 0.05, "others_weight": 10}})
    assert "centres.Hub.apply_probability" in exc.value.message
    assert "sampling.full_below_apply" in exc.value.message


def test_weighted_survival_equals_survival_of_the_rows_repeated():
    """A row of weight k counts as k rows: Kaplan-Meier, its pooled curve and the hazard by age
    agree with the unweighted estimators on the data with each row repeated k times."""
    from sim.analysis.survival import hazard_by_age, km_at, km_curve

    rng = np.random.default_rng(5)
    d = rng.exponential(30.0, 400)
    e = rng.random(400) < 0.7
    w = rng.integers(1, 6, 400).astype(float)
    rd, re_ = np.repeat(d, w.astype(int)), np.repeat(e, w.astype(int))
    ages = np.arange(0, 100, 6.0)
    np.testing.assert_allclose(km_at(d, e, ages, w), km_at(rd, re_, ages), rtol=1e-12)
    np.testing.assert_allclose(
        km_curve(d, e, ages, weights=w)[0], km_curve(rd, re_, ages)[0], rtol=1e-9
    )
    edges = np.arange(0, 121, 12.0)
    np.testing.assert_allclose(
        hazard_by_age(d, e, edges, w), hazard_by_age(rd, re_, edges), rtol=1e-12
    )
    # the band of a weighted curve is wider than Greenwood's on the repeated rows (it counts sampled
    # firms)
    lo_w, hi_w = km_curve(d, e, ages, weights=w)[1:]
    lo_r, hi_r = km_curve(rd, re_, ages)[1:]
    inside = np.isfinite(lo_w) & np.isfinite(lo_r) & (ages > 0)
    assert (hi_w - lo_w)[inside].min() > 0 and ((hi_w - lo_w) >= (hi_r - lo_r) - 1e-12)[
        inside
    ].all()


def test_money_and_hires_targets_are_probed_with_curves(make_scenario, shipped):
    """The programme targets' money and hires groups come out of the calibration probe as values and
    as cumulative curves by month (what `calibrate` plots), from the records' ledgers."""
    from sim.analysis.targets import MONTHLY, load_targets, target_values, yearly_curves

    targets = load_targets(shipped / "targets" / "programme.yaml")
    assert {"supported_investment_by", "supported_hires_by"} <= set(targets.groups)
    sc = make_scenario({**BIG, "sampling": {"full_below_apply": 0.2, "others_weight": 10}})
    rec = simulate(sc, SEED, 0)
    wanted = tuple((p.group, p.key) for p in targets.points if p.group in MONTHLY)
    out = target_values(rec, sc, wanted=wanted, curves=True)
    assert out["values"]["supported_investment_by_2018_09"] == pytest.approx(
        rec.raised[rec.raised[:, 0] < sc.calendar.month("2018-09") + 1, 1].sum())
    assert out["values"]["supported_hires_by_2018_09"] > 0
    for g in ("supported_investment_by", "supported_hires_by"):
        curve = np.array(out["curves"][g])
        assert (np.diff(curve) >= 0).all() and curve[-1] > 0  # cumulative
    assert set(yearly_curves(targets, {k: np.array([v]) for k, v in out["curves"].items()})) == {
        "supported_survival"
    }

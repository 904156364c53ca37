"""How sure the comparison is: Monte Carlo noise against what the published data leave open.

When a comparison ran over posterior draws (replication ``r`` with draw ``r mod K``, see
:mod:`sim.scenario.draws`), every difference has two uncertainties: simulation noise (what more
replications would shrink) and parameter uncertainty (the spread over the parameter sets the
targets allow, which only better evidence would shrink). :func:`first_lines` says in words which
one dominates, for the report's first lines; :func:`section` tabulates both for every comparison.
Every number comes from summary.json and the replications table.
"""

from __future__ import annotations

from ..analysis.findings import Findings
from .document import Paragraph, Section, Table
from .format import defined, fmt, pp, shown_path

SHOWN = (("survival_5y", "5-year survival", "share"), ("survivors_5y", "5-year survivors", "count"),
         ("jobs_end", "jobs at the horizon", "count"), ("public_cost_krw", "public cost", "krw"))


def draws(res: Findings) -> dict | None:
    """The experiment's posterior draws (manifest), or None for a fixed-parameter run."""
    return res.draws


def _diff(x, kind: str) -> str:
    if not defined(x):
        return "n/a"
    if kind == "share":
        return pp(x, 2)
    return ("+" if x >= 0 else "-") + fmt(abs(x), kind)


def _range(lo, hi, kind: str) -> str:
    return f"{_diff(lo, kind)} to {_diff(hi, kind)}" if defined(lo) and defined(hi) else "n/a"


def first_lines(res: Findings) -> list[Paragraph]:
    """The report's first lines on uncertainty: data against assumptions, in words, from the
    numbers."""
    d = draws(res)
    cf, base = res.counterfactual, res.baseline
    if not d or cf is None:
        return []
    ref = base or next((n for n in res.scenarios if n != cf), None)
    row = res.comparison(ref, cf, "survival_5y") if ref else None
    if not row or not defined(row.get("param_low")):
        return []
    k = len(d["values"])
    used = res.applied_in([ref, cf])  # only what the draws changed in these two scenarios
    if not used:
        return []
    lo, hi, mc = row["param_low"], row["param_high"], row.get("mc_half_width")
    half = 1.6449 * row["param_sd"] if defined(row.get("param_sd")) else (hi - lo) / 2.0
    prior_only = res.prior_only
    # a prior no data bear on (an extrapolation past the data) was never calibrated: no verdict
    verdicts = {key: v for key, v in (d.get("verdicts") or [])
                if key in used and key not in prior_only}
    assumed = [key for key in used if key in prior_only]
    open_keys = [key for key, v in verdicts.items() if v == "open"]
    narrowed = [key for key, v in verdicts.items() if v in ("pinned", "narrowed")]
    noise = f"±{100 * mc:.{2 if 100 * mc >= 0.01 else 3}f} pp" if defined(mc) else "n/a"
    text = (f"How sure is this? {ref} changes 5-year survival by {pp(row['diff'], 2)} on average "
            f"over {k} parameter sets that the published figures allow (drawn from the posterior "
            f"of {d.get('source', 'the calibration')}). Across those sets the change lies between "
            f"{pp(lo, 2)} and {pp(hi, 2)} (90 %), while "
            + (f"simulation noise is {noise} (95 %). " if row.get("separated") else
               f"the mean itself is estimated to {noise} (95 %, noise and the choice of sets "
               "together). "))
    if not row.get("separated"):
        text += ("With one replication per parameter set, simulation noise cannot be told apart "
                 "from the parameters' spread here (run two or more per set: -n at least twice "
                 "--draws). ")
    elif defined(mc) and mc > 0 and half >= 2 * mc:
        text += ("The spread between the parameter sets (simulation noise taken out) is "
                 f"{half / mc:.0f} times the simulation noise: the uncertainty comes from what the "
                 "data leave open, so more runs would not narrow it; better evidence on the "
                 "programme's effects would. ")
    elif defined(mc) and mc > 0 and half >= 0.5 * mc:
        text += ("The spread between the parameter sets (simulation noise taken out) is about as "
                 "large as the simulation noise: more runs would narrow part of the uncertainty, "
                 "better evidence on the programme's effects the rest. ")
    elif defined(mc):
        text += ("The spread between the parameter sets is not distinguishable from simulation "
                 "noise: for this difference the parameters the data leave open hardly matter, and "
                 "more replications (-n) would narrow it. ")
    if len(used) < len(d["keys"]):
        text += (f"The parameter sets vary {len(used)} of the posterior's {len(d['keys'])} "
                 f"parameters here ({_short_keys(used)}); {ref} and {cf} hold their own values "
                 "for the others. ")
    if verdicts:
        text += (
            f"The published figures narrowed {len(narrowed)} of the {len(verdicts)} uncertain "
            f"parameters and left {len(open_keys)} about as wide as assumed"
            + (f" ({_short_keys(open_keys)})" if open_keys else "")
            + (
                f": their ranges are assumptions, written in {shown_path(d['targets_file'])}. "
                if d.get("targets_file")
                else ". "
            )
        )
    if assumed:
        text += (f"{len(assumed)} more ({_short_keys(assumed)}) no published figure bears on "
                 "(the trends past the data): their draws come from their priors alone, "
                 f"assumptions stated in {shown_path(d['file'])}. ")
    p = row.get("prob_better")
    if defined(p):
        share = "all" if p == 1 else ("none" if p == 0 else f"{p:.0%}")
        text += f"In {share} of the {k} parameter sets {ref} raises 5-year survival."
    out = [Paragraph(text.strip())]
    spread = res.cost_spread
    if spread is not None:
        a, b, inf = spread["low"], spread["high"], spread["infinite"]
        out.append(Paragraph(
            "Public cost per additional 5-year survivor (cohort window) over the same parameter "
            f"sets: {max(a, 0) / 1e6:,.0f} M to {b / 1e6:,.0f} M KRW (90 %)"
            + (f"; in {inf} of {spread['draws']} sets the programme added no survivors, so it had "
               "no finite cost per survivor." if inf else ".")))
    return out


def section(res: Findings) -> Section | None:
    """Every comparison's mean, Monte Carlo half-width, 90 % interval over parameters and
    P(better)."""
    d = draws(res)
    if not d:
        return None
    s = Section("uncertainty", "Uncertainty: simulation noise and what the data leave open")
    k = len(d["values"])
    applied = res.applied
    used = res.applied_in(res.scenarios)
    s.add(Paragraph(
        f"Replication r of every scenario ran with parameter set r mod {k}, drawn from the "
        f"posterior in {shown_path(d['file'])} ({d.get('source', '')}): the values of "
        f"{', '.join(used) or 'none of its keys'} that the published targets allow"
        + (f" (of its {len(d['keys'])} parameters, the draws changed only these in this "
           "comparison)" if len(used) < len(d["keys"]) else "")
        + ". Within a parameter set every scenario sees the same start-ups (common random "
        "numbers). A scenario that sets one of these keys itself keeps its own value: that key "
        "is its lever."))
    kept = [f"{n}: keeps its own {_short_keys(sorted(set(used) - set(keys)))}"
            for n, keys in applied.items() if set(used) - set(keys) and n != res.counterfactual]
    if kept:
        s.add(Paragraph("Scenarios with their own values for some posterior "
                        "keys: " + "; ".join(kept) + "."))
    still = [n for n, keys in applied.items() if not keys and n != res.counterfactual]
    if still:
        s.add(Paragraph("The draws changed nothing in " + ", ".join(still) + ": "
                        + ("its" if len(still) == 1 else "their")
                        + " differences carry simulation noise only (n/a over parameters)."))
    rows = []
    for sc, ref in res.comparisons:
        for metric, label, kind in SHOWN:
            r = res.comparison(sc, ref, metric)
            if not r or not defined(r.get("diff")):
                continue
            mc = r.get("mc_half_width")
            rows.append(
                [
                    sc,
                    ref,
                    label,
                    _diff(r["diff"], kind),
                    ("±" + (f"{100 * mc:.2f} pp" if kind == "share" else fmt(mc, kind)))
                    if defined(mc)
                    else "n/a",
                    _range(r.get("param_low"), r.get("param_high"), kind),
                    f"{r['prob_better']:.0%}" if defined(r.get("prob_better")) else "n/a",
                ]
            )
    if rows:
        s.add(Table("uncertainty", "Each difference with both of its uncertainties",
                    ["scenario", "reference", "metric", "mean", "simulation noise (95 %)",
                     "over parameters (90 %)", "P(better)"], rows,
                    ["mean: over every replication, hence over the parameter sets. Simulation "
                     "noise: 95 % half-width of that mean from the spread of replications within a "
                     "parameter set (what more replications shrink; with one replication per set, "
                     "the spread over all of them). Over parameters: the central 90 % of the "
                     "parameter sets' own differences (from 20 sets on, their quantiles; with "
                     "fewer, a normal spread); each set's difference carries its replications' "
                     "noise, so the range is a little wide, never narrow.",
                     "P(better): the share of parameter sets in which the scenario does better "
                     "than the reference (more survival, survivors and jobs; less public cost); a "
                     "tie counts half."]))
    return s


def _short_keys(keys) -> str:
    """Dotted keys by their last two parts (``training.hazard_multiplier_after``)."""
    return ", ".join(".".join(k.split(".")[-2:]) for k in keys)

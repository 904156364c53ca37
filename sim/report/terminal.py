"""What the terminal shows at the end of each study (stdout), as lines laid out for its width.

The command line prints these lines and nothing else of its own; every number comes from the study's
outcome (summary.json, sensitivity.json, optimize.json, posterior.json), never computed here.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from .format import krw_text
from .tables import SUPPORTED_NOTE, headline_lines, undefined_notes


def headline(summary: dict, scenarios: list[str], width: int) -> list[str]:
    """The headline table (means; 95% CIs in the reports) fitted to ``width``, with its notes."""
    lines = headline_lines(summary, scenarios, width)
    for note in [SUPPORTED_NOTE, *undefined_notes(summary, scenarios)]:
        lines += textwrap.wrap(note, max(40, width))
    return lines


def unit_of(decision: dict) -> str:
    """What one unit of a decision's effect is: ``survivor`` or ``job``."""
    return "job" if "jobs" in str(decision.get("outcome")) else "survivor"


def wtp_words(decision: dict) -> str:
    """Where the planner's willingness to pay comes from, in a few words."""
    source = str(decision.get("wtp_source") or "")
    if source == "given":
        return "the --wtp given"
    if source.startswith("the public cost per additional unit of "):
        return f"what {source.removeprefix('the public cost per additional unit of ')} pays"
    return source or "assumed"


def frontier_text(decision: dict) -> str:
    """The frontier from the cheapest option, each step with its cost per additional unit."""
    unit = unit_of(decision)
    icer = {o["scenario"]: o.get("icer_krw") for o in decision["options"]}
    steps = []
    for n in decision["frontier"]:
        r = icer.get(n)
        steps.append(n if r is None else f"{n} ({krw_text(r)} per additional {unit})")
    return " -> ".join(steps)


def decision_lines(decision: dict | None, width: int) -> list[str]:
    """The choice in two sentences: the efficient frontier, and the option with the highest
    expected net benefit at the planner's willingness to pay with how often it is the best."""
    if not decision:
        return []
    unit = unit_of(decision)
    wtp = decision["wtp_krw"]
    best = decision.get("best_at_wtp")
    grid = decision["wtp_grid_krw"]
    at = min(range(len(grid)), key=lambda i: abs(grid[i] - wtp))
    rows = {r["option"]: r for r in (decision.get("robust") or {}).get("options", [])}
    prob = decision["ceac"].get(best, [None] * len(grid))[at]
    nb = (rows.get(best) or {}).get("expected")
    text = [f"frontier (cheapest first): {frontier_text(decision)}."]
    choice = (f"highest expected net benefit at {krw_text(wtp)} per additional {unit} "
              f"({wtp_words(decision)}): {best} ({krw_text(nb, signed=True)} against "
              f"{decision.get('counterfactual')}")
    if prob is not None and decision.get("draws", 1) > 1:
        choice += f"; the best in {100 * prob:.0f} % of the {decision['draws']} parameter sets"
    text.append(choice + ").")
    out = []
    for t in text:
        out += textwrap.wrap(t, max(40, width), subsequent_indent="  ")
    return out


def precision_line(rows: list[dict]) -> str | None:
    """One line: how precisely the worst difference against the counterfactual is known (None when
    no difference has an interval). ``rows``: :func:`sim.analysis.summary.precision_check`'s."""
    defined = [r for r in rows if r["met"] is not None]
    if not defined:
        return None
    worst = max(defined, key=lambda r: r["half_width"] / r["target"])
    missed = [r["scenario"] for r in defined if not r["met"]]
    return ("precision: 95% CI half-width of each 5-year survival difference against the "
            f"counterfactual: worst {100 * worst['half_width']:.3f} pp ({worst['scenario']}, "
            f"{worst['half_width'] / worst['target']:.2f} of its target); "
            + (f"target missed by {', '.join(missed)}: add replications (-n)." if missed
               else "every target met."))


def report_lines(paths: dict, label: str = "report: ") -> list[str]:
    """Where a study's pages are: the HTML page, then the Markdown one beneath it."""
    return [f"{label} {paths['html']}", f"{' ' * len(label)} {paths['markdown']}"]


def sweep_lines(analysis: dict) -> list[str]:
    """The three parameters that matter most (total Sobol' index, with its CI)."""
    method = ("Saltelli design" if analysis["primary"] == "saltelli"
              else f"{analysis['surrogate']['degree']} surrogate")
    out = [f"which parameters matter most for {analysis['metric']} (total Sobol' index, {method}):"]
    for r in analysis["table"][:3]:
        ci = r["total_ci"]
        ci = f" [{ci[0]:.2f}, {ci[1]:.2f}]" if ci and None not in ci else ""
        tot = "n/a" if r["total"] is None else f"{r['total']:.2f}"
        out.append(f"  {r['rank']}. {r['param']}: {tot}{ci}")
    return out


def optimize_lines(result: dict, root: Path) -> list[str]:
    """The verdict, the best allocation (or the top finalist) with its cost, and the files."""
    b = result["best"]
    o = b["objective"]
    v = result.get("verdict", "best")
    out = [f"verdict: {result.get('verdict_text', 'the best allocation found')}"]
    name = "best allocation" if v in ("best", "beats-baseline") else "top finalist"
    if result.get("robust"):
        value = (f"net benefit {krw_text(o['mean'], signed=True)} [{krw_text(o['ci_low'])}, "
                 f"{krw_text(o['ci_high'])}]")
    else:
        value = (f"{result['objective']} = {o['mean']:,.1f} [{o['ci_low']:,.1f}, "
                 f"{o['ci_high']:,.1f}]")
    out.append(f"{name} ({value}, planned cost {b['planned_cost_krw'] / 1e9:,.1f} bn of "
               f"{result['budget_krw'] / 1e9:,.1f} bn KRW; simulated programme cost "
               f"{(b['simulated_cost_krw'] or {}).get('mean', 0) / 1e9:,.1f} bn):")
    out += [f"  {k} = {val}" for k, val in b["allocation"].items()]
    r = result.get("robust")
    if r:
        place = "on the frontier" if r["dominated"] is None else f"{r['dominated']} dominated"
        out.append(f"robust choice ({r['objective']}, {r['draws']} posterior draws, at "
                   f"{krw_text(r['wtp_krw'])} per additional unit): {r['choice']}; expected net "
                   f"benefit {krw_text(r['expected'], signed=True)}, largest regret "
                   f"{krw_text(r['max_regret'])}, best in {100 * r['prob_best']:.0f} % of the "
                   f"draws, {place}")
    vs = b.get("vs_baseline")
    if vs and vs.get("diff") is not None and r:
        lo, hi = (krw_text(vs[k], signed=True) for k in ("ci_low", "ci_high"))
        out.append(f"vs {result['baseline']['name']}: {krw_text(vs['diff'], signed=True)} "
                   f"[{lo}, {hi}]")
    elif vs and vs.get("diff") is not None:
        out.append(f"vs {result['baseline']['name']}: {vs['diff']:+,.1f} [{vs['ci_low']:+,.1f}, "
                   f"{vs['ci_high']:+,.1f}]")
    return out + [f"results:  {root}", f"report:   {result['files']['markdown']}",
                  f"scenario: {result['files']['scenario']}"]


def posterior_lines(result: dict, root: Path) -> list[str]:
    """Each parameter's verdict and 90 % interval against its prior, and the files."""
    out = [f"posterior of {result['scenario']} given {result['targets_name']}: "
           f"{result['simulated_points']} simulated points, {result['draws']} draws"]
    for p in result["parameters"]:
        lo, hi = p["posterior_90"]
        plo, phi = p["prior_90"]
        out.append(f"  {p['key']}: {p['verdict']}, 90 % {lo:.4g} .. {hi:.4g} (prior {plo:.4g} .. "
                   f"{phi:.4g})")
    return out + [f"results: {root}", f"report:  {result['files']['markdown']}"]

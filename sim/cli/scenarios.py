"""Commands that read scenario files without running them: ``validate`` and ``show``."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import ScenarioError


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE")
def validate(files, overrides):
    """Check scenario files; print each one's name and hash, or every problem found."""
    from ..scenario import load_scenario, scenario_hash

    problems = []
    for f in files:
        try:
            sc = load_scenario(f, overrides)
            click.echo(f"ok  {f}  (name: {sc.name}, hash: {scenario_hash(sc)}, "
                       f"{len(sc.regions)} regions, {len(sc.active_centres)} centres)")
        except ScenarioError as exc:
            problems.append(exc.message)
    if problems:
        raise ScenarioError("\n".join(problems))


@click.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE")
def show(file, overrides):
    """Print the fully resolved scenario (after extends and --set) as YAML."""
    from ..scenario import dump_yaml, load_scenario, resolved_dict

    click.echo(dump_yaml(resolved_dict(load_scenario(file, overrides))), nl=False)


@click.command()
def keys():
    """Print every scenario key with its type, unit, range, default and meaning (Markdown).

    The same text is saved as docs/scenario-keys.md.
    """
    from ..scenario.reference import reference_markdown

    click.echo(reference_markdown(), nl=False)

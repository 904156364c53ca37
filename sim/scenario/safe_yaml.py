"""Reading YAML safely: PyYAML's safe loader with limits against alias bombs and absurd nesting,
reading numbers as YAML 1.2 does.

Scenario files (:mod:`sim.scenario.loader`), ``--set`` values (:mod:`sim.scenario.keys`), targets
files and history files (:func:`load_yaml_text`) are all read with :class:`SafeLoader`, so a hostile
text costs no more memory or time than a sane one, and an unquoted range ``3:1`` is the text
"3:1", not YAML 1.1's base-60 number 181.
"""

from __future__ import annotations

import re

import yaml

MAX_DEPTH = 40
"""Deepest nesting of mappings and lists a scenario file may have."""


NUMBERS = {
    "tag:yaml.org,2002:int": re.compile(r"""^(?:[-+]?0b[0-1_]+
                                        |[-+]?(?:0|[1-9][0-9_]*)
                                        |[-+]?0x[0-9a-fA-F_]+)$""", re.X),
    "tag:yaml.org,2002:float": re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
                                          |\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
                                          |[-+]?\.(?:inf|Inf|INF)
                                          |\.(?:nan|NaN|NAN))$""", re.X),
}
"""YAML 1.1's number patterns without its base-60 numbers and leading-zero octals (as YAML 1.2
reads them): unquoted ``3:1`` stays the text "3:1" (a range to parse, with its own message)
instead of the number 181, ``1:30`` is not 90, and ``010`` is text that validation reads as 10,
not octal 8."""


def _yaml12_numbers(resolvers: dict) -> dict:
    return {first: [(tag, NUMBERS.get(tag, rx)) for tag, rx in items]
            for first, items in resolvers.items()}


class SafeLoader(yaml.SafeLoader):
    """Safe loader that refuses alias bombs and absurd nesting before they cost memory, and reads
    numbers as YAML 1.2 does (no base-60 ``3:1`` = 181, no octal ``010`` = 8; see
    :data:`NUMBERS`)."""

    yaml_implicit_resolvers = _yaml12_numbers(yaml.SafeLoader.yaml_implicit_resolvers)

    def __init__(self, stream):
        """A loader of ``stream`` that counts its aliases."""
        super().__init__(stream)
        self._aliases = 0

    def compose_node(self, parent, index):
        """Compose a node, refusing more than 100 aliases and more than :data:`MAX_DEPTH` levels."""
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > 100:
                raise yaml.YAMLError("too many aliases (more than 100): refusing a possible alias "
                                     "bomb")
        depth = getattr(self, "_depth", 0)
        if depth > MAX_DEPTH:
            raise yaml.YAMLError(f"nesting deeper than {MAX_DEPTH} levels")
        self._depth = depth + 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth = depth

    def construct_object(self, node, deep=False):
        """Build a value; a scalar PyYAML recognises but cannot build is a YAML error at its
        position."""
        # PyYAML's own constructors raise plain ValueError & co. for scalars they recognise but
        # cannot build (2015-13-45 as a date, !!float abc, an int of 5,000 digits): make them
        # YAML errors with the position of the value.
        try:
            return super().construct_object(node, deep=deep)
        except yaml.YAMLError:
            raise
        except (ValueError, TypeError, ArithmeticError) as exc:
            what = (
                f"the value {short(node.value)}" if isinstance(node, yaml.ScalarNode) else "a value"
            )
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read {what} "
                            f"({short(str(exc), 120, quote=False)})", node.start_mark) from None


def load_yaml_text(text: str):
    """YAML text as plain data, read the way scenario files are (:class:`SafeLoader`: alias and
    depth limits, YAML 1.2 numbers); raises ``yaml.YAMLError`` (or RecursionError) for text it
    cannot read."""
    return yaml.load(text, Loader=SafeLoader)  # noqa: S506 - a yaml.SafeLoader with limits


def short(value, limit: int = 80, quote: bool = True) -> str:
    """``repr(value)`` (or ``str`` with ``quote=False``) cut to about ``limit`` characters."""
    try:
        text = repr(value) if quote else str(value)
    except (RecursionError, ValueError):  # pragma: no cover - defensive
        text = f"<{type(value).__name__}>"
    if len(text) <= limit:
        return text
    return f"{text[:limit - 20]}... ({len(text):,} characters)"

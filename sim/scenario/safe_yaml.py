"""Reading YAML safely: PyYAML's safe loader with limits against alias bombs and absurd nesting.

Both scenario files (:mod:`sim.scenario.loader`) and ``--set`` values (:mod:`sim.scenario.keys`)
are read with :class:`SafeLoader`, so a hostile text costs no more memory or time than a sane one.
"""

from __future__ import annotations

import yaml

MAX_DEPTH = 40
"""Deepest nesting of mappings and lists a scenario file may have."""


class SafeLoader(yaml.SafeLoader):
    """Safe loader that refuses alias bombs and absurd nesting before they cost memory."""

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


def short(value, limit: int = 80, quote: bool = True) -> str:
    """``repr(value)`` (or ``str`` with ``quote=False``) cut to about ``limit`` characters."""
    try:
        text = repr(value) if quote else str(value)
    except (RecursionError, ValueError):  # pragma: no cover - defensive
        text = f"<{type(value).__name__}>"
    if len(text) <= limit:
        return text
    return f"{text[:limit - 20]}... ({len(text):,} characters)"

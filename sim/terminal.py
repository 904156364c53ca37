"""Lines a planner reads in the terminal (the plan, the precision reached), made to fit its width.

The width is the terminal's (``COLUMNS`` when set, as ``shutil.get_terminal_size`` reads it), or
100 columns when the output is not a terminal. A line longer than that is wrapped at spaces, its
continuation indented, so no line of the plan is wider than the terminal.
"""

from __future__ import annotations

import shutil
import textwrap

FALLBACK_COLUMNS = 100
"""Width when the output is not a terminal and COLUMNS is not set (a log file, a pipe)."""


def columns() -> int:
    """The terminal's width in characters (at least 40)."""
    return max(40, shutil.get_terminal_size((FALLBACK_COLUMNS, 24)).columns)


def fit(text: str, width: int | None = None) -> str:
    """``text`` wrapped at spaces to ``width`` (default: the terminal's), continuation lines
    indented."""
    width = width or columns()
    return "\n".join(textwrap.wrap(text, width, subsequent_indent="  ", break_long_words=False,
                                   break_on_hyphens=False)) or text


def count(n: float) -> str:
    """A count as a planner reads it at a glance: 33.0 M, 235,000."""
    return f"{n / 1e6:,.1f} M" if abs(n) >= 1e6 else f"{n:,.0f}"

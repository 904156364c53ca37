"""The building blocks of the scenario schema: value types with their ranges, dates, the strict
base.

Shared by :mod:`schema` (the scenario) and :mod:`funding` (its money: channels, the venture market,
public funds), so both sections validate and read the same way.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

STAGES = ("prototype", "product", "traction")
"""The stages of the valley, in order. Reaching the end of ``traction`` is crossing the valley."""

_DATE = re.compile(r"^(\d{4})-(\d{2})$")

Probability = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
NonNegative = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]
Positive = Annotated[float, Field(gt=0.0, allow_inf_nan=False)]
Multiplier = Annotated[float, Field(ge=0.0, le=1000.0, allow_inf_nan=False)]
Money = Annotated[float, Field(ge=0.0, le=1e16, allow_inf_nan=False)]
Count = Annotated[int, Field(ge=0, le=10_000_000)]


def parse_month(value: str) -> tuple[int, int]:
    """Parse ``YYYY-MM`` into (year, month); raise ValueError with a readable message."""
    m = _DATE.match(str(value))
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise ValueError(f"a date as YYYY-MM (for example 2015-03), found {value!r}")
    return int(m.group(1)), int(m.group(2))


def coerce_date(value: object) -> str:
    """A scenario date as ``YYYY-MM``: YAML reads 2015-03 as a string but 2015-03-16 as a date, so
    accept both and keep the month."""
    if hasattr(value, "year") and hasattr(value, "month"):
        return f"{value.year:04d}-{value.month:02d}"
    if not isinstance(value, str):
        raise ValueError(f"a date as YYYY-MM (for example 2015-03), found {value!r}")
    if re.match(r"^\d{4}-\d{2}-\d{2}$", value):
        value = value[:7]
    parse_month(value)
    return value


Month = str
"""A month as YYYY-MM (a YAML date is accepted and cut to its month)."""


class Strict(BaseModel):
    """Base for every section: unknown keys are errors, the result is immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True,
                              use_attribute_docstrings=True)

"""A categorical column: names held as small integer codes, what a worker sends for a text column.

(Not to be confused with :mod:`sim.model.codes`, the model's own numbered outcomes, causes and
stages: those are fixed enumerations; a :class:`Categorical` is any text column in transit.)

A replication's start-up table and a comparison's twins carry names (region, sector, centre,
outcome) for hundreds of thousands of rows. As Python strings they cost a string object per row to
build, to pickle from the worker and to turn into Arrow; as codes into a short list of names they
cost a numpy array, and Arrow expands them to text in C (:meth:`Categorical.to_arrow`). The files
hold plain text columns either way.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Categorical:
    """Row ``i`` is ``names[codes[i]]``; a negative code, or a name that is None, is a missing
    value."""

    codes: np.ndarray
    names: tuple[str | None, ...]

    @classmethod
    def of(cls, codes, names: Sequence[str | None]) -> Categorical:
        """The column whose row ``i`` is ``names[codes[i]]``."""
        return cls(np.asarray(codes), tuple(names))

    def __len__(self) -> int:
        """The number of rows."""
        return len(self.codes)

    def __iter__(self) -> Iterator[str | None]:
        """The rows' names, in order."""
        return iter(self.tolist())

    def tolist(self) -> list[str | None]:
        """The rows' names as a list (None where missing)."""
        names = self.names
        return [names[i] if i >= 0 else None for i in self.codes.tolist()]

    def to_arrow(self):
        """A pyarrow string array (nulls where missing), built in C."""
        import pyarrow as pa

        codes = self.codes.astype(np.int32)
        missing = codes < 0
        gone = [i for i, n in enumerate(self.names) if n is None]
        if gone:
            missing |= np.isin(codes, gone)
        names = pa.array([n or "" for n in self.names] or [""], pa.string())
        indices = pa.array(
            np.where(missing, 0, codes), pa.int32(), mask=missing if missing.any() else None
        )
        return pa.DictionaryArray.from_arrays(indices, names).cast(pa.string())


def repeated(name: str, n: int) -> Categorical:
    """``name`` on each of ``n`` rows (a part's scenario column)."""
    return Categorical(np.zeros(n, np.int8), (name,))


def arrow_columns(columns: dict) -> dict:
    """``columns`` with each :class:`Categorical` column as a pyarrow string array (others
    unchanged)."""
    return {k: v.to_arrow() if isinstance(v, Categorical) else v for k, v in columns.items()}

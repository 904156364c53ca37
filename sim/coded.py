"""A column of names held as small integer codes: what a worker sends for a text column.

A replication's start-up table and a comparison's twins carry names (region, sector, centre,
outcome) for hundreds of thousands of rows. As Python strings they cost a string object per row
to build, to pickle from the worker and to turn into Arrow; as codes into a short list of names
they cost a numpy array, and Arrow expands them to text in C (:meth:`Coded.to_arrow`). The files
hold plain text columns either way.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Coded:
    """Row ``i`` is ``names[codes[i]]``; a negative code, or a name that is None, is a missing value."""

    codes: np.ndarray
    names: tuple[str | None, ...]

    @classmethod
    def of(cls, codes, names: Sequence[str | None]) -> Coded:
        return cls(np.asarray(codes), tuple(names))

    def __len__(self) -> int:
        return len(self.codes)

    def __iter__(self) -> Iterator[str | None]:
        return iter(self.tolist())

    def tolist(self) -> list[str | None]:
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
        indices = pa.array(np.where(missing, 0, codes), pa.int32(), mask=missing if missing.any() else None)
        return pa.DictionaryArray.from_arrays(indices, names).cast(pa.string())


def repeated(name: str, n: int) -> Coded:
    """``name`` on each of ``n`` rows (a part's scenario column)."""
    return Coded(np.zeros(n, np.int8), (name,))


def arrow_columns(columns: dict) -> dict:
    """``columns`` with each :class:`Coded` column as a pyarrow string array (others unchanged)."""
    return {k: v.to_arrow() if isinstance(v, Coded) else v for k, v in columns.items()}

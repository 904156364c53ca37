"""The results folder: crash-safe, resumable, never silently overwritten.

Layout of an experiment folder::

    manifest.json          status (running / interrupted / failed / complete), scenarios, seed,
                           versions
    parts/                 one small Parquet file per finished task, written atomically
    failures.json          tasks that raised, with the command that replays each
    replications.parquet   one row per (scenario, replication), one column per metric
    regions.parquet        one row per (scenario, replication, region)
    years.parquet          one row per (scenario, replication, calendar year): the yearly ledger
    startups.parquet       one row per start-up of the kept replications
    summary.json           means and confidence intervals (and comparisons)

Every file is written to a temporary name and renamed into place, so a crash leaves either
the old file or the new one. A task counts as done when its metrics part exists (written last).
``replications.parquet`` and friends are assembled from the parts at the end, a bounded row group
of parts at a time (:data:`ROW_GROUP_BYTES`), so memory stays flat however many replications ran.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..analysis.dictionary import field_metadata
from ..background import parallel_map, prefetched
from ..categorical import arrow_columns, repeated
from ..errors import UsageError
from ..files import atomic_write_json, atomic_write_table, write_error
from .folder import (
    LOCK,
    PARTS_DIR,
    TABLES,
    FolderLock,
    check_force,
    clear_owned,
    marker,
    unreadable_part,
    writer_info,
)
from .task import Task

PARTS = PARTS_DIR
KINDS = tuple(TABLES)
ROW_GROUP_BYTES = 64 * 2**20
"""Parts are gathered into row groups of about this size when consolidated: a third smaller files
than a row group per task (a comparison's probes: 63 MB against 93 MB) and a quarter faster, with
memory still bounded."""
OUTPUTS = TABLES
PLAIN = {"probe": ("serial", "founded_month", "age_end", "support_age", "quality")}
"""Columns of a final table written without a dictionary: one distinct value a row or nearly (a
firm's serial, months as float32), where Parquet's dictionary fills up, is dropped for the column
and only costs its time. probes.parquet: 0.75 of the writing time, half the reading time, a tenth
smaller; ``support_age`` (4.3 million distinct values in the 40-draw comparison's 41.7 million
rows) alone took 3.1 s to write with a dictionary, 0.8 s without, for a file 10 MB larger. The
other tables keep Parquet's default (every column tried)."""


class ResultsStore:
    """One experiment folder."""

    def __init__(self, root: Path):
        """The results folder ``root`` (neither created nor locked: :meth:`create`, :meth:`open`).
        """
        self.root = Path(root)
        self._lock: FolderLock | None = None

    # -- lifecycle ------------------------------------------------------------------------------
    @classmethod
    def create(
        cls, root: Path, manifest: dict, force: bool = False, parts: bool = True
    ) -> ResultsStore:
        """A new results folder holding ``manifest`` (and a ``parts/`` folder unless ``parts`` is
        False), locked for this process until :meth:`release`.

        An existing folder with results is replaced only with ``force``, only if valleysim can prove
        it is its own, only if nobody is writing it, and only if it holds nothing but valleysim's
        files (see :mod:`sim.experiment.folder`).
        """
        root = Path(root)
        if root.exists() and not root.is_dir():
            raise UsageError(f"{root}: is a file, not a folder; choose another --out for the "
                             "results.")
        lock = FolderLock(root)
        if root.exists() and any(p.name != LOCK for p in root.iterdir()):
            if not force:
                raise UsageError(
                    f"{root}: already holds results. valleysim never overwrites results: choose "
                    f"another --out, continue an interrupted run with --resume {root}, or pass "
                    "--force to replace it.")
            check_force(root)  # refuses, touching nothing
            lock.acquire()
            try:
                check_force(root)  # again, now that nobody else can write it
                clear_owned(root)
            except BaseException:
                lock.release()
                raise
        else:
            try:
                root.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise write_error(root, exc) from None
            lock.acquire()
        try:
            if parts:
                (root / PARTS).mkdir(parents=True, exist_ok=True)
            store = cls(root)
            store._lock = lock
            store.write_manifest({**marker(), **manifest, "writer": writer_info()})
        except OSError as exc:
            lock.release()
            raise write_error(root, exc) from None
        except BaseException:
            lock.release()
            raise
        return store

    @classmethod
    def open(cls, root: Path, *, write: bool = False) -> ResultsStore:
        """An existing results folder; with ``write``, locked for this process until
        :meth:`release`."""
        root = Path(root)
        if not (root / "manifest.json").is_file():
            raise UsageError(f"{root}: no manifest.json here, so there is nothing to resume or "
                             "report. Give the folder a previous run wrote.")
        store = cls(root)
        if write:
            store._lock = FolderLock(root).acquire()
        return store

    def release(self) -> None:
        """Give up the right to write the folder (the run is over)."""
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    # -- manifest -------------------------------------------------------------------------------
    @property
    def manifest_path(self) -> Path:
        """The manifest's path."""
        return self.root / "manifest.json"

    def read_manifest(self) -> dict:
        """The manifest as it is on disk (a UsageError if it cannot be read)."""
        try:
            return json.loads(self.manifest_path.read_text())
        except (OSError, ValueError) as exc:
            raise UsageError(f"{self.manifest_path}: cannot be read ({exc}).") from None

    def write_manifest(self, manifest: dict) -> None:
        """Replace the manifest (atomically)."""
        atomic_write_json(self.manifest_path, manifest)

    def update_manifest(self, **changes) -> dict:
        """Record ``changes`` in the manifest; return it."""
        m = self.read_manifest()
        m.update(changes)
        self.write_manifest(m)
        return m

    # -- parts ----------------------------------------------------------------------------------
    def _part(self, task: Task, kind: str) -> Path:
        return self.root / PARTS / f"{task.key}.{kind}.parquet"

    def completed(self) -> set[str]:
        """Keys of tasks whose parts are on disk and whole (the metrics part is written last).

        A task whose part is cut short or corrupt (a disk that failed, a file edited by hand)
        loses all its parts here, so it runs again.
        """
        d = self.root / PARTS
        if not d.is_dir():
            return set()
        done = set()
        for p in d.glob("*.metrics.parquet"):
            key = p.name.split(".")[0]
            mine = list(d.glob(f"{key}.*.parquet"))
            if any(unreadable_part(q) for q in mine):
                for q in mine:
                    with contextlib.suppress(OSError):
                        q.unlink()
                continue
            done.add(key)
        return done

    def write_task(self, result: dict) -> None:
        """Write one finished task: start-ups and regions first, the metrics part last."""
        task: Task = result["task"]
        base = {"scenario": task.scenario, "replication": task.replication}
        for kind in KINDS:  # every table of columns first (start-ups, twins, ...), the metrics last
            columns = result.get(kind) if kind not in ("metrics", "regions") else None
            if columns:
                n = len(next(iter(columns.values())))
                cols = {
                    "scenario": repeated(task.scenario, n),
                    "replication": np.full(n, task.replication),
                    **columns,
                }
                table = pa.table(arrow_columns(cols))
                atomic_write_table(self._part(task, kind), table,
                                   use_dictionary=_text_columns(table.schema))
        regions = [{**base, **row} for row in result["regions"]]
        if regions:
            atomic_write_table(self._part(task, "regions"), pa.Table.from_pylist(regions))
        row = {
            **base,
            **result["metrics"],
            "events": result.get("events", 0),
            "startups_simulated": result.get("startups_count", 0),
            "seconds": result.get("seconds", 0.0),
        }
        atomic_write_table(self._part(task, "metrics"), pa.Table.from_pylist([row]))

    def consolidate(self, order: Iterable[Task]) -> dict[str, Path]:
        """Assemble the parts into the final Parquet files, in plan order, a row group of parts at a
        time, one file after another (always in the same order, so that a full disk or an interrupt
        finds the same files written whatever the machine's timing: two files at once made that
        timing-dependent, see docs/performance.md)."""
        order = list(order)
        done = [self._consolidate(kind, order) for kind in KINDS]
        return {kind: out for kind, out in zip(KINDS, done, strict=True) if out is not None}

    def _consolidate(self, kind: str, order: list[Task]) -> Path | None:
        """One kind's parts in plan order as its final file (None: no part of that kind)."""
        out = self.root / OUTPUTS[kind]
        tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
        writer = None
        written = False
        try:
            # One schema for all parts: a column that is all-null in the first part (e.g. no
            # start-up supported in the counterfactual) or whole numbers there (costs of 0)
            # must not fix the type for the parts that follow.
            present = [p for p in (self._part(t, kind) for t in order) if p.exists()]
            # each part's footer is read once: for the common schema here, for its rows below
            footers = parallel_map(pq.read_metadata, present, threads=2)
            schema = pa.unify_schemas([f.schema.to_arrow_schema() for f in footers],
                                      promote_options="permissive") if present else None
            if schema is not None:
                schema = _documented(schema, OUTPUTS[kind])
            batch: list[pa.Table] = []
            batch_bytes = 0
            # the next part is read while this one is encoded (Arrow works off the GIL)
            for table in prefetched(_read_part, zip(present, footers, strict=True)):
                if table.schema != schema:
                    table = _conform(table, schema)
                if writer is None:
                    writer = pq.ParquetWriter(tmp, schema, compression="zstd",
                                              **_encoding(kind, schema))
                elif table.schema != writer.schema:
                    table = table.cast(writer.schema)
                batch.append(table)
                batch_bytes += table.nbytes
                if batch_bytes >= ROW_GROUP_BYTES:
                    writer.write_table(pa.concat_tables(batch))
                    batch, batch_bytes = [], 0
            if batch:
                writer.write_table(pa.concat_tables(batch))
            if writer is not None:
                writer.close()
                writer = None
                os.replace(tmp, out)
                written = True
        except OSError as exc:
            if writer is not None:
                writer.close()
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise write_error(out, exc) from None
        return out if written else None

    def drop_parts(self) -> None:
        """Delete the task parts (once the final files are in place)."""
        shutil.rmtree(self.root / PARTS, ignore_errors=True)

    def remove_stale_temporaries(self) -> None:
        """Delete half-written ``.NAME.tmp-PID`` files a killed run left behind (never counted as
        done)."""
        for d in (self.root, self.root / PARTS):
            if d.is_dir():
                for p in d.glob(".*.tmp-*"):
                    with contextlib.suppress(OSError):
                        p.unlink()

    # -- reading back ---------------------------------------------------------------------------
    def read_metrics(self, below: int | None = None) -> pa.Table:
        """Finished replications' metrics, optionally only replications ``< below``.

        Read from the parts while they exist (they are the truth during a run, and after a
        run that ended with failures), else from the final ``replications.parquet``.
        """
        parts = sorted((self.root / PARTS).glob("*.metrics.parquet"))
        if parts:
            # thousands of one-row files: two at a time (Arrow decodes them off the GIL)
            table = pa.concat_tables(parallel_map(read_part, parts, threads=2),
                                     promote_options="permissive")
        else:
            final = self.root / OUTPUTS["metrics"]
            if not final.exists():
                return pa.table({})
            table = pq.read_table(final)
        if below is not None and table.num_rows:
            import pyarrow.compute as pc

            table = table.filter(pc.less(table["replication"], below))
        return table


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` with ``schema``'s columns in order (missing ones as nulls), cast to its types."""
    cols = [
        table.column(f.name).cast(f.type)
        if f.name in table.schema.names
        else pa.nulls(table.num_rows, f.type)
        for f in schema
    ]
    return pa.Table.from_arrays(cols, schema=schema)


def _documented(schema: pa.Schema, file: str) -> pa.Schema:
    """``schema`` with each known column's unit, definition and kind as field metadata (the data
    dictionary)."""
    fields = []
    for f in schema:
        meta = field_metadata(file, f.name)
        fields.append(f.with_metadata(meta) if meta else f)
    return pa.schema(fields, metadata=schema.metadata)


def _read_part(part: tuple[Path, pq.FileMetaData]) -> pa.Table:
    return read_part(*part)


def read_part(path: Path, footer: pq.FileMetaData | None = None) -> pa.Table:
    """A task part (a small Parquet file) as a table: the same table as ``pq.read_table``, without
    its dataset machinery (a third of the time for the metrics' one-row parts), from its
    ``footer`` when it was read already."""
    return pq.ParquetFile(path, metadata=footer).read()


def _text_columns(schema: pa.Schema) -> list[str]:
    """The text columns of ``schema`` (scenario, region, ...): a task part's only columns worth a
    dictionary. Parts are temporary and consolidation encodes the final tables afresh, so their
    encoding changes no result; trying a dictionary for every numeric column was about half of the
    parent's time writing a comparison's parts."""
    return [f.name for f in schema
            if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)]


def _encoding(kind: str, schema: pa.Schema) -> dict:
    """The final table's Parquet options beyond compression (see :data:`PLAIN`)."""
    plain = PLAIN.get(kind)
    if not plain:
        return {}
    return {"use_dictionary": [f.name for f in schema if f.name not in plain]}

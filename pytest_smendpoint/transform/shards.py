"""sm_transform's input as S3 objects: a DataFrame, or CSV or Parquet files, checked by
sm_invoke's rules (labels dropped, features checked, values refused as sm_invoke refuses them)
and written as headerless CSV into a few objects (shards, so every instance of the job gets
work), streamed: at most one object (MAX_OBJECT_BYTES) is encoded in memory at a time, and goes
up as one PutObject.

Rows keep their order: shard 0 holds the first rows, shard 1 the next, and so on, so the job's
`.out` objects, read in shard order, hold the predictions in the input's order."""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Hashable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pytest_smendpoint.invoke.csv_payloads import CsvEncoder, line_ends, row_bytes_bound
from pytest_smendpoint.invoke.errors import FrameError, InvokeArgumentError
from pytest_smendpoint.invoke.frame_checks import FrameRules, prepare

# Rows encoded at once: ~10 MB of CSV for 30 float features; pyarrow's writer is at full speed
# well before that, and the peak memory of a chunk stays small against any frame worth sharding.
CHUNK_ROWS = 16_384
# An object's largest size: each is one PutObject (retried whole by botocore; no multipart
# upload, whose parts moto assembles in memory), small enough that the job's instances share
# the objects evenly and large enough that a 10 GB set is a few hundred objects.
MAX_OBJECT_BYTES = 32 * 2**20
UPLOADS_IN_FLIGHT = 2
# Chunks encoded at once: the machine's cores, at most 4 (each holds a chunk's CSV text).
ENCODERS = max(1, min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 2))
CSV_SUFFIXES = (".csv",)
PARQUET_SUFFIXES = (".parquet", ".pq")


@dataclass(frozen=True)
class Shard:
    """One input object: its key, and how many rows (lines) it holds."""

    key: str
    rows: int


@dataclass(frozen=True)
class Source:
    """Where rows come from: how many there are (the shards' quotas), their index, and the
    frames they arrive in, in order."""

    rows: int
    index: pd.Index
    frames: Callable[[], Iterator[pd.DataFrame]]
    describe: str


def source_of(data: Any) -> Source:
    """A DataFrame, or a path (or list of paths) to CSV files with a header row or Parquet
    files; anything else is refused with the reason."""
    if isinstance(data, pd.DataFrame):
        frame = data
        return Source(
            len(frame),
            frame.index,
            lambda: (frame.iloc[start : start + CHUNK_ROWS] for start in _starts(len(frame))),
            f"a DataFrame of {len(frame):,} rows",
        )
    paths = [data] if isinstance(data, (str, Path)) else data
    if (
        not isinstance(paths, Sequence)
        or not paths
        or not all(isinstance(p, (str, Path)) for p in paths)
    ):
        raise InvokeArgumentError(
            "sm_transform takes a pandas DataFrame, a path or list of paths to CSV or Parquet "
            f"files, or an s3:// prefix; got {type(data).__name__}"
        )
    files = [Path(p) for p in paths]
    for path in files:
        if not path.is_file():
            raise InvokeArgumentError(f"sm_transform: no such file: {path}")
        if not path.name.lower().endswith(CSV_SUFFIXES + PARQUET_SUFFIXES):
            raise InvokeArgumentError(f"sm_transform: {path} is neither a .csv nor a .parquet file")
    counts = [_row_count(path) for path in files]
    total = sum(counts)
    return Source(
        total,
        pd.RangeIndex(total),
        lambda: _numbered(_file_frames(files)),
        f"{len(files)} file{'s' if len(files) > 1 else ''} of {total:,} rows",
    )


@dataclass
class LongestRecord:
    """The first row whose CSV line is longer than a limit (a job with that MaxPayloadInMB
    fails on it): SageMaker's reason says only "ClientError", this names the row."""

    limit: int  # bytes; 0: no limit
    row: Hashable | None = None
    size: int = 0

    def saw(self, data: bytes, frame: pd.DataFrame) -> None:
        if not self.limit or self.row is not None or len(data) <= self.limit:
            return
        bound = row_bytes_bound(frame)  # numbers only: no row can be long (no scan needed)
        if bound is not None and bound <= self.limit:
            return
        ends = line_ends(data, len(frame))
        sizes = np.diff(ends, prepend=0)
        over = np.flatnonzero(sizes > self.limit)
        if len(over):
            self.row, self.size = frame.index[over[0]], int(sizes[over[0]])


def write_shards(
    source: Source,
    rules: FrameRules,
    shards: int,
    upload: Callable[[bytes, str], None],
    key_of: Callable[[int], str],
    longest: LongestRecord | None = None,
    max_object_bytes: int = MAX_OBJECT_BYTES,
    float32: bool = False,
) -> list[Shard]:
    """Encode the source's rows into at least `shards` objects (fewer when there are fewer
    rows; more when an object would pass `max_object_bytes`), each handed to `upload(body,
    key)`; the objects, in row order. `longest` hears of a row longer than its limit.
    `float32`: the model reads CSV numbers as float32, so float64 columns are written as the
    shortest text of the float32 it reads (csv_payloads.py)."""
    count = max(1, min(shards, source.rows))
    # The rows split as evenly as they go: the first `extra` objects one row more.
    base, extra = divmod(source.rows, count)
    quotas = [base + (number < extra) for number in range(count)]
    frames = _prepared(source.frames(), rules)
    written: list[Shard] = []
    parts: list[bytes] = []
    size = rows = 0
    # Objects go up on other threads while the next is encoded (pyarrow's writer and the
    # request's hashing release the GIL); at most UPLOADS_IN_FLIGHT wait, bounding memory.
    pool = ThreadPoolExecutor(UPLOADS_IN_FLIGHT, thread_name_prefix="smendpoint-transform-put")
    encoders = ThreadPoolExecutor(ENCODERS, thread_name_prefix="smendpoint-transform-csv")
    slots = threading.BoundedSemaphore(UPLOADS_IN_FLIGHT)
    sent: list[Future[None]] = []

    def put(body: bytes, key: str) -> None:
        try:
            upload(body, key)
        finally:
            slots.release()

    def flush() -> None:
        nonlocal parts, size, rows
        if rows:
            key = key_of(len(written))
            slots.acquire()
            sent.append(pool.submit(put, b"".join(parts), key))
            written.append(Shard(key, rows))
            for future in [f for f in sent if f.done()]:
                future.result()  # an upload's error stops the encoding at once
                sent.remove(future)
        parts, size, rows = [], 0, 0

    def quota() -> int | None:  # rows the current object takes; None: the rest (the last one)
        placed = len(written)
        return quotas[placed] if placed < count - 1 else None

    try:
        for piece, data in _encoded(frames, encoders, float32):
            start = 0
            while start < len(piece):
                wanted = quota()
                room = len(piece) - start if wanted is None else wanted - rows
                if start == 0 and room >= len(piece):
                    part, part_data = piece, data
                else:  # an object's row quota ends inside this chunk: its parts are re-encoded
                    part = piece.iloc[start : start + room]
                    part_data = _encode(part, float32)
                start += len(part)
                if longest is not None:
                    longest.saw(part_data, part)
                parts.append(part_data)
                size += len(part_data)
                rows += len(part)
                wanted = quota()
                if size >= max_object_bytes or (wanted is not None and rows >= wanted):
                    flush()
        flush()
        for future in sent:
            future.result()
    finally:
        encoders.shutdown(wait=True, cancel_futures=True)
        pool.shutdown(wait=True, cancel_futures=True)
    return written


def _encoded(
    frames: Iterator[pd.DataFrame], pool: ThreadPoolExecutor, float32: bool = False
) -> Iterator[tuple[pd.DataFrame, bytes]]:
    """Each chunk with its CSV, in order, encoded ENCODERS at a time on the pool's threads
    (pyarrow's writer releases the GIL): at most ENCODERS + 1 chunks' text in memory."""
    pending: deque[tuple[pd.DataFrame, Future[bytes]]] = deque()
    for frame in frames:
        pending.append((frame, pool.submit(_encode, frame, float32)))
        if len(pending) > ENCODERS:
            done, future = pending.popleft()
            yield done, future.result()
    while pending:
        done, future = pending.popleft()
        yield done, future.result()


def _encode(frame: pd.DataFrame, float32: bool = False) -> bytes:
    return CsvEncoder(frame, float32=float32).encode(0, len(frame))


def _starts(rows: int) -> range:
    return range(0, rows, CHUNK_ROWS)


def _prepared(frames: Iterator[pd.DataFrame], rules: FrameRules) -> Iterator[pd.DataFrame]:
    """Each chunk through sm_invoke's checks; every chunk must send the same columns."""
    columns: list[Any] | None = None
    for frame in frames:
        prepared = prepare(frame, rules).frame
        names = list(prepared.columns)
        if columns is None:
            columns = names
        elif names != columns:
            raise FrameError(
                f"rows from {frame.index[0]!r} on have other feature columns than the rows "
                f"before them: {names[:5]} against {columns[:5]}"
            )
        yield prepared


def _row_count(path: Path) -> int:
    """Rows of a Parquet file (its footer says), or data lines of a CSV file (a header row
    then one line per row: newlines counted in 1 MiB blocks, without parsing)."""
    if path.name.lower().endswith(PARQUET_SUFFIXES):
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(path).metadata.num_rows)
    lines = 0
    last = b"\n"
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            lines += block.count(b"\n")
            last = block[-1:]
    if last != b"\n":
        lines += 1  # no newline after the last line
    return max(0, lines - 1)


def _file_frames(files: Sequence[Path]) -> Iterator[pd.DataFrame]:
    """Each file's rows in chunks: Parquet through its record batches, CSV through pyarrow's
    streaming reader (a header row names the columns)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    for path in files:
        if path.name.lower().endswith(PARQUET_SUFFIXES):
            # pre_buffer (pyarrow's default) reads ahead far enough that iterating a 3M-row
            # file held 800 MB of Arrow memory at once; without it, and on one thread, 200 MB.
            parquet = pq.ParquetFile(path, pre_buffer=False)
            for batch in parquet.iter_batches(batch_size=CHUNK_ROWS, use_threads=False):
                yield batch.to_pandas()
        else:
            options = pacsv.ReadOptions(block_size=16 << 20)
            try:
                with pacsv.open_csv(path, read_options=options) as reader:
                    for batch in reader:
                        yield batch.to_pandas()
            except pa.ArrowInvalid as error:
                # pyarrow's streaming reader types each column from the first 16 MiB block.
                raise FrameError(
                    f"sm_transform cannot read {path}: {error} (a column's type is taken from "
                    "its first 16 MiB: write the file with that column as floats throughout, "
                    "or pass a DataFrame)"
                ) from None


def _numbered(frames: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """Chunks indexed by their row number across all files (what errors and results name)."""
    start = 0
    for frame in frames:
        frame.index = pd.RangeIndex(start, start + len(frame))
        start += len(frame)
        yield frame

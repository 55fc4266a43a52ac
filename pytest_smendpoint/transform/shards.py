"""sm_transform's input as S3 objects: a DataFrame, or CSV or Parquet files, checked by
sm_invoke's rules (labels dropped, features checked, values refused as sm_invoke refuses them)
and written as headerless CSV into a few objects (shards, so every instance of the job gets
work), streamed: at most a chunk of rows is encoded in memory at a time, and each object goes up
as boto3's managed multipart upload reads it (s3transfer: parts in parallel, retried).

Rows keep their order: shard 0 holds the first rows, shard 1 the next, and so on, so the job's
`.out` objects, read in shard order, hold the predictions in the input's order."""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pytest_smendpoint.invoke.csv_payloads import CsvEncoder, line_ends
from pytest_smendpoint.invoke.errors import FrameError, InvokeArgumentError
from pytest_smendpoint.invoke.frame_checks import FrameRules, prepare

# Rows encoded at once: ~20 MB of CSV for 30 float features; pyarrow's writer is at full speed
# well before that, and the peak memory of a chunk stays small against any frame worth sharding.
CHUNK_ROWS = 65_536
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
        if not self.limit or self.row is not None:
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
    upload: Callable[[io.BufferedIOBase, str], None],
    key_of: Callable[[int], str],
    longest: LongestRecord | None = None,
) -> list[Shard]:
    """Encode the source's rows into `shards` objects (fewer when there are fewer rows), each
    handed to `upload(stream, key)` as a readable stream; the shards, in row order. `longest`
    hears of a row longer than its limit."""
    count = max(1, min(shards, source.rows))
    quota = math.ceil(source.rows / count) if source.rows else 0
    frames = _rechunked(_prepared(source.frames(), rules))
    written: list[Shard] = []
    pending: pd.DataFrame | None = None
    for number in range(count):
        left = quota if number < count - 1 else None  # the last one takes the rest
        rows = 0

        def encoded() -> Iterator[bytes]:
            nonlocal pending, rows, left
            while left is None or left > 0:
                frame = pending if pending is not None else next(frames, None)
                pending = None
                if frame is None:
                    return
                if left is not None and len(frame) > left:
                    frame, pending = frame.iloc[:left], frame.iloc[left:]
                if len(frame):
                    rows += len(frame)
                    if left is not None:
                        left -= len(frame)
                    data = CsvEncoder(frame).encode(0, len(frame))
                    if longest is not None:
                        longest.saw(data, frame)
                    yield data

        key = key_of(number)
        upload(io.BufferedReader(_ChunkStream(encoded()), buffer_size=1 << 20), key)
        written.append(Shard(key, rows))
    return written


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


def _rechunked(frames: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """The frames, with empty ones left out."""
    return (frame for frame in frames if len(frame))


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
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    for path in files:
        if path.name.lower().endswith(PARQUET_SUFFIXES):
            for batch in pq.ParquetFile(path).iter_batches(batch_size=CHUNK_ROWS):
                yield batch.to_pandas()
        else:
            options = pacsv.ReadOptions(block_size=16 << 20)
            with pacsv.open_csv(path, read_options=options) as reader:
                for batch in reader:
                    yield batch.to_pandas()


def _numbered(frames: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """Chunks indexed by their row number across all files (what errors and results name)."""
    start = 0
    for frame in frames:
        frame.index = pd.RangeIndex(start, start + len(frame))
        start += len(frame)
        yield frame


class _ChunkStream(io.RawIOBase):
    """A readable stream over an iterator of byte chunks (what an upload reads from)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._current = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._current:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._current = memoryview(chunk)
        size = min(len(buffer), len(self._current))
        buffer[:size] = self._current[:size]
        self._current = self._current[size:]
        return size

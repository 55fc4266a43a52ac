"""Encode a prepared frame as headerless CSV and cut it into request bodies under a byte budget.

Chunks of rows are encoded whole (pyarrow's writer, about ten times faster than pandas' and
exact: it prints the shortest text that reads back as the same double; float32 text by orjson,
three times faster again, orjson_csv.py) and split at the line
boundaries found in the encoded bytes, never row by row. Rows that fit a payload together with
the next chunk's rows are carried over, so the payloads are exactly those a greedy split of the
whole frame's CSV would give, whatever the chunk size.

For an endpoint whose container reads CSV numbers as float32 (`float32=True`), float64 columns
are written as the float32 the container reads them as, in the shortest text that gives it that
float32 (float32_text.py): about half as many characters.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Generator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
from pandas.api import types as ptypes

from pytest_smendpoint.invoke import orjson_csv
from pytest_smendpoint.invoke.errors import InvokeError, RowTooLargeError
from pytest_smendpoint.invoke.float32_text import as_float32
from pytest_smendpoint.invoke.frame_checks import column_label, is_plain
from pytest_smendpoint.settings.limits import (
    PAYLOAD_CEILING_BYTES as PAYLOAD_CEILING_BYTES,  # re-export
)

_NEWLINE = ord("\n")
_QUOTE = ord('"')
_COMMA = ord(",")
_FIRST_CHUNK_ROWS = 1024
_FLAT_MAX_ROWS = 64  # measured: past this a table, for its cheaper per-value cost
_WRITE_OPTIONS = pacsv.WriteOptions(include_header=False)


@dataclass(frozen=True)
class Payload:
    """One request body: rows [start, stop) of the frame, by position."""

    start: int
    stop: int
    body: bytes

    @property
    def rows(self) -> int:
        return self.stop - self.start


@dataclass(frozen=True)
class Budget:
    """How much one request may carry; `single_record` sends one row without its newline."""

    max_bytes: int
    max_rows: int | None = None
    single_record: bool = False


class CsvEncoder:
    """Headerless CSV for any row range of a prepared frame, with pyarrow when it can.

    pyarrow writes in one of two layouts that give the same bytes, since one writer formats the
    same values: a table of the frame's columns, or (a frame of one numeric dtype) the values
    flattened row by row into one column, whose line ends, but each row's last, become commas.
    A table costs microseconds per column to build and to write, the flat column a pass over
    the bytes: a few rows go flat (one 1x30 row: 15 us instead of 200 us; one 400,000-column
    row: 0.05 s instead of 4 s), more rows through the table, built on first use.
    """

    def __init__(self, frame: pd.DataFrame, float32: bool = False) -> None:
        self.frame = frame
        dtypes = frame.dtypes.tolist()
        self.fallback_reason = _pandas_needed(frame, dtypes)
        self._dtypes = dtypes
        # float64 values written as the float32 the container will read them as.
        self.float32 = float32 and self.fallback_reason is None
        self._table: pa.Table | None = None
        # The flat layout needs the values as one array: one plain dtype must hold them all.
        self._flat_ok = (
            self.fallback_reason is None and len(set(dtypes)) == 1 and is_plain(dtypes[0])
        )
        self._values: np.ndarray | None = None
        self._by_orjson = False

    @property
    def writer(self) -> str:
        return "pandas" if self.fallback_reason is not None else "pyarrow"

    @property
    def table(self) -> pa.Table | None:
        """The frame as an Arrow table (None when pandas must write it)."""
        if self._table is None and self.fallback_reason is None:
            self._table = _arrow_table(self.frame, self._dtypes, self.float32)
        return self._table

    def encode(self, start: int, stop: int) -> bytes:
        """Rows [start, stop) as CSV lines, each ending in a newline."""
        if self.fallback_reason is not None:
            rows = self.frame.iloc[start:stop]
            text: str = rows.to_csv(header=False, index=False, lineterminator="\n")
            return text.encode("utf-8")
        # The values as one array serve orjson's float32 text at any size and the flat layout
        # for a few rows; full-precision chunks of more go through the table without them.
        if self._flat_ok and (self.float32 or stop - start <= _FLAT_MAX_ROWS):
            values = self._flat_values()
            if values is not None and self._by_orjson:
                return orjson_csv.encode_rows(values[start:stop])
            if values is not None and stop - start <= _FLAT_MAX_ROWS:
                return encode_flat(values[start:stop])
        table = self.table
        assert table is not None
        return _write(table.slice(start, stop - start))

    def _flat_values(self) -> np.ndarray | None:
        """The frame's values as one array (float64 as float32 in float32 mode), or None when
        its columns need more than one dtype (some float32 and some not): the table holds them."""
        if self._values is None:
            values = self.frame.to_numpy()
            self._values = as_float32(values) if self.float32 else values
            # Some columns float32 and some not: one column cannot hold both; the table can.
            self._flat_ok = self._values.dtype != object
            # Decided once for the whole frame, so that a row's text does not depend on which
            # chunk it was encoded in (the payloads are the greedy split of one text).
            # Only for float32 text: its readers are the known containers' parsers, which read
            # orjson's `1.0` as pyarrow's `1`; an unknown server might parse an integral float
            # as an integer, so full-precision text keeps pyarrow's spelling.
            self._by_orjson = self.float32 and self._flat_ok and orjson_csv.can_encode(self._values)
        return self._values if self._flat_ok else None


def encode_flat(values: np.ndarray) -> bytes:
    """A 2-D array of one numeric dtype as CSV lines, written as one column of its values."""
    rows, columns = values.shape
    # NaN becomes null, written as an empty field: what the table layout writes for it.
    column = pa.array(values.reshape(-1), from_pandas=True)
    data = _write(pa.Table.from_arrays([column], names=["c0"]))
    if columns == 1:
        return data
    text = bytearray(data)
    raw = np.frombuffer(text, dtype=np.uint8)
    ends = np.flatnonzero(raw == _NEWLINE)  # numbers hold no newline: one per value
    raw[ends.reshape(rows, columns)[:, :-1]] = _COMMA
    return bytes(text)


def _column(values: np.ndarray, float32: bool) -> pa.Array:
    """One column as Arrow (NaN as null: an empty field), as float32 when asked and it fits."""
    if float32:
        values = as_float32(values)
    return pa.array(values, from_pandas=True)


def _write(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pacsv.write_csv(table, sink, write_options=_WRITE_OPTIONS)
    return bytes(sink.getvalue().to_pybytes())


def _arrow_table(frame: pd.DataFrame, dtypes: list[object], float32: bool = False) -> pa.Table:
    """Built from arrays rather than Table.from_pandas: no pandas metadata to serialise, and
    column labels need not be unique text (no header is written anyway). Plain columns come
    from one array per dtype, not one pandas Series each."""
    arrays: list[pa.Array] = []
    groups: dict[object, list[int]] = {}
    for position, dtype in enumerate(dtypes):
        if is_plain(dtype):
            groups.setdefault(dtype, []).append(position)
    plain: dict[int, pa.Array] = {}
    for positions in groups.values():
        first, last = positions[0], positions[-1]
        if len(positions) == len(dtypes):
            values = frame.to_numpy()
        elif last - first + 1 == len(positions):
            values = frame.iloc[:, first : last + 1].to_numpy()  # a slice: no copy
        else:
            values = frame.iloc[:, positions].to_numpy()
        for k, position in enumerate(positions):
            plain[position] = _column(values[:, k], float32)
    for position in range(len(dtypes)):
        array = plain.get(position)
        if array is None:
            array = pa.Array.from_pandas(frame.iloc[:, position])
        arrays.append(array)
    return pa.Table.from_arrays(arrays, names=[f"c{i}" for i in range(len(arrays))])


def _pandas_needed(frame: pd.DataFrame, dtypes: list[object]) -> str | None:
    """Why pyarrow's writer cannot write this frame exactly, or None when it can."""
    for position, dtype in enumerate(dtypes):
        if isinstance(dtype, np.dtype) and dtype.kind == "f" and dtype.itemsize > 8:
            # Arrow has no long double; pandas prints its full precision.
            return f"column {column_label(frame, position)!r} is {dtype}, which Arrow cannot hold"
    if len(dtypes) == 1 and frame.iloc[:, 0].hasnans:
        # A lone missing field would be an empty line, which CSV readers skip; pandas writes "".
        return "a single column with missing values"
    return None


def row_bytes_bound(frame: pd.DataFrame) -> int | None:
    """Most bytes any row can take, from the dtypes alone; None when text or long doubles make
    it depend on the values."""
    total = 0
    for dtype, count in Counter(frame.dtypes.tolist()).items():
        if ptypes.is_integer_dtype(dtype):
            width = 20  # len("-9223372036854775808"), len("18446744073709551615")
        elif ptypes.is_float_dtype(dtype) and getattr(dtype, "itemsize", 8) <= 8:
            width = 32  # shortest round-trip text of a double is at most 25 characters
        else:
            return None
        total += (width + 1) * count  # and the comma, or the newline
    return total


def line_ends(data: bytes, rows: int) -> np.ndarray:
    """Offsets just past each row's newline; newlines inside quoted fields are not row ends."""
    raw = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(raw == _NEWLINE)
    if len(ends) != rows:
        # A text field holds a newline. Quotes in CSV are balanced within a field (an inner
        # quote is doubled), so a newline ends a row exactly when the quotes before it pair up.
        quotes_before = np.cumsum(raw == _QUOTE)[ends]
        ends = ends[quotes_before % 2 == 0]
    if len(ends) != rows:
        raise InvokeError(f"the CSV encoder wrote {len(ends)} lines for {rows} rows")
    return ends + 1


def encoded_chunks(
    encoder: CsvEncoder, total: int, first_rows: int, max_bytes: int, threads: int = 1
) -> Generator[tuple[int, bytes]]:
    """(rows, CSV) of consecutive chunks of the frame's `total` rows, in order: `first_rows`
    first, then about `max_bytes` of text each (judged from the first). With `threads` above
    1, that many chunks are encoded at once (pyarrow's writer releases the GIL) and no more are
    held ahead of the caller: one chunk of about one payload per thread."""
    stop = min(total, first_rows)
    first = encoder.encode(0, stop)
    yield stop, first
    rows = max(1, int(max_bytes * stop / max(1, len(first))))
    ranges = [(start, min(total, start + rows)) for start in range(stop, total, rows)]
    if threads <= 1 or len(ranges) <= 1:
        for start, end in ranges:
            yield end - start, encoder.encode(start, end)
        return
    if rows > _FLAT_MAX_ROWS:
        _ = encoder.table  # built once here, not by two threads at once
    pending: deque[tuple[int, Future[bytes]]] = deque()
    pool = ThreadPoolExecutor(threads, thread_name_prefix="sm-encode")
    try:
        for start, end in ranges:
            if len(pending) == threads:
                size, future = pending.popleft()
                yield size, future.result()
            pending.append((end - start, pool.submit(encoder.encode, start, end)))
        while pending:
            size, future = pending.popleft()
            yield size, future.result()
    finally:  # also when the caller stops early: what has not started never will
        pool.shutdown(wait=True, cancel_futures=True)


def iter_payloads(
    encoder: CsvEncoder,
    index: pd.Index,
    budget: Budget,
    row_bound: int | None = None,
    threads: int = 1,
) -> Iterator[Payload]:
    """Payloads covering every row in order, each within the budget; encodes lazily, chunk by
    chunk (`threads` chunks at once), so the caller can send one payload while the next chunks
    are being encoded. `row_bound` (`row_bytes_bound`) keeps the first chunk within about one
    payload, so that a row too large for any payload is found after encoding about a payload's
    worth, not more."""
    total = len(index)
    limit = budget.max_bytes + (1 if budget.single_record else 0)  # the newline is not sent
    chunk_rows = min(_FIRST_CHUNK_ROWS, total)
    if row_bound is not None:
        chunk_rows = max(1, min(chunk_rows, budget.max_bytes // row_bound))
    # Later chunks aim at about one payload's worth of rows each.
    chunks = encoded_chunks(encoder, total, chunk_rows, budget.max_bytes, threads)
    try:
        yield from _split(chunks, index, budget, total, limit)
    finally:
        chunks.close()  # a row too large, or a caller that stopped: the encoding threads end


def _split(
    chunks: Iterator[tuple[int, bytes]], index: pd.Index, budget: Budget, total: int, limit: int
) -> Iterator[Payload]:
    """The greedy split of the chunks' rows into payloads (iter_payloads)."""
    carry = b""
    carry_ends = np.empty(0, dtype=np.int64)
    first = 0  # frame position of the first row in `carry`
    next_row = 0  # first row not yet encoded
    while first < total:
        rows, encoded = next(chunks)
        stop = next_row + rows
        data = carry + encoded
        ends = np.concatenate([carry_ends, line_ends(encoded, rows) + len(carry)])
        more = stop < total
        next_row = stop
        position = 0  # byte offset of row `i` in `data`
        i = 0
        while i < len(ends):
            j = int(np.searchsorted(ends, position + limit, side="right"))
            if budget.max_rows is not None:
                j = min(j, i + budget.max_rows)
            if j == i:
                size = int(ends[i]) - position - (1 if budget.single_record else 0)
                raise RowTooLargeError(index[first + i], first + i, size, budget.max_bytes)
            full_by_rows = budget.max_rows is not None and j - i == budget.max_rows
            if j == len(ends) and more and not full_by_rows:
                break  # these rows may share a payload with the next chunk's
            end = int(ends[j - 1])
            body = data[position : end - 1] if budget.single_record else data[position:end]
            yield Payload(first + i, first + j, body)
            position = end
            i = j
        carry = data[position:]
        carry_ends = ends[i:] - position
        first += i

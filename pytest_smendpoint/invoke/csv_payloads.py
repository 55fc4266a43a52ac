"""Encode a prepared frame as headerless CSV and cut it into request bodies under a byte budget.

Chunks of rows are encoded whole (pyarrow's writer, about ten times faster than pandas' and
exact: it prints the shortest text that reads back as the same double) and split at the line
boundaries found in the encoded bytes, never row by row. Rows that fit a payload together with
the next chunk's rows are carried over, so the payloads are exactly those a greedy split of the
whole frame's CSV would give, whatever the chunk size.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
from pandas.api import types as ptypes

from pytest_smendpoint.invoke.errors import InvokeError, RowTooLargeError
from pytest_smendpoint.settings.limits import (
    PAYLOAD_CEILING_BYTES as PAYLOAD_CEILING_BYTES,  # re-export
)

_NEWLINE = ord("\n")
_QUOTE = ord('"')
_FIRST_CHUNK_ROWS = 1024


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
    """Headerless CSV for any row range of a prepared frame, with pyarrow when it can."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self.fallback_reason = _pandas_needed(frame)
        self.table: pa.Table | None = None
        if self.fallback_reason is None:
            # Built from arrays rather than Table.from_pandas: no pandas metadata to serialise,
            # and column labels need not be unique text (no header is written anyway).
            arrays = [pa.Array.from_pandas(frame.iloc[:, i]) for i in range(frame.shape[1])]
            self.table = pa.Table.from_arrays(arrays, names=[f"c{i}" for i in range(len(arrays))])

    @property
    def writer(self) -> str:
        return "pyarrow" if self.table is not None else "pandas"

    def encode(self, start: int, stop: int) -> bytes:
        """Rows [start, stop) as CSV lines, each ending in a newline."""
        if self.table is None:
            rows = self.frame.iloc[start:stop]
            text: str = rows.to_csv(header=False, index=False, lineterminator="\n")
            return text.encode("utf-8")
        sink = pa.BufferOutputStream()
        pacsv.write_csv(
            self.table.slice(start, stop - start),
            sink,
            write_options=pacsv.WriteOptions(include_header=False),
        )
        return bytes(sink.getvalue().to_pybytes())


def _pandas_needed(frame: pd.DataFrame) -> str | None:
    """Why pyarrow's writer cannot write this frame exactly, or None when it can."""
    for name, column in frame.items():
        dtype = column.dtype
        if isinstance(dtype, np.dtype) and dtype.kind == "f" and dtype.itemsize > 8:
            # Arrow has no long double; pandas prints its full precision.
            return f"column {name!r} is {column.dtype}, which Arrow cannot hold"
    if frame.shape[1] == 1 and frame.iloc[:, 0].hasnans:
        # A lone missing field would be an empty line, which CSV readers skip; pandas writes "".
        return "a single column with missing values"
    return None


def row_bytes_bound(frame: pd.DataFrame) -> int | None:
    """Most bytes any row can take, from the dtypes alone; None when text or long doubles make
    it depend on the values."""
    total = 0
    for column in frame.columns:
        dtype = frame[column].dtype
        if ptypes.is_integer_dtype(dtype):
            total += 20  # len("-9223372036854775808"), len("18446744073709551615")
        elif ptypes.is_float_dtype(dtype) and getattr(dtype, "itemsize", 8) <= 8:
            total += 32  # shortest round-trip text of a double is at most 25 characters
        else:
            return None
        total += 1  # the comma, or the newline
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


def iter_payloads(encoder: CsvEncoder, index: pd.Index, budget: Budget) -> Iterator[Payload]:
    """Payloads covering every row in order, each within the budget; encodes lazily, chunk by
    chunk, so the caller can send one payload while the next chunk is being encoded."""
    total = len(index)
    limit = budget.max_bytes + (1 if budget.single_record else 0)  # the newline is not sent
    carry = b""
    carry_ends = np.empty(0, dtype=np.int64)
    first = 0  # frame position of the first row in `carry`
    next_row = 0  # first row not yet encoded
    chunk_rows = min(_FIRST_CHUNK_ROWS, total)
    while first < total:
        stop = min(total, next_row + chunk_rows)
        encoded = encoder.encode(next_row, stop)
        data = carry + encoded
        ends = np.concatenate([carry_ends, line_ends(encoded, stop - next_row) + len(carry)])
        more = stop < total
        # Aim each later chunk at about one payload's worth of rows.
        chunk_rows = max(1, int(budget.max_bytes * len(ends) / max(1, len(data))))
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

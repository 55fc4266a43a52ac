"""Read an endpoint's answer as one prediction record per row sent, whatever format it chose.

Formats: CSV (a line per row, or one line of one value per row), JSON (a list of values or of
lists, or `{"predictions": [...]}` of values, lists or dicts), JSON lines and NPY (the inference
toolkit's third output type). The response's content type decides; a missing or unknown one
(`text/plain` servers) is sniffed from the body.

Numeric answers are read in one vectorised call into one int64/float64 array per output (pyarrow's
CSV reader, exact like Python's float(); numpy for parsed JSON and NPY): a per-value Python parse
of 200,000 answers took about 1 s holding the GIL the invoker's other threads need. Text, quoted,
ragged or otherwise unusual answers take the per-value path, which defines the rules (integer text
gives int64, an empty CSV field NaN, anything else not a number stays text).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from pytest_smendpoint.invoke.errors import ResponseFormatError

CSV_TYPES = frozenset({"text/csv", "application/csv"})
JSON_TYPES = frozenset({"application/json", "text/json", "application/x-json"})
JSON_LINES_TYPES = frozenset(
    {
        "application/jsonlines",
        "application/x-jsonlines",
        "application/jsonl",
        "application/json-lines",
        "application/x-ndjson",
        "application/ndjson",
    }
)
NPY_TYPES = frozenset({"application/x-npy", "application/npy"})
_INT64, _FLOAT64 = np.dtype(np.int64), np.dtype(np.float64)
_INT64_LIMIT = 2.0**63


@dataclass(frozen=True, eq=False)
class OutputArrays:
    """Rows held column-wise: one int64 or float64 array per output, all of one nonzero length."""

    arrays: tuple[np.ndarray, ...]

    def __len__(self) -> int:
        return len(self.arrays[0])

    @property
    def width(self) -> int:
        return len(self.arrays)

    def tolist(self) -> list[list[Any]]:
        """The rows as Python lists, as the per-value path gives them."""
        return [list(row) for row in zip(*(array.tolist() for array in self.arrays), strict=True)]


@dataclass(frozen=True)
class Predictions:
    """One request's answer, named when the endpoint named them: a list of outputs per row, or
    (numeric answers, parsed in one call) one array per output."""

    rows: list[list[Any]] | OutputArrays
    columns: tuple[str, ...] | None = None


def parse_predictions(
    body: bytes, content_type: str | None, expected_rows: int, where: str, whole: bool = False
) -> Predictions:
    """Parse `body`; `expected_rows` only settles the one-row ambiguity (a flat list of k values
    is k rows, except when one row was sent: then it is that row's k outputs). `whole`: this is
    the call's only answer, so a small CSV one may be read value by value (SMALL_ANSWER_BYTES);
    one part of many stays an array, which to_pandas joins without a pass through lists."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media in NPY_TYPES:
        try:
            array = np.load(io.BytesIO(body), allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise ResponseFormatError(
                f"{where}: cannot read the {content_type} response as a NumPy array ({exc})"
            ) from None
        fast = _from_array(array, expected_rows)
        if fast is not None:
            return fast
        return _from_items(array.tolist() if array.ndim else [array.item()], expected_rows)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ResponseFormatError(
            f"{where}: the {content_type or 'untyped'} response is not UTF-8 text ({exc})"
        ) from None
    try:
        if media in CSV_TYPES:
            parsed = _from_csv(body, text, expected_rows, whole)
        elif media in JSON_TYPES:
            parsed = _from_items(_json_items(json.loads(text)), expected_rows)
        elif media in JSON_LINES_TYPES:
            parsed = _from_items(_json_lines(text), expected_rows)
        else:
            parsed = _sniffed(body, text, expected_rows)
        if isinstance(parsed.rows, list) and any(not row for row in parsed.rows):
            raise ValueError("a prediction holds no value")
        return parsed
    except (ValueError, TypeError, csv.Error) as exc:
        shown = text[:200] + ("..." if len(text) > 200 else "")
        raise ResponseFormatError(
            f"{where}: cannot read the {content_type or 'untyped'} response as predictions "
            f"({exc}); it begins {shown!r}"
        ) from None


def _sniffed(body: bytes, text: str, expected_rows: int) -> Predictions:
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            return _from_items(_json_items(json.loads(text)), expected_rows)
        except json.JSONDecodeError:
            return _from_items(_json_lines(text), expected_rows)
    return _from_csv(body, text, expected_rows)


# Below this, a call's only answer is read value by value: pyarrow's reader costs about 0.3 ms a
# call whatever the size, the per-value path about 0.5 us a value (the same at about 12 KB).
SMALL_ANSWER_BYTES = 8192


def _from_csv(body: bytes, text: str, expected_rows: int, whole: bool = False) -> Predictions:
    small = whole and len(body) < SMALL_ANSWER_BYTES
    fast = None if small else _csv_arrays(body, expected_rows)
    if fast is not None:
        return Predictions(fast)
    lines = [line for line in csv.reader(io.StringIO(text, newline="")) if line]
    rows = [[_scalar(field) for field in line] for line in lines]
    if len(rows) == 1 and expected_rows > 1 and len(rows[0]) == expected_rows:
        # One line of one value per row: how SageMaker's XGBoost answers a CSV batch.
        rows = [[value] for value in rows[0]]
    return Predictions(rows)


def _csv_arrays(body: bytes, expected_rows: int) -> OutputArrays | None:
    """A numeric CSV answer with the same number of fields on every line, read in one pyarrow
    call; None when the per-value path must decide (quotes, text, ragged lines, empty fields)."""
    if b'"' in body or b"x" in body or b"X" in body or body.startswith(b"\xef\xbb\xbf"):
        # Quoted fields; and pyarrow reads hex ("0x10") as an integer and drops a byte-order
        # mark, where the per-value path keeps both as text.
        return None
    if body.count(b"+") != body.count(b"e+") + body.count(b"E+"):
        return None  # "+5" is the integer 5 per value, a double to pyarrow
    content = body.strip(b"\r\n")
    if not content:
        return None
    if b"\n" not in content and b"\r" not in content:
        # One line. One value per row (SageMaker XGBoost's CSV batch answer) is read as a column;
        # one row's several outputs is small and left to the per-value path.
        if expected_rows <= 1 or content.count(b",") + 1 != expected_rows:
            return None
        arrays = _read_csv_columns(content.replace(b",", b"\n"))
        if arrays is None or len(arrays[0]) != expected_rows:
            return None  # an empty field vanished as an empty line
        return OutputArrays(arrays)
    arrays = _read_csv_columns(body)
    return None if arrays is None else OutputArrays(arrays)


def _read_csv_columns(data: bytes) -> tuple[np.ndarray, ...] | None:
    """Each column as an int64 or float64 array; None if one is anything else."""
    try:
        table = _read_csv(data)
    except pa.ArrowInvalid:
        return None  # ragged lines, or nothing to read
    arrays = []
    for name, column in zip(table.column_names, table.columns, strict=True):
        if not (pa.types.is_int64(column.type) or pa.types.is_float64(column.type)):
            return None  # text, booleans, dates: the per-value path's rules
        array = column.to_numpy()
        if array.dtype == _FLOAT64:
            # Integer text in a double column that the per-value path reads otherwise: "-0" is
            # the integer 0 (pyarrow: -0.0), and past 2**63 an exact Python int.
            risky = (np.signbit(array) & (array == 0)) | (np.abs(array) >= _INT64_LIMIT)
            if risky.any() and _holds_integer_text(data, name, risky):
                return None
        arrays.append(array)
    return tuple(arrays) if arrays and len(arrays[0]) else None


def _read_csv(data: bytes, text_column: str | None = None) -> pa.Table:
    # No null markers: "", "NA" or "null" make a column text, hence the per-value path.
    convert = pacsv.ConvertOptions(null_values=[], strings_can_be_null=False)
    if text_column is not None:
        convert.include_columns = [text_column]
        convert.column_types = {text_column: pa.string()}
    # One thread: sm_invoke parses answers on its request threads already.
    read = pacsv.ReadOptions(autogenerate_column_names=True, use_threads=False)
    return pacsv.read_csv(pa.py_buffer(data), read_options=read, convert_options=convert)


def _holds_integer_text(data: bytes, name: str, rows: np.ndarray) -> bool:
    texts = _read_csv(data, text_column=name).column(0).to_numpy(zero_copy_only=False)
    return any(isinstance(_scalar(text), int) for text in texts[rows])


def _scalar(field: str) -> Any:
    text = field.strip()
    if not text:
        return float("nan")
    try:
        number = float(text)
    except ValueError:
        return text
    if text.lstrip("+-").isdigit():
        return int(text)
    return number


def _json_items(document: Any) -> list[Any]:
    if isinstance(document, dict) and "predictions" in document:
        document = document["predictions"]
    if isinstance(document, list):
        return document
    return [document]  # a single record: a scalar or a dict of named outputs


def _json_lines(text: str) -> list[Any]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _from_items(items: list[Any], expected_rows: int) -> Predictions:
    fast = _numeric_items(items, expected_rows)
    if fast is not None:
        return fast
    if expected_rows == 1 and len(items) != 1 and all(_is_scalar(item) for item in items):
        return Predictions([list(items)])  # one row's outputs, e.g. class probabilities
    if items and all(isinstance(item, dict) for item in items):
        columns = tuple(str(key) for key in items[0])
        for item in items:
            if set(map(str, item)) != set(columns):
                raise ValueError(
                    f"prediction records have different keys: {columns} and {tuple(item)}"
                )
        return Predictions([[item[key] for key in items[0]] for item in items], columns)
    if any(isinstance(item, dict) for item in items):
        raise ValueError("some predictions are records with named fields and some are not")
    rows = [list(item) if isinstance(item, list) else [item] for item in items]
    return Predictions(rows)


def _numeric_items(items: list[Any], expected_rows: int) -> Predictions | None:
    """Parsed JSON of numbers (a flat list, or lists of one width) as arrays; bools, nulls,
    strings, records and integer-and-float rows of several outputs take the per-value path."""
    if not items or expected_rows == 1:
        return None
    kinds = set(map(type, items))
    flat = kinds <= {int, float}
    if not flat:
        if kinds != {list}:
            return None
        kinds = {type(value) for item in items for value in item}
        # np.array makes a row of [1, 0.5] all float; per value, a column of ints stays int64.
        if not (kinds <= {int, float} and (len(kinds) == 1 or len(items[0]) == 1)):
            return None
    try:
        array = np.array(items)
    except (ValueError, OverflowError):
        return None  # ragged rows; integers past uint64
    if array.ndim != (1 if flat else 2):
        return None
    if int in kinds and (array.dtype != _INT64 if kinds == {int} else _past_int64(array)):
        return None  # integers past int64: exact Python ints (uint64 or object) per value
    return _from_array(array, expected_rows)


def _from_array(array: np.ndarray, expected_rows: int) -> Predictions | None:
    """A numeric array of one value or one row per request row; None for the per-value path."""
    if expected_rows == 1 or array.size == 0 or array.ndim not in (1, 2):
        return None
    if array.dtype.kind == "f" and array.dtype.itemsize <= 8:
        array = array.astype(_FLOAT64, copy=False)
    elif array.dtype.kind == "i" or (array.dtype.kind == "u" and array.dtype.itemsize <= 4):
        array = array.astype(_INT64, copy=False)
    else:
        return None  # booleans, uint64, text, objects: as the per-value path reads them
    columns = (array,) if array.ndim == 1 else tuple(array[:, j] for j in range(array.shape[1]))
    return Predictions(OutputArrays(columns))


def _past_int64(array: np.ndarray) -> bool:
    return bool((np.abs(array) >= _INT64_LIMIT).any())


def _is_scalar(item: Any) -> bool:
    return not isinstance(item, (list, dict))


def to_pandas(parts: Sequence[Predictions], index: pd.Index) -> pd.Series | pd.DataFrame:
    """Series for one output per row, DataFrame for several; aligned with the frame's index."""
    columns = {part.columns for part in parts}
    widths = {width for part in parts for width in _widths(part.rows)}
    if len(columns) > 1:
        raise ResponseFormatError(
            f"requests were answered with different named outputs: {sorted(map(str, columns))}"
        )
    if len(widths) > 1:
        raise ResponseFormatError(
            f"requests were answered with different numbers of outputs per row: {sorted(widths)}"
        )
    names = columns.pop()
    if all(isinstance(part.rows, OutputArrays) or not part.rows for part in parts) and widths:
        return _from_arrays(
            [p.rows for p in parts if isinstance(p.rows, OutputArrays)], index, names
        )
    rows = [row for part in parts for row in _row_lists(part.rows)]
    if widths == {1}:
        return pd.Series([row[0] for row in rows], index=index, name=names[0] if names else None)
    return pd.DataFrame(rows, index=index, columns=list(names) if names else None)


def _widths(rows: list[list[Any]] | OutputArrays) -> set[int]:
    if isinstance(rows, OutputArrays):
        return {rows.width}
    return {len(row) for row in rows}


def _row_lists(rows: list[list[Any]] | OutputArrays) -> list[list[Any]]:
    return rows.tolist() if isinstance(rows, OutputArrays) else rows


def _from_arrays(
    parts: list[OutputArrays], index: pd.Index, names: tuple[str, ...] | None
) -> pd.Series | pd.DataFrame:
    """Concatenated column by column: int64 stays int64 unless a request answered floats."""
    width = parts[0].width
    arrays = [np.concatenate([part.arrays[j] for part in parts]) for j in range(width)]
    if width == 1:
        return pd.Series(arrays[0], index=index, name=names[0] if names else None)
    frame = pd.DataFrame(dict(enumerate(arrays)), index=index)
    frame.columns = pd.Index(names) if names else pd.RangeIndex(width)
    return frame

"""sagemaker-containers 2.8.6's encoders and decoders (`_encoders.py`), the ones the scikit-learn
container's default input_fn and output_fn call: the same steps, so the same arrays, bytes and
errors. Large CSV bodies of plain numbers take a pyarrow path whose result is equal."""

from __future__ import annotations

import csv
import io
import json
import textwrap
from typing import Any

import numpy as np

from pytest_smendpoint.serving.profiles.fast_csv import pyarrow_csv

JSON = "application/json"
CSV = "text/csv"
NPY = "application/x-npy"
ANY = "*/*"
UTF8_TYPES = (JSON, CSV)
# Below this, the reference's own csv.reader steps are cheap enough; above it pyarrow parses.
FAST_CSV_BYTES = 64 * 1024
# Bytes a numeric CSV body can hold. With nothing else present (no quotes, spaces, blank-field
# markers or words like nan), Python's float() (what the reference's astype does per field) and
# pyarrow's parser accept the same fields and both round correctly.
_NUMERIC = b"0123456789.,-+eE\n"


class ClientError(Exception):
    """sagemaker-containers' `_errors.ClientError`: what its error wrapper raises."""


# textwrap.dedent of the reference's literal, whose first line is not indented: the other
# lines keep their indentation (and "to to" is theirs). sagemaker-inference has the same words.
UNSUPPORTED_MESSAGE = textwrap.dedent(
    """Content type %s is not supported by this framework.

            Please implement input_fn to to deserialize the request data or an output_fn to
            serialize the response. For more information, see the SageMaker Python SDK README."""
)


class UnsupportedFormatError(Exception):
    """sagemaker-containers' `_errors.UnsupportedFormatError`, with its message."""

    def __init__(self, content_type: object) -> None:
        self.message = UNSUPPORTED_MESSAGE.replace("%s", str(content_type), 1)
        super().__init__(self.message)


def decode(obj: Any, content_type: str | None) -> Any:
    """`_encoders.decode`: exact content-type lookup, no parameters, no case folding."""
    if content_type == NPY:
        return np.load(io.BytesIO(obj), allow_pickle=True)
    if content_type == CSV:
        return csv_to_numpy(obj)
    if content_type == JSON:
        return np.array(json.loads(obj))
    raise UnsupportedFormatError(content_type)


def encode(array_like: Any, content_type: str | None) -> Any:
    """`_encoders.encode`: str for JSON and CSV, bytes for NPY."""
    if content_type == NPY:
        buffer = io.BytesIO()
        np.save(buffer, array_like)
        return buffer.getvalue()
    if content_type == CSV:
        return array_to_csv(array_like)
    if content_type == JSON:
        return json.dumps(array_like, default=json_default)
    raise UnsupportedFormatError(content_type)


def json_default(value: Any) -> Any:
    """numpy arrays and scalars as lists and numbers (both references encode JSON this way)."""
    if hasattr(value, "tolist"):
        return value.tolist()
    return json.JSONEncoder().default(value)


def csv_to_numpy(string_like: str) -> Any:
    """`csv_to_numpy(string_like, dtype=None)`: csv.reader rows -> np.array -> squeeze ->
    astype(None) (float64). One row, or one column, comes out 1-D. Its quirk is kept: with
    dtype None a ValueError is swallowed, so text fields come back as a string array (the
    container's astype(float32) then fails) and ragged rows as UnboundLocalError."""
    if len(string_like) >= FAST_CSV_BYTES:
        fast = _numeric_csv(string_like)
        if fast is not None:
            return fast
    try:
        stream = io.StringIO(string_like)
        reader = csv.reader(stream, delimiter=",", quotechar='"', doublequote=True, strict=True)
        array = np.array([row for row in reader]).squeeze()
        array = array.astype(None)
    except ValueError:
        pass
    except Exception as error:
        raise ClientError(f"Error while decoding csv: {error}") from None
    return array  # noqa: F821 - unbound after a swallowed ValueError, as in the reference


def _numeric_csv(text: str) -> Any:
    """pyarrow's parse of a body of plain numbers, or None when the reference path must run."""
    data = text.encode("utf-8")
    if data.translate(None, _NUMERIC):
        return None
    found = pyarrow_csv()
    if found is None:
        return None
    pa, pacsv = found

    # One thread: the model server's workers are the parallelism, as the container's are (one
    # request per worker); pyarrow's own threads doubled the CPU of each decode (measured: 0.08
    # to 0.15 s against 0.043 s for a 5 MB body) and, on 2 cores, gained no time.
    try:
        table = pacsv.read_csv(
            pa.BufferReader(data),
            read_options=pacsv.ReadOptions(autogenerate_column_names=True, use_threads=False),
            parse_options=pacsv.ParseOptions(ignore_empty_lines=False),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    # A blank line is a row of nulls here (ignore_empty_lines=False) and ragged rows for the
    # reference: both mean the reference path, as do text and empty fields.
    kinds = {pa.types.is_floating(c.type) or pa.types.is_integer(c.type) for c in table.columns}
    if kinds != {True} or any(c.null_count for c in table.columns):
        return None
    # Row-major, as np.array of the reader's rows is; integers go through float64 as float()
    # would round them (pyarrow refuses integers past int64, which then take the reference path).
    columns = [c.to_numpy().astype(np.float64, copy=False) for c in table.columns]
    return np.ascontiguousarray(np.stack(columns, axis=1)).squeeze()


def array_to_csv(array_like: Any) -> str:
    """`array_to_csv`: 1-D becomes one value per line; csv.writer writes Python floats with
    repr and anything else with str (np.float32 prints its own shortest digits)."""
    array = np.array(array_like)
    if array.ndim == 1:
        array = np.reshape(array, (array.shape[0], 1))
    if array.ndim == 2 and array.dtype.kind in "fiub" and array.dtype != np.float32:
        # Same text as the writer, without a numpy scalar per field: tolist() gives floats
        # (repr'd by csv) and ints/bools (str'd by csv), exactly what the writer sees.
        if array.shape[1] == 1 and array.shape[0]:
            return "\n".join(map(_csv_field, array[:, 0].tolist())) + "\n"
        return "".join(",".join(map(_csv_field, row)) + "\n" for row in array.tolist())
    try:
        stream = io.StringIO()
        writer = csv.writer(
            stream, lineterminator="\n", delimiter=",", quotechar='"', doublequote=True, strict=True
        )
        writer.writerows(array)
        return stream.getvalue()
    except csv.Error as error:
        raise ClientError(f"Error while encoding csv: {error}") from None


def _csv_field(value: Any) -> str:
    return repr(value) if isinstance(value, float) else str(value)

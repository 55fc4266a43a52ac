"""The inference toolkit's default input_fn / output_fn media types: CSV, JSON and NPY."""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np

from pytest_smendpoint.serving.errors import UnsupportedFormatError

CSV = "text/csv"
JSON = "application/json"
NPY = "application/x-npy"
ANY = "*/*"
DECODABLE = (CSV, JSON, NPY)
ENCODABLE = (JSON, CSV, NPY)
# The toolkit hands input_fn a str for these media types and bytes for the others.
UTF8_TYPES = (CSV, JSON)
# Below this size Python's float() (correctly rounded, so exact like pyarrow's parser) beats
# pandas, whose fixed cost is close to a millisecond per call.
SMALL_CSV_BYTES = 32 * 1024


def media_type(header: str | None) -> str | None:
    """`text/csv; charset=utf-8` -> `text/csv`; None stays None."""
    if header is None:
        return None
    return header.split(";", 1)[0].strip().lower() or None


def parse_accept(accept: str) -> list[str]:
    """An Accept header's media types in order, without parameters."""
    return [t for t in (media_type(part) for part in accept.split(",")) if t]


def decode(data: bytes | str, content_type: str | None) -> Any:
    """default_input_fn: CSV (numbers, no header), JSON or NPY to a numpy array."""
    kind = media_type(content_type)
    if kind == CSV:
        return _csv_to_numpy(data.encode("utf-8") if isinstance(data, str) else data)
    if kind == JSON:
        return np.array(json.loads(data))
    if kind == NPY:
        raw = data.encode("utf-8") if isinstance(data, str) else data
        return np.load(io.BytesIO(raw), allow_pickle=False)
    raise UnsupportedFormatError(content_type, 415)


def encode(prediction: Any, accept: str) -> tuple[bytes, str]:
    """default_output_fn: the first media type of Accept that can be written, and the bytes."""
    for kind in parse_accept(accept):
        if kind == JSON:
            return json.dumps(prediction, cls=_NumpyJSONEncoder).encode("utf-8"), JSON
        if kind == CSV:
            return _numpy_to_csv(prediction), CSV
        if kind == NPY:
            buffer = io.BytesIO()
            np.save(buffer, np.asarray(prediction), allow_pickle=False)
            return buffer.getvalue(), NPY
    raise UnsupportedFormatError(accept, 406)


def _csv_to_numpy(body: bytes) -> Any:
    if len(body) < SMALL_CSV_BYTES:
        try:
            rows = [
                [float(v) for v in line.split(",")]
                for line in body.decode().splitlines()
                if line.strip()
            ]
            return np.array(rows, dtype=np.float64)
        except ValueError:
            pass  # text or ragged rows: let pandas say what is wrong, as for a large body
    import pandas as pd  # imported on first use: pandas costs ~0.5 s to import

    frame = pd.read_csv(io.BytesIO(body), header=None, engine="pyarrow")
    # pandas hands back column-major arrays; BLAS then sums in another order and predictions
    # differ from model.predict(rows) in the last bit. Row-major, as np.loadtxt gives.
    if all(dtype.kind in "iuf" for dtype in frame.dtypes):
        return np.ascontiguousarray(frame.to_numpy(dtype=np.float64))  # as the small path
    return np.ascontiguousarray(frame.to_numpy())


def _numpy_to_csv(prediction: Any) -> bytes:
    """One line per row; str() of a Python float is its shortest exact repr, so it round-trips."""
    array = np.asarray(prediction)
    if array.ndim == 0:
        array = array.reshape(1)
    values = array.tolist()
    lines = map(str, values) if array.ndim == 1 else (",".join(map(str, r)) for r in values)
    return ("\n".join(lines) + "\n").encode("utf-8")


class _NumpyJSONEncoder(json.JSONEncoder):
    """Arrays become lists and numpy scalars Python numbers, as the toolkit's encoder does."""

    def default(self, o: Any) -> Any:
        if isinstance(o, np.ndarray):
            return o.tolist()
        if isinstance(o, np.generic):
            return o.item()
        return super().default(o)

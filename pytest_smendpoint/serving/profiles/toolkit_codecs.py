"""sagemaker-inference 1.10.1's decoder and encoder (`decoder.py`, `encoder.py`) and its default
output_fn's Accept parsing: the same numpy calls, so the same arrays, text and errors."""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np

from pytest_smendpoint.serving.profiles.containers_codecs import UNSUPPORTED_MESSAGE, json_default

JSON = "application/json"
CSV = "text/csv"
NPY = "application/x-npy"
NPZ = "application/x-npz"
ANY = "*/*"
UTF8_TYPES = (JSON, CSV)
ENCODABLE = (NPY, CSV, JSON)


class UnsupportedFormatError(Exception):
    """sagemaker_inference.errors.UnsupportedFormatError, with its message."""

    def __init__(self, content_type: object) -> None:
        self._message = UNSUPPORTED_MESSAGE.replace("%s", str(content_type), 1)
        super().__init__(self._message)


def decode(obj: Any, content_type: str | None) -> Any:
    """`decoder.decode`: exact content-type lookup. CSV goes through np.genfromtxt with
    dtype=None (each column's own type: `1,2,3` is int64, and one row is 1-D)."""
    if content_type == NPY:
        return np.load(io.BytesIO(obj), allow_pickle=True)
    if content_type == CSV:
        return np.genfromtxt(io.StringIO(obj), dtype=None, delimiter=",")
    if content_type == JSON:
        return np.array(json.loads(obj))
    if content_type == NPZ:
        import scipy.sparse

        return scipy.sparse.load_npz(io.BytesIO(obj))
    raise UnsupportedFormatError(content_type)


def encode(array_like: Any, content_type: str) -> Any:
    """`encoder.encode`: str for JSON and CSV (np.savetxt with fmt "%s"), bytes for NPY."""
    if content_type == NPY:
        buffer = io.BytesIO()
        np.save(buffer, array_like)
        return buffer.getvalue()
    if content_type == CSV:
        stream = io.StringIO()
        np.savetxt(stream, array_like, delimiter=",", fmt="%s")
        return stream.getvalue()
    if content_type == JSON:
        return json.dumps(array_like, default=json_default)
    raise UnsupportedFormatError(content_type)


def parse_accept(accept: str) -> list[str]:
    """`utils.parse_accept`: spaces removed, split on commas; parameters stay (no match)."""
    return accept.replace(" ", "").split(",")


def default_output(prediction: Any, accept: str) -> tuple[Any, str]:
    """DefaultInferenceHandler.default_output_fn: the first Accept entry it can encode."""
    for content_type in parse_accept(accept):
        if content_type in ENCODABLE:
            return encode(prediction, content_type), content_type
    raise UnsupportedFormatError(accept)

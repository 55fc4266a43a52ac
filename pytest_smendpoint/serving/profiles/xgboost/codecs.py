"""What the sagemaker-xgboost container (algorithm mode) reads and writes: its content-type
and Accept matching, its CSV and libsvm parsing and its answers, to the byte.

The 1.7-1 image runs numpy 1.24.1 and scipy 1.8.0 (its branch's requirements.txt; the 2023 tag had
numpy 1.19.2 and scipy 1.6.2). Newer releases word some of the same errors differently
(`could not convert string to float: np.str_('a')`), so the steps whose errors reach the HTTP
body are redone here with the image's texts, whatever numpy and scipy the tests have."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from pytest_smendpoint.serving.profiles import toolkit_codecs
from pytest_smendpoint.serving.profiles.fast_csv import pyarrow_csv

# data_utils: what get_content_type returns, and every spelling it accepts (in its order).
CSV = "csv"
LIBSVM = "libsvm"
PARQUET = "parquet"
RECORDIO_PROTOBUF = "recordio-protobuf"
_KINDS = {
    CSV: CSV,
    "text/csv": CSV,
    LIBSVM: LIBSVM,
    "text/libsvm": LIBSVM,
    "text/x-libsvm": LIBSVM,
    PARQUET: PARQUET,
    "application/x-parquet": PARQUET,
    RECORDIO_PROTOBUF: RECORDIO_PROTOBUF,
    "application/x-recordio-protobuf": RECORDIO_PROTOBUF,
}
VALID_CONTENT_TYPES = (
    CSV,
    LIBSVM,
    PARQUET,
    RECORDIO_PROTOBUF,
    "text/csv",
    "text/libsvm",
    "text/x-libsvm",
    "application/x-parquet",
    "application/x-recordio-protobuf",
)
# algorithm_mode/serve.py SUPPORTED_ACCEPTS, in its order (the 406 text prints the list).
SUPPORTED_ACCEPTS = [
    "application/json",
    "application/jsonlines",
    "application/x-recordio-protobuf",
    "text/csv",
]
DEFAULT_ACCEPT = "text/csv"
JSON = "application/json"
JSONLINES = "application/jsonlines"
# Bodies this long and made of these characters only take pyarrow's parser (0.1 s, not 0.6 s,
# for 6 MB); the container's steps are cheap below it.
FAST_CSV_CHARS = 64 * 1024
_NUMERIC = b"0123456789.,-+eE\n"
# numpy's int64 range: astype(int) of a longer number fails with OverflowError.
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def parse_header(line: str) -> tuple[str, dict[str, str]]:
    """`cgi.parse_header` of Python 3.8 (the module is gone from 3.13): the media type, stripped,
    and its parameters, names lower-cased, one pair of double quotes removed from values."""
    parts = _header_parts(";" + line)
    key = next(parts)
    params: dict[str, str] = {}
    for part in parts:
        i = part.find("=")
        if i >= 0:
            name = part[:i].strip().lower()
            value = part[i + 1 :].strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1].replace("\\\\", "\\").replace('\\"', '"')
            params[name] = value
    return key, params


def _header_parts(s: str) -> Any:
    while s[:1] == ";":
        s = s[1:]
        end = s.find(";")
        while end > 0 and (s.count('"', 0, end) - s.count('\\"', 0, end)) % 2:
            end = s.find(";", end + 1)
        if end < 0:
            end = len(s)
        yield s[:end].strip()
        s = s[end:]


def content_kind(content_type: str | None) -> str:
    """data_utils.get_content_type: case and parameters ignored, except a CSV `label_size` other
    than 1. No Content-Type at all means libsvm. Raises with the container's (UserError) text."""
    if content_type is None:
        return LIBSVM
    media, params = parse_header(content_type.lower())
    kind = _KINDS.get(media)
    if kind is None:
        raise ValueError(
            f"{content_type} is not an accepted ContentType: "
            + ", ".join(VALID_CONTENT_TYPES)
            + "."
        )
    if kind == CSV and params.get("label_size", "1") != "1":
        raise ValueError(
            f"{content_type} is not an accepted csv ContentType. "
            "Optional parameter label_size must be equal to 1"
        )
    return kind


def parse_accept(accept: str | None, default: str) -> str:
    """serve._parse_accept: parameters dropped; no Accept or `*/*` gets the model's
    SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT as it is (not checked); anything else must be one of the
    four types, whatever its case. A list (`application/json, text/csv`) is not understood."""
    media, _ = parse_header(accept or "")
    if not media or media == "*/*":
        return default
    if media.lower() not in SUPPORTED_ACCEPTS:
        raise ValueError(
            f"Accept type {media} is not supported. "
            f"Please use supported accept types: {SUPPORTED_ACCEPTS}."
        )
    return media.lower()


def csv_matrix(text: str) -> np.ndarray:
    """encoder.csv_to_dmatrix up to its DMatrix: the delimiter sniffed on the first line (a letter
    or digit means `,`), rows split on `\\n`, empty fields `nan`, then float64. Raises what
    the image's numpy raises for `np.array(rows).astype(float)`."""
    sniffed = csv.Sniffer().sniff(text.split("\n")[0][:512]).delimiter
    delimiter = "," if sniffed.isalnum() else sniffed
    if delimiter == "," and len(text) >= FAST_CSV_CHARS:
        fast = _plain_numbers(text)
        if fast is not None:
            return fast
    rows = [["nan" if f == "" else f for f in line.split(delimiter)] for line in text.split("\n")]
    width = len(rows[0])
    if any(len(row) != width for row in rows):
        # Ragged rows: numpy >= 1.24 (the 1.7-1 image's 1.24.1, the 3.x images' 2.1) refuses
        # them in its own words ("... The requested array has an inhomogeneous shape ...").
        np.array(rows, dtype=np.str_)
        raise ValueError("setting an array element with a sequence.")  # numpy < 1.24
    try:
        # numpy converts str to float with Python's float(), field by field, as 1.21 did.
        return np.array(rows, dtype=np.str_).astype(np.float64)
    except ValueError:
        pass
    # Only the error's wording differs: find the first bad field again (row-major, as numpy).
    return np.array([[_to_float(f) for f in row] for row in rows], dtype=np.float64)


def _plain_numbers(text: str) -> np.ndarray | None:
    """pyarrow's float64 parse of a comma-separated body of plain numbers, or None when the
    container's own steps must run. Both parsers round correctly, so the numbers are the same;
    any empty field, odd token or ragged row takes the other path (and gets its error)."""
    data = text.encode("utf-8")
    if data.translate(None, _NUMERIC):
        return None
    found = pyarrow_csv()
    if found is None:
        return None
    pa, pacsv = found

    names = [str(i) for i in range(text.split("\n", 1)[0].count(",") + 1)]
    # One thread, as containers_codecs._numeric_csv says why.
    try:
        table = pacsv.read_csv(
            pa.BufferReader(data),
            read_options=pacsv.ReadOptions(column_names=names, use_threads=False),
            parse_options=pacsv.ParseOptions(ignore_empty_lines=False, quote_char=False),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.float64()), strings_can_be_null=False
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if any(column.null_count for column in table.columns):
        return None
    # Row-major, as np.array of the rows is.
    return np.ascontiguousarray(np.stack([c.to_numpy() for c in table.columns], axis=1))


def libsvm_matrix(text: str, one_based_shift: bool = False) -> Any:
    """serve_utils._get_sparse_matrix_from_libsvm: lines split on single spaces, every token with
    a `:` is `index:value` (zero-based; labels, `qid:` and the rest of `a:b:c` ignored), into a
    scipy csr_matrix (duplicates summed, shape from the largest indexes). Errors as numpy 1.21
    and scipy 1.6 word them."""
    from scipy.sparse import csr_matrix

    rows: list[int] = []
    cols: list[str] = []
    values: list[str] = []
    for row_idx, line in enumerate(text.split("\n")):
        for item in line.split(" "):
            if ":" in item:
                parts = item.split(":")
                rows.append(row_idx)
                cols.append(parts[0])
                values.append(parts[1])
    col = [_to_int(c) for c in cols]
    data = [_to_float(v) for v in values]
    if one_based_shift and col and min(col) >= 1:
        # 3.2-0's serve_utils: "Shift 1-based libsvm indices to 0-based".
        col = [c - 1 for c in col]
    if not col:
        raise ValueError("cannot infer dimensions from zero sized index arrays")
    if max(col) + 1 < 0:
        raise ValueError("'shape' elements cannot be negative")
    if min(col) < 0:
        # scipy 1.6's text; newer scipy says "negative axis 1 index: -1".
        raise ValueError("negative column index found")
    return csr_matrix(
        (
            np.array(data, dtype=np.float64),
            (np.array(rows, dtype=np.int64), np.array(col, dtype=np.int64)),
        )
    )


def _to_float(field: str) -> float:
    # numpy's str dtype drops trailing NULs; then Python's float() and its message.
    return float(field.rstrip("\x00"))


def _to_int(field: str) -> int:
    value = int(field.rstrip("\x00"))
    if not _INT64_MIN <= value <= _INT64_MAX:
        raise OverflowError("Python int too large to convert to C long")
    return value


def batch_body(predictions: list[Any]) -> bytes:
    """SAGEMAKER_BATCH set: one `str()` per line, trailing newline, whatever the Accept."""
    return ("\n".join(map(str, predictions)) + "\n").encode("utf-8")


def json_body(predictions: list[Any]) -> bytes:
    """serve_utils.encode_predictions_as_json: `{"predictions": [{"score": p}, ...]}`."""
    return json.dumps({"predictions": [{"score": p} for p in predictions]}).encode("utf-8")


def toolkit_body(predictions: list[Any], accept: str) -> bytes:
    """sagemaker_inference's encoder.encode (1.5.5, same steps as in toolkit_codecs): CSV is
    np.savetxt with fmt `%s`, one prediction per line; NPY is np.save of the list. Other types
    raise its UnsupportedFormatError."""
    encoded = toolkit_codecs.encode(predictions, accept)
    return encoded.encode("utf-8") if isinstance(encoded, str) else bytes(encoded)


def selected_csv(rows: Sequence[dict[str, Any]], keys: Sequence[str], batch: bool) -> bytes:
    """serve_utils._encode_selected_predictions_csv: the selected keys in their order, lists
    quoted as `"[0.4, 0.6]"`, rows joined by `\\n` with no trailing newline unless in batch."""
    lines = [
        ",".join(f'"{row[key]}"' if isinstance(row[key], list) else str(row[key]) for key in keys)
        for row in rows
    ]
    return ("\n".join(lines) + ("\n" if batch else "")).encode("utf-8")


def selected_json(rows: Sequence[dict[str, Any]]) -> bytes:
    return json.dumps({"predictions": list(rows)}).encode("utf-8")


def selected_jsonlines(rows: Sequence[dict[str, Any]]) -> bytes:
    """encoder.json_to_jsonlines of the JSON answer: one object per line."""
    return b"".join((json.dumps(row) + "\n").encode("utf-8") for row in rows)

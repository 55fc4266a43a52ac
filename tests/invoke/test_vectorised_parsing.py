"""Numeric answers are parsed in one vectorised call, exactly as the per-value path reads them:
same values bit for bit, same dtypes, same shapes; anything unusual falls back to that path."""

from __future__ import annotations

import io
import json
import struct
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest

from pytest_smendpoint import ResponseFormatError
from pytest_smendpoint.invoke import prediction_parsing
from pytest_smendpoint.invoke.prediction_parsing import OutputArrays, parse_predictions, to_pandas

CSV, JSON, NPY = "text/csv", "application/json", "application/x-npy"
EDGE_FLOATS = [
    -0.0,
    5e-324,
    -5e-324,
    1e308,
    0.1,
    1.7976931348623157e308,
    2.2250738585072014e-308,
    2.225073858507201e-308,
    1e16,
    1e-7,
    123456789.12345679,
    0.30000000000000004,
]


@pytest.fixture(autouse=True)
def vectorised_at_any_size(monkeypatch: pytest.MonkeyPatch) -> None:
    """The vectorised path on these small bodies too (answers under SMALL_ANSWER_BYTES are
    read value by value, which costs less than pyarrow's call there)."""
    monkeypatch.setattr(prediction_parsing, "SMALL_ANSWER_BYTES", 0)


def test_a_small_answer_is_read_value_by_value_with_the_same_result(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    body = "".join(f"{v!r},{i}\n" for i, v in enumerate(EDGE_FLOATS)).encode()
    vectorised = read(body, CSV, len(EDGE_FLOATS))
    monkeypatch.setattr(prediction_parsing, "SMALL_ANSWER_BYTES", len(body) + 1)
    parsed = parse_predictions(body, CSV, len(EDGE_FLOATS), "test", whole=True)
    assert not isinstance(parsed.rows, OutputArrays)  # the per-value path
    part = parse_predictions(body, CSV, len(EDGE_FLOATS), "test")  # one of several answers
    assert isinstance(part.rows, OutputArrays)  # an array, which to_pandas joins as one
    small = read(body, CSV, len(EDGE_FLOATS))
    pd.testing.assert_frame_equal(small, vectorised)
    assert bits(small[0]) == bits(EDGE_FLOATS)


def npy(array: npt.ArrayLike) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(array))
    return buffer.getvalue()


def read(body: bytes, content_type: str, rows: int) -> pd.Series | pd.DataFrame:
    parsed = parse_predictions(body, content_type, rows, "test", whole=True)
    return to_pandas([parsed], pd.RangeIndex(rows))


def per_value(
    monkeypatch: pytest.MonkeyPatch, body: bytes, content_type: str, rows: int
) -> pd.Series | pd.DataFrame:
    """What the per-value path alone gives (the rules the vectorised one must keep)."""
    with monkeypatch.context() as patched:
        patched.setattr(prediction_parsing, "_csv_arrays", lambda *_: None)
        patched.setattr(prediction_parsing, "_numeric_items", lambda *_: None)
        patched.setattr(prediction_parsing, "_from_array", lambda *_: None)
        return read(body, content_type, rows)


def bits(values: npt.ArrayLike) -> list[bytes]:
    return [struct.pack("<d", v) for v in np.asarray(values, dtype=np.float64)]


def test_numeric_csv_is_held_as_one_array_per_output() -> None:
    parsed = parse_predictions(b"1,0.5\n0,0.25\n1,0.125\n", CSV, 3, "test")
    assert isinstance(parsed.rows, OutputArrays) and len(parsed.rows) == 3
    assert [a.dtype for a in parsed.rows.arrays] == [np.int64, np.float64]
    frame = to_pandas([parsed], pd.Index(["a", "b", "c"]))
    assert frame.dtypes.tolist() == [np.int64, np.float64]
    assert frame.columns.equals(pd.RangeIndex(2))
    assert frame.to_numpy().tolist() == [[1, 0.5], [0, 0.25], [1, 0.125]]


@pytest.mark.parametrize(
    ("content_type", "encode"),
    [
        (CSV, lambda vs: "".join(f"{v!r}\n" for v in vs).encode()),
        (CSV, lambda vs: ",".join(map(repr, vs)).encode()),  # one line, one value per row
        (JSON, lambda vs: json.dumps(vs).encode()),
        (JSON, lambda vs: json.dumps({"predictions": [[v] for v in vs]}).encode()),
        (NPY, lambda vs: npy(np.array(vs))),
    ],
    ids=["csv lines", "csv one line", "json list", "json predictions of lists", "npy"],
)
def test_floats_parse_bit_exact(content_type: str, encode: Callable[[list[float]], bytes]) -> None:
    rng = np.random.default_rng(7)
    random = rng.integers(0, 2**63, 5_000, dtype=np.int64).view(np.float64)
    values = [float(v) for v in np.concatenate([EDGE_FLOATS, random[np.isfinite(random)]])]
    parsed = parse_predictions(encode(values), content_type, len(values), "test")
    assert isinstance(parsed.rows, OutputArrays)
    got = to_pandas([parsed], pd.RangeIndex(len(values)))
    assert got.dtype == np.float64
    assert bits(got) == bits(values)  # -0.0 and every last bit kept


CSV_BODIES = {
    "integers": (b"1\n0\n1\n", 3),
    "integers and floats": (b"1\n2.5\n3\n", 3),
    "negative zero": (b"-0.0\n0.5\n-1.5\n", 3),
    "negative zero integer text": (b"-0\n-0.0\n0\n", 3),
    "integer text past int64 among floats": (b"0.5\n-12345678901234567890\n", 2),
    "negative zero in a second column": (b"1,-0.0\n2,0.5\n", 2),
    "negative zero integer text in a second column": (b"1,-0\n2,0.5\n", 2),
    "exponents": (b"1e5\n1E-5\n1e+16\n", 3),
    "nan and infinities": (b"nan\ninf\n-inf\n", 3),
    "spaced": (b" 1\n2 \n3\n", 3),
    "crlf and blank lines": (b"\r\n1.5\r\n\r\n2\r\n", 2),
    "bare cr": (b"1\r2\r", 2),
    "two outputs": (b"1,0.5\n2,0.25\n", 2),
    "one line of values": (b"1,2.5,3", 3),
    "one line of integers": (b"1,2,3\n", 3),
    "plus sign": (b"+5\n3\n", 2),
    "hex": (b"0x10\n1\n", 2),
    "byte order mark": (b"\xef\xbb\xbf1\n2\n", 2),
    "underscores": (b"1_000\n2\n", 2),
    "past int64": (b"9223372036854775808\n1\n", 2),
    "empty field": (b"1,,2\n3,4,5\n", 2),
    "empty field on one line": (b"1,,3", 3),
    "text": (b"cat\ndog\n", 2),
    "booleans": (b"true\nfalse\n", 2),
    "dates": (b"2020-01-01\n2\n", 2),
    "quoted": (b'"1"\n2\n', 2),
    "NA marker": (b"NA\n1\n", 2),
    "one row of outputs": (b"0.25,0.75\n", 1),
}


@pytest.mark.parametrize("body,rows", CSV_BODIES.values(), ids=CSV_BODIES.keys())
def test_csv_answers_read_as_the_per_value_rules_say(
    monkeypatch: pytest.MonkeyPatch, body: bytes, rows: int
) -> None:
    want = per_value(monkeypatch, body, CSV, rows)
    got = read(body, CSV, rows)
    assert type(got) is type(want)
    if isinstance(want, pd.Series):
        pd.testing.assert_series_equal(got, want, check_exact=True)
    else:
        pd.testing.assert_frame_equal(got, want, check_exact=True)
    for column in [got] if isinstance(got, pd.Series) else [got[c] for c in got]:
        want_column = want if isinstance(want, pd.Series) else want[column.name]
        if column.dtype == np.float64:
            assert bits(column) == bits(want_column)


def test_the_vectorised_path_is_taken_for_plain_numbers_only() -> None:
    fast = {"integers", "integers and floats", "negative zero", "exponents", "nan and infinities"}
    fast |= {"spaced", "crlf and blank lines", "bare cr", "two outputs", "one line of values"}
    fast |= {"one line of integers", "negative zero in a second column"}
    taken = {
        name
        for name, (body, rows) in CSV_BODIES.items()
        if isinstance(parse_predictions(body, CSV, rows, "test").rows, OutputArrays)
    }
    assert taken == fast


JSON_BODIES = {
    "integers": [1, 2, 3],
    "integers and floats": [1, 2.5, 3],
    "one-item lists": [[1], [2.5], [3]],
    "rows of floats": [[0.5, 0.25], [0.125, 1.5], [1.0, 2.0]],
    "rows of integers": [[1, 2], [3, 4], [5, 6]],
    "rows of an integer and a float": [[1, 0.5], [0, 0.25], [1, 0.75]],
    "booleans": [True, False, True],
    "integer and boolean": [1, True, 0],
    "null": [1.0, None, 2.0],
    "text": ["a", "b", "c"],
    "past int64": [2**63, 1, 2],
    "past uint64": [2**64, 1, 2],
    "records": [{"score": 0.5}, {"score": 0.25}, {"score": 1.0}],
}


@pytest.mark.parametrize("items", JSON_BODIES.values(), ids=JSON_BODIES.keys())
def test_json_answers_read_as_the_per_value_rules_say(
    monkeypatch: pytest.MonkeyPatch, items: list[Any]
) -> None:
    body = json.dumps({"predictions": items}).encode()
    want = per_value(monkeypatch, body, JSON, 3)
    got = read(body, JSON, 3)
    if isinstance(want, pd.Series):
        pd.testing.assert_series_equal(got, want, check_exact=True)
    else:
        pd.testing.assert_frame_equal(got, want, check_exact=True)


@pytest.mark.parametrize(
    "array",
    [
        np.array([0.1, 0.2, 0.3], dtype=np.float32),
        np.array([1, -2, 3], dtype=np.int8),
        np.array([1, 2, 3], dtype=np.uint32),
        np.array([1, 2, 2**63], dtype=np.uint64),
        np.array([True, False, True]),
        np.array([[0.5, 1.0], [0.25, 2.0], [0.125, 3.0]]),
    ],
    ids=["float32", "int8", "uint32", "uint64", "bool", "rows of floats"],
)
def test_npy_answers_read_as_the_per_value_rules_say(
    monkeypatch: pytest.MonkeyPatch, array: np.ndarray
) -> None:
    want = per_value(monkeypatch, npy(array), NPY, 3)
    got = read(npy(array), NPY, 3)
    if isinstance(want, pd.Series):
        pd.testing.assert_series_equal(got, want, check_exact=True)
    else:
        pd.testing.assert_frame_equal(got, want, check_exact=True)


def test_requests_mixing_vectorised_and_per_value_answers_assemble_as_before() -> None:
    parts = [
        parse_predictions(b"1\n2\n", CSV, 2, "test"),
        parse_predictions(b"0.5\n0.25\n", CSV, 2, "test"),
        parse_predictions(b"cat\n7\n", CSV, 2, "test"),
    ]
    assert [isinstance(p.rows, OutputArrays) for p in parts] == [True, True, False]
    assert to_pandas(parts[:2], pd.RangeIndex(4)).tolist() == [1.0, 2.0, 0.5, 0.25]
    assert to_pandas(parts[:1], pd.RangeIndex(2)).dtype == np.int64
    mixed = to_pandas(parts, pd.RangeIndex(6))
    assert mixed.tolist() == [1, 2, 0.5, 0.25, "cat", 7]


def test_ragged_csv_lines_keep_the_different_widths_error() -> None:
    parsed = parse_predictions(b"1,2\n3\n", CSV, 2, "test")
    assert not isinstance(parsed.rows, OutputArrays)
    match = r"different numbers of outputs per row: \[1, 2\]"
    with pytest.raises(ResponseFormatError, match=match):
        to_pandas([parsed], pd.RangeIndex(2))


TOKENS = ["0", "-0", "1", "-12", "0.5", "-0.0", "1e5", "1E+5", "2.5e-3", "nan", "inf", "-inf"]
TOKENS += [" 2", "3 ", "\t4", "007", ".5", "5.", "9223372036854775807", "9223372036854775808"]
TOKENS += ["1e300", "", "+1", "a", "NA", "true"]


def test_random_csv_bodies_read_as_the_per_value_rules_say(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(11)
    for _ in range(1_500):
        width, lines = int(rng.integers(1, 4)), int(rng.integers(1, 5))
        newline = str(rng.choice(["\n", "\r\n"]))
        text = newline.join(",".join(rng.choice(TOKENS, width)) for _ in range(lines))
        body = (text + str(rng.choice(["", newline]))).encode()
        rows = int(rng.choice([lines, width]))
        try:
            want = per_value(monkeypatch, body, CSV, rows)
        except (ResponseFormatError, ValueError) as error:
            with pytest.raises(type(error)):
                read(body, CSV, rows)
            continue
        got = read(body, CSV, rows)
        if isinstance(want, pd.Series):
            pd.testing.assert_series_equal(got, want, check_exact=True, obj=repr(body))
        else:
            pd.testing.assert_frame_equal(got, want, check_exact=True, obj=repr(body))

"""The CSV on the wire: headerless, exact for every float64, properly quoted text."""

from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from helpers.invoke_fakes import FakeRuntime

from pytest_smendpoint.invoke import csv_payloads
from pytest_smendpoint.invoke.csv_payloads import CsvEncoder
from pytest_smendpoint.invoke.frame_checks import FrameRules, prepare
from pytest_smendpoint.invoke.invoker import Invoker

SPECIAL = [
    0.1,
    1e-300,
    1 / 3,
    -0.0,
    0.0,
    5e-324,
    2.2250738585072014e-308,
    1.7976931348623157e308,
    -1.7976931348623157e308,
    2.0**53 + 2,
    1e16,
    1e22,
    123456789.0,
    0.000025,
    -2.5e-5,
    np.nextafter(1.0, 2.0),
    np.nextafter(0.1, 0.0),
]


def parse_floats(body: bytes) -> np.ndarray:
    return np.array([[float(v) for v in row] for row in csv.reader(io.StringIO(body.decode()))])


def test_float64_round_trip_is_bit_exact(fake_runtime: type[FakeRuntime]) -> None:
    rng = np.random.default_rng(3)
    bits = rng.integers(0, 2**64, size=40_000, dtype=np.uint64).view(np.float64)
    randoms = bits[np.isfinite(bits)][: 4 * 9_000]
    values = np.concatenate([np.array(SPECIAL), randoms])[: 4 * 9_000].reshape(-1, 4)
    df = pd.DataFrame(values, columns=list("abcd"))
    runtime = fake_runtime(answer=lambda rows: (b"0\n" * len(rows), "text/csv"))
    Invoker(runtime, "ep")(df, max_payload_bytes=100_000)
    assert len(runtime.bodies) > 5
    back = np.concatenate([parse_floats(body) for body in runtime.bodies])
    assert back.shape == values.shape
    assert np.array_equal(back.view(np.uint64), values.view(np.uint64))  # -0.0 included
    # pyarrow's reader (what pandas' read_csv(engine="pyarrow") uses) agrees.
    again = pd.read_csv(
        io.BytesIO(b"".join(runtime.bodies)), header=None, engine="pyarrow"
    ).to_numpy()
    assert np.array_equal(again.view(np.uint64), values.view(np.uint64))


def test_no_header_no_index_and_the_written_forms() -> None:
    df = pd.DataFrame({"x": [0.1, -0.0, 1e-300, 1 / 3, 2.0**53 + 2]}, index=[10, 20, 30, 40, 50])
    df["big"] = [2**63 - 1, -(2**63), 2**53 + 1, 0, 7]
    df["u"] = np.array([2**64 - 1, 0, 1, 2, 3], dtype=np.uint64)
    assert CsvEncoder(df).encode(0, 5) == (
        b"0.1,9223372036854775807,18446744073709551615\n"
        b"-0,-9223372036854775808,0\n"
        b"1e-300,9007199254740993,1\n"
        b"0.3333333333333333,0,2\n"
        b"9.007199254740994e+15,7,3\n"
    )


def test_narrow_floats_are_widened_exactly(fake_runtime: type[FakeRuntime]) -> None:
    # The model reads the frame's float32 value itself, as a local predict on the frame would.
    runtime = fake_runtime()
    df = pd.DataFrame(
        {"a": np.array([0.1, 1.5], dtype=np.float32), "b": np.array([0.1, 2.0], dtype=np.float16)}
    )
    Invoker(runtime, "ep")(df)
    back = parse_floats(runtime.bodies[0])
    assert np.array_equal(back, df.to_numpy(dtype=np.float64))
    assert runtime.bodies[0].startswith(b"0.10000000149011612,0.0999755859375\n")


def test_nullable_and_arrow_backed_columns_are_sent(fake_runtime: type[FakeRuntime]) -> None:
    runtime = fake_runtime()
    df = pd.DataFrame(
        {
            "i": pd.array([1, None], dtype="Int64"),
            "f": pd.array([0.5, None], dtype="Float64"),
            "p": pd.array([0.25, None], dtype="double[pyarrow]"),
            "c": pd.Categorical([2.5, 3.5]),
        }
    )
    Invoker(runtime, "ep")(df, allow_nan=True)
    assert runtime.bodies == [b"1,0.5,0.25,2.5\n,,,3.5\n"]


def test_text_is_quoted_whatever_it_holds(fake_runtime: type[FakeRuntime]) -> None:
    texts = ["plain", "comma, inside", 'say "hi"', "line\nbreak", "cr\rhere", "", "é ü", " pad "]
    runtime = fake_runtime()
    df = pd.DataFrame({"t": texts, "n": range(len(texts))})
    Invoker(runtime, "ep")(df, allow_strings=True)
    body = runtime.bodies[0]
    assert body.startswith(b'"plain",0\n"comma, inside",1\n"say ""hi""",2\n"line\nbreak",3\n')
    rows = list(csv.reader(io.StringIO(body.decode(), newline="")))
    assert [row[0] for row in rows] == texts
    assert [row[1] for row in rows] == [str(i) for i in range(len(texts))]


def test_missing_text_is_an_empty_field_and_empty_text_is_quoted(
    fake_runtime: type[FakeRuntime],
) -> None:
    runtime = fake_runtime()
    df = pd.DataFrame({"t": ["", None], "n": [1, 2]})
    Invoker(runtime, "ep")(df, allow_strings=True, allow_nan=True)
    assert runtime.bodies == [b'"",1\n,2\n']


def test_text_categories_are_sent_as_their_values(fake_runtime: type[FakeRuntime]) -> None:
    runtime = fake_runtime()
    df = pd.DataFrame({"t": pd.Categorical(["b,c", "a"]), "n": [1.0, 2.0]})
    Invoker(runtime, "ep")(df, allow_strings=True)
    assert runtime.bodies == [b'"b,c",1\n"a",2\n']


def test_long_double_falls_back_to_pandas_with_full_precision() -> None:
    value = np.longdouble(1) / np.longdouble(3)
    df = pd.DataFrame({"a": np.array([value], dtype=np.longdouble), "b": [1.0]})
    encoder = CsvEncoder(df)
    assert encoder.writer == "pandas"
    assert encoder.fallback_reason == f"column 'a' is {df['a'].dtype}, which Arrow cannot hold"
    field = encoder.encode(0, 1).decode().split(",")[0]
    assert np.longdouble(field) == value


def test_plain_numbers_use_pyarrows_writer() -> None:
    encoder = CsvEncoder(pd.DataFrame({"a": [1.0], "b": [2]}))
    assert (encoder.writer, encoder.fallback_reason) == ("pyarrow", None)


def test_flat_and_table_layouts_write_the_same_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    """A few rows of one dtype are written as one flattened column, more through a table of
    columns; both must give the very same text for every value."""
    rng = np.random.default_rng(11)
    bits = rng.integers(0, 2**64, size=3_000, dtype=np.uint64).view(np.float64)
    floats = np.concatenate([SPECIAL, [np.nan, 1e-7, 1e21, -1e-7], bits[np.isfinite(bits)]])
    floats = floats[: 200 * 7].reshape(200, 7)
    info = np.iinfo(np.int64)
    ints = rng.integers(info.min, info.max, size=(200, 5), dtype=np.int64, endpoint=True)
    ints[:3, 0] = [info.min, info.max, 0]
    frames = {
        "float64": pd.DataFrame(floats),
        "int64": pd.DataFrame(ints),
        "uint64": pd.DataFrame(rng.integers(0, 2**64 - 1, size=(200, 3), dtype=np.uint64)),
        "int8": pd.DataFrame(rng.integers(-128, 127, size=(200, 4), dtype=np.int8)),
        "bool": pd.DataFrame(rng.random((200, 6)) < 0.5),
    }
    flat_calls: list[int] = []
    original = csv_payloads.encode_flat

    def counting(values: np.ndarray) -> bytes:
        flat_calls.append(len(values))
        return original(values)

    monkeypatch.setattr(csv_payloads, "encode_flat", counting)
    for name, df in frames.items():
        frame = prepare(df, FrameRules(allow_nan=True)).frame  # bools become 0/1 as uint8
        encoder = CsvEncoder(frame)
        flat_calls.clear()
        few = b"".join(encoder.encode(start, start + 50) for start in range(0, 200, 50))
        assert flat_calls == [50, 50, 50, 50], name
        whole = encoder.encode(0, 200)
        assert flat_calls == [50, 50, 50, 50], name  # 200 rows: the table
        assert few == whole, name
        assert whole.count(b"\n") == 200 and whole.count(b",") == 200 * (frame.shape[1] - 1)
        assert csv_payloads.encode_flat(frame.to_numpy()) == whole, name
    assert CsvEncoder(frames["float64"]).encode(0, 3) == (  # the flat layout
        b"0.1,1e-300,0.3333333333333333,-0,0,5e-324,2.2250738585072014e-308\n"
        b"1.7976931348623157e+308,-1.7976931348623157e+308,9.007199254740994e+15,1e+16,1e+22,"
        b"123456789,0.000025\n"
        b"-0.000025,1.0000000000000002,0.09999999999999999,,1e-7,1e+21,-1e-7\n"
    )
    # Mixed dtypes, interleaved: the table is built from one array per dtype, and must write
    # what one Arrow array per pandas column writes.
    mixed = pd.concat([df.iloc[:, :2].add_prefix(name) for name, df in frames.items()], axis=1)
    mixed = mixed[sorted(mixed.columns, key=lambda label: label[-1])]
    prepared = prepare(mixed, FrameRules(allow_nan=True)).frame
    assert len(set(prepared.dtypes)) == 5
    by_column = pa.Table.from_arrays(
        [pa.Array.from_pandas(prepared.iloc[:, i]) for i in range(prepared.shape[1])],
        names=[f"c{i}" for i in range(prepared.shape[1])],
    )
    assert CsvEncoder(prepared).encode(0, 200) == written(by_column)
    bools = frames["bool"].iloc[0].tolist()
    assert (
        CsvEncoder(prepare(frames["bool"], FrameRules()).frame).encode(0, 1)
        == (",".join("1" if value else "0" for value in bools) + "\n").encode()
    )
    # Full precision, -0, NaN as an empty field, and both exponent signs, in both layouts.
    sample = pd.DataFrame([[0.1, -0.0, np.nan, 1e-300, 2.0**53 + 2, 1 / 3]])
    expected = b"0.1,-0,,1e-300,9.007199254740994e+15,0.3333333333333333\n"
    encoder = CsvEncoder(sample)
    assert encoder.encode(0, 1) == expected
    assert written(encoder.table) == expected


def written(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pacsv.write_csv(table, sink, write_options=pacsv.WriteOptions(include_header=False))
    return sink.getvalue()

"""The shortest float32 text against the containers' own CSV decoding, run here (the test
environment's numpy): for random and adversarial values, each decode of the short body equals
its decode of the full-precision body, bit for bit. tests/serving/differential/
test_float32_text_runtimes.py runs sagemaker-containers itself under each image's numpy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers.float32_values import adversarial_values, as_frame, bodies, without_twice_rounded

from pytest_smendpoint.invoke import orjson_csv
from pytest_smendpoint.invoke.csv_payloads import CsvEncoder
from pytest_smendpoint.invoke.float32_text import (
    TWICE_ROUNDED_WRONG,
    as_float32,
    writer_is_shortest,
)
from pytest_smendpoint.serving.profiles import containers_codecs, scikit_learn
from pytest_smendpoint.serving.profiles.xgboost import codecs as xgboost_codecs


def bits_of(array: np.ndarray) -> np.ndarray:
    assert array.dtype == np.float32
    return np.ascontiguousarray(array).view(np.uint32)


def sklearn_decode(text: str) -> np.ndarray:
    """serving.py's default input_fn (sagemaker-containers' decoder, then float32)."""
    return bits_of(scikit_learn.default_input_fn(text, containers_codecs.CSV))


def xgboost_decode(text: str, script_mode: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The XGBoost container's DMatrix, as its float32 data, column indexes and row starts:
    script mode's default input_fn, or the algorithm's CSV path (serve_utils)."""
    xgboost = pytest.importorskip("xgboost")
    from pytest_smendpoint.serving.profiles.xgboost import container

    if script_mode:  # which reads a trailing newline as a ragged empty row
        matrix = container.default_input_fn(text.rstrip("\n"), "text/csv")
    else:
        matrix = xgboost.DMatrix(xgboost_codecs.csv_matrix(text.strip()))
    data = matrix.get_data()
    return bits_of(data.data), data.indices, data.indptr


def test_the_installed_pyarrow_writes_the_swept_digits() -> None:
    assert writer_is_shortest()


def test_shortest_text_is_about_half_the_full_precision_text() -> None:
    values = np.random.default_rng(1).standard_normal((2000, 30)) * 50 + 10
    short, full = bodies(pd.DataFrame(values))
    assert len(short) < 0.6 * len(full)


@pytest.mark.parametrize("seed", [7, 8])
def test_scikit_learn_reads_the_short_text_as_the_same_float32(seed: int) -> None:
    short, full = bodies(as_frame(adversarial_values(seed=seed)))
    assert len(short) > containers_codecs.FAST_CSV_BYTES  # pyarrow's path of the decoder
    assert np.array_equal(sklearn_decode(short), sklearn_decode(full))
    # And the decoder's own csv.reader steps (bodies under FAST_CSV_BYTES), 40 rows at a time.
    short_lines, full_lines = short.splitlines(True), full.splitlines(True)
    for start in range(0, 4000, 40):
        small_short = "".join(short_lines[start : start + 40])
        small_full = "".join(full_lines[start : start + 40])
        assert np.array_equal(sklearn_decode(small_short), sklearn_decode(small_full))


@pytest.mark.parametrize("script_mode", [False, True], ids=["algorithm", "script-mode"])
def test_xgboost_reads_the_short_text_as_the_same_dmatrix(script_mode: bool) -> None:
    short, full = bodies(as_frame(adversarial_values(count=5000)))
    got, want = xgboost_decode(short, script_mode), xgboost_decode(full, script_mode)
    for part_got, part_want in zip(got, want, strict=True):
        assert np.array_equal(part_got, part_want)


def test_the_twice_rounded_patterns_keep_their_full_text() -> None:
    wrong = float(TWICE_ROUNDED_WRONG.view(np.float32)[0])  # 7.038531e-26 names it, but...
    frame = pd.DataFrame({"a": [wrong, 1.0], "b": [0.1, 0.2]})
    short, _ = bodies(frame)
    assert short.splitlines() == [f"{wrong!r},0.1", "1,0.2"]
    assert np.float32(float("7.038531e-26")) != np.float32(wrong)  # ...reads as its neighbour


def test_a_value_beyond_float32_keeps_its_column_at_full_precision() -> None:
    frame = pd.DataFrame({"huge": [1e39, 0.1], "small": [0.1, 1 / 3]})
    short, full = bodies(frame)
    assert short.splitlines() == ["1e+39,0.1", "0.1,0.33333334"]
    assert full.splitlines() == ["1e+39,0.1", "0.1,0.3333333333333333"]


def test_missing_and_infinite_values_are_written_as_at_full_precision() -> None:
    frame = pd.DataFrame({"a": [np.nan, np.inf, -np.inf, -0.0], "b": [1.0, 2.0, 3.0, 4.5]})
    short, full = bodies(frame)
    assert short == full == ",1\ninf,2\n-inf,3\n-0,4.5\n"


def test_small_calls_write_the_same_text_as_large_ones() -> None:
    values = adversarial_values(count=2000)
    frame = pd.DataFrame(values[:3000].reshape(100, 30))
    whole = CsvEncoder(frame, float32=True).encode(0, 100)  # over 64 rows: the table layout
    encoder = CsvEncoder(frame, float32=True)
    flat = b"".join(encoder.encode(i, i + 1) for i in range(100))  # one row: the flat layout
    assert flat == whole


def test_other_dtypes_are_not_narrowed() -> None:
    frame = pd.DataFrame({"i": [16777217, 2], "f": np.array([0.1, 0.2], dtype=np.float32)})
    short, full = bodies(frame)
    assert short == full == "16777217,0.1\n2,0.2\n"
    assert as_float32(np.array([1, 2])).dtype == np.int64


def test_the_invoker_sends_short_text_only_to_an_endpoint_that_reads_float32() -> None:
    from helpers.invoke_fakes import FakeRuntime

    from pytest_smendpoint.invoke.invoker import Invoker
    from pytest_smendpoint.settings.options import InvokeSettings

    frame = pd.DataFrame({"a": [1 / 3, 0.1], "b": [2.5, 1e-7]})
    sent = {}
    for name, reads_float32, settings in (
        ("float32", True, InvokeSettings()),
        ("unknown", False, InvokeSettings()),
        ("switched off", True, InvokeSettings(float32_csv=False)),
    ):
        runtime = FakeRuntime()
        Invoker(runtime, "ep", settings, csv_float32=reads_float32)(frame)
        sent[name] = runtime.bodies
    assert sent["float32"] == [b"0.33333334,2.5\n0.1,1e-7\n"]
    assert sent["unknown"] == sent["switched off"] == [b"0.3333333333333333,2.5\n0.1,1e-7\n"]


def _pyarrow_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(orjson_csv, "can_encode", lambda values: False)


def test_orjson_writes_float32_text_the_containers_read_as_pyarrows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """orjson (three times faster) and pyarrow spell some numbers differently (`5e-5`,
    `5e-05`); the containers' decoders must read both as the same float32 array, bit for bit."""
    frame = as_frame(without_twice_rounded(adversarial_values(seed=9)))
    assert orjson_csv.can_encode(as_float32(frame.to_numpy()))
    by_orjson = CsvEncoder(frame, float32=True).encode(0, len(frame)).decode()
    full = CsvEncoder(frame).encode(0, len(frame)).decode()
    _pyarrow_only(monkeypatch)
    by_pyarrow = CsvEncoder(frame, float32=True).encode(0, len(frame)).decode()
    assert by_orjson != by_pyarrow  # two writers, really
    assert np.array_equal(sklearn_decode(by_orjson), sklearn_decode(by_pyarrow))
    assert np.array_equal(sklearn_decode(by_orjson), sklearn_decode(full))
    small = "".join(by_orjson.splitlines(True)[:40])
    assert np.array_equal(
        sklearn_decode(small), sklearn_decode("".join(by_pyarrow.splitlines(True)[:40]))
    )
    for script_mode in (False, True):
        got = xgboost_decode(by_orjson, script_mode)
        want = xgboost_decode(by_pyarrow, script_mode)
        for part_got, part_want in zip(got, want, strict=True):
            assert np.array_equal(part_got, part_want)


def test_orjson_text_of_known_values() -> None:
    frame = pd.DataFrame({"a": [1.0, -0.0, 1e-45, 3.4028234663852886e38], "b": [0.1, 2.5, 7, 1e16]})
    assert CsvEncoder(frame, float32=True).encode(0, 4) == (
        b"1,0.1\n-0,2.5\n1e-45,7\n3.4028235e+38,1e+16\n"
    )


def test_a_missing_value_anywhere_leaves_the_whole_frame_to_pyarrow() -> None:
    """orjson writes NaN as `null`: a frame with one is written by pyarrow whole, so that each
    row's text is the same whichever rows it is encoded with."""
    values = np.arange(200 * 3, dtype=np.float64).reshape(200, 3) / 4
    values[150, 1] = np.nan
    encoder = CsvEncoder(pd.DataFrame(values), float32=True)
    assert encoder.encode(0, 2) == b"0,0.25,0.5\n0.75,1,1.25\n"
    whole = encoder.encode(0, 200)
    assert b"".join(encoder.encode(i, i + 50) for i in range(0, 200, 50)) == whole
    assert whole.splitlines()[150] == b"112.5,,113"


def test_an_orjson_that_prints_other_digits_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    import orjson

    real_dumps = orjson.dumps

    def nine_digits(value: object, option: int | None = None) -> bytes:
        assert isinstance(value, np.ndarray)
        return real_dumps([float(f"{v:.9g}") for v in value.tolist()])

    orjson_csv.writes_shortest.cache_clear()
    monkeypatch.setattr(orjson, "dumps", nine_digits)
    try:
        assert not orjson_csv.writes_shortest()
        frame = pd.DataFrame({"a": [0.1, 1.0], "b": [0.5, 2.0]})
        assert CsvEncoder(frame, float32=True).encode(0, 2) == b"0.1,0.5\n1,2\n"  # pyarrow's
    finally:
        orjson_csv.writes_shortest.cache_clear()


def test_no_orjson_leaves_float32_text_to_pyarrow(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    orjson_csv.writes_shortest.cache_clear()
    monkeypatch.setitem(sys.modules, "orjson", None)  # import orjson raises ImportError
    try:
        assert not orjson_csv.writes_shortest()
        frame = pd.DataFrame({"a": [0.1, 1.0], "b": [0.5, 2.0]})
        assert CsvEncoder(frame, float32=True).encode(0, 2) == b"0.1,0.5\n1,2\n"
    finally:
        orjson_csv.writes_shortest.cache_clear()


def test_whole_numbers_take_no_more_characters_than_pyarrows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """orjson writes `1.0`; the `.0` is dropped, or one-hot columns would double in size."""
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(rng.integers(0, 2, size=(500, 30)).astype(np.float64))
    frame[0] = rng.integers(-1000, 1000, size=500) * 1.0
    frame[1] = frame[1] / 4  # 0.25 and 0: a fraction beside whole numbers
    by_orjson = CsvEncoder(frame, float32=True).encode(0, len(frame))
    _pyarrow_only(monkeypatch)
    by_pyarrow = CsvEncoder(frame, float32=True).encode(0, len(frame))
    assert by_orjson == by_pyarrow

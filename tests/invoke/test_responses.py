"""Every response format the endpoint may choose, read back as one prediction per row."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from helpers.invoke_fakes import Answer, FakeRuntime, Rows, row_sums

from pytest_smendpoint import PredictionCountError, ResponseFormatError
from pytest_smendpoint.invoke.invoker import Invoker

DF = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [10.0, 20.0, 30.0]}, index=["x", "y", "z"])
SUMS = [11.0, 22.0, 33.0]


def answering(body_of: Callable[[Rows], bytes], content_type: str) -> Answer:
    return lambda rows: (body_of(rows), content_type)


def jdump(value: Any) -> bytes:
    return json.dumps(value).encode()


def lines(values: Iterable[object]) -> bytes:
    return "".join(f"{v}\n" for v in values).encode()


SINGLE_OUTPUT = {
    "csv lines": answering(lambda r: lines(row_sums(r)), "text/csv"),
    "csv with charset": answering(lambda r: lines(row_sums(r)), "text/csv; charset=utf-8"),
    "csv one line": answering(lambda r: ",".join(map(str, row_sums(r))).encode(), "text/csv"),
    "csv crlf": answering(lambda r: "\r\n".join(map(str, row_sums(r))).encode(), "text/csv"),
    "json flat list": answering(lambda r: jdump(row_sums(r)), "application/json"),
    "json list of one-item lists": answering(
        lambda r: jdump([[s] for s in row_sums(r)]), "application/json"
    ),
    "json predictions values": answering(
        lambda r: jdump({"predictions": row_sums(r)}), "application/json"
    ),
    "json lines": answering(
        lambda r: lines(json.dumps(s) for s in row_sums(r)), "application/jsonlines"
    ),
    "untyped json sniffed": answering(lambda r: jdump(row_sums(r)), "text/plain"),
    "untyped csv sniffed": answering(lambda r: lines(row_sums(r)), ""),
}


@pytest.mark.parametrize("answer", SINGLE_OUTPUT.values(), ids=SINGLE_OUTPUT.keys())
def test_one_output_per_row_gives_an_aligned_series(
    fake_runtime: type[FakeRuntime], answer: Answer
) -> None:
    preds = Invoker(fake_runtime(answer=answer), "ep")(DF)
    assert isinstance(preds, pd.Series)
    assert preds.index.equals(DF.index)
    assert preds.tolist() == SUMS
    assert preds.dtype == np.float64


def two(rows: Rows) -> list[list[float]]:
    return [[s, 2 * s] for s in row_sums(rows)]


MULTI_OUTPUT = {
    "csv lines of two values": answering(
        lambda r: "".join(f"{a},{b}\n" for a, b in two(r)).encode(), "text/csv"
    ),
    "json list of lists": answering(lambda r: jdump(two(r)), "application/json"),
    "json predictions of lists": answering(
        lambda r: jdump({"predictions": two(r)}), "application/json"
    ),
    "json lines of lists": answering(
        lambda r: lines(json.dumps(p) for p in two(r)), "application/x-jsonlines"
    ),
}


@pytest.mark.parametrize("answer", MULTI_OUTPUT.values(), ids=MULTI_OUTPUT.keys())
def test_several_outputs_per_row_give_an_aligned_frame(
    fake_runtime: type[FakeRuntime], answer: Answer
) -> None:
    preds = Invoker(fake_runtime(answer=answer), "ep")(DF)
    assert isinstance(preds, pd.DataFrame)
    assert preds.index.equals(DF.index)
    assert preds.to_numpy().tolist() == [[s, 2 * s] for s in SUMS]


def test_named_outputs_become_columns(fake_runtime: type[FakeRuntime]) -> None:
    answer = answering(
        lambda r: jdump(
            {
                "predictions": [
                    {"score": s / 100, "predicted_label": int(s > 20)} for s in row_sums(r)
                ]
            }
        ),
        "application/json",
    )
    preds = Invoker(fake_runtime(answer=answer), "ep")(DF)
    assert list(preds.columns) == ["score", "predicted_label"]
    assert preds["score"].tolist() == [0.11, 0.22, 0.33]
    assert preds["predicted_label"].tolist() == [0, 1, 1]


def test_one_named_output_is_a_series_with_that_name(fake_runtime: type[FakeRuntime]) -> None:
    answer = answering(
        lambda r: lines(json.dumps({"score": s}) for s in row_sums(r)), "application/jsonlines"
    )
    preds = Invoker(fake_runtime(answer=answer), "ep")(DF)
    assert isinstance(preds, pd.Series)
    assert (preds.name, preds.tolist()) == ("score", SUMS)


def test_class_labels_stay_text(fake_runtime: type[FakeRuntime]) -> None:
    answer = answering(
        lambda r: lines("big" if s > 20 else "small" for s in row_sums(r)), "text/csv"
    )
    assert Invoker(fake_runtime(answer=answer), "ep")(DF).tolist() == ["small", "big", "big"]


def test_integer_predictions_stay_integers(fake_runtime: type[FakeRuntime]) -> None:
    answer = answering(lambda r: lines(int(s) for s in row_sums(r)), "text/csv")
    preds = Invoker(fake_runtime(answer=answer), "ep")(DF)
    assert preds.dtype == np.int64 and preds.tolist() == [11, 22, 33]


def test_accept_is_asked_for_from_settings_or_argument(fake_runtime: type[FakeRuntime]) -> None:
    runtime = fake_runtime()
    invoker = Invoker(runtime, "ep")
    invoker(DF)
    invoker(DF, accept="application/json")
    assert [c["Accept"] for c in runtime.calls] == ["text/csv", "application/json"]
    assert {c["ContentType"] for c in runtime.calls} == {"text/csv"}
    assert {c["EndpointName"] for c in runtime.calls} == {"ep"}


def test_too_few_predictions_names_the_row_range(fake_runtime: type[FakeRuntime]) -> None:
    runtime = fake_runtime(answer=lambda rows: (lines(row_sums(rows)[:-1]), "text/csv"))
    df = pd.DataFrame({"a": np.arange(30_000, dtype=float)})
    with pytest.raises(PredictionCountError) as info:
        Invoker(
            runtime,
            "ep",
        )(df, max_rows_per_request=10_000, max_concurrency=1)
    assert (
        str(info.value) == "endpoint 'ep' answered 9999 predictions for rows 0-9999 "
        "(10000 rows sent)"
    )


def test_count_error_names_the_failing_request_not_the_first(
    fake_runtime: type[FakeRuntime],
) -> None:
    def answer(rows: Rows) -> tuple[bytes, str]:
        sums = row_sums(rows)
        return lines(sums + [0.0] if rows[0][0] == 10_000 else sums), "text/csv"

    df = pd.DataFrame({"a": np.arange(30_000, dtype=float)}, index=np.arange(30_000) + 5)
    with pytest.raises(PredictionCountError) as info:
        Invoker(fake_runtime(answer=answer), "ep")(df, max_rows_per_request=10_000)
    assert str(info.value) == (
        "endpoint 'ep' answered 10001 predictions for rows 10000-19999 "
        "(index 10005 to 20004) (10000 rows sent)"
    )


def test_unreadable_json_is_a_clear_error(fake_runtime: type[FakeRuntime]) -> None:
    answer = answering(lambda r: b'{"predictions": [1, 2', "application/json")
    with pytest.raises(ResponseFormatError) as info:
        Invoker(fake_runtime(answer=answer), "ep")(DF)
    assert str(info.value).startswith(
        "endpoint 'ep', rows 0-2 (index 'x' to 'z'): cannot read the application/json response "
        "as predictions ("
    )
    assert str(info.value).endswith("it begins '{\"predictions\": [1, 2'")


def test_mixed_widths_across_requests_are_refused(fake_runtime: type[FakeRuntime]) -> None:
    answer = answering(lambda r: jdump([[1, 2]] if r[0][0] == 1.0 else [3]), "application/json")
    match = r"different numbers of outputs per row: \[1, 2\]"
    with pytest.raises(ResponseFormatError, match=match):
        Invoker(fake_runtime(answer=answer), "ep")(DF.iloc[:2], max_rows_per_request=1)


def npy(array: Any) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(array))
    return buffer.getvalue()


def test_npy_answers_are_read(fake_runtime: type[FakeRuntime]) -> None:
    one = answering(lambda r: npy(row_sums(r)), "application/x-npy")
    assert Invoker(fake_runtime(answer=one), "ep")(DF).tolist() == SUMS
    several = answering(lambda r: npy(two(r)), "application/x-npy")
    assert Invoker(fake_runtime(answer=several), "ep")(DF).to_numpy().tolist() == [
        [s, 2 * s] for s in SUMS
    ]
    broken = answering(lambda r: b"not npy", "application/x-npy")
    with pytest.raises(
        ResponseFormatError,
        match=r"^endpoint 'ep', rows 0-2 \(index 'x' to 'z'\): "
        r"cannot read the application/x-npy response as a NumPy array",
    ):
        Invoker(fake_runtime(answer=broken), "ep")(DF)

"""Labels, features, dtypes and values: bad input is refused whole, before any request."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
import pytest
from helpers.invoke_fakes import FakeRuntime

from pytest_smendpoint import FrameError, InvokeArgumentError, InvokeError
from pytest_smendpoint.errors import SmEndpointError
from pytest_smendpoint.invoke.invoker import Invoker
from pytest_smendpoint.settings.options import InvokeSettings


def frame(**columns: list[Any]) -> pd.DataFrame:
    return pd.DataFrame(columns)


def sent_columns(runtime: FakeRuntime) -> int:
    return len(runtime.bodies[0].decode().splitlines()[0].split(","))


def test_default_label_column_is_dropped_when_present(fake_runtime: type[FakeRuntime]) -> None:
    runtime = fake_runtime()
    preds = Invoker(runtime, "ep")(frame(a=[1.0, 2.0], label=[100, 200], b=[10.0, 20.0]))
    assert runtime.bodies == [b"1,10\n2,20\n"]
    assert preds.tolist() == [11.0, 22.0]


def test_default_label_absent_is_not_an_error(fake_runtime: type[FakeRuntime]) -> None:
    runtime = fake_runtime()
    Invoker(runtime, "ep")(frame(a=[1.0], b=[2.0]))
    assert runtime.bodies == [b"1,2\n"]


def test_explicit_label_from_settings_that_is_absent_is_named(
    fake_runtime: type[FakeRuntime],
) -> None:
    runtime = fake_runtime()
    invoker = Invoker(runtime, "ep", InvokeSettings(label=("target",), label_explicit=True))
    with pytest.raises(FrameError) as info:
        invoker(frame(a=[1.0], label=[0]))
    assert str(info.value) == (
        "label column 'target' is not in the DataFrame (columns: 'a', 'label')"
    )
    assert runtime.calls == []


def test_label_argument_may_be_a_list_and_all_are_dropped(fake_runtime: type[FakeRuntime]) -> None:
    runtime = fake_runtime()
    Invoker(runtime, "ep")(frame(y1=[5], a=[1.0], y2=[6], label=[7]), label=["y1", "y2"])
    # An explicit label replaces the default: 'label' is now a feature.
    assert runtime.bodies == [b"1,7\n"]


def test_label_argument_lists_every_absent_label(fake_runtime: type[FakeRuntime]) -> None:
    with pytest.raises(
        FrameError,
        match=re.escape("label columns 'y1', 'y3' are not in the DataFrame (columns: 'a', 'y2')"),
    ):
        Invoker(fake_runtime(), "ep")(frame(a=[1.0], y2=[1]), label=["y1", "y2", "y3"])


def test_empty_label_list_drops_nothing(fake_runtime: type[FakeRuntime]) -> None:
    runtime = fake_runtime()
    Invoker(runtime, "ep")(frame(a=[1.0], label=[3]), label=[])
    assert runtime.bodies == [b"1,3\n"]


def test_feature_order_is_kept_exactly(fake_runtime: type[FakeRuntime]) -> None:
    runtime = fake_runtime()
    Invoker(runtime, "ep")(frame(z=[3.0], a=[1.0], m=[2.0]))
    assert runtime.bodies == [b"3,1,2\n"]


def test_features_matching_names_pass(fake_runtime: type[FakeRuntime]) -> None:
    runtime = fake_runtime()
    invoker = Invoker(runtime, "ep", InvokeSettings(features=("a", "b")))
    invoker(frame(a=[1.0], b=[2.0], label=[0]))
    assert runtime.bodies == [b"1,2\n"]


def test_features_report_missing_and_unexpected_names(fake_runtime: type[FakeRuntime]) -> None:
    invoker = Invoker(fake_runtime(), "ep", InvokeSettings(features=("a", "b", "c")))
    with pytest.raises(FrameError) as info:
        invoker(frame(a=[1.0], x=[2.0], b=[3.0], label=[1]))
    assert str(info.value) == (
        "feature columns differ from the expected ones after dropping 'label': "
        "missing 'c'; unexpected 'x'"
    )


def test_features_report_order_when_names_agree(fake_runtime: type[FakeRuntime]) -> None:
    runtime = fake_runtime()
    with pytest.raises(FrameError) as info:
        Invoker(runtime, "ep")(frame(b=[1.0], a=[2.0], c=[3.0]), features=["a", "b", "c"])
    assert str(info.value) == (
        "feature columns differ from the expected ones: "
        "out of order: expected 'a', 'b', 'c', got 'b', 'a', 'c'"
    )
    assert runtime.calls == []


def test_feature_count_is_checked(fake_runtime: type[FakeRuntime]) -> None:
    invoker = Invoker(fake_runtime(), "ep", InvokeSettings(features=3))
    with pytest.raises(FrameError) as info:
        invoker(frame(a=[1.0], b=[2.0]))
    assert str(info.value) == "expected 3 feature columns, the DataFrame has 2: 'a', 'b'"


def test_feature_names_match_integer_column_labels_as_text(fake_runtime: type[FakeRuntime]) -> None:
    runtime = fake_runtime()
    Invoker(runtime, "ep")(pd.DataFrame([[1.0, 2.0]]), features=["0", "1"])
    assert runtime.bodies == [b"1,2\n"]


def test_non_numeric_columns_are_named_with_their_dtypes(fake_runtime: type[FakeRuntime]) -> None:
    runtime = fake_runtime()
    df = frame(a=[1.0], name=["x"], when=pd.to_datetime(["2024-01-01"]), z=[1 + 2j])
    with pytest.raises(FrameError) as info:
        Invoker(runtime, "ep")(df)
    assert str(info.value) == (
        "cannot send non-numeric columns as CSV features: 'name' (str), "
        f"'when' ({df['when'].dtype}), 'z' (complex128); "
        "pass allow_strings=True to send text columns as quoted CSV fields"
    )
    assert runtime.calls == []


def test_allow_strings_still_refuses_dates(fake_runtime: type[FakeRuntime]) -> None:
    df = frame(name=["x"], when=pd.to_timedelta(["1s"]))
    with pytest.raises(FrameError) as info:
        Invoker(fake_runtime(), "ep")(df, allow_strings=True)
    assert str(info.value) == (
        f"cannot send non-numeric columns as CSV features: 'when' ({df['when'].dtype}); "
        "convert them to numbers first"
    )


def test_object_column_of_mixed_values_is_refused(fake_runtime: type[FakeRuntime]) -> None:
    df = frame(a=pd.Series(["x", 1], dtype=object))
    with pytest.raises(FrameError, match=re.escape("'a' (object); convert them to numbers")):
        Invoker(fake_runtime(), "ep")(df, allow_strings=True)


def test_bools_are_sent_as_one_and_zero(fake_runtime: type[FakeRuntime]) -> None:
    runtime = fake_runtime()
    df = frame(a=[True, False], b=pd.array([True, None], dtype="boolean"))
    Invoker(runtime, "ep")(df, allow_nan=True)
    assert runtime.bodies == [b"1,1\n0,\n"]


def test_nan_is_refused_naming_columns_and_first_rows(fake_runtime: type[FakeRuntime]) -> None:
    runtime = fake_runtime()
    df = pd.DataFrame(
        {"a": [1.0, np.nan], "b": [1.0, 2.0], "c": pd.array([None, 1], "Int64")}, index=["r0", "r1"]
    )
    with pytest.raises(FrameError) as info:
        Invoker(runtime, "ep")(df)
    assert str(info.value) == (
        "NaN or missing values in columns 'a' (first at row 'r1'), 'c' (first at row 'r0'): "
        "drop or fill them, or pass allow_nan=True to send them as empty fields"
    )
    assert runtime.calls == []


def test_infinite_values_are_refused_even_with_allow_nan(fake_runtime: type[FakeRuntime]) -> None:
    df = frame(a=[1.0, -np.inf], b=[np.nan, 1.0])
    with pytest.raises(FrameError) as info:
        Invoker(fake_runtime(), "ep")(df, allow_nan=True)
    assert str(info.value) == (
        "infinite values in columns 'a' (first at row 1): CSV has no portable infinity, "
        "clip or drop them (allow_nan does not cover them)"
    )


def test_nan_and_infinity_are_reported_together(fake_runtime: type[FakeRuntime]) -> None:
    with pytest.raises(FrameError) as info:
        Invoker(fake_runtime(), "ep")(frame(a=[np.nan], b=[np.inf]))
    assert str(info.value).splitlines() == [
        "NaN or missing values in columns 'a' (first at row 0): drop or fill them, or pass "
        "allow_nan=True to send them as empty fields",
        "infinite values in columns 'b' (first at row 0): CSV has no portable infinity, "
        "clip or drop them (allow_nan does not cover them)",
    ]


def test_allow_nan_sends_empty_fields(fake_runtime: type[FakeRuntime]) -> None:
    runtime = fake_runtime()
    preds = Invoker(runtime, "ep")(frame(a=[np.nan, 1.5], b=[2.0, np.nan]), allow_nan=True)
    assert runtime.bodies == [b",2\n1.5,\n"]
    assert preds.tolist() == [2.0, 1.5]


def test_single_column_missing_value_is_not_an_empty_line(fake_runtime: type[FakeRuntime]) -> None:
    # An empty line would be skipped by CSV readers; the pandas writer quotes it instead.
    runtime = fake_runtime()
    Invoker(runtime, "ep")(frame(a=[1.0, np.nan, 2.0]), allow_nan=True)
    assert runtime.bodies == [b'1.0\n""\n2.0\n']


def test_empty_frame_returns_empty_series_without_a_call(fake_runtime: type[FakeRuntime]) -> None:
    runtime = fake_runtime()
    df = pd.DataFrame({"a": pd.Series([], dtype=float)}, index=pd.Index([], name="id"))
    preds = Invoker(runtime, "ep")(df)
    assert isinstance(preds, pd.Series) and preds.empty
    assert preds.index.equals(df.index)
    assert runtime.calls == []
    assert Invoker(runtime, "ep").rows(df).empty
    assert runtime.calls == []


def test_duplicate_column_names_are_refused(fake_runtime: type[FakeRuntime]) -> None:
    df = pd.DataFrame([[1.0, 2.0, 3.0]], columns=["a", "b", "a"])
    with pytest.raises(FrameError, match="duplicate column names: 'a'$"):
        Invoker(fake_runtime(), "ep")(df)


def test_a_non_dataframe_is_refused(fake_runtime: type[FakeRuntime]) -> None:
    with pytest.raises(FrameError, match="takes a pandas DataFrame, got ndarray"):
        Invoker(fake_runtime(), "ep")(np.ones((2, 2)))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"max_payload_bytes": 6_291_457},
            "max_payload_bytes=6291457: must be above 0 and at "
            "most 6291456 (SageMaker's real-time InvokeEndpoint limit)",
        ),
        ({"max_payload_bytes": 0}, "max_payload_bytes=0: must be above 0"),
        ({"max_rows_per_request": 0}, "max_rows_per_request=0: must be a positive integer"),
        ({"max_rows_per_request": True}, "max_rows_per_request=True: must be a positive integer"),
        ({"max_rows_per_request": 2.5}, "max_rows_per_request=2.5: must be a positive integer"),
        ({"max_concurrency": 0}, "max_concurrency=0: must be a positive integer"),
        ({"max_concurrency": 2.5}, "max_concurrency=2.5: must be a positive integer"),
        ({"max_concurrency": True}, "max_concurrency=True: must be a positive integer"),
        ({"features": 0}, "features=0: a feature count must be positive"),
    ],
)
def test_bad_options_are_refused(
    fake_runtime: type[FakeRuntime], options: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvokeArgumentError, match=re.escape(message)) as caught:
        Invoker(fake_runtime(), "ep")(frame(a=[1.0]), **options)
    if "max_payload_bytes=0" not in message:  # that one's message continues
        assert str(caught.value) == message


def test_every_invoke_error_is_a_plugin_error() -> None:
    assert issubclass(InvokeError, SmEndpointError)
    assert issubclass(FrameError, InvokeError)


def test_a_frame_of_labels_only_is_refused(fake_runtime: type[FakeRuntime]) -> None:
    runtime = fake_runtime()
    with pytest.raises(FrameError) as info:
        Invoker(runtime, "ep")(frame(label=[1, 0]))
    assert str(info.value) == "the DataFrame has no feature columns to send after dropping 'label'"
    assert runtime.calls == []


def test_a_single_feature_name_may_be_given_as_text(fake_runtime: type[FakeRuntime]) -> None:
    runtime = fake_runtime()
    Invoker(runtime, "ep")(frame(abc=[1.0]), features="abc")
    with pytest.raises(FrameError, match="missing 'xyz'; unexpected 'abc'"):
        Invoker(runtime, "ep")(frame(abc=[1.0]), features="xyz")


def test_value_problems_are_listed_in_column_order_whatever_the_dtypes(
    fake_runtime: type[FakeRuntime],
) -> None:
    """Float64 columns are checked as one block and the others one by one; the message still
    lists columns in the frame's order, named as the frame names them."""
    df = pd.DataFrame(
        {
            0: pd.array([1, None], dtype="Int64"),
            1: [np.nan, 1.0],
            2: np.array([1.0, np.inf], dtype=np.float32),
            3: [1, 2],
            4: [1.0, -np.inf],
            5: pd.array([None, 1.5], dtype="Float64"),
        }
    )
    df.columns = pd.Index(np.arange(6, dtype=np.int64))
    with pytest.raises(FrameError) as info:
        Invoker(fake_runtime(), "ep")(df)
    assert str(info.value).splitlines() == [
        "NaN or missing values in columns 0 (first at row 1), 1 (first at row 0), "
        "5 (first at row 0): drop or fill them, or pass allow_nan=True to send them as empty "
        "fields",
        "infinite values in columns 2 (first at row 1), 4 (first at row 1): CSV has no portable "
        "infinity, clip or drop them (allow_nan does not cover them)",
    ]

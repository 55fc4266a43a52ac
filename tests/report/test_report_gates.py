"""sm_metrics' recorder and gate evaluation, without a session: exact messages for bad input, and
the rule that every value of a metric must meet its gate."""

from __future__ import annotations

import math

import pytest

from pytest_smendpoint.reporting.gates import (
    MetricError,
    MetricRecorder,
    Observed,
    evaluate,
    missed,
)
from pytest_smendpoint.settings.options import Gate


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (
            "1auc",
            0.9,
            "metric name '1auc' must start with a letter or _ and hold only letters, digits, _ "
            "and . (the names a --sm-gate can refer to)",
        ),
        (
            "p99_ms",
            3.0,
            "metric name 'p99_ms' is a figure the plugin computes from sm_invoke's counters "
            "(p50_ms, p95_ms, p99_ms, max_ms, errors, invocations, rows): record yours under "
            "another name",
        ),
        ("auc", "0.9", "metric 'auc': value '0.9' is not a real number"),
        ("auc", True, "metric 'auc': value True is not a real number"),
        ("auc", math.nan, "metric 'auc': value nan is not finite"),
        ("auc", math.inf, "metric 'auc': value inf is not finite"),
    ],
)
def test_bad_metric_is_refused_with_its_reason(name: str, value: object, message: str) -> None:
    values: dict[str, float] = {}
    with pytest.raises(MetricError) as caught:
        MetricRecorder(values).record(name, value)  # type: ignore[arg-type]
    assert str(caught.value) == message
    assert values == {}


def test_recording_again_replaces_and_numpy_numbers_are_plain_floats() -> None:
    np = pytest.importorskip("numpy")
    values: dict[str, float] = {}
    recorder = MetricRecorder(values)
    recorder.record("auc", 0.5)
    recorder.record("auc", np.float32(0.75))
    recorder.record("model.f1", np.int64(1))
    assert values == {"auc": 0.75, "model.f1": 1.0}
    assert type(values["auc"]) is float and "auc" in recorder and recorder["model.f1"] == 1.0


@pytest.mark.parametrize(
    ("operator", "threshold", "met"),
    [(">=", 0.9, True), (">", 0.9, False), ("<=", 0.9, True), ("<", 0.91, True), ("==", 0.9, True)],
)
def test_each_operator_compares_value_to_threshold(
    operator: str, threshold: float, met: bool
) -> None:
    [result] = evaluate([Gate("auc", operator, threshold)], {"auc": [Observed(0.9)]})
    assert result.met is met
    assert result.value == 0.9


def test_gate_is_missed_when_any_value_misses_and_names_that_value() -> None:
    observed = {"p99_ms": [Observed(120.0, "endpoint a"), Observed(250.5, "endpoint b")]}
    [result] = evaluate([Gate("p99_ms", "<=", 200)], observed)
    assert not result.met
    assert result.value == 250.5
    assert result.line() == (
        "MISSED p99_ms<=200: p99_ms = 250.5 (endpoint b); 1 of 2 values meet it"
    )


def test_metric_never_recorded_misses_its_gate_and_says_how_to_record_it() -> None:
    results = evaluate([Gate("auc", ">=", 0.92), Gate("p99_ms", "<=", 200)], {})
    assert [r.line() for r in missed(results)] == [
        'MISSED auc>=0.92: auc was never recorded: no test called sm_metrics.record("auc", value)',
        "MISSED p99_ms<=200: p99_ms was never measured: no test called sm_invoke",
    ]
    assert all(r.value is None for r in results)

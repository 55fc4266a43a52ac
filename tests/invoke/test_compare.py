"""sm_compare's comparison, without a session: two fake endpoints whose answers differ on chosen
rows, so every figure has an exact expected value; both run at once with the same payloads."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pandas as pd
import pytest
from helpers.invoke_fakes import FakeRuntime, Rows

from pytest_smendpoint.invoke.compare import Comparer, Comparison, ComparisonError, compare
from pytest_smendpoint.invoke.errors import FrameError
from pytest_smendpoint.invoke.invoker import Invoker
from pytest_smendpoint.reporting.comparisons import ComparisonSummary
from pytest_smendpoint.reporting.gates import MetricError, MetricRecorder, Observed
from pytest_smendpoint.reporting.report import SessionReport
from pytest_smendpoint.settings.options import Gate

X = [0.1, 0.4, 0.6, 0.9, 0.2]
GROUP = [1.0, 1.0, 2.0, 1.0, 2.0]  # production answers 1 - x on group 2: rows c and e
LABEL = [0, 0, 1, 1, 0]


def frame() -> pd.DataFrame:
    return pd.DataFrame({"x": X, "group": GROUP, "label": LABEL}, index=list("abcde"))


def lines(values: list[float]) -> tuple[bytes, str]:
    return "".join(f"{v!r}\n" for v in values).encode(), "text/csv"


def candidate_answer(rows: Rows) -> tuple[bytes, str]:
    return lines([row[0] for row in rows])


def baseline_answer(rows: Rows) -> tuple[bytes, str]:
    return lines([row[0] if row[1] == 1.0 else 1 - row[0] for row in rows])


def pair(
    candidate: FakeRuntime | None = None, baseline: FakeRuntime | None = None
) -> tuple[Invoker, Invoker]:
    return (
        Invoker(candidate or FakeRuntime(candidate_answer), "candidate-ep"),
        Invoker(baseline or FakeRuntime(baseline_answer), "production"),
    )


def test_scores_cut_at_the_threshold_give_agreement_differences_metric_and_worst_rows() -> None:
    result = compare(*pair(), frame(), name="holdout", threshold=0.5)
    baseline = np.array([0.1, 0.4, 1 - 0.6, 0.9, 1 - 0.2])
    assert result.agree.index.tolist() == list("abcde")
    assert result.agree.tolist() == [True, True, False, True, False]
    assert result.agreement == 0.6 and result.disagreements == 2
    assert result.candidate_labels.tolist() == [False, False, True, True, False]
    assert result.baseline.tolist() == baseline.tolist()
    expected_abs = np.abs(np.array(X) - baseline)
    assert result.abs_diff is not None and result.rel_diff is not None
    assert result.abs_diff.tolist() == expected_abs.tolist()
    scale = np.maximum(np.abs(X), np.abs(baseline))
    assert result.rel_diff.tolist() == (expected_abs / scale).tolist()
    score_diff = result.score_diff
    assert score_diff is not None
    assert score_diff.max == expected_abs.max()
    assert score_diff.mean == expected_abs.mean()
    assert score_diff.p99 == np.percentile(expected_abs, 99)
    # Accuracy of the thresholded labels against the label column, for each side.
    assert (result.candidate_metric, result.baseline_metric) == (1.0, 0.6)
    assert result.metric_delta == 1.0 - 0.6
    # Differing labels first, the larger score difference first among them; features kept.
    assert result.worst.index.tolist() == ["e", "c"]
    assert result.worst.columns.tolist() == [
        "x", "group", "label", "candidate", "baseline", "abs_diff"
    ]  # fmt: skip
    assert result.worst["candidate"].tolist() == [False, True]
    assert set(result.figures()) == {
        "agreement",
        "disagreements",
        "compared_rows",
        "score_diff_max",
        "score_diff_mean",
        "score_diff_p99",
        "score_rel_diff_max",
        "score_rel_diff_mean",
        "score_rel_diff_p99",
        "accuracy_candidate",
        "accuracy_baseline",
        "accuracy_delta",
    }


def test_both_endpoints_get_the_same_payloads() -> None:
    candidate, baseline = FakeRuntime(candidate_answer), FakeRuntime(baseline_answer)
    compare(*pair(candidate, baseline), frame(), name="c", threshold=0.5, max_rows_per_request=2)
    assert len(candidate.bodies) == 3
    assert sorted(candidate.bodies) == sorted(baseline.bodies)


def test_both_endpoints_are_invoked_at_the_same_time() -> None:
    # Each endpoint's only request waits for the other's: one after the other, this breaks.
    both_in_flight = threading.Barrier(2, timeout=10)
    candidate = FakeRuntime(candidate_answer, delay=lambda rows: both_in_flight.wait())
    baseline = FakeRuntime(baseline_answer, delay=lambda rows: both_in_flight.wait())
    result = compare(*pair(candidate, baseline), frame(), name="c", threshold=0.5)
    assert result.rows == 5 and len(candidate.calls) == len(baseline.calls) == 1


def test_a_callable_metric_gets_the_label_column_and_each_sides_predictions() -> None:
    seen = []

    def mean_score(truth: pd.Series, predictions: pd.Series) -> float:
        seen.append((truth.tolist(), predictions.index.tolist()))
        return float(predictions.mean())

    result = compare(*pair(), frame(), name="c", threshold=0.5, metric=mean_score)
    assert seen == [(LABEL, list("abcde"))] * 2
    assert result.metric_name == "mean_score"
    figures = result.figures()
    assert figures["mean_score_candidate"] == float(np.mean(X))
    assert result.candidate_metric is not None and result.baseline_metric is not None
    assert figures["mean_score_delta"] == result.candidate_metric - result.baseline_metric
    named = compare(*pair(), frame(), name="c", threshold=0.5, metric=lambda t, p: 1.0,
                    metric_name="auc")  # fmt: skip
    assert named.figures()["auc_baseline"] == 1.0


def test_without_a_label_column_there_is_no_metric() -> None:
    result = compare(*pair(), frame().drop(columns="label"), name="c", threshold=0.5)
    assert result.metric_name is None and result.metric_delta is None
    assert not any(name.startswith("accuracy") for name in result.figures())


def test_labels_are_compared_as_they_are_without_a_threshold() -> None:
    def labels(rows: Rows) -> tuple[bytes, str]:
        return lines([float(row[1] > 1) for row in rows])

    result = compare(*pair(FakeRuntime(labels), FakeRuntime(labels)), frame(), name="c")
    assert result.agreement == 1.0 and result.worst.empty
    assert result.candidate_metric == 0.6  # labels 0,0,1,0,1 against 0,0,1,1,0


def test_several_outputs_per_row_are_labelled_by_their_highest_score() -> None:
    def scores(rows: Rows) -> tuple[bytes, str]:
        return "".join(f"{r[0]!r},{1 - r[0]!r}\n" for r in rows).encode(), "text/csv"

    def swapped(rows: Rows) -> tuple[bytes, str]:
        return "".join(f"{1 - r[0]!r},{r[0]!r}\n" for r in rows).encode(), "text/csv"

    result = compare(*pair(FakeRuntime(scores), FakeRuntime(swapped)), frame(), name="c")
    assert result.candidate_labels.tolist() == [1, 1, 0, 0, 1]
    assert result.agreement == 0.0
    c = np.array([[x, 1 - x] for x in X])
    assert result.abs_diff is not None
    assert result.abs_diff.tolist() == np.abs(c - c[:, ::-1]).max(axis=1).tolist()
    with pytest.raises(ComparisonError) as caught:
        compare(*pair(FakeRuntime(scores), FakeRuntime(swapped)), frame(), name="c",
                threshold=0.5)  # fmt: skip
    assert str(caught.value) == (
        "threshold=0.5 applies to one score per row, but the candidate answered 2 per row "
        "(their label is the highest score's column: leave threshold out)"
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {},
            "the candidate answered scores (non-whole numbers), not labels: give threshold= "
            "(e.g. sm_compare(df, threshold=0.5)) to compare them as labels",
        ),
        ({"threshold": "0.5"}, "threshold='0.5': must be a number"),
        ({"threshold": float("nan")}, "threshold=nan: must be finite"),
        (
            {"threshold": 0.5, "metric": lambda t, p: 1.0},
            "metric name '<lambda>' cannot name a figure (letters, digits, _ and . only, not "
            'starting with a digit): give metric_name=, e.g. metric_name="auc"',
        ),
        (
            {"threshold": 0.5, "metric": "auc"},
            "metric='auc': must be a callable (y_true, predictions)",
        ),
        ({"threshold": 0.5, "top": -1}, "top=-1: must be a whole number of rows, 0 or more"),
        (
            {"threshold": 0.5, "metric": lambda t, p: "high", "metric_name": "auc"},
            "metric 'auc' returned 'high', not a number",
        ),
    ],
)
def test_bad_arguments_are_refused_with_their_reason(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ComparisonError) as caught:
        compare(*pair(), frame(), name="c", **kwargs)
    assert str(caught.value) == message


def test_answers_of_different_widths_cannot_be_compared() -> None:
    def two(rows: Rows) -> tuple[bytes, str]:
        return "".join("0.1,0.9\n" for _ in rows).encode(), "text/csv"

    with pytest.raises(ComparisonError) as caught:
        compare(*pair(baseline=FakeRuntime(two)), frame(), name="c", threshold=0.5)
    assert str(caught.value) == (
        "the candidate answered 1 output(s) per row and the baseline 2: their predictions "
        "cannot be compared"
    )


def test_a_frame_sm_invoke_refuses_is_refused_the_same_way() -> None:
    bad = frame().assign(text=["a"] * 5)
    with pytest.raises(FrameError) as caught:
        compare(*pair(), bad, name="c", threshold=0.5)
    assert not isinstance(caught.value, ComparisonError)
    with pytest.raises(FrameError) as direct:
        pair()[0](bad)
    assert str(caught.value) == str(direct.value)


def test_comparer_names_each_comparison_and_hands_it_over() -> None:
    kept: list[Comparison] = []
    comparer = Comparer(*pair(), kept.append)
    first = comparer(frame(), threshold=0.5)
    second = comparer(frame(), threshold=0.5)
    named = comparer(frame(), threshold=0.5, name="holdout")
    assert [c.name for c in kept] == [
        "test_comparer_names_each_comparison_and_hands_it_over",
        "test_comparer_names_each_comparison_and_hands_it_over #2",
        "holdout",
    ]
    assert kept == [first, second, named]


def test_the_summary_carries_figures_into_the_report_and_its_gates() -> None:
    summary = ComparisonSummary.from_comparison(
        compare(*pair(), frame(), name="holdout", threshold=0.5)
    )
    assert ComparisonSummary.from_json(summary.to_json()) == ComparisonSummary(
        **{**summary.__dict__, "points": ()}
    )
    assert summary.points == tuple(zip([0.1, 0.4, 1 - 0.6, 0.9, 1 - 0.2], X, strict=True))
    assert [row.index for row in summary.worst] == ["e", "c"]
    assert summary.worst[0].features == {"x": 0.2, "group": 2.0, "label": 0}
    report = SessionReport(endpoints=(), metrics={}, comparisons=(summary,)).with_gates(
        [
            Gate("agreement", ">=", 0.98),
            Gate("accuracy_delta", ">=", -0.005),
            Gate("score_diff_p99", "<=", 1.0),
        ]
    )
    assert [(r.met, r.detail) for r in report.gates] == [
        (False, "agreement = 0.6 (comparison holdout)"),
        (True, f"accuracy_delta = {1.0 - 0.6:g} (comparison holdout)"),
        (True, f"score_diff_p99 = {summary.figures['score_diff_p99']:g} (comparison holdout)"),
    ]
    assert report.to_json()["comparisons"][0]["figures"]["agreement"] == 0.6


def test_gates_on_comparison_figures_nobody_computed_say_so() -> None:
    report = SessionReport(endpoints=(), metrics={}).with_gates(
        [Gate("agreement", ">=", 0.98), Gate("accuracy_delta", ">=", 0)]
    )
    assert [r.detail for r in report.gates] == [
        "agreement was never measured: no test called sm_compare",
        "accuracy_delta was never recorded: no sm_compare on a frame with a label column, "
        'nor sm_metrics.record("accuracy_delta", value)',
    ]


def test_comparison_figures_cannot_be_recorded_as_metrics() -> None:
    with pytest.raises(MetricError) as caught:
        MetricRecorder({}).record("agreement", 0.5)
    assert str(caught.value) == (
        "metric name 'agreement' is a figure sm_compare computes (agreement, disagreements, "
        "compared_rows, score_diff_max, score_diff_mean, score_diff_p99, score_rel_diff_max, "
        "score_rel_diff_mean, score_rel_diff_p99): record yours under another name"
    )


def test_an_xdist_workers_comparisons_reach_the_controllers_report() -> None:
    from pytest_smendpoint.reporting.report import build_report, worker_payload

    summary = ComparisonSummary.from_comparison(
        compare(*pair(), frame(), name="holdout", threshold=0.5)
    )
    payload = worker_payload("gw1", [], {}, {}, [summary])
    report = build_report([], {}, {}, worker_payloads=[payload])
    assert report.comparisons == (summary,)
    assert report.figures()["agreement"] == [Observed(0.6, "comparison holdout")]


def test_an_empty_frame_compares_as_full_agreement_with_no_differences() -> None:
    result = compare(*pair(), frame().head(0), name="c", threshold=0.5)
    assert (result.rows, result.agreement, result.disagreements) == (0, 1.0, 0)
    assert result.score_diff is None and result.metric_delta is None and result.worst.empty
    assert result.figures() == {"agreement": 1.0, "disagreements": 0.0, "compared_rows": 0.0}
